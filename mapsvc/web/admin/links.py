"""Survey links (issue, revoke, download), the due list, and survey templates."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from mapsvc.core.errors import InvalidInput
from mapsvc.core.models import utcnow
from mapsvc.core.staleness import STATES, state_label
from mapsvc.core.uploads import new_upload_path, upload_name
from mapsvc.upkeep.reconfirm import due_csv, due_links, links_csv, provider_list, select_providers
from mapsvc.upkeep.returns import import_returns
from mapsvc.upkeep.survey import (
    ACTIVE,
    MAX_LINK_DAYS,
    IssuedLink,
    active_links,
    issue_links,
    link_days,
    revoke,
    tokens_overview,
)
from mapsvc.upkeep.survey_templates import template_csv, template_records, template_xlsx
from mapsvc.web.admin._common import actor, bp, csv_download, editor_view, type_labels
from mapsvc.web.context import services
from mapsvc.web.i18n import get_lang, t
from mapsvc.web.mapdata import base_url

UPLOAD_TYPES = (".csv", ".xlsx", ".geojson", ".json")


def _days() -> int:
    raw = request.form.get("days") or str(current_app.config["SURVEY_TOKEN_DAYS"])
    if not raw.isdigit():
        raise InvalidInput(
            f"days {raw!r} must be a whole number from 1 to {MAX_LINK_DAYS}", field="days"
        )
    return link_days(int(raw))


@bp.route("/providers")
@editor_view
def providers() -> str:
    """Find providers (id or part of the name) to send a link or a template to."""
    svc = services()
    state = request.args.get("state") or None
    if state and state not in STATES:
        raise InvalidInput(f"state {state!r} is not one of {', '.join(STATES)}", field="state")
    ptype = request.args.get("type") or None
    with svc.store.session() as session:
        rows = provider_list(
            session,
            query=request.args.get("q", ""),
            provider_type=ptype,
            state=state,
            config=current_app.config,
        )
    return render_template(
        "admin/providers.html",
        rows=rows,
        type_labels=type_labels(),
        state_labels={s: state_label(s, get_lang()) for s in STATES},
        args=request.args,
    )


def _links_page(status: str | None, issued: list[IssuedLink] | None = None) -> str:
    with services().store.session() as session:
        rows = tokens_overview(session, status=status)
    return render_template(
        "admin/links.html",
        rows=rows,
        status=status,
        type_labels=type_labels(),
        issued=issued,
        default_days=current_app.config["SURVEY_TOKEN_DAYS"],
    )


@bp.route("/links")
@editor_view
def links() -> str:
    """Issued survey links with their status; forms to issue and revoke."""
    return _links_page(request.args.get("status") or None)


@bp.route("/links/issue", methods=["POST"])
@editor_view
def links_issue() -> Response | str:
    """Issue links for one provider or a batch (type, area, due); show them or download CSV."""
    svc = services()
    form = request.form
    uids = [u for u in form.getlist("provider") if u]
    types = [x for x in form.getlist("type") if x]
    unknown = [x for x in types if x not in svc.taxonomy.provider_types]
    if unknown:
        raise InvalidInput(f"unknown provider type {unknown[0]!r}", field="type")
    days = _days()
    secret = current_app.config["SECRET_KEY"]
    with svc.store.session() as session:
        chosen = select_providers(
            session,
            types=types,
            area=form.get("area") or None,
            due_only=bool(form.get("due")),
            uids=uids,
            config=current_app.config,
        )
        issued = issue_links(
            session, chosen, secret_key=secret, base_url=base_url(), actor=actor(), days=days
        )
    if form.get("output") == "csv":
        stamp = utcnow().strftime("%Y%m%d-%H%M")
        return csv_download(links_csv(issued, type_labels()), f"survey-links-{stamp}.csv")
    flash(t(f"{len(issued)} 件のリンクを発行しました。", f"{len(issued)} link(s) issued."))
    return _links_page(ACTIVE, issued)


@bp.route("/links/<token_id>/revoke", methods=["POST"])
@editor_view
def links_revoke(token_id: str) -> Response:
    """Withdraw one link at once."""
    with services().store.session() as session:
        count = revoke(session, actor=actor(), token_id=token_id)
    flash(t(f"{count} 件のリンクを取り消しました。", f"{count} link(s) revoked."))
    return redirect(url_for("admin.links", status=request.form.get("status") or None))


@bp.route("/links.csv")
@editor_view
def links_download() -> Response:
    """Every active link as a mail-merge / FAX CSV."""
    with services().store.session() as session:
        rows = active_links(
            session, secret_key=current_app.config["SECRET_KEY"], base_url=base_url()
        )
    return csv_download(links_csv(rows, type_labels()), "survey-links-active.csv")


@bp.route("/due.csv", methods=["POST"])
@editor_view
def due_download() -> Response:
    """Records due for re-confirmation with their links (issues links where missing)."""
    svc = services()
    with svc.store.session() as session:
        rows = due_links(
            session,
            secret_key=current_app.config["SECRET_KEY"],
            base_url=base_url(),
            actor=actor(),
            days=_days(),
            config=current_app.config,
            types=[x for x in request.form.getlist("type") if x],
            area=request.form.get("area") or None,
        )
    stamp = utcnow().strftime("%Y%m%d")
    return csv_download(due_csv(rows, type_labels()), f"reconfirm-due-{stamp}.csv")


@bp.route("/templates")
@editor_view
def templates() -> str:
    """Survey templates per provider type, and the upload of filled ones."""
    return render_template("admin/templates.html", type_labels=type_labels())


@bp.route("/templates/<provider_type>.<ext>")
@editor_view
def template_download(provider_type: str, ext: str) -> Response:
    """A pre-filled template (all providers of the type, or ?provider=<id> ones)."""
    svc = services()
    if ext not in ("csv", "xlsx"):
        raise InvalidInput(f"format {ext!r} is not csv or xlsx", field="format")
    with svc.store.session() as session:
        records = template_records(session, provider_type, request.args.getlist("provider"))
    if ext == "xlsx":
        data = template_xlsx(svc.taxonomy, provider_type, records)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        data = template_csv(svc.taxonomy, provider_type, records)
        mimetype = "text/csv; charset=utf-8"
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=survey-{provider_type}.{ext}"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/templates/upload", methods=["POST"])
@editor_view
def template_upload() -> Response:
    """A filled template goes through the importer into the review queue (not the registry)."""
    svc = services()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("choose a file to upload", field="file")
    name = upload_name(upload.filename)  # Unicode names are kept
    if Path(name).suffix.lower() not in UPLOAD_TYPES:
        raise InvalidInput(f"{name}: expected a .csv, .xlsx or .geojson file", field="file")
    path = new_upload_path(svc.instance_path / "uploads", name, utcnow())
    upload.save(path)
    report = import_returns(
        svc.store,
        path,
        svc.taxonomy,
        actor=actor(),
        rejects_path=svc.instance_path / "rejects" / f"{path.parent.name}.rejects.csv",
        instance_path=svc.instance_path,
    )
    flash(
        t(
            f"{report.queued} 件を確認待ちに追加しました（未記入・未署名 {report.untouched} 件は対象外、却下 {report.rejected} 件）。地図はまだ変わっていません。",
            f"{report.queued} row(s) queued for review ({report.untouched} untouched rows left out), {report.rejected} rejected. Nothing is published yet.",
        )
    )
    return redirect(url_for("admin.import_detail", run_id=report.run_id))
