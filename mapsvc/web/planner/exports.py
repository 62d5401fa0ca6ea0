"""Planner downloads (GeoJSON, GeoPackage, CSV) and the printable one-page area report."""

from __future__ import annotations

import base64
import json

import geopandas as gpd
import pandas as pd
import shapely
from flask import Response, render_template, request

from mapsvc.core.errors import InvalidInput, NotFound
from mapsvc.planner.geojson import oriented_frame
from mapsvc.planner.report import area_map_png, csv_bytes, flat, write_geopackage
from mapsvc.web.auth import role_required
from mapsvc.web.context import services
from mapsvc.web.i18n import get_lang, t
from mapsvc.web.planner._common import analysis_args, api, bp
from mapsvc.web.planner.views import _population_note

FORMATS = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv; charset=utf-8",
}
MAP_MARGIN_M = 5000.0  # the report's map shows providers this close to the area


def _download(
    name: str, fmt: str, layers: dict[str, gpd.GeoDataFrame], table: pd.DataFrame
) -> Response:
    if fmt == "geojson":
        main = next(iter(layers.values()))
        body = (
            oriented_frame(flat(main).to_crs("EPSG:4326"))
            .to_json(ensure_ascii=False, drop_id=True)
            .encode()
        )
    elif fmt == "gpkg":
        body = write_geopackage({k: flat(v) for k, v in layers.items()})
    else:
        body = csv_bytes(table)
    return Response(
        body,
        mimetype=FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


def _fmt(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}", field="format")
    return fmt


@bp.route("/download/coverage.<fmt>")
@api
def download_coverage(fmt: str) -> Response:
    """Population units with covered/uncovered, and the covered area (GeoPackage layer)."""
    from mapsvc.planner.analyses import run_coverage
    from mapsvc.planner.coverage import COUNT_COLUMNS

    _fmt(fmt)
    dataset, result = run_coverage(services(), **analysis_args(request.args))
    pop = result.population
    units = gpd.GeoDataFrame(
        pop[["key", "name", "group", *COUNT_COLUMNS, "covered"]],
        geometry=pop.geometry,
        crs="EPSG:4326",
    )
    area = gpd.GeoDataFrame(
        {"filter": [" + ".join(f.spec() for f in result.filters)], "dataset": [dataset]},
        geometry=[result.geometry_wgs84(simplify_m=5.0)],
        crs="EPSG:4326",
    )
    table = pd.DataFrame(units.drop(columns="geometry"))
    table["lon"] = units.geometry.x.round(6)
    table["lat"] = units.geometry.y.round(6)
    return _download("coverage", fmt, {"population_units": units, "covered_area": area}, table)


@bp.route("/download/compare.<fmt>")
@api
def download_compare(fmt: str) -> Response:
    """Radius vs travel time: units with their quadrant, the quadrant polygons (GeoPackage
    layers) and, as CSV, the four quadrants per band and per area."""
    from mapsvc.planner.analyses import run_compare
    from mapsvc.planner.compare import quadrant_geometries

    _fmt(fmt)
    args = analysis_args(request.args)
    radius_km = args.pop("radius_km") or 16.0
    _, comparison = run_compare(services(), radius_km=radius_km, **args)
    units = comparison.units()
    shapes = quadrant_geometries(comparison)
    areas = gpd.GeoDataFrame(
        {"quadrant": list(shapes)}, geometry=list(shapes.values()), crs="EPSG:4326"
    )
    bands = pd.DataFrame(comparison.bands()).assign(level="band")
    by_area = pd.DataFrame(comparison.by_area()).assign(level="area")
    table = pd.concat([bands, by_area], ignore_index=True)
    return _download("compare", fmt, {"population_units": units, "quadrant_areas": areas}, table)


@bp.route("/download/indicators.<fmt>")
@api
def download_indicators(fmt: str) -> Response:
    """Indicators of an area kind: long table (CSV), areas with one column each (GeoJSON/GPKG)."""
    from mapsvc.geo.areas import areas_frame
    from mapsvc.planner.choropleth import cached_indicators
    from mapsvc.planner.indicators import AREA_KINDS

    _fmt(fmt)
    kind = request.args.get("kind") or "daily_life_area"
    if kind not in AREA_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(AREA_KINDS)}", field="kind")
    _, frame = cached_indicators(services(), request.args.get("population"))
    rows = frame[frame["area_kind"] == kind]
    with services().store.session() as session:
        areas = areas_frame(session, kind)
    wide = rows.pivot_table(index="area_code", columns="indicator", values="value", dropna=False)
    geo = areas[["code", "name", "geometry"]].merge(
        wide, left_on="code", right_index=True, how="left"
    )
    return _download(
        f"indicators_{kind}",
        fmt,
        {f"indicators_{kind}": gpd.GeoDataFrame(geo, crs="EPSG:4326")},
        rows,
    )


