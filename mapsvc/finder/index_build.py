"""Building a :class:`mapsvc.finder.index.ProviderIndex` from the store's frames.

The capability matrix, the service-area rule of each provider (DESIGN.md section 6, same
order as :mod:`mapsvc.geo.service_areas`) and the trees; :func:`load_index` reads the store.
"""

from __future__ import annotations

import json
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.spatial import cKDTree

from mapsvc.core.projection import to_metres, utm_crs_for_extent
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.finder.answers import AnswerCodes
from mapsvc.finder.index import (
    INDEX_KINDS,
    RULE_POLYGON,
    RULE_RADIUS,
    RULE_TRAVEL,
    UNKNOWN,
    ProviderIndex,
)
from mapsvc.geo.service_areas import explicit_area, lookup_code


def _cap_matrix(
    caps_col: list[Any], taxonomy: Taxonomy
) -> tuple[tuple[str, ...], np.ndarray, AnswerCodes]:
    keys = tuple(taxonomy.capabilities)
    col_of = {k: j for j, k in enumerate(keys)}
    ranks = {lv.key: lv.rank for lv in taxonomy.levels}
    option_no = {
        k: {o: i + 1 for i, o in enumerate(c.options)} for k, c in taxonomy.capabilities.items()
    }
    kinds = {k: c.kind for k, c in taxonomy.capabilities.items()}
    matrix = np.full((len(caps_col), len(keys)), UNKNOWN, dtype=np.int8, order="F")
    answers = AnswerCodes(len(caps_col), keys)
    for i, caps in enumerate(caps_col):
        if not caps:
            continue
        for key, value in caps.items():
            j = col_of.get(key)
            if j is None:
                continue
            answers.add(i, j, value)
            if not value:
                continue
            kind = kinds[key]
            if kind == "level":
                code = ranks.get(value.get("level"), UNKNOWN)
            elif kind == "flag":
                code = {"yes": 1, "no": 0}.get(value.get("level"), UNKNOWN)
            elif kind == "choice":
                code = option_no[key].get(value.get("value"), UNKNOWN)
            else:
                code = 1 if value.get("value") else UNKNOWN
            matrix[i, j] = code
    return keys, matrix, answers


def _area_polygons(
    areas: gpd.GeoDataFrame | None, crs: CRS
) -> dict[tuple[str, str], tuple[Any, str]]:
    if areas is None or len(areas) == 0:
        return {}
    areas = areas[areas.geometry.notna()]
    if areas.crs is None:
        raise ValueError("area polygons have no CRS; expected EPSG:4326 (areas_frame gives it)")
    projected = areas.to_crs(crs)
    return {
        (str(k), str(c)): (g, str(n))
        for k, c, n, g in zip(
            projected["kind"], projected["code"], projected["name"], projected.geometry, strict=True
        )
    }


