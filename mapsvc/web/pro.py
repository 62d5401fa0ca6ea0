"""The professional finder (``/pro``): care managers find providers for a patient.

A patient's address comes by POST only (never in a URL), is geocoded with
``remember=False`` and is neither logged nor stored; a click on the map sends the point
instead. Results, the CSV shortlist and the print page are all answers to POSTs; the
export repeats the search with the same tie-break seed so the order is the one the user
saw. Every form carries a CSRF token (flask-wtf's CSRFProtect covers every POST).
"""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from mapsvc.core.codes import JAPAN_LAT, JAPAN_LON
from mapsvc.core.errors import InvalidFilter, InvalidInput, MapsvcError
from mapsvc.core.filters import FilterSet, parse_filters
from mapsvc.core.models import utcnow
from mapsvc.finder.explain import Explanation, explain_few
from mapsvc.finder.locate import check_address, locate_address
from mapsvc.finder.search import FinderResult, find_providers
from mapsvc.finder.shortlist import shortlist_csv, shortlist_rows
from mapsvc.geo.geocode import search_chain
from mapsvc.web.auth import role_required
from mapsvc.web.context import services
from mapsvc.web.i18n import get_lang, t
from mapsvc.web.mapdata import (
    is_demo,
    map_texts,
    provider_index,
    road_index,
    start_points,
    taxonomy_labels,
)

bp = Blueprint("pro", __name__)
LEVEL_CHOICES = ("consult", "accept", "active")


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _filters(form: MultiDict[str, str]) -> FilterSet:
    """Capabilities from the form's controls (``cap-KEY``) and grammar terms (``cap``).

    A bad control is named by its own field (``cap-ventilator``), so the page can put the
    message next to it."""
    taxonomy = provider_index().taxonomy
    terms = [v for v in form.getlist("cap") if v]
    for name, value in form.items(multi=True):
        if not name.startswith("cap-") or not value:
            continue
        key = name[4:]
        term = key if value in ("any", "yes") else f"{key}:{value}"
        try:
            parse_filters([term], None, taxonomy, "professional")
        except InvalidFilter as exc:
            raise InvalidFilter(exc.message, field=name) from None
        terms.append(term)
    return parse_filters(terms, form.getlist("type"), taxonomy, "professional")


def form_state(form: MultiDict[str, str] | None) -> dict[str, Any]:
    """What the user chose, to show the form again as it was (after an error, too)."""
    if form is None:
        return {"chosen": {}, "types": set(), "address": ""}
    caps = provider_index().taxonomy.capabilities
    chosen = {}
    for name, value in form.items(multi=True):
        if name.startswith("cap-") and value:
            chosen[name[4:]] = value
    for term in form.getlist("cap"):  # grammar terms (hidden fields of a result page)
        key, _sep, qualifier = term.partition(":")
        if key in caps:
            bare = "consult" if caps[key].kind == "level" else "any"
            chosen.setdefault(key, qualifier or bare)
    return {
        "chosen": chosen,
        "types": set(form.getlist("type")),
        "address": (form.get("address") or "").strip()[:200],
    }


def _point(form: MultiDict[str, str]) -> tuple[float, float, str | None]:
    """The patient point: a typed address (geocoded, not kept) or the map's lon/lat."""
    address = (form.get("address") or "").strip()
    if address:
        address = check_address(address)
        cfg = current_app.config
        chain = search_chain(cfg, services().store.sessions)
        located = locate_address(address, chain, provider_index())
        if located is None:
            raise InvalidInput(
                t(
                    "住所が見つかりませんでした。町名・丁目まで入力するか、地図をクリックしてください。",
                    "The address was not found; enter the town and chōme, or click the map.",
                ),
                field="address",
            )
        return located.lon, located.lat, located.matched
    try:
        lon, lat = float(form.get("lon", "")), float(form.get("lat", ""))
    except ValueError:
        raise InvalidInput(
            t(
                "住所を入力するか、地図で地点をクリックしてください。",
                "Enter an address or click the map.",
            ),
            field="address",
        ) from None
    if not (
        math.isfinite(lon)
        and math.isfinite(lat)
        and JAPAN_LON[0] <= lon <= JAPAN_LON[1]
        and JAPAN_LAT[0] <= lat <= JAPAN_LAT[1]
    ):
        raise InvalidInput(
            t("地点が日本の範囲外です。", "The point is outside Japan."), field="lon"
        )
    return lon, lat, None


def _seed(form: MultiDict[str, str]) -> int | None:
    value = form.get("seed", "")
    # isdigit() alone accepts "²", which int() refuses; a bad seed just means a fresh one
    return int(value) if value.isascii() and value.isdigit() else None


def search_options() -> dict[str, Any]:
    """The coverage rule's settings, the same for a search and for its explanation."""
    return {
        "road": road_index(),
        "snap_m": float(current_app.config["SERVICE_AREA_SNAP_M"]),
        "access_m": float(current_app.config["SERVICE_AREA_ACCESS_M"]),
    }


