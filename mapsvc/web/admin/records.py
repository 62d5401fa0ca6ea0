"""Audit log with filters, import history with reports, users and roles."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from mapsvc.core.auditlog import (
    AuditFilter,
    audit_choices,
    audit_csv,
    audit_entries,
    import_run,
    import_runs,
    parse_day,
    rejects_csv,
)
from mapsvc.core.errors import Conflict, InvalidInput
from mapsvc.core.models import User
from mapsvc.core.users import ROLES, add_user, set_role
from mapsvc.web.admin._common import actor, bp, csv_download, editor_view
from mapsvc.web.context import services
from mapsvc.web.i18n import t

PAGE = 100


def _audit_filter() -> AuditFilter:
    args = request.args
    return AuditFilter(
        actor=args.get("actor") or None,
        action=args.get("action") or None,
        entity=args.get("entity") or None,
        provider=args.get("provider") or None,
        since=parse_day(args.get("since"), "since"),
        until=parse_day(args.get("until"), "until"),
    )


@bp.route("/audit")
@editor_view
def audit() -> str:
    """Who changed what, when: filter by actor, action, entity, provider and dates."""
    flt = _audit_filter()
    page = request.args.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        raise InvalidInput(f"page {page!r} is not a positive number", field="page")
    with services().store.session() as session:
        rows, total = audit_entries(session, flt, limit=PAGE, offset=(int(page) - 1) * PAGE)
        choices = audit_choices(session)
    return render_template(
        "admin/audit.html",
        rows=rows,
        total=total,
        page=int(page),
        pages=max(1, (total + PAGE - 1) // PAGE),
        choices=choices,
        args=request.args,
    )


@bp.route("/audit.csv")
@editor_view
def audit_download() -> Response:
    """The filtered audit log as CSV (up to 100,000 rows)."""
    with services().store.session() as session:
        rows, _ = audit_entries(session, _audit_filter(), limit=100_000)
        text = audit_csv(rows)
    return csv_download(text, "audit-log.csv")


@bp.route("/imports")
@editor_view
def imports() -> str:
    """Import history: each run with its counts."""
    with services().store.session() as session:
        runs = import_runs(session)
    return render_template("admin/imports.html", runs=runs)


@bp.route("/imports/<int:run_id>")
@editor_view
def import_detail(run_id: int) -> str:
    """One import run's report: counts and rejected rows with reasons."""
    with services().store.session() as session:
        run, rejected = import_run(session, run_id)
    return render_template(
        "admin/import_run.html", run=run, rejected=rejected[:1000], total=len(rejected)
    )


@bp.route("/imports/<int:run_id>/rejects.csv")
@editor_view
def import_rejects(run_id: int) -> Response:
    """Rejected rows of one run (line, reason, original columns)."""
    with services().store.session() as session:
        _, rejected = import_run(session, run_id)
        text = rejects_csv(rejected)
    return csv_download(text, f"import-{run_id}-rejects.csv")


@bp.route("/users")
@editor_view
def users() -> str:
    """Accounts and roles."""
    with services().store.session() as session:
        rows = list(session.scalars(select(User).order_by(User.username)))
    return render_template("admin/users.html", rows=rows, roles=ROLES)


@bp.route("/users/add", methods=["POST"])
@editor_view
def users_add() -> Response:
    """Add an account (password hashed; at least 10 characters)."""
    form = request.form
    try:
        with services().store.session() as session:
            add_user(
                session,
                form.get("username", ""),
                form.get("password", ""),
                form.get("role", ""),
                actor=actor(),
                display_name=form.get("display_name") or None,
            )
    except (InvalidInput, Conflict) as exc:
        flash(exc.message, "error")
        return Response(users(), status=exc.status)
    flash(
        t(
            f"ユーザー {form.get('username')} を追加しました。",
            f"User {form.get('username')} added.",
        )
    )
    return redirect(url_for("admin.users"))


@bp.route("/users/<username>/role", methods=["POST"])
@editor_view
def users_role(username: str) -> Response:
    """Change a user's role (editors cannot demote themselves, so one editor remains)."""
    role = request.form.get("role", "")
    if username == actor() and role != "editor":
        raise InvalidInput("you cannot take away your own editor role", field="role")
    with services().store.session() as session:
        set_role(session, username, role, actor=actor())
    flash(t(f"{username} の権限を {role} にしました。", f"{username} is now {role}."))
    return redirect(url_for("admin.users"))