def _positive(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def build_index(
    frame: pd.DataFrame,
    taxonomy: Taxonomy,
    *,
    generation: int = 0,
    defaults: dict[str, dict[str, float]] | None = None,
    areas: gpd.GeoDataFrame | None = None,
    crs: CRS | None = None,
) -> ProviderIndex:
    """Build a :class:`ProviderIndex`.

    Parameters
    ----------
    frame
        Providers with at least ``uid, type, status, lon, lat, capabilities,
        service_area`` (``load_providers_frame``); rows without coordinates are skipped.
    taxonomy
        Capability keys and kinds, provider types.
    generation
        ``Store.generation(*INDEX_KINDS)`` the frame was read at.
    defaults
        ``Taxonomy.service_area_defaults(SERVICE_AREA_OVERRIDES)``; default: the
        taxonomy's own.
    areas
        Area polygons (EPSG:4326; columns ``kind, code, name``) for ``codes`` service areas.
    crs
        Projected CRS; default: the UTM zone of the providers' median longitude.

    Returns
    -------
    ProviderIndex
    """
    frame = frame[frame["lon"].notna() & frame["lat"].notna()]
    if "geometry" in frame.columns:
        frame = pd.DataFrame(frame.drop(columns="geometry"))
    frame = frame.reset_index(drop=True)
    n = len(frame)
    defaults = defaults or taxonomy.service_area_defaults()
    lon = frame["lon"].to_numpy(dtype=float)
    lat = frame["lat"].to_numpy(dtype=float)
    crs = crs or utm_crs_for_extent(lon if n else [134.0])
    x, y = to_metres(crs).transform(lon, lat)
    xy = np.column_stack([np.asarray(x, float), np.asarray(y, float)]).reshape(-1, 2)
    columns = {c: frame[c].tolist() for c in frame.columns}
    type_keys = tuple(taxonomy.provider_types)
    type_index = {t: i for i, t in enumerate(type_keys)}
    types = columns["type"]
    type_code = np.array([type_index.get(t, -1) for t in types], dtype=np.int16)
    status = columns.get("status") or ["active"] * n
    active = np.array([(s or "active") == "active" for s in status], dtype=bool)
    cap_keys, caps, answers = _cap_matrix(columns.get("capabilities") or [None] * n, taxonomy)
    columns["capabilities"] = [
        json.dumps(c, ensure_ascii=False, separators=(",", ":")) if c else None
        for c in columns.get("capabilities") or [None] * n
    ]

    polys = _area_polygons(areas, crs)
    transformer = to_metres(crs)
    rule = np.full(n, RULE_RADIUS, dtype=np.int8)
    source = np.full(n, "type_default", dtype=object)
    radius_m = np.array(
        [defaults.get(t, {}).get("radius_km", 16.0) * 1000.0 for t in types], dtype=float
    )
    minutes = np.array(
        [defaults.get(t, {}).get("travel_minutes", 30.0) for t in types], dtype=float
    )
    travel = np.ones(n, dtype=bool)  # type default: travel time when a network is loaded
    poly_pos: list[int] = []
    polygons: list[Any] = []
    area_names: dict[int, list[str]] = {}
    problems: list[dict[str, Any]] = []
    uids = columns["uid"]
    for i, area in enumerate(columns.get("service_area") or [None] * n):
        if not isinstance(area, dict) or not area:
            continue
        kind = area.get("kind")
        geom, names, problem = explicit_area(
            area, transformer, lambda code: lookup_code(code, polys)
        )
        if problem:
            problems.append({"provider": uids[i], "problem": "area", "message": problem})
        if kind == "codes" and (geom is None or geom.is_empty):
            # 対応地域を特定できません: the type's default decides, and the result says so
            source[i] = "unresolved"
            continue
        if geom is not None and not geom.is_empty:
            rule[i], source[i] = RULE_POLYGON, "explicit"
            travel[i] = False
            poly_pos.append(i)
            polygons.append(geom)
            if names:
                area_names[i] = names
            continue
        km = _positive(area.get("km"))
        mins = _positive(area.get("minutes"))
        if kind == "radius" and km:
            radius_m[i], source[i], travel[i] = km * 1000.0, "provider", False
        elif kind == "travel_time" and mins:
            minutes[i], source[i] = mins, "provider"
    # RULE_TRAVEL marks "travel time when a network is loaded"; without one the radius
    # (type default) applies — the search decides, since the network can come and go.
    rule[(rule == RULE_RADIUS) & travel] = RULE_TRAVEL
    minutes[rule != RULE_TRAVEL] = np.nan
    point_geoms = shapely.points(lon, lat) if n else np.empty(0, dtype=object)
    poly_arr = np.array(polygons, dtype=object)
    return ProviderIndex(
        generation=generation,
        taxonomy=taxonomy,
        columns=columns,
        uids=np.array(uids, dtype=object),
        lon=lon,
        lat=lat,
        crs=crs,
        xy=xy,
        kdtree=cKDTree(xy if n else np.empty((0, 2))),
        point_tree=shapely.STRtree(point_geoms),
        type_keys=type_keys,
        type_code=type_code,
        active=active,
        cap_keys=cap_keys,
        caps=caps,
        rule=rule,
        rule_source=source,
        radius_m=radius_m,
        minutes=minutes,
        poly_pos=np.array(poly_pos, dtype=np.int64),
        polygons=poly_arr,
        poly_tree=shapely.STRtree(poly_arr) if len(poly_arr) else None,
        area_names=area_names,
        problems=problems,
        areas=areas,
        answer_ids=answers.ids,
        answer_values=answers.values(),
    )


def load_index(services: Any) -> ProviderIndex:
    """Read the store and build the index (providers with coordinates, all area kinds)."""
    from mapsvc.core.frames import load_providers_frame
    from mapsvc.geo.areas import AREA_KINDS, areas_frame

    generation = services.store.generation(*INDEX_KINDS)
    with services.store.session() as session:
        # in the order of the store's ids, on every back-end: an incremental build
        # (mapsvc.finder.index_delta) merges changed rows into a folder by id
        frame = load_providers_frame(session).sort_values("id", kind="stable")
        frames = [areas_frame(session, kind) for kind in AREA_KINDS]
    frames = [f for f in frames if len(f)]
    areas = (
        gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326") if frames else None
    )
    defaults = services.taxonomy.service_area_defaults(
        services.config.get("SERVICE_AREA_OVERRIDES") or {}
    )
    return build_index(
        frame, services.taxonomy, generation=generation, defaults=defaults, areas=areas
    )
