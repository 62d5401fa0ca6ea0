"""Planner view ``/planner`` (planner role): coverage map, what-if, choropleths, candidates.

Views are thin: they parse the request, call one function of :mod:`mapsvc.planner.analyses`, and
render JSON, GeoJSON or HTML. JSON endpoints live under ``/planner/api/…``; bad input is
a 400 JSON body naming the field, an anonymous request a 401 JSON body. Downloads and the
printable report are in :mod:`mapsvc.web.planner.exports` (same blueprint).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from flask import current_app, jsonify, render_template, request, url_for

from mapsvc.core.errors import InvalidInput
from mapsvc.planner.charts import chart_label, coverage_bands_chart
from mapsvc.planner.geojson import rfc7946
from mapsvc.web.auth import role_required
from mapsvc.web.context import services
from mapsvc.web.i18n import get_lang, t
from mapsvc.web.planner._common import analysis_args, api, bp

# ---- pages -----------------------------------------------------------------------------


@bp.route("/")
@role_required("planner")
def index() -> str:
    """The planner's page: coverage map, what-if, indicators, candidates."""
    from mapsvc.planner.indicators import AREA_KINDS

    svc = services()
    taxonomy = svc.taxonomy
    lang = get_lang()
    capabilities = [
        {"key": c.key, "label": c.label.get(lang), "kind": c.kind, "group": c.group}
        for c in taxonomy.capabilities.values()
        if c.kind in ("level", "flag", "choice")
    ]
    config = {
        "basemap": {
            "url": current_app.config["BASEMAP_URL"],
            "attribution": current_app.config["BASEMAP_ATTRIBUTION"],
        },
        # under whatever path the site is mounted at (url_for includes the script root)
        "base": url_for("planner.index").rstrip("/"),
        "api": url_for("planner.index").rstrip("/") + "/api",
        "lang": lang,
        "texts": {
            "covered": t("カバー", "Covered"),
            "uncovered": t("未カバー", "Not covered"),
            "hypothetical": t("仮想の事業所", "Hypothetical provider"),
            "remove": t("削除", "Remove"),
            "siteArea": t("範囲", "Area of site"),
            "siteValue": t("値", "Value for site"),
            "analysisArea": t("分析の設定", "as the analysis"),
            "minutes": t("分", "min"),
            "error": t("エラー", "Error"),
            "optimal": t("最適解", "Optimal"),
            "greedy": t("貪欲法", "Greedy"),
            "proven": t("最適性を証明済み", "proven optimal"),
            "unproven": t("時間内に証明できず。最適値との差は最大", "not proven in time; at most"),
            "saved": t("保存しました", "Saved"),
            "noSites": t("先に地図へ仮想の事業所を置いてください", "Place what-if sites first"),
            "covered75": t("75歳以上カバー", "75+ covered"),
            "share75": t("75歳以上カバー率", "75+ share covered"),
            "gain75": t("仮想配置で増えた75歳以上", "75+ added by the sites"),
            "siteCount": t("仮想の事業所数", "What-if sites"),
            # providers off the road network (planner_offnet.js; {n} is filled in)
            "offFallback": t(
                "道路網の外にある {n} 事業所は半径で計算しました。",
                "Off the road network, computed by their radius: {n} providers.",
            ),
            "offLeftOut": t(
                "道路網の外にある {n} 事業所は計算から外れています（移動時間を指定したため）。",
                "Off the road network, left out (a travel time was set): {n} providers.",
            ),
            "otherAnalysis": t(
                "注意：A と B は分析の設定が異なります",
                "Note: A and B use different analysis settings",
            ),
        },
    }
    return render_template(
        "planner/index.html",
        capabilities=capabilities,
        levels=[lv for lv in taxonomy.levels if lv.rank > 0],
        types=[(k, v.label.get(lang)) for k, v in taxonomy.provider_types.items()],
        area_kinds=AREA_KINDS,
        default_indicator_label=chart_label("per1000_75:cap:home_visit_medical", taxonomy, lang),
        map_config=config,
    )


# ---- JSON API ----------------------------------------------------------------------------


@bp.route("/api/meta")
@api
def meta() -> Any:
    """Loaded data the page offers: datasets, network, snapshot dates."""
    from mapsvc.core.errors import DataUnavailable
    from mapsvc.geo.network import list_networks
    from mapsvc.geo.population import population_datasets
    from mapsvc.planner.indicators import snapshot_dates
    from mapsvc.planner.inputs import default_dataset

    with services().store.session() as session:
        datasets = population_datasets(session)
        networks = [
            {"name": n.name, "nodes": n.nodes, "active": n.active} for n in list_networks(session)
        ]
        dates = snapshot_dates(session)
        try:
            default = default_dataset(services(), session)
        except DataUnavailable:
            default = None
    return jsonify(
        {"datasets": datasets, "default": default, "networks": networks, "snapshots": dates}
    )


