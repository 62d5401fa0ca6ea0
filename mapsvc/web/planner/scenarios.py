"""Planner JSON endpoints for best new sites and saved what-if scenarios.

``POST /planner/api/sites``: the best ``k`` new sites (exact MCLP beside greedy) for the
page, with a size limit so a web request stays within seconds. Scenarios: a named set of
hypothetical sites with the analysis they were placed for; save (audit row), list, open,
and compare two (coverage of the 75+ side by side and the difference). Planner and editor
roles (:data:`mapsvc.web.planner._common.api`); every POST carries the CSRF token.
"""

from __future__ import annotations

import math
from typing import Any

from flask import jsonify, request
from flask_login import current_user
from sqlalchemy import select

from mapsvc.core.errors import InvalidInput, NotFound
from mapsvc.core.models import WhatIfScenario, utcnow
from mapsvc.web.context import services
from mapsvc.web.planner._common import analysis_args, api, bp

WEB_MAX_K = 10
WEB_MAX_CANDIDATES = 5_000
WEB_TIME_LIMIT_S = 10.0
MAX_NAME = 200
MAX_SCENARIO_SITES = 20  # as mapsvc.planner.what_if.MAX_HYPOTHETICAL


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("expected a JSON object", field="body")
    return body


def _int(body: dict[str, Any], name: str, low: int, high: int, default: int) -> int:
    raw = body.get(name)
    if raw in (None, ""):
        return default
    try:
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError(raw)
        value = int(raw) if isinstance(raw, float) else int(str(raw))
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number {low}..{high}", field=name) from None
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be {low}..{high}, got {value}", field=name)
    return value


def _positive(body: dict[str, Any], name: str, default: float | None) -> float | None:
    raw = body.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a number > 0", field=name) from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidInput(f"{name} must be a number > 0", field=name)
    return value


@bp.route("/api/sites", methods=["POST"])
@api
def sites_api() -> Any:
    """Best k new sites (JSON body: capability, type, minutes | radius_km for the existing
    providers as in the analysis, k, km of each new site, grid_m, population)."""
    from mapsvc.planner.analyses import json_safe, run_sites

    body = _body()
    args = analysis_args(body)
    k = _int(body, "k", 1, WEB_MAX_K, 3)
    grid_m = _positive(body, "grid_m", 500.0)
    assert grid_m is not None
    if grid_m < 100:
        raise InvalidInput("grid_m must be at least 100 m", field="grid_m")
    out = run_sites(
        services(),
        args["specs"],
        k=k,
        km=_positive(body, "km", None),
        site_type=(str(body.get("site_type") or "") or None),
        grid_m=grid_m,
        dataset=args["dataset"],
        types=args["types"],
        time_limit_s=WEB_TIME_LIMIT_S,
        max_candidates=WEB_MAX_CANDIDATES,
        minutes=args["minutes"],
        radius_km=args["radius_km"],
    )
    return jsonify(json_safe(out))


# ---- scenarios --------------------------------------------------------------------------


def _clean_sites(raw: Any) -> list[dict[str, Any]]:
    from mapsvc.core.codes import JAPAN_LAT, JAPAN_LON

    if not isinstance(raw, list) or not raw:
        raise InvalidInput("sites must be a non-empty list of {lon, lat}", field="sites")
    if len(raw) > MAX_SCENARIO_SITES:
        raise InvalidInput(f"at most {MAX_SCENARIO_SITES} sites", field="sites")
    out = []
    for i, site in enumerate(raw):
        if not isinstance(site, dict):
            raise InvalidInput(f"sites[{i}] must be an object", field=f"sites[{i}]")
        clean: dict[str, Any] = {}
        for name, (low, high) in (("lon", JAPAN_LON), ("lat", JAPAN_LAT)):
            try:
                value = float(site[name])
            except (KeyError, TypeError, ValueError):
                value = math.nan
            if not math.isfinite(value) or not low <= value <= high:
                raise InvalidInput(
                    f"sites[{i}].{name} must be a {name} in Japan", field=f"sites[{i}].{name}"
                )
            clean[name] = round(value, 6)
        for name in ("minutes", "km"):
            try:
                own = _positive(site, name, None)
            except InvalidInput as exc:
                raise InvalidInput(str(exc), field=f"sites[{i}].{name}") from None
            if own is not None:
                clean[name] = own
        if site.get("type"):
            if str(site["type"]) not in services().taxonomy.provider_types:
                raise InvalidInput(
                    f"unknown provider type {site['type']!r}", field=f"sites[{i}].type"
                )
            clean["type"] = str(site["type"])
        out.append(clean)
    return out


