"""The editor's dashboard and the quality lists behind its counts."""

from __future__ import annotations

from flask import current_app, render_template

from mapsvc.core.models import utcnow
from mapsvc.upkeep.dashboard import build_dashboard
from mapsvc.web.admin._common import bp, editor_view, type_labels
from mapsvc.web.context import services


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