def run_search(
    form: MultiDict[str, str],
) -> tuple[FinderResult, str | None, Explanation | None]:
    """The search for a form (or API body): the result, the matched place, and why few."""
    filters = _filters(form)
    lon, lat, matched = _point(form)
    options = search_options()
    index = provider_index()
    result = find_providers(
        index,
        lon,
        lat,
        filters,
        seed=_seed(form),
        limit=int(current_app.config["FINDER_MAX_RESULTS"]),
        **options,
    )
    why = None
    if len(result.matches) < int(current_app.config["FINDER_EXPLAIN_BELOW"]):
        why = explain_few(index, result, **options)
    return result, matched, why


def _run(form: MultiDict[str, str]) -> tuple[FinderResult, str | None]:
    result, matched, _why = run_search(form)
    return result, matched


def _page(
    result: FinderResult | None = None,
    matched: str | None = None,
    error: MapsvcError | None = None,
    status: int = 200,
    form: MultiDict[str, str] | None = None,
    why: Explanation | None = None,
) -> Response:
    lang = get_lang()
    index = provider_index()
    cfg = current_app.config
    rows = shortlist_rows(result, index, lang, cfg, utcnow()) if result else []
    groups: dict[str, list[Any]] = {}
    for cap in index.taxonomy.capabilities.values():
        if cap.kind != "text":
            groups.setdefault(cap.group, []).append(cap)
    state = form_state(form)
    if error is None:
        state["address"] = ""  # after a search the point is kept, not the typed address
    errors: dict[str, str] = {}
    if error is not None:
        field = error.field or "address"
        if field in ("lon", "lat"):
            field = "address"  # the point is chosen through the address field or the map
        if field.startswith("cap-") or field in ("type", "address"):
            errors[field] = error.message
    map_config = {
        "lang": lang,
        "basemap": {"url": cfg["BASEMAP_URL"], "attribution": cfg["BASEMAP_ATTRIBUTION"]},
        "texts": map_texts(),
        "labels": taxonomy_labels(lang, "professional"),
        "point": [result.lon, result.lat] if result else None,
        "start": start_points(index) if result is None else None,
        "results": [
            {
                "rank": r["rank"],
                "name": r["name"],
                "lon": r["lon"],
                "lat": r["lat"],
                "type_label": r["type_label"],
            }
            for r in rows
        ],
        "extent": index.extent(),
        "urls": {"areas": url_for("public.areas_geojson")},
    }
    html = render_template(
        "pro/finder.html",
        result=result,
        rows=rows,
        matched=matched,
        errors=errors,
        error_summary=error.message if error is not None else None,
        groups=groups,
        chosen=state["chosen"],
        chosen_types=state["types"],
        address=state["address"],
        why=why,
        levels=LEVEL_CHOICES,
        description=result.filters.describe(index.taxonomy, lang) if result else "",
        map_config=map_config,
        demo=is_demo(),
    )
    return _no_store(Response(html, status=status, mimetype="text/html"))


@bp.get("/")
@role_required("professional")
def index() -> Response:
    """The finder form, for care managers and other professionals."""
    return _page()


@bp.post("/search")
@role_required("professional")
def search() -> Response:
    """Run the finder for a patient's address or a clicked point (POST only)."""
    try:
        result, matched, why = run_search(request.form)
    except MapsvcError as exc:
        if exc.status != 400:
            raise
        return _page(error=exc, status=400, form=request.form)
    return _page(result, matched, form=request.form, why=why)


def _selected(form: MultiDict[str, str]) -> list[str] | None:
    chosen = [u for u in form.getlist("uid") if u]
    return chosen or None


@bp.post("/export.csv")
@role_required("professional")
def export_csv() -> Response:
    """The shortlist (the ticked providers, or all results) as CSV with a BOM."""
    result, _matched = _run(request.form)
    lang = get_lang()
    rows = shortlist_rows(
        result, provider_index(), lang, current_app.config, utcnow(), _selected(request.form)
    )
    response = Response(shortlist_csv(rows, lang, provider_index().taxonomy), mimetype="text/csv")
    stamp = utcnow().strftime("%Y%m%d")
    response.headers["Content-Disposition"] = f'attachment; filename="shortlist-{stamp}.csv"'
    return _no_store(response)


@bp.post("/print")
@role_required("professional")
def print_page() -> Response:
    """A printable page of the shortlist (POST, so nothing about the patient is in a URL)."""
    result, _matched = _run(request.form)
    lang = get_lang()
    index = provider_index()
    rows = shortlist_rows(
        result, index, lang, current_app.config, utcnow(), _selected(request.form)
    )
    html = render_template(
        "pro/print.html",
        result=result,
        rows=rows,
        description=result.filters.describe(index.taxonomy, lang),
        printed=utcnow(),
        demo=is_demo(),
    )
    return _no_store(Response(html, mimetype="text/html"))
