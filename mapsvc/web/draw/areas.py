"""The area editor ``/planner/areas/`` (planner and editor roles) and its JSON endpoints."""

from __future__ import annotations

import math
from typing import Any

from flask import jsonify, render_template, request, url_for
from sqlalchemy import select

from mapsvc.core.errors import InvalidInput
from mapsvc.core.models import Area
from mapsvc.geo.area_edit import (
    EDIT_KINDS,
    batch_geojson,
    check_batch,
    check_code,
    check_kind,
    fit_edit,
    load_layout,
    merge_areas,
    parse_batch,
    split_area,
)
from mapsvc.geo.area_store import areas_geojson, history, save_batch, undo
from mapsvc.geo.drawn import parse_drawn
from mapsvc.web.auth import role_required
from mapsvc.web.context import services
from mapsvc.web.draw._common import actor, basemap, bp, json_body
from mapsvc.web.i18n import get_lang, t

planner_only = role_required("planner")  # editors have the planner role's access too
# per-area figures the editor shows after each save (the planner's indicator rows)
SHOWN_INDICATORS = (
    "population:total",
    "population:75+",
    "count:cap:home_visit_medical",
    "per1000_75:cap:home_visit_medical",
)


def _municipality(body: Any) -> str:
    code = body.get("municipality_code") or body.get("municipality")
    if not isinstance(code, str) or not code.isdigit() or len(code) != 6:
        raise InvalidInput("municipality_code: 6 digits", field="municipality_code")
    return code


@bp.route("/planner/areas/")
@planner_only
def area_editor() -> str:
    """Draw and edit areas of a municipality on the map."""
    lang = get_lang()
    with services().store.session() as session:
        munis = [
            {"code": a.code, "name": a.name}
            for a in session.scalars(
                select(Area).where(Area.kind == "municipality").order_by(Area.code)
            )
        ]
    base = url_for("draw.area_editor").rstrip("/")
    config = {
        "basemap": basemap(),
        "api": base + "/api",
        "lang": lang,
        "kinds": {k: (v[1] if lang == "en" else v[0]) for k, v in EDIT_KINDS.items()},
        "indicators": list(SHOWN_INDICATORS),
    }
    return render_template("draw/areas.html", municipalities=munis, map_config=config)


@bp.route("/planner/areas/api/areas")
@planner_only
def areas_api() -> Any:
    """The areas of a kind in a municipality (GeoJSON), its boundary and the edit history."""
    kind = check_kind(request.args.get("kind"))
    muni = _municipality(request.args)
    with services().store.session() as session:
        data = areas_geojson(session, kind, muni)
        data["history"] = history(session, kind, muni)
    return jsonify(data)


@bp.route("/planner/areas/api/check", methods=["POST"])
@planner_only
def check_api() -> Any:
    """Problems a batch would add (overlaps, gaps, outside), without saving."""
    batch = parse_batch(json_body())
    with services().store.session() as session:
        problems = check_batch(load_layout(session, batch.kind, batch.municipality_code), batch)
    return jsonify({"problems": problems})


@bp.route("/planner/areas/api/save", methods=["POST"])
@planner_only
def save_api() -> Any:
    """Save a batch of drawn areas (400 with ``problems`` when refused)."""
    batch = parse_batch(json_body())
    with services().store.session() as session:
        result = save_batch(session, batch, actor=actor())
    return jsonify(result)


@bp.route("/planner/areas/api/fit", methods=["POST"])
@planner_only
def fit_api() -> Any:
    """Propose the batch that redraws one area and fits its neighbours (not saved)."""
    body = json_body()
    kind, muni = check_kind(body.get("kind")), _municipality(body)
    code = check_code(body.get("code"))
    name = str(body.get("name") or code).strip()[:300]
    geom = parse_drawn(body.get("geometry"), "geometry")
    with services().store.session() as session:
        layout = load_layout(session, kind, muni)
        batch = fit_edit(layout, code, name, geom)
        problems = check_batch(layout, batch)
    return jsonify({**batch_geojson(batch), "problems": problems})


@bp.route("/planner/areas/api/split", methods=["POST"])
@planner_only
def split_api() -> Any:
    """Cut an area in two along a drawn line and save."""
    body = json_body()
    kind, muni = check_kind(body.get("kind")), _municipality(body)
    code = check_code(body.get("code"))
    new_code = check_code(body.get("new_code"), "new_code")
    new_name = str(body.get("new_name") or "").strip()
    if not new_name or len(new_name) > 300:
        raise InvalidInput("new_name is required (at most 300 characters)", field="new_name")
    line = _line(body.get("line"))
    with services().store.session() as session:
        batch = split_area(load_layout(session, kind, muni), code, line, new_code, new_name)
        result = save_batch(session, batch, actor=actor())
    return jsonify(result)


def _line(value: Any) -> Any:
    from shapely.geometry import shape

    if not isinstance(value, dict) or value.get("type") != "LineString":
        raise InvalidInput("line must be a GeoJSON LineString", field="line")
    coords = value.get("coordinates")
    if (
        not isinstance(coords, list)
        or not 2 <= len(coords) <= 10_000
        or not all(
            isinstance(c, list)
            and len(c) >= 2
            and all(isinstance(v, int | float) and math.isfinite(v) for v in c[:2])
            for c in coords
        )
    ):
        raise InvalidInput("line: 2 to 10,000 [lon, lat] positions", field="line")
    return shape(value)


@bp.route("/planner/areas/api/merge", methods=["POST"])
@planner_only
def merge_api() -> Any:
    """Join two neighbouring areas (the second into the first) and save."""
    body = json_body()
    kind, muni = check_kind(body.get("kind")), _municipality(body)
    keep, other = check_code(body.get("code")), check_code(body.get("other"), "other")
    with services().store.session() as session:
        batch = merge_areas(load_layout(session, kind, muni), keep, other)
        result = save_batch(session, batch, actor=actor())
    return jsonify(result)


@bp.route("/planner/areas/api/undo", methods=["POST"])
@planner_only
def undo_api() -> Any:
    """Restore the areas as they were before one audited edit."""
    raw = json_body().get("audit_id")
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
        raise InvalidInput("audit_id must be an edit's number", field="audit_id")
    with services().store.session() as session:
        result = undo(session, raw, actor=actor())
    return jsonify(result)


@bp.route("/planner/areas/api/indicators")
@planner_only
def indicators_api() -> Any:
    """The per-area figures of the planner's indicators for the areas shown."""
    from mapsvc.planner.choropleth import cached_indicators
    from mapsvc.planner.indicators import AREA_KINDS

    kind = check_kind(request.args.get("kind"))
    muni = _municipality(request.args)
    if kind not in AREA_KINDS:
        return jsonify(
            {
                "rows": [],
                "note": t("この種類の地域には指標がありません", "No indicators for this kind"),
            }
        )
    svc = services()
    dataset, frame = cached_indicators(svc, request.args.get("population") or None)
    with svc.store.session() as session:
        codes = set(
            session.scalars(
                select(Area.code).where(Area.kind == kind, Area.municipality_code == muni)
            )
        )
    rows = frame[
        (frame["area_kind"] == kind)
        & frame["area_code"].isin(codes)
        & frame["indicator"].isin(SHOWN_INDICATORS)
    ]
    table: dict[str, dict[str, Any]] = {}
    for r in rows.itertuples(index=False):
        entry = table.setdefault(r.area_code, {"code": r.area_code, "name": r.area_name})
        value = float(r.value)
        entry[r.indicator] = round(value, 3) if math.isfinite(value) else None
    return jsonify({"population": dataset, "rows": [table[c] for c in sorted(table)]})