def _population_note(dataset: str) -> dict[str, Any]:
    from mapsvc.planner.inputs import dataset_note

    with services().store.session() as session:
        return dataset_note(services(), session, dataset)


def _coverage_payload(result: Any, dataset: str) -> dict[str, Any]:
    taxonomy = services().taxonomy
    summary = result.to_dict(taxonomy, get_lang())
    summary["population"] = dataset
    summary["population_note"] = _population_note(dataset)
    summary["area"] = rfc7946(result.geometry_wgs84(simplify_m=5.0))
    summary["chart"] = coverage_bands_chart(
        result.population, result.covered, summary["description"], bool(result.missing), get_lang()
    )
    pop = result.population
    uncovered = pop[~result.covered]
    summary["uncovered"] = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(g.x, 6), round(g.y, 6)]},
                "properties": {"key": k, "name": n, "total": int(tot), "75+": int(o)},
            }
            for k, n, tot, o, g in zip(
                uncovered["key"],
                uncovered["name"],
                uncovered["total"],
                uncovered["75+"],
                uncovered.geometry,
                strict=True,
            )  # fmt: skip
            if tot > 0
        ],
    }
    from mapsvc.core.projection import to_degrees

    lons, lats = to_degrees(result.area_set.crs).transform(
        [r.x for r in result.rules], [r.y for r in result.rules]
    )
    summary["providers_points"] = [
        {
            "uid": r.uid,
            "name": r.name,
            "type": r.type,
            "kind": r.kind,
            "source": r.source,
            "lon": round(float(lon), 6),
            "lat": round(float(lat), 6),
        }
        for r, lon, lat in zip(result.rules, np.atleast_1d(lons), np.atleast_1d(lats), strict=True)
    ]
    return summary


@bp.route("/api/coverage")
@api
def coverage_api() -> Any:
    """Coverage of a capability (query: capability, type, minutes | radius_km, population)."""
    from mapsvc.planner.analyses import json_safe, run_coverage

    args = analysis_args(request.args)
    dataset, result = run_coverage(services(), **args)
    return jsonify(json_safe(_coverage_payload(result, dataset)))


@bp.route("/api/compare")
@api
def compare_api() -> Any:
    """Radius vs travel time side by side (query: capability, type, radius_km (default 16),
    minutes, population): the four quadrants per band and area, and their map polygons."""
    from mapsvc.planner.analyses import json_safe, run_compare
    from mapsvc.planner.compare import quadrant_geometries

    args = analysis_args(request.args)
    radius_km = args.pop("radius_km") or 16.0
    dataset, comparison = run_compare(services(), radius_km=radius_km, **args)
    body = comparison.to_dict(services().taxonomy, get_lang())
    body["population"] = dataset
    body["areas"] = {q: rfc7946(g) for q, g in quadrant_geometries(comparison).items()}
    return jsonify(json_safe(body))


@bp.route("/api/what-if", methods=["POST"])
@api
def what_if_api() -> Any:
    """Coverage gain of hypothetical providers (JSON body: analysis + providers)."""
    from mapsvc.planner.analyses import json_safe, run_what_if

    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("expected a JSON object", field="body")
    args = analysis_args(body)
    additions = body.get("providers")
    if not isinstance(additions, list):
        raise InvalidInput("providers must be a list of {lon, lat}", field="providers")
    return jsonify(json_safe(run_what_if(services(), additions=additions, **args)))


@bp.route("/api/indicators")
@api
def indicators_api() -> Any:
    """Choropleth data: areas of a kind with one indicator, class breaks, legend text."""
    from mapsvc.planner.analyses import json_safe
    from mapsvc.planner.choropleth import choropleth

    kind = request.args.get("kind") or "daily_life_area"
    indicator = request.args.get("indicator") or "per1000_75:cap:home_visit_medical"
    classes = request.args.get("classes") or "5"
    if not classes.isdigit() or not 2 <= int(classes) <= 9:
        raise InvalidInput("classes must be 2..9", field="classes")
    data = choropleth(
        services(), kind, indicator, int(classes), request.args.get("population"), get_lang()
    )
    data["indicator_labels"] = {
        i: chart_label(i, services().taxonomy, get_lang()) for i in data["indicators"]
    }
    return jsonify(json_safe(data))


@bp.route("/api/candidates")
@api
def candidates_api() -> Any:
    """在宅医療において積極的役割を担う医療機関 candidates per municipality."""
    from mapsvc.planner.analyses import run_candidates

    return jsonify(run_candidates(services()))