@bp.route("/report/<kind>/<code>")
@role_required("planner")
def report(kind: str, code: str) -> str:
    """Printable one-page report of one area: coverage map image, coverage and indicators."""
    from mapsvc.geo.areas import areas_frame
    from mapsvc.planner.analyses import run_coverage
    from mapsvc.planner.choropleth import cached_indicators

    args = analysis_args(request.args)
    if not args["specs"] and not args["types"]:
        args["specs"] = ["home_visit_medical"]
    with services().store.session() as session:
        areas = areas_frame(session, kind) if kind else None
    if areas is None or len(areas) == 0 or code not in set(areas["code"]):
        raise NotFound(f"no {kind} area with code {code}", field="code")
    area = areas[areas["code"] == code]
    dataset, result = run_coverage(services(), **args)
    pop = result.population
    inside = pop.within(area.geometry.iloc[0])
    sub = pop[inside]
    bands = []
    for col in ("total", "65+", "75+"):
        total = int(sub[col].sum())
        cov = int(sub.loc[sub["covered"], col].sum())
        bands.append({"band": col, "total": total, "covered": cov, "uncovered": total - cov})
    # providers within MAP_MARGIN_M of the area (in metres, the analysis CRS)
    near = area.to_crs(result.area_set.crs).geometry.iloc[0].buffer(MAP_MARGIN_M)
    matched = [r for r in result.rules if shapely.contains_xy(near, r.x, r.y)]
    provider_points = gpd.GeoDataFrame(
        {"name": [r.name for r in matched]},
        geometry=gpd.GeoSeries.from_xy(
            [r.x for r in matched], [r.y for r in matched], crs=result.area_set.crs
        ).to_crs("EPSG:4326"),
        crs="EPSG:4326",
    )
    summary = result.to_dict(services().taxonomy, get_lang())
    png = area_map_png(
        area,
        result.geometry_wgs84(simplify_m=5.0),
        provider_points,
        sub[~sub["covered"] & (sub["total"] > 0)],
        f"{area['name'].iloc[0]} — {summary['description']}",
        {
            "covered": t("カバー範囲", "covered area"),
            "uncovered": t("未カバー（75歳以上）", "not covered (75+)"),
            "providers": t("事業所", "providers"),
        },
    )
    _, frame = cached_indicators(services(), args["dataset"])
    indicators = frame[(frame["area_kind"] == kind) & (frame["area_code"] == code)]
    keys = [
        i
        for i in indicators["indicator"]
        if i.startswith(("population:", "covered75:", "per100k:cap:home_visit", "per1000_75:type:"))
    ]
    return render_template(
        "planner/report.html",
        area_name=str(area["name"].iloc[0]),
        area_code=code,
        kind=kind,
        summary=summary,
        dataset=dataset,
        population_note=_population_note(dataset),
        bands=bands,
        image=base64.b64encode(png).decode("ascii"),
        indicators=indicators[indicators["indicator"].isin(keys)].to_dict("records"),
        query=json.dumps(dict(request.args), ensure_ascii=False),
    )
