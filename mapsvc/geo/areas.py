"""Named areas: municipalities, 日常生活圏域, towns (町丁・字), 二次医療圏.

Areas come from boundary files (GeoJSON; GeoPackage or Shapefile with a CRS) through
:func:`import_areas`, which validates every geometry (valid polygons, lon/lat inside
Japan) before writing anything, and upserts by ``(kind, code)``. Features sharing a code
are dissolved into one area (N03 files carry one feature per island). Municipality codes
are stored as 6 digits with check digit, whatever the file holds.

:func:`areas_frame` gives the areas of one kind as a GeoDataFrame (EPSG:4326),
:func:`area_containing` answers "which area contains this point?" — e.g. which
地域包括支援センター's 日常生活圏域 an address lies in — and :func:`codes_containing`
answers it for many points at once (population units, providers).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity
from sqlalchemy import select
from sqlalchemy.orm import Session

from mapsvc.core.codes import JAPAN_LAT, JAPAN_LON, nfkc, normalise_municipality_code
from mapsvc.core.db import bump_generation
from mapsvc.core.errors import ImportFailed, InvalidInput
from mapsvc.core.models import Area

if TYPE_CHECKING:
    from mapsvc.core.services import Services

AREA_KINDS = ("municipality", "daily_life_area", "town", "secondary_medical_area", "custom")
FRAME_COLUMNS = ("kind", "code", "name", "parent_code", "municipality_code", "properties")
# N03 (国土数値情報 行政区域) columns, used when no fields are named
N03_CODE, N03_NAME, N03_CITY, N03_WARD = "N03_007", "N03_004", "N03_003", "N03_005"
_LONLAT_CRS = {"epsg:4326", "urn:ogc:def:crs:ogc:1.3:crs84", "epsg:6668", "epsg:4612"}


def _read_features(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Features (GeoJSON dicts, lon/lat) and collection-level metadata of a boundary file."""
    if not path.is_file():
        raise ImportFailed(f"{path}: file not found", field="file")
    if path.suffix.lower() in (".geojson", ".json"):
        try:
            doc = json.loads(path.read_bytes().decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ImportFailed(f"{path}: not a UTF-8 GeoJSON file ({exc})", field="file") from None
        if isinstance(doc, dict) and doc.get("type") == "Topology":
            return _read_topojson(path), {}
        if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
            raise ImportFailed(
                f"{path}: expected a GeoJSON FeatureCollection or a TopoJSON Topology",
                field="file",
            )
        crs = ((doc.get("crs") or {}).get("properties") or {}).get("name", "")
        if crs and nfkc(crs).lower().replace("::", ":") not in _LONLAT_CRS:
            raise ImportFailed(
                f"{path}: CRS {crs} is not lon/lat; convert the file to EPSG:4326 "
                "(e.g. ogr2ogr -t_srs EPSG:4326 out.geojson in.geojson)",
                field="file",
            )
        meta: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
        return list(doc.get("features") or []), meta
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - pyogrio raises many types; name the file
        raise ImportFailed(f"{path}: cannot be read as a boundary file ({exc})") from None
    if frame.crs is None:
        raise ImportFailed(f"{path}: has no CRS; set one (e.g. EPSG:6668) and retry", field="file")
    frame = frame.to_crs(4326)
    return list(json.loads(frame.to_json(drop_id=True))["features"]), {}


def _read_topojson(path: Path) -> list[dict[str, Any]]:
    """Features of every object of a TopoJSON file (lon/lat, as TopoJSON has no CRS)."""
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - pyogrio raises many types; name the file
        raise ImportFailed(f"{path}: cannot be read as TopoJSON ({exc})", field="file") from None
    frame = frame.drop(columns=[c for c in ("id",) if c in frame.columns])
    return list(json.loads(frame.to_json(drop_id=True))["features"])


def _check_geometry(geom: BaseGeometry, where: str, repair: bool) -> BaseGeometry:
    if geom.is_empty:
        raise ImportFailed(f"{where}: empty geometry", field="geometry")
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise ImportFailed(
            f"{where}: geometry is {geom.geom_type}; areas must be Polygon or MultiPolygon",
            field="geometry",
        )
    minx, miny, maxx, maxy = geom.bounds
    if not (
        JAPAN_LON[0] <= minx <= maxx <= JAPAN_LON[1]
        and JAPAN_LAT[0] <= miny <= maxy <= JAPAN_LAT[1]
    ):
        hint = ""
        if max(abs(minx), abs(maxx), abs(miny), abs(maxy)) > 180:
            hint = " (looks like projected metres: convert to EPSG:4326 lon/lat)"
        elif JAPAN_LAT[0] <= minx and maxx <= JAPAN_LAT[1] and JAPAN_LON[0] <= miny:
            hint = " (latitude and longitude look swapped)"
        raise ImportFailed(
            f"{where}: bounds ({minx:.4f}, {miny:.4f}, {maxx:.4f}, {maxy:.4f}) are outside "
            f"Japan's lon/lat extent{hint}",
            field="geometry",
        )
    if not geom.is_valid:
        if not repair:
            raise ImportFailed(
                f"{where}: invalid polygon ({explain_validity(geom)}); fix it or import with --repair",
                field="geometry",
            )
        fixed = shapely.make_valid(geom)
        parts = [
            g
            for g in getattr(fixed, "geoms", [fixed])
            if g.geom_type in ("Polygon", "MultiPolygon")
        ]
        geom = shapely.union_all(parts) if parts else fixed
        if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise ImportFailed(f"{where}: geometry cannot be repaired into a polygon")
    return geom


def _field(props: dict[str, Any], name: str | None) -> str:
    value = props.get(name) if name else None
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return nfkc(str(value))


def _geojson(geom: BaseGeometry) -> dict[str, Any]:
    return json.loads(shapely.to_geojson(geom))


@dataclass
class AreaImport:
    """What :func:`load_areas` did: areas loaded, features skipped (feature number, why)."""

    loaded: int
    skipped: list[tuple[int, str]] = field(default_factory=list)


def import_areas(
    services: Services,
    path: Path | str,
    kind: str,
    code_field: str | None = None,
    name_field: str | None = None,
    **options: Any,
) -> int:
    """:func:`load_areas`, returning only the number of areas loaded."""
    return load_areas(services, path, kind, code_field, name_field, **options).loaded


def load_areas(
    services: Services,
    path: Path | str,
    kind: str,
    code_field: str | None = None,
    name_field: str | None = None,
    *,
    parent_field: str | None = None,
    municipality_code: str | None = None,
    repair: bool = False,
) -> AreaImport:
    """Load areas of one kind from a boundary file (upsert by kind and code).

    Parameters
    ----------
    services
        :class:`mapsvc.core.services.Services`.
    path
        GeoJSON or TopoJSON (lon/lat), or GeoPackage/Shapefile with a CRS (reprojected to
        EPSG:4326).
    kind
        One of :data:`AREA_KINDS`.
    code_field, name_field
        Property names of the area code and name. Default for N03 files: ``N03_007``
        and ``N03_004``; otherwise ``code`` and ``name``.
    parent_field
        Property holding the parent area's code (e.g. a town's 日常生活圏域); default: the
        municipality code for non-municipality kinds.
    municipality_code
        For ``kind="municipality"``: load only this municipality (5 or 6 digits). For the
        other kinds: the municipality the areas belong to.
    repair
        Repair invalid polygons with :func:`shapely.make_valid` instead of refusing them.

    Returns
    -------
    AreaImport
        Number of areas loaded from the file (new, changed or unchanged), and the features
        skipped because they have no code or name (N03's 所属未定地). Areas already in the
        store but absent from the file are kept.

    Raises
    ------
    ImportFailed
        The file cannot be read, a field is missing, a code is invalid, or a geometry is
        not a valid polygon inside Japan; the message names the file and the feature.
        Nothing is written then.
    InvalidInput
        An unknown ``kind`` or a bad ``municipality_code``.
    """
    if kind not in AREA_KINDS:
        raise InvalidInput(
            f"area kind {kind!r}; expected one of {', '.join(AREA_KINDS)}", field="kind"
        )
    path = Path(path)
    features, meta = _read_features(path)
    if not features:
        raise ImportFailed(f"{path}: no features", field="file")
    first = features[0].get("properties") or {}
    if code_field is None:
        code_field = N03_CODE if N03_CODE in first else "code"
    if name_field is None:
        name_field = N03_NAME if code_field == N03_CODE else "name"
    wanted = None
    if municipality_code:
        try:
            wanted = normalise_municipality_code(municipality_code)
        except ValueError as exc:
            raise InvalidInput(str(exc), field="municipality_code") from None

    groups: dict[str, dict[str, Any]] = {}
    skipped: list[tuple[int, str]] = []
    for i, feature in enumerate(features, start=1):
        props = feature.get("properties") or {}
        where = f"{path}: feature {i}"
        if code_field not in props or name_field not in props:
            missing = [f for f in (code_field, name_field) if f not in props]
            raise ImportFailed(
                f"{where}: no property {', '.join(missing)} (properties: {', '.join(props) or 'none'}); "
                "name the fields with --code-field/--name-field",
                field="columns",
            )
        code, name = _field(props, code_field), _field(props, name_field)
        if not code or not name:
            # N03's 所属未定地 (boundary not settled) has no code: skipped, not the file
            label = name or _field(props, N03_CITY) or "no name"
            empty = code_field if not code else name_field
            skipped.append((i, f"{label}: empty {empty}, not loaded"))
            continue
        if kind == "municipality":
            try:
                code = normalise_municipality_code(code)
            except ValueError as exc:
                raise ImportFailed(f"{where}: {exc}", field=code_field) from None
            if wanted and code != wanted:
                continue
            city = _field(props, N03_CITY) if code_field == N03_CODE else ""
            ward = _field(props, N03_WARD) if code_field == N03_CODE else ""
            if ward.endswith("区") and name.endswith("市") and not name.endswith(ward):
                name = name + ward  # N03 since 2024: N03_004 札幌市, N03_005 中央区
            elif city.endswith("市") and name.endswith("区"):
                name = city + name  # a ward of a designated city: 札幌市中央区
        try:
            geom = shape(feature.get("geometry") or {})
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise ImportFailed(
                f"{where}: not a GeoJSON geometry ({exc})", field="geometry"
            ) from None
        geom = _check_geometry(geom, f"{where} ({code} {name})", repair)
        group = groups.setdefault(code, {"name": name, "geoms": [], "props": {}})
        if group["name"] != name:
            raise ImportFailed(
                f"{where}: code {code} is named {name!r} here but {group['name']!r} before"
            )
        group["geoms"].append(geom)
        group["props"].update({k: v for k, v in props.items() if _jsonable(v)})
        if parent_field:
            group["parent"] = _field(props, parent_field) or None
    if wanted and not groups:
        raise ImportFailed(
            f"{path}: no feature with municipality code {wanted}", field="municipality_code"
        )
    if not groups:
        first_skip = f" ({skipped[0][1]})" if skipped else ""
        raise ImportFailed(f"{path}: no feature has a {code_field} and {name_field}{first_skip}")

    rows = []
    for code, group in groups.items():
        geom = group["geoms"][0] if len(group["geoms"]) == 1 else shapely.union_all(group["geoms"])
        properties = {**group["props"], **meta, "source_file": path.name}
        muni = code if kind == "municipality" else wanted
        parent = (
            group.get("parent") if parent_field else (None if kind == "municipality" else wanted)
        )
        rows.append(
            {
                "kind": kind,
                "code": code,
                "name": group["name"],
                "parent_code": parent,
                "municipality_code": muni,
                "geometry": _geojson(geom),
                "properties": properties,
            }
        )
    with services.store.session() as session:
        existing = {
            a.code: a
            for a in session.scalars(
                select(Area).where(Area.kind == kind, Area.code.in_([r["code"] for r in rows]))
            )
        }
        changed = False
        for r in rows:
            area = existing.get(r["code"])
            if area is None:
                session.add(Area(**r))
                changed = True
                continue
            for key in ("name", "parent_code", "municipality_code", "geometry", "properties"):
                if getattr(area, key) != r[key]:
                    setattr(area, key, r[key])
                    changed = True
        if changed:
            # service areas given as area codes and the "which centre covers this address"
            # answer depend on the boundaries: in-process indexes must rebuild
            bump_generation(session, "areas")
    return AreaImport(len(rows), skipped)


def _jsonable(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int | bool | list | dict)


def areas_frame(session: Session, kind: str) -> gpd.GeoDataFrame:
    """Areas of one kind as a GeoDataFrame in EPSG:4326, ordered by code.

    Columns: ``kind, code, name, parent_code, municipality_code, properties`` (dict) and
    ``geometry`` (polygons). Empty (with those columns) when none are loaded.
    """
    rows = session.scalars(select(Area).where(Area.kind == kind).order_by(Area.code)).all()
    records = [{c: getattr(a, c) for c in FRAME_COLUMNS} for a in rows]
    geoms = [shape(a.geometry) if a.geometry else None for a in rows]
    frame = gpd.GeoDataFrame(records, columns=list(FRAME_COLUMNS), geometry=geoms, crs="EPSG:4326")
    return frame


def area_containing(
    session_or_frame: Session | gpd.GeoDataFrame, lon: float, lat: float, kind: str
) -> dict[str, Any] | None:
    """The area of ``kind`` containing the point, or None.

    Parameters
    ----------
    session_or_frame
        A store session, or a frame from :func:`areas_frame` (faster for many lookups).
    lon, lat
        The point (EPSG:4326). A point on a shared boundary belongs to the area with
        the smallest code, so the answer never depends on row order.
    kind
        Area kind, e.g. ``"daily_life_area"``.

    Returns
    -------
    dict or None
        ``{"kind", "code", "name", "parent_code", "municipality_code", "properties"}``.

    Raises
    ------
    InvalidInput
        ``lon``/``lat`` are not finite numbers.
    """
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        x = y = math.nan
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InvalidInput(f"point ({lon!r}, {lat!r}) is not a pair of numbers", field="lon")
    frame = (
        areas_frame(session_or_frame, kind)
        if isinstance(session_or_frame, Session)
        else session_or_frame
    )
    if "kind" in frame.columns:
        frame = frame[frame["kind"] == kind]
    if frame.empty:
        return None
    hits = frame.sindex.query(shapely.Point(x, y), predicate="intersects")
    if len(hits) == 0:
        return None
    row = frame.iloc[sorted(hits, key=lambda i: str(frame.iloc[i]["code"]))[0]]
    out: dict[str, Any] = {"kind": kind}
    for c in FRAME_COLUMNS[1:]:
        value = row[c] if c in frame.columns else None
        out[c] = None if isinstance(value, float) and math.isnan(value) else value
    return out


def codes_containing(points: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> np.ndarray:
    """Code of the area containing each point (None outside every area), in point order.

    A point on a shared boundary goes to the smallest code, as in :func:`area_containing`.
    Both frames must be in the same CRS (``areas_frame`` gives EPSG:4326).
    """
    out = np.full(len(points), None, dtype=object)
    polygons = areas[areas.geometry.notna()]
    if len(points) == 0 or len(polygons) == 0:
        return out
    joined = gpd.sjoin(
        points[["geometry"]].reset_index(drop=True),
        polygons[["code", "geometry"]],
        how="inner",
        predicate="intersects",
    ).sort_values("code", kind="stable")
    first = joined.loc[~joined.index.duplicated(keep="first")]
    out[first.index.to_numpy()] = first["code"].to_numpy()
    return out
