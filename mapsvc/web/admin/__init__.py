"""Admin view ``/admin`` for editors (municipal data owners).

Dashboard, review queue, survey links and templates, audit log, import history, users.
Every view needs the editor role; every form is CSRF-protected. The views are thin: each
calls the domain modules (``dashboard``, ``review``, ``survey``, ``reconfirm``,
``survey_templates``, ``auditlog``, ``users``) and renders the result.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, render_template
from flask_login import current_user

from mapsvc.core._csv import BOM_ENCODING
from mapsvc.core.models import utcnow
from mapsvc.core.staleness import JST
from mapsvc.upkeep.dashboard import build_dashboard
from mapsvc.web.auth import role_required
from mapsvc.web.context import services

bp = Blueprint("admin", __name__)


def editor_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """Editor role required (login first)."""
    return role_required("editor")(view)


def actor() -> str:
    """Who is acting (recorded in the audit log and as confirmed_by)."""
    return str(current_user.username)


def csv_download(text: str, filename: str) -> Response:
    """CSV as an attachment, UTF-8 with BOM (Excel reads Japanese correctly)."""
    response = Response(text.encode(BOM_ENCODING), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_filter("jst")
def jst(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time (naive UTC) shown in Japan time."""
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone(JST).strftime(fmt)


def type_labels(lang: str = "ja") -> dict[str, str]:
    return {k: t.label.get(lang) for k, t in services().taxonomy.provider_types.items()}


def _dashboard_page(template: str, limit: int) -> str:
    svc = services()
    with svc.store.session() as session:
        dash = build_dashboard(
            session, svc.taxonomy, now=utcnow(), config=current_app.config, limit=limit
        )
    return render_template(template, dash=dash, type_labels=type_labels())


@bp.route("/")
@editor_view
def index() -> str:
    """Editor's dashboard: what needs attention, counts per type and area."""
    return _dashboard_page("admin/index.html", limit=50)


@bp.route("/quality")
@editor_view
def quality() -> str:
    """Lists behind the dashboard counts: stale, not geocoded, conflicts, rejected rows."""
    return _dashboard_page("admin/quality.html", limit=500)


from mapsvc.web.admin import links, records, review, tokens  # noqa: E402,F401  (routes register on bp)
