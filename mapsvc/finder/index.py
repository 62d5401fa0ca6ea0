"""The in-process spatial index of providers: what the map, the API and the finder query.

Built from the store (:func:`mapsvc.core.frames.load_providers_frame`) into numpy arrays, so
both store back-ends behave the same and a query never touches the database:

* positions in EPSG:4326 (``lon``, ``lat``) with a shapely ``STRtree`` for bbox queries,
  and in projected metres (``x``, ``y``; JGD2011 UTM zone of the data) with a KD-tree for
  distances;
* capabilities as a compact ``int8`` matrix (one column per taxonomy capability, column
  major so a filter reads one contiguous column): level kinds hold the level's rank
  (積極的受入 3 … 不可 0), flags 1/0, choices the option's number, ranked/text 1;
  unknown or absent is ``-1`` and so never satisfies a filter;
* each provider's service-area rule (DESIGN.md section 6, same order as
  :mod:`mapsvc.geo.service_areas`): an explicit polygon or area codes (polygons in metres with
  their own STRtree), else the provider's own radius or travel time, else the type's
  default travel time (when a road network is loaded) or radius.

:class:`IndexHolder` keeps one index per process and rebuilds it when
``Store.generation()`` changes (checked at most every ``refresh_s`` seconds, a one-row
query); readers keep using the old index while a new one is built.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.spatial import cKDTree

from mapsvc.core.filters import FilterSet
from mapsvc.core.projection import to_metres, utm_crs_for_extent
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.geo.service_areas import explicit_area, lookup_code

# service-area rules (``ProviderIndex.rule``)
RULE_RADIUS = 0  # straight-line radius (provider's own ``km`` or the type's default)
RULE_POLYGON = 1  # explicit polygon or area codes
RULE_TRAVEL = 2  # travel time (provider's own minutes or the type's default)
UNKNOWN = -1


@dataclass(eq=False)
class ProviderIndex:
    """Providers as arrays; position ``i`` is the same provider in every array."""

    generation: int
    taxonomy: Taxonomy
    columns: dict[str, list[Any]]  # frame columns as lists (records are built on demand)
    uids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    crs: CRS
    xy: np.ndarray  # (n, 2) metres
    kdtree: cKDTree
    point_tree: shapely.STRtree  # lon/lat points, for bbox queries
    type_keys: tuple[str, ...]
    type_code: np.ndarray  # int16 index into type_keys, -1 = not in the taxonomy
    active: np.ndarray  # bool
    cap_keys: tuple[str, ...]
    caps: np.ndarray  # int8 (n, k), Fortran order
    rule: np.ndarray  # int8 RULE_*
    rule_source: np.ndarray  # object: "explicit" | "provider" | "type_default"
    radius_m: np.ndarray  # radius of the straight-line rule (also the fallback)
    minutes: np.ndarray  # travel minutes of the travel rule (nan when not travel)
    poly_pos: np.ndarray  # positions of providers with an explicit polygon
    polygons: np.ndarray  # their polygons (metres)
    poly_tree: shapely.STRtree | None
    area_names: dict[int, list[str]]  # position -> names of the areas in its codes
    problems: list[dict[str, Any]]
    areas: gpd.GeoDataFrame | None = None  # every loaded area (EPSG:4326), for look-ups
    built_at: float = field(default_factory=time.time)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _pos: dict[str, int] | None = field(default=None, repr=False)
    _features: dict[tuple[str, str], np.ndarray] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _road_nodes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return int(self.uids.shape[0])

    # ---- records ------------------------------------------------------------------
    def position(self, uid: str) -> int | None:
        """Position of a provider by public id, or None."""
        if self._pos is None:
            self._pos = {u: i for i, u in enumerate(self.uids.tolist())}
        return self._pos.get(uid)

    def record(self, pos: int) -> dict[str, Any]:
        """The provider at ``pos`` as a plain record (every field: reduce it before showing)."""
        rec = {name: _plain(values[pos]) for name, values in self.columns.items()}
        rec["id"] = rec.pop("uid")
        rec["capabilities"] = self.capabilities(pos)
        return rec

    def capabilities(self, pos: int) -> dict[str, Any]:
        """The stored capability answers of one provider (kept as JSON text: a national
        index would otherwise hold millions of small dicts for the garbage collector)."""
        text = self.columns["capabilities"][pos] if "capabilities" in self.columns else None
        return dict(json.loads(text)) if text else {}

    def cached_features(
        self, key: tuple[str, str], build: Callable[[int], bytes], positions: np.ndarray
    ) -> list[bytes]:
        """Serialised features for ``positions``, built once per index and ``key``.

        ``key`` is (audience, anything else the bytes depend on, e.g. the day), and
        ``build(pos)`` makes the bytes of one feature.
        """
        with self._lock:
            cache = self._features.get(key)
            if cache is None:
                if len(self._features) > 8:
                    self._features.clear()
                cache = self._features[key] = np.empty(len(self), dtype=object)
        out: list[bytes] = []
        for pos in positions.tolist():
            data = cache[pos]
            if data is None:
                data = cache[pos] = build(pos)
            out.append(data)
        return out

    def view_for(self, audience: str) -> ProviderIndex:
        """This index as ``audience`` may see it (built once per index).

        Non-public providers (``public`` False: 非公開, publish 0) are inactive for the
        ``public`` audience in every output (items, clusters, CSV, print, search, extent,
        look-ups by id); for professionals they stay unless ``professional_visible``.
        """

        def build() -> ProviderIndex:
            n = len(self)
            public = np.array([v is not False for v in self.columns.get("public") or [True] * n])
            if audience == "public":
                keep = public
            else:
                pro = self.columns.get("professional_visible") or [True] * n
                keep = public | np.array([v is not False for v in pro], dtype=bool)
            if keep.all():
                return self
            return dataclasses.replace(
                self,
                active=self.active & keep,
                _memo={},
                _local=threading.local(),
                _pos=None,
                _features={},
                _lock=threading.Lock(),
            )

        return self.memo(f"view:{audience}", build)

    def memo(self, key: str, build: Callable[[], Any]) -> Any:
        """A value derived from this index, built once (e.g. an address look-up table)."""
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        value = build()
        with self._lock:
            return self._memo.setdefault(key, value)

    # ---- selection ----------------------------------------------------------------
    def filter_mask(
        self, filters: FilterSet, *, active_only: bool = True, positions: np.ndarray | None = None
    ) -> np.ndarray:
        """Boolean mask of providers passing ``filters`` (vectorised, no Python per row);
        over every provider, or over ``positions`` only (same order)."""
        rows = slice(None) if positions is None else positions
        n = len(self) if positions is None else len(positions)
        mask = self.active[rows].copy() if active_only else np.ones(n, dtype=bool)
        if filters.types:
            codes = [self.type_keys.index(t) for t in filters.types if t in self.type_keys]
            mask &= np.isin(self.type_code[rows], np.array(codes, dtype=np.int16))
        for f in filters.capabilities:
            col = self.caps[:, self.cap_keys.index(f.key)][rows]
            if f.option is not None:
                cap = self.taxonomy.capabilities[f.key]
                mask &= col == list(cap.options).index(f.option) + 1
            elif self.taxonomy.capabilities[f.key].kind == "level":
                floor = self.taxonomy.level_rank(f.min_level or "consult") or 1
                mask &= col >= max(floor, 1)
            else:
                mask &= col >= 1
        return mask

    def extent(self, filters: FilterSet | None = None) -> list[float] | None:
        """``[minlon, minlat, maxlon, maxlat]`` (6 decimals) of the active providers
        passing ``filters`` (every active one by default), or None when there are none.

        Kept per index and filter: every map page and ``/api/collections`` asks for it.
        """
        filters = filters or FilterSet()

        def build() -> tuple[float, ...] | None:
            positions = np.flatnonzero(self.filter_mask(filters))
            if positions.size == 0:
                return None
            lon, lat = self.lon[positions], self.lat[positions]
            return tuple(round(float(v), 6) for v in (lon.min(), lat.min(), lon.max(), lat.max()))

        value = self.memo(f"extent:{filters!r}", build)
        return None if value is None else list(value)

    def in_bbox(self, bbox: tuple[float, float, float, float]) -> np.ndarray:
        """Positions (ascending) of providers inside the lon/lat box, edges included."""
        if len(self) == 0:
            return np.empty(0, dtype=np.int64)
        # for points the envelope test is exact (edges included): no predicate needed
        hits = self.point_tree.query(shapely.box(*bbox))
        return np.sort(np.asarray(hits, dtype=np.int64))

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        """A lon/lat point in this index's metres."""
        x, y = self.to_metres().transform(float(lon), float(lat))
        return float(x), float(y)

    def to_metres(self) -> Any:
        """This thread's transformer to metres (building one takes milliseconds)."""
        transformer = getattr(self._local, "to_metres", None)
        if transformer is None:
            transformer = self._local.to_metres = to_metres(self.crs)
        return transformer

    def distances(self, lon: float, lat: float, positions: np.ndarray) -> np.ndarray:
        """Straight-line metres from the point to each position."""
        x, y = self.project(lon, lat)
        d = self.xy[positions] - np.array([x, y])
        return np.hypot(d[:, 0], d[:, 1])

    def project_to(self, crs: CRS, lon: float, lat: float) -> tuple[float, float]:
        """A lon/lat point in another projected CRS (e.g. the road network's)."""
        if crs == self.crs:
            return self.project(lon, lat)
        x, y = to_metres(crs).transform(float(lon), float(lat))
        return float(x), float(y)

    def road_nodes(self, road: Any, snap_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Each provider's nearest node of ``road`` (a :class:`mapsvc.geo._road_index.RoadIndex`)
        and whether it is on the network (within ``snap_m``); cached per network."""
        key = f"{road.signature}:{snap_m}"
        with self._lock:
            hit = self._road_nodes.get(key)
        if hit is not None:
            return hit
        if road.crs == self.crs:
            xy = self.xy
        else:
            x, y = to_metres(road.crs).transform(self.lon, self.lat)
            xy = np.column_stack([np.asarray(x, float), np.asarray(y, float)]).reshape(-1, 2)
        nodes, dist = road.snap(xy)
        value = (nodes, dist <= snap_m)
        with self._lock:
            self._road_nodes.clear()
            self._road_nodes[key] = value
        return value


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if value is pd.NaT:
        return None
    return value


def _cap_matrix(caps_col: list[Any], taxonomy: Taxonomy) -> tuple[tuple[str, ...], np.ndarray]:
    keys = tuple(taxonomy.capabilities)
    col_of = {k: j for j, k in enumerate(keys)}
    ranks = {lv.key: lv.rank for lv in taxonomy.levels}
    option_no = {
        k: {o: i + 1 for i, o in enumerate(c.options)} for k, c in taxonomy.capabilities.items()
    }
    kinds = {k: c.kind for k, c in taxonomy.capabilities.items()}
    matrix = np.full((len(caps_col), len(keys)), UNKNOWN, dtype=np.int8, order="F")
    for i, caps in enumerate(caps_col):
        if not caps:
            continue
        for key, value in caps.items():
            j = col_of.get(key)
            if j is None or not value:
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
    return keys, matrix


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
        ``Store.generation()`` the frame was read at.
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
    cap_keys, caps = _cap_matrix(columns.get("capabilities") or [None] * n, taxonomy)
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
    )


def load_index(services: Any) -> ProviderIndex:
    """Read the store and build the index (providers with coordinates, all area kinds)."""
    from mapsvc.core.frames import load_providers_frame
    from mapsvc.geo.areas import AREA_KINDS, areas_frame

    generation = services.store.generation()
    with services.store.session() as session:
        frame = load_providers_frame(session)
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


class IndexHolder:
    """One index per process, rebuilt when the store's generation changes.

    ``get`` checks the generation at most every ``refresh_s`` seconds (0 = every call).
    One thread rebuilds while the others keep answering from the previous index.
    """

    def __init__(self, loader: Callable[[Any], ProviderIndex] = load_index) -> None:
        self._loader = loader
        self._index: ProviderIndex | None = None
        self._checked = 0.0
        self._build = threading.Lock()

    def get(self, services: Any, refresh_s: float = 2.0) -> ProviderIndex:
        index = self._index
        now = time.monotonic()
        if index is not None and now - self._checked < refresh_s:
            return index
        generation = services.store.generation()
        self._checked = now
        if index is not None and index.generation == generation:
            return index
        if index is not None and not self._build.acquire(blocking=False):
            return index  # someone else is rebuilding: answer from the previous index
        if index is None:
            self._build.acquire()
        try:
            current = self._index
            if current is not None and current.generation == services.store.generation():
                return current
            self._index = self._loader(services)
            self._checked = time.monotonic()
            # The index lives until the store changes: take its objects out of the cyclic
            # garbage collector's scans (a full scan over a national index stalls requests
            # for seconds). Unfreezing first lets the collector reclaim what the previous
            # index (and anything else frozen with it) left behind.
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            return self._index
        finally:
            self._build.release()

    def clear(self) -> None:
        self._index = None


_HOLDERS: dict[str, IndexHolder] = {}
_HOLDERS_LOCK = threading.Lock()


def shared_index(services: Any, refresh_s: float = 2.0) -> ProviderIndex:
    """The process-wide index of this store (one per database URL)."""
    url = str(services.config["DATABASE_URL"])
    with _HOLDERS_LOCK:
        holder = _HOLDERS.setdefault(url, IndexHolder())
    return holder.get(services, refresh_s)
