"""Login for professionals, planners and editors (flask-login, hashed passwords, CSRF).

Login is rate-limited per user name and address, per address, globally, and with a growing
delay per user name (:mod:`mapsvc.core.login_limits`, counted in the store so every worker
shares the counts); at most LOGIN_MAX_CONCURRENT_HASHES password checks run at once per
process, beyond that a fast 429. The client address is ``request.remote_addr`` after
ProxyFix (TRUSTED_PROXIES).

Sessions have server-side state: the signed cookie carries the user's ``session_version``
from the store, the login time and the last request's time. Every request checks all three
(:func:`session_is_valid`): logout, a password change and a role change raise the version
(:func:`mapsvc.core.users.end_sessions`), so a saved cookie is refused afterwards; a session
also ends after SESSION_IDLE_SECONDS without a request and SESSION_MAX_SECONDS after login.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlparse

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from mapsvc.core import login_limits
from mapsvc.core.models import User
from mapsvc.core.users import authenticate, can_access, dummy_hash, end_sessions
from mapsvc.web.context import services
from mapsvc.web.errors import wants_json
from mapsvc.web.i18n import t

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()
F = TypeVar("F", bound=Callable[..., Any])


class WebUser(UserMixin):
    """The logged-in user as flask-login sees it (no password hash kept in the session)."""

    def __init__(self, user_id: int, username: str, role: str) -> None:
        self.id = str(user_id)
        self.username = username
        self.role = role


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(max=100)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=200)])


def init_app(app: Flask) -> None:
    proxies = int(app.config.get("TRUSTED_PROXIES", 0))
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.extensions["mapsvc_hash_slots"] = threading.BoundedSemaphore(
        max(1, int(app.config["LOGIN_MAX_CONCURRENT_HASHES"]))
    )
    dummy_hash()  # computed now, so an unknown user name costs one hash like a known one
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    csrf.init_app(app)

    @login_manager.user_loader
    def _load(user_id: str) -> WebUser | None:
        with services().store.session() as db:
            user = db.get(User, int(user_id)) if user_id.isdigit() else None
            if user is None or not user.active or not session_is_valid(user.session_version):
                session.clear()
                return None
            session[SEEN] = int(time.time())
            return WebUser(user.id, user.username, user.role)

    @login_manager.unauthorized_handler
    def _unauthorized() -> Response:
        if wants_json():
            abort(401, description="login required")
        return redirect(url_for("auth.login", next=request.path))


VERSION, STARTED, SEEN = "_sv", "_t0", "_seen"


def session_is_valid(version: int) -> bool:
    """Is the cookie's session still open: same version as the store, not idle, not too old?"""
    cfg = current_app.config
    now = time.time()
    started, seen = session.get(STARTED), session.get(SEEN)
    if session.get(VERSION) != version or not isinstance(started, int) or not isinstance(seen, int):
        return False
    if now - seen > int(cfg["SESSION_IDLE_SECONDS"]):
        return False
    return now - started <= int(cfg["SESSION_MAX_SECONDS"])


def _start_session(user: User) -> None:
    session.clear()  # a fresh session at login (no fixation)
    login_user(WebUser(user.id, user.username, user.role))
    now = int(time.time())
    session[VERSION] = user.session_version or 0
    session[STARTED] = now
    session[SEEN] = now


def current_role() -> str | None:
    user = current_user._get_current_object()  # once: each use of the proxy looks it up
    return getattr(user, "role", None) if user.is_authenticated else None


def role_required(area: str) -> Callable[[F], F]:
    """Views for ``area`` (professional, planner, editor): login first, then the role check."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not can_access(current_role(), area):
                abort(
                    403,
                    description=t(
                        "この画面を開く権限がありません", "Your role cannot open this page"
                    ),
                )
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Login page for professionals, planners and editors."""
    form = LoginForm()
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 400
        else:
            remote = request.remote_addr or "-"
            name = form.username.data
            cfg = current_app.config
            store = services().store
            with store.session() as db:
                mine = login_limits.begin_attempt(db, name, remote)
            with store.session() as db:  # counted after our own row is committed
                verdict = login_limits.verdict(db, name, remote, mine, cfg)
            if not verdict.allowed:
                return _too_many(form, verdict.retry_after)
            slots = current_app.extensions["mapsvc_hash_slots"]
            if not slots.acquire(blocking=False):
                return _too_many(form, 1)
            try:
                with store.session() as db:
                    user = authenticate(db, name, form.password.data)
                    if user is None:
                        login_limits.prune(db, cfg)
                        status = 401
                    else:
                        login_limits.succeeded(db, name, remote, mine)
                        _start_session(user)
                        role = user.role
            finally:
                slots.release()
            if status != 401:
                default = {"planner": "planner.index", "editor": "admin.index"}.get(
                    role, "pro.index"
                )
                try:
                    fallback = url_for(default)
                except Exception:  # noqa: BLE001 - the role's view may not be registered
                    fallback = "/"
                return redirect(_safe_next(request.args.get("next")) or fallback)
            flash(
                t("ユーザー名またはパスワードが違います。", "Wrong user name or password."), "error"
            )
    return render_template("login.html", form=form), status


def _too_many(form: LoginForm, retry_after: int) -> Any:
    flash(
        t(
            "ログインの試行が多すぎます。しばらく待ってから再度お試しください。",
            "Too many logins; please wait a moment and try again.",
        ),
        "error",
    )
    response = current_app.make_response((render_template("login.html", form=form), 429))
    response.headers["Retry-After"] = str(max(1, retry_after))
    return response


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """Log out (POST with CSRF token): every session of the user ends, saved cookies too."""
    if current_user.is_authenticated:
        with services().store.session() as db:
            user = db.get(User, int(current_user.id))
            if user is not None:
                end_sessions(user)
    logout_user()
    session.clear()
    return redirect("/")
