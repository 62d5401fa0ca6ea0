"""Saved shortlists (``/pro/shortlists``): save from a result page, reopen, share by link.

Only the providers and the conditions are saved; the result page's point comes along in
the form (to list every result when none is ticked) but is never stored. Any
professional with the link may open a shortlist; only its owner may delete it.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from mapsvc.core.filters import parse_filters
from mapsvc.core.models import utcnow
from mapsvc.finder.features import feature_properties
from mapsvc.finder.saved import delete_shortlist, get_shortlist, my_shortlists, save_shortlist
from mapsvc.finder.shortlist import contact_href
from mapsvc.web.auth import role_required
from mapsvc.web.context import services
from mapsvc.web.i18n import get_lang
from mapsvc.web.mapdata import provider_index
from mapsvc.web.pro import _run

bp = Blueprint("pro_saved", __name__)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/")
@role_required("professional")
def save() -> Response:
    """Save the ticked providers (or every result) and the conditions of a result page."""
    form = request.form
    index = provider_index()
    filters = parse_filters(
        form.getlist("cap"), form.getlist("type"), index.taxonomy, "professional"
    )
    uids = [u for u in form.getlist("uid") if u]
    if not uids:
        result, _matched = _run(form)  # the point is used for this answer only
        uids = [m.uid for m in result.matches]
    with services().store.session() as session:
        row = save_shortlist(session, int(current_user.id), form.get("title", ""), filters, uids)
        shortlist_id = row.id
    return redirect(url_for("pro_saved.show", shortlist_id=shortlist_id), code=303)


@bp.get("/")
@role_required("professional")
def mine() -> Response:
    """The shortlists I saved."""
    with services().store.session() as session:
        rows = [
            {"id": r.id, "title": r.title, "created_at": r.created_at, "count": len(r.items)}
            for r in my_shortlists(session, int(current_user.id))
        ]
    return _no_store(
        Response(render_template("pro/shortlists.html", rows=rows), mimetype="text/html")
    )


@bp.get("/<shortlist_id>")
@role_required("professional")
def show(shortlist_id: str) -> Response:
    """One shortlist, with what changed in each record since it was saved."""
    lang = get_lang()
    index = provider_index()
    cfg = current_app.config
    now = utcnow()
    with services().store.session() as session:
        row, owner, items = get_shortlist(session, shortlist_id)
        title, created, conditions = row.title, row.created_at, dict(row.conditions)
        is_mine = row.owner_id == int(current_user.id)
        entries = []
        for item in items:
            pos = index.position(item.uid)
            props = (
                feature_properties(index, pos, "professional", lang, cfg, now)
                if pos is not None
                else None
            )
            contact = []
            if props:
                for field in ("phone", "phone_direct", "fax", "email"):
                    if props.get(field):
                        label = index.taxonomy.fields[field].label.get(lang)
                        contact.append((label, props[field], contact_href(field, props[field])))
            entries.append(
                {
                    "uid": item.uid,
                    "name": props["name"] if props else item.name,
                    "props": props,
                    "contact": contact,
                    "changed": item.changed,
                    "gone": item.gone or props is None,
                    "saved_at": item.saved_at,
                }
            )
    filters = parse_filters(
        conditions.get("cap") or [], conditions.get("type") or [], index.taxonomy, "professional"
    )
    html = render_template(
        "pro/shortlist.html",
        shortlist_id=shortlist_id,
        title=title,
        owner=owner,
        created=created,
        is_mine=is_mine,
        entries=entries,
        filters=filters,
        description=filters.describe(index.taxonomy, lang),
        share_url=url_for("pro_saved.show", shortlist_id=shortlist_id, _external=True),
    )
    return _no_store(Response(html, mimetype="text/html"))


@bp.post("/<shortlist_id>/delete")
@role_required("professional")
def delete(shortlist_id: str) -> Response:
    with services().store.session() as session:
        delete_shortlist(session, shortlist_id, int(current_user.id))
    return redirect(url_for("pro_saved.mine"), code=303)