def _clean_analysis(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidInput("analysis must be an object", field="analysis")
    args = analysis_args(raw)  # validates; stored in the request's own shape
    stored: dict[str, Any] = {"capability": args["specs"], "type": args["types"]}
    for name in ("minutes", "radius_km"):
        if args[name] is not None:
            stored[name] = args[name]
    if args["dataset"]:
        stored["population"] = str(args["dataset"])
    if not stored["capability"] and not stored["type"]:
        raise InvalidInput("give at least one capability or provider type", field="capability")
    return stored


def _summary(row: WhatIfScenario) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "owner": row.owner,
        "sites": len(row.sites),
        "updated_at": row.updated_at.isoformat(timespec="seconds") + "Z",
    }


@bp.route("/api/scenarios", methods=["GET"])
@api
def scenarios_list() -> Any:
    """Saved scenarios, newest first (all planners see them: they plan together)."""
    with services().store.session() as session:
        rows = session.scalars(
            select(WhatIfScenario).order_by(WhatIfScenario.updated_at.desc())
        ).all()
        return jsonify([_summary(r) for r in rows])


@bp.route("/api/scenarios", methods=["POST"])
@api
def scenarios_save() -> Any:
    """Save a scenario (JSON: name, analysis, sites); the same name overwrites it."""
    from mapsvc.core.registry import audit

    body = _body()
    name = str(body.get("name") or "").strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"name: 1..{MAX_NAME} characters", field="name")
    analysis = _clean_analysis(body.get("analysis"))
    sites = _clean_sites(body.get("sites"))
    with services().store.session() as session:
        row = session.scalars(select(WhatIfScenario).where(WhatIfScenario.name == name)).first()
        before = None
        if row is None:
            row = WhatIfScenario(name=name, owner=str(current_user.username))
            session.add(row)
        else:
            before = {"analysis": row.analysis, "sites": row.sites}
        row.analysis, row.sites, row.updated_at = analysis, sites, utcnow()
        session.flush()
        audit(
            session,
            actor=str(current_user.username),
            action="scenario_save",
            entity="what_if_scenario",
            entity_id=str(row.id),
            before=before,
            after={"name": name, "analysis": analysis, "sites": sites},
        )
        session.commit()
        return jsonify(_summary(row) | {"analysis": analysis, "sites_list": sites}), 201


def _load(session: Any, raw: Any, field: str) -> WhatIfScenario:
    if raw is None or not str(raw).isdigit():
        raise InvalidInput(f"{field} must be a scenario id", field=field)
    row: WhatIfScenario | None = session.get(WhatIfScenario, int(str(raw)))
    if row is None:
        raise NotFound(f"no scenario {raw}")
    return row


@bp.route("/api/scenarios/<int:scenario_id>", methods=["GET"])
@api
def scenarios_open(scenario_id: int) -> Any:
    with services().store.session() as session:
        row = _load(session, scenario_id, "id")
        return jsonify(_summary(row) | {"analysis": row.analysis, "sites_list": row.sites})


def _outcome(row: WhatIfScenario) -> dict[str, Any]:
    from mapsvc.planner.analyses import run_what_if

    args = analysis_args(row.analysis)
    out = run_what_if(services(), additions=list(row.sites), **args)
    old = {b["band"]: b for b in out["after"]["bands"]}["75+"]
    before = {b["band"]: b for b in out["before"]["bands"]}["75+"]
    return {
        "id": row.id,
        "name": row.name,
        "sites": len(row.sites),
        "analysis": row.analysis,
        "75+_total": old["total"],
        "75+_covered_before": before["covered"],
        "75+_covered": old["covered"],
        "75+_share": old["share"],
        "75+_gain": old["covered"] - before["covered"],
    }


@bp.route("/api/scenarios/compare", methods=["GET"])
@api
def scenarios_compare() -> Any:
    """Two scenarios side by side (query: a, b): 75+ covered, share and gain, and b - a."""
    from mapsvc.planner.analyses import json_safe

    with services().store.session() as session:
        rows = [_load(session, request.args.get(f), f) for f in ("a", "b")]
        session.expunge_all()
    a, b = (_outcome(r) for r in rows)
    diff = {
        key: (b[key] - a[key]) if a[key] is not None and b[key] is not None else None
        for key in ("75+_covered", "75+_share", "75+_gain")
    }
    same = a["analysis"] == b["analysis"]
    return jsonify(json_safe({"a": a, "b": b, "difference": diff, "same_analysis": same}))
