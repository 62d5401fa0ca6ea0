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
the providers or areas change (``Store.generation(*INDEX_KINDS)``, checked at most every
``refresh_s`` seconds, a one-row query; a population or network import does not rebuild it); readers keep using the old index while a new one is built. Building it from the
store's frames lives in :mod:`mapsvc.finder.index_build`.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.spatial import cKDTree

from mapsvc.core.filters import FilterSet
from mapsvc.core.projection import to_metres
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.finder.bbox_grid import BoxGrid

# service-area rules (``ProviderIndex.rule``)
RULE_RADIUS = 0  # straight-line radius (provider's own ``km`` or the type's default)
RULE_POLYGON = 1  # explicit polygon or area codes
RULE_TRAVEL = 2  # travel time (provider's own minutes or the type's default)
UNKNOWN = -1
# what the index is built from (service areas given as area codes need the boundaries)
INDEX_KINDS = ("providers", "areas")
# the plain arrays of an index (mapsvc.finder.index_file maps them from its folder)
ARRAYS_FOR_TESTS = (
    "lon",
    "lat",
    "xy",
    "type_code",
    "active",
    "caps",
    "rule",
    "radius_m",
    "minutes",
    "poly_pos",
    "answer_ids",
)


@dataclass(eq=False)
class ProviderIndex:
    """Providers as arrays; position ``i`` is the same provider in every array."""

    generation: int
    taxonomy: Taxonomy
    # frame columns as lists (records are built on demand); a mapped index
    # (mapsvc.finder.index_file) decodes its records from the file instead
    columns: Mapping[str, Sequence[Any]]
    uids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    crs: CRS
    xy: np.ndarray  # (n, 2) metres
    kdtree: cKDTree | None  # metres; None in a mapped index until asked for (nearest_tree)
    point_tree: shapely.STRtree | None  # lon/lat points, for bbox queries (or lon_order)
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
    # a mapped index answers bbox queries from the positions sorted by longitude and those
    # longitudes (both mapped from its file) instead of an STRtree of 300,000 points
    lon_order: np.ndarray | None = None
    sorted_lon: np.ndarray | None = None
    # last confirmation as datetime64[s] (NaT: never); a mapped index reads it from its file,
    # an in-memory one builds it on first use (mapsvc.finder.temporal.confirmed_times)
    confirmed: np.ndarray | None = None
    # each provider's answer to each capability as a number in that capability's shared
    # answers (mapsvc.finder.answers); None: read every answer from the text
    answer_ids: np.ndarray | None = None
    answer_values: tuple[tuple[Any, ...], ...] = ()
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _pos: dict[str, int] | None = field(default=None, repr=False)
    # serialised features per key: the bytes by position, and which are built
    _features: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _road_nodes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)
    # the BoxGrid of a mapped index once built, with the coordinates it was built from
    # (shared with its views, which have the same arrays)
    _box_grid: list[tuple[np.ndarray, np.ndarray, BoxGrid]] = field(
        default_factory=list, repr=False
    )

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
        row = getattr(self.columns, "row", None)
        if row is not None:
            rec = row(pos)
        else:
            rec = {name: _plain(values[pos]) for name, values in self.columns.items()}
        rec["id"] = rec.pop("uid")
        text = rec.get("capabilities")  # the stored JSON text, already read with the row
        rec["capabilities"] = dict(json.loads(text)) if text else {}
        return rec

    def pick(self, pos: int, names: tuple[str, ...]) -> dict[str, Any]:
        """Only ``names`` of the provider at ``pos`` (those the index has), as
        :meth:`record` gives them, without reading the rest of the record."""
        pick = getattr(self.columns, "pick", None)
        if pick is not None:
            found: dict[str, Any] = pick(pos, names)
            return found
        return {n: _plain(self.columns[n][pos]) for n in names if n in self.columns}

    def pick_many(self, positions: list[int], names: tuple[str, ...]) -> list[dict[str, Any]]:
        """:meth:`pick` for each of ``positions`` (a mapped index decodes them at once)."""
        many = getattr(self.columns, "pick_many", None)
        if many is not None:
            found: list[dict[str, Any]] = many(positions, names)
            return found
        return [self.pick(pos, names) for pos in positions]

    def capabilities(self, pos: int) -> dict[str, Any]:
        """The stored capability answers of one provider (kept as JSON text: a national
        index would otherwise hold millions of small dicts for the garbage collector)."""
        if "capabilities" not in self.columns:
            return {}
        value = getattr(self.columns, "value", None)
        text = value("capabilities", pos) if value else self.columns["capabilities"][pos]
        return dict(json.loads(text)) if text else {}

    def cached_features(
        self, key: tuple[str, str], build: Callable[[int], bytes], positions: np.ndarray
    ) -> list[bytes]:
        """Serialised features for ``positions``, built once per index and ``key``.

        ``key`` is (audience, anything else the bytes depend on, e.g. the day), and
        ``build(pos)`` makes the bytes of one feature.
        """
        with self._lock:
            entry = self._features.get(key)
            if entry is None:
                if len(self._features) > 8:
                    self._features.clear()
                n = len(self)
                entry = self._features[key] = (np.empty(n, dtype=object), np.zeros(n, bool))
        cache, built = entry
        # a warm page is two gathers: the Python loop only runs over features not built yet
        for pos in positions[~built[positions]].tolist():
            cache[pos] = build(pos)
            built[pos] = True  # after the bytes are in place (another thread may read them)
        out: list[bytes] = cache[positions].tolist()
        return out

    def view_for(self, audience: str) -> ProviderIndex:
        """This index as ``audience`` may see it (built once per index).

        Non-public providers (``public`` False: 非公開, publish 0) are inactive for the
        ``public`` audience in every output (items, clusters, CSV, print, search, extent,
        look-ups by id); for professionals they stay unless ``professional_visible``.
        """

        def build() -> ProviderIndex:
            n = len(self)

            def shown(name: str) -> np.ndarray:
                # None = not stated (shown); False or 0 = hidden
                if name not in self.columns:
                    return np.ones(n, dtype=bool)
                codes = getattr(self.columns, "flag_codes", lambda _n: None)(name)
                if codes is not None:  # a mapped index: -1 None, 0 False, 1 True
                    return np.asarray(codes) != 0
                return np.array([v is None or bool(v) for v in self.columns[name]], dtype=bool)

            public = shown("public")
            keep = public if audience == "public" else public | shown("professional_visible")
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
            # a table over the type codes (last entry: -1, a type not in the taxonomy) is
            # one gather, where np.isin sorts
            allowed = np.zeros(len(self.type_keys) + 1, dtype=bool)
            allowed[[self.type_keys.index(t) for t in filters.types if t in self.type_keys]] = True
            mask &= allowed[self.type_code[rows]]
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
        if self.lon_order is not None and self.sorted_lon is not None:
            # the same as the envelope query below: edges included, box corners in any order
            west, east = sorted((float(bbox[0]), float(bbox[2])))
            south, north = sorted((float(bbox[1]), float(bbox[3])))
            found = self._grid().query(west, south, east, north)
            if found is not None:  # a few cells instead of a strip of the country
                return found
            lo = int(np.searchsorted(self.sorted_lon, west, side="left"))
            hi = int(np.searchsorted(self.sorted_lon, east, side="right"))
            cand = np.asarray(self.lon_order[lo:hi], dtype=np.int64)
            lat = self.lat[cand]
            return np.sort(cand[(lat >= south) & (lat <= north)])
        assert self.point_tree is not None
        # for points the envelope test is exact (edges included): no predicate needed
        hits = self.point_tree.query(shapely.box(*bbox))
        return np.sort(np.asarray(hits, dtype=np.int64))

    def _grid(self) -> BoxGrid:
        for lon, lat, grid in self._box_grid:
            if lon is self.lon and lat is self.lat:
                return grid
        grid = BoxGrid.build(self.lon, self.lat)
        self._box_grid[:] = [(self.lon, self.lat, grid)]
        return grid

    def nearest_tree(self) -> cKDTree:
        """The KD-tree of the positions in metres (built on first use in a mapped index)."""
        if self.kdtree is None:
            self.kdtree = cKDTree(np.asarray(self.xy) if len(self) else np.empty((0, 2)))
        return self.kdtree

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
    """A frame value as the index gives it: Python values (numpy scalars unwrapped), None
    for NaN/NaT."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if value is pd.NaT:
        return None
    return value


class IndexHolder:
    """One index per process, rebuilt when the store's generation changes.

    ``get`` checks the generation at most every ``refresh_s`` seconds (0 = every call).
    One thread rebuilds while the others keep answering from the previous index.
    """

    def __init__(self, loader: Callable[[Any], ProviderIndex] | None = None) -> None:
        if loader is None:
            from mapsvc.finder.index_build import load_index

            loader = load_index
        self._loader: Callable[[Any], ProviderIndex] = loader
        self._index: ProviderIndex | None = None
        self._checked = 0.0
        self._build = threading.Lock()
        self.wait_for_builds = True  # see shared_index

    def get(self, services: Any, refresh_s: float = 2.0) -> ProviderIndex:
        index = self._index
        now = time.monotonic()
        if index is not None and now - self._checked < refresh_s:
            return index
        generation = services.store.generation(*INDEX_KINDS)
        self._checked = now
        if index is not None and index.generation == generation:
            return index
        if index is not None and not self._build.acquire(blocking=False):
            return index  # someone else is rebuilding: answer from the previous index
        if index is None:
            self._build.acquire()
        try:
            current = self._index
            if current is not None and current.generation == services.store.generation(
                *INDEX_KINDS
            ):
                return current
            from mapsvc.finder.index_file import IndexBusy

            try:
                self._index = self._loader(services)
            except IndexBusy:
                if index is None:
                    raise
                return index  # being built elsewhere: the previous index meanwhile
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


def _in_memory(url: str) -> bool:
    return (
        url.startswith("sqlite")
        and url.rstrip("/") in ("sqlite:", "sqlite:/:memory:")
        or (":memory:" in url)
    )


def _mapped(url: str) -> Callable[[Any], ProviderIndex]:
    from mapsvc.finder.index_file import file_index

    def load(services: Any) -> ProviderIndex:
        # a worker that still has the previous index answers from it while the new one
        # is built (IndexHolder catches IndexBusy); one that has none waits for it, and so
        # does one asked to check on every request (INDEX_REFRESH_SECONDS = 0: the
        # freshest answer rather than the fastest)
        holder = _HOLDERS[url]
        return file_index(services, wait=holder._index is None or holder.wait_for_builds)

    return load


def shared_index(services: Any, refresh_s: float = 2.0) -> ProviderIndex:
    """The process-wide index of this store (one per database URL).

    Mapped from the index folder next to the store (:func:`mapsvc.finder.index_file.file_index`:
    built once per generation, shared by every worker); an in-memory store, which no other
    process can see, keeps its index in the process.
    """
    url = str(services.config["DATABASE_URL"])
    with _HOLDERS_LOCK:
        holder = _HOLDERS.get(url)
        if holder is None:
            holder = _HOLDERS[url] = IndexHolder(None if _in_memory(url) else _mapped(url))
    holder.wait_for_builds = refresh_s <= 0
    return holder.get(services, refresh_s)


def __getattr__(name: str) -> Any:
    """``build_index`` and ``load_index`` live in :mod:`mapsvc.finder.index_build` (which
    imports this module); they stay importable from here."""
    if name in ("build_index", "load_index"):
        from mapsvc.finder import index_build

        return getattr(index_build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
