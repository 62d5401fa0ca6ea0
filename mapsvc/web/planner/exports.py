"""Planner downloads (GeoJSON, GeoPackage, CSV); the printable report is in
:mod:`mapsvc.web.planner.report_view`."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from flask import Response, request

from mapsvc.core.errors import InvalidInput
from mapsvc.planner.geojson import oriented_frame
from mapsvc.planner.report import csv_bytes, flat, write_geopackage
from mapsvc.web.context import services
from mapsvc.web.planner._common import analysis_args, api, bp

FORMATS = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv; charset=utf-8",
}


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
