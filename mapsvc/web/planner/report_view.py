"""The printable one-page area report (``/planner/report/<kind>/<code>``): the outline map
with coverage and a scale bar, the coverage by age band, key indicators, the indicator's
trend against its target and the 二次医療圏 comparison — all drawn server-side as SVG so
the page prints (and saves as PDF) on one A4 sheet without running any script.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import shapely
from flask import render_template, request
from markupsafe import Markup

from mapsvc.core.errors import NotFound
from mapsvc.web.auth import role_required
from mapsvc.web.context import services
from mapsvc.web.i18n import get_lang, t
from mapsvc.web.planner._common import analysis_args, bp

REPORT_SNAPSHOTS = 6  # the newest snapshots the one-page report charts (the page shows all)
MAP_MARGIN_M = 5000.0  # the report's map shows providers this close to the area
# the indicators the report lists (those the store has), in this order
REPORT_INDICATORS = (
    "population:total",
    "population:75+",
    "covered75:*",
    "per100k:cap:home_visit_medical",
    "per100k:cap:on_call_visit",
    "per100k:type:hospital",
    "per100k:type:clinic",
    "per1000_75:type:home_nursing",
    "per1000_75:type:pharmacy",
    "per1000_75:type:care_management",
)


def _report_indicators(
    frame: Any, kind: str, code: str, missing: set[str], lang: str
) -> list[dict[str, Any]]:
    from mapsvc.planner.charts import (
        NO_DENOMINATOR_SHORT_EN,
        NO_DENOMINATOR_SHORT_JA,
        chart_label,
        format_indicator,
        indicator_capability,
    )
    from mapsvc.planner.indicators import value_state

    rows = frame[(frame["area_kind"] == kind) & (frame["area_code"] == code)]
    by_key = dict(zip(rows["indicator"], rows["value"], strict=True))
    over = dict(zip(rows["indicator"], rows["denominator"], strict=True))
    keys: list[str] = []
    for wanted in REPORT_INDICATORS:
        if wanted.endswith("*"):
            keys += sorted(k for k in by_key if k.startswith(wanted[:-1]))
        elif wanted in by_key:
            keys.append(wanted)
    out = []
    for key in keys:
        unknown = indicator_capability(key) in missing
        state = value_state(by_key[key], over[key], unknown)
        words = {
            "missing": t("データなし", "No data"),
            "no_denominator": t(NO_DENOMINATOR_SHORT_JA, NO_DENOMINATOR_SHORT_EN),
        }
        out.append(
            {
                "label": chart_label(key, services().taxonomy, lang),
                "value": words[state] if state else format_indicator(key, by_key[key]),
                "missing": unknown,
            }
        )
    return out


@bp.route("/report/<kind>/<code>")
@role_required("planner")
def report(kind: str, code: str) -> str:
    """Printable one-page report of one area (query: the coverage analysis, and
    ``indicator`` for the trend and 二次医療圏 charts)."""
    from mapsvc.geo.areas import areas_frame
    from mapsvc.planner import chart_data
    from mapsvc.planner.analyses import run_coverage
    from mapsvc.planner.charts import coverage_bands_chart, unanswered_capabilities
    from mapsvc.planner.choropleth import cached_indicators
    from mapsvc.planner.inputs import providers_for
    from mapsvc.planner.svg_charts import render
    from mapsvc.planner.svg_map import outline_svg

    lang = get_lang()
    args = analysis_args(request.args)
    if not args["specs"] and not args["types"]:
        args["specs"] = ["home_visit_medical"]
    with services().store.session() as session:
        areas = areas_frame(session, kind) if kind else None
        missing = unanswered_capabilities(providers_for(session), services().taxonomy)
    if areas is None or len(areas) == 0 or code not in set(areas["code"]):
        raise NotFound(f"no {kind} area with code {code}", field="code")
    area = areas[areas["code"] == code]
    shape = area.geometry.iloc[0]
    dataset, result = run_coverage(services(), **args)
    pop = result.population
    sub = pop[pop.within(shape)]
    summary = result.to_dict(services().taxonomy, lang)
    bands = coverage_bands_chart(
        sub, sub["covered"].to_numpy(dtype=bool), summary["description"], bool(result.missing), lang
    )
    near = area.to_crs(result.area_set.crs).geometry.iloc[0].buffer(MAP_MARGIN_M)
    from mapsvc.core.projection import to_degrees

    matched = [r for r in result.rules if shapely.contains_xy(near, r.x, r.y)]
    lons, lats = to_degrees(result.area_set.crs).transform(
        [r.x for r in matched], [r.y for r in matched]
    )
    gone = sub[~sub["covered"] & (sub["total"] > 0)]
    area_name = str(area["name"].iloc[0])
    outline = outline_svg(
        shape,
        None if result.missing else result.geometry_wgs84(simplify_m=5.0),
        list(zip(list(lons) if matched else [], list(lats) if matched else [], strict=True)),
        [(g.x, g.y, float(o)) for g, o in zip(gone.geometry, gone["75+"], strict=True)],
        {"title": t(f"{area_name}の地図", f"Map of {area_name}"), "north": t("北", "N")},
    )
    _, frame = cached_indicators(services(), dataset)
    known = set(frame["indicator"])
    indicator = request.args.get("indicator") or next(
        (
            i
            for i in ("covered75:home_visit_medical", "per1000_75:cap:home_visit_medical")
            if i in known
        ),
        "population:75+",
    )
    trend = chart_data.trend(
        services(), kind, code, indicator, dataset, lang, last=REPORT_SNAPSHOTS
    )
    muni = code if kind == "municipality" else area["municipality_code"].iloc[0]
    compare = chart_data.medical_area(services(), indicator, muni or None, dataset, lang)
    charts = [
        {"spec": s, "svg": Markup(render(s, *size))}
        for s, size in ((bands, (330, 190)), (trend, (330, 150)), (compare, (330, 150)))
    ]
    return render_template(
        "planner/report.html",
        area_name=area_name,
        area_code=code,
        kind=kind,
        summary=summary,
        sources=chart_data.data_sources(services(), dataset),
        made_on=date.today().isoformat(),
        outline=Markup(outline),
        charts=charts,
        indicators=_report_indicators(frame, kind, code, missing, lang),
    )
