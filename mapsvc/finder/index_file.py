"""The provider index as a folder of plain arrays, built once and mapped by every worker.

One process per store generation reads the store and builds the index
(:func:`mapsvc.finder.index_build.load_index`), then writes it here; every worker (that
process included) maps the arrays read-only (``numpy.load(mmap_mode="r")``), so N workers
share one copy in the page cache instead of holding N. Only what cannot be mapped is
rebuilt per worker: the STRtree of the explicit polygons (the KD-tree on first use).

Layout of ``<instance>/index/providers-<key>-<generation>/``:

* ``<name>.npy``: the numeric arrays of :class:`~mapsvc.finder.index.ProviderIndex`;
* ``uids.txt``: the public ids, one a line; ``lon_order.npy``/``sorted_lon.npy``: the
  positions sorted by longitude and those longitudes (bbox queries without a tree);
* ``records.bin`` + ``records.npy``: each provider's record (a compact JSON array, column
  order in ``meta.json``) and the offsets of the records in the blob (blobs are read with
  ``os.pread``, not mapped: :mod:`mapsvc.finder.index_records`);
* ``flag-<name>.npy``: columns holding only True/False/None (``public``,
  ``professional_visible``) as int8 -1/0/1, kept out of the records;
* ``polygons.bin`` + ``polygons.npy``: the explicit service-area polygons as WKB;
* ``areas.bin`` + ``areas.npy`` + ``areas.json``: the loaded areas (WKB and their columns);
* ``answer_ids.npy`` + ``answers.json``: each provider's capability answers as numbers
  in each capability's distinct answers (:mod:`mapsvc.finder.answers`; an incremental
  build appends to the previous table, so entries may be unused);
* ``ids.npy``: the store's ids (ascending: a full build reads the store in id order);
* ``meta.json`` (written last): generation and the store's counters the folder starts
  from (``generations``), CRS, keys, area names, problems, the per-row arrays and blobs
  (``row_arrays``, ``row_blobs``: :mod:`mapsvc.finder.index_rows`) and each column's census.

After a change of a few providers, the next generation is written from the previous folder
and the changed rows only (:mod:`mapsvc.finder.index_delta`), file for file as a full
build would write it.

A folder is written under a temporary name and renamed into place (atomic), so a reader
never sees half an index. ``key`` covers the store, the taxonomy file and the
service-area defaults: a change to any of them is a new index.
"""

from __future__ import annotations

import ctypes
import fcntl
import gc
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from mapsvc.core.taxonomy import Taxonomy
from mapsvc.finder.index import INDEX_KINDS, ProviderIndex, _plain
from mapsvc.finder.index_records import (
    RecordColumns,
    blob_pieces,
    link_file,
    read_blob,
    read_rows,
    write_blob,
)
from mapsvc.finder.index_rows import (
    ARRAYS,
    SOURCES,
    Rows,
    _dumps,
    census_of,
    encode_rows,
    layout_of,
    plain_columns,
)

# 2: flag columns as int8 arrays; 3: row arrays/blobs listed, ids, census; 4: shared
# capability answers (answer_ids.npy + answers.json)
FORMAT = 4


def write_index(index: ProviderIndex, folder: Path, *, base: dict[str, int] | None = None) -> Path:
    """Write ``index`` as ``folder`` (atomically: a temporary folder renamed into place).
    When another process wrote the same folder first, theirs is kept.

    ``base``: the store's counters (``Store.generations(*INDEX_KINDS)``) read before the
    index was read from the store: every change up to them is in it (an incremental build
    starts from there)."""
    plain = plain_columns(index)
    census = census_of(plain)
    layout = layout_of(list(index.columns), census)
    rows = encode_rows(index, layout, plain)
    del plain

    def areas_files(tmp: Path) -> dict[str, Any] | None:
        areas = index.areas
        if areas is None:
            return None
        area_columns = [c for c in areas.columns if c != areas.geometry.name]
        frame = pd.DataFrame(areas[area_columns]).astype(object)
        records = [[_plain(v) for v in row] for row in frame.itertuples(index=False)]
        (tmp / "areas.json").write_text(_dumps(records), encoding="utf-8")
        write_blob(tmp, "areas", [shapely.to_wkb(g) for g in areas.geometry])
        return {
            "columns": area_columns,
            "dtypes": [str(areas[c].dtype) for c in area_columns],
            "crs": str(areas.crs),
        }

    def blobs(tmp: Path) -> None:
        for name, items in rows.blobs.items():
            write_blob(tmp, name, items)

    meta = {
        "format": FORMAT,
        "generation": index.generation,
        "generations": base,
        "n": len(index),
        "crs": index.crs.to_wkt(),
        "type_keys": list(index.type_keys),
        "cap_keys": list(index.cap_keys),
        "columns": list(layout.names),
        "text_columns": list(layout.texts),
        "flag_columns": list(layout.flags),
        "column_kinds": list(layout.kinds),
        "census": census,
        "row_blobs": sorted(rows.blobs),
        "built_at": index.built_at,
    }
    return write_folder(folder, rows, meta, blobs, areas_files)


def write_folder(
    folder: Path,
    rows: Rows,
    meta: dict[str, Any],
    blobs: Callable[[Path], None],
    areas: Callable[[Path], dict[str, Any] | None],
) -> Path:
    """Write a folder from its per-row data (the blobs and areas files by the callables,
    into the temporary folder they are given), ``meta.json`` last, then rename it."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))

    def unless_linked(*names: str) -> bool:  # True: write these files (else linked)
        for name in names:
            if name in rows.linked:
                link_file(rows.linked[name], tmp / name)
        return not any(name in rows.linked for name in names)

    try:
        for name, values in rows.arrays.items():
            if unless_linked(f"{name}.npy"):
                np.save(tmp / f"{name}.npy", values)
        blobs(tmp)
        if unless_linked("uids.txt"):
            (tmp / "uids.txt").write_text("\n".join(rows.uids), encoding="utf-8")
        if unless_linked("lon_order.npy", "sorted_lon.npy"):
            lon = np.asarray(rows.arrays["lon"])
            order = np.argsort(lon, kind="stable").astype(np.int64)
            np.save(tmp / "lon_order.npy", order)
            np.save(tmp / "sorted_lon.npy", lon[order])
        if unless_linked("answers.json"):  # NaN as in the capability texts
            shared = json.dumps(rows.answers, ensure_ascii=False, separators=(",", ":"))
            (tmp / "answers.json").write_text(shared, encoding="utf-8")
        if unless_linked("poly_pos.npy", "polygons.npy", "polygons.bin"):
            positions = sorted(rows.polygons)
            np.save(tmp / "poly_pos.npy", np.array(positions, dtype=np.int64))
            write_blob(tmp, "polygons", [rows.polygons[p] for p in positions])
        meta = {
            **meta,
            "row_arrays": list(rows.arrays),
            "area_names": {str(p): rows.area_names[p] for p in sorted(rows.area_names)},
            "problems": [x for p in sorted(rows.problems) for x in rows.problems[p]],
            "areas": areas(tmp),
        }
        (tmp / "meta.json").write_text(_dumps(meta), encoding="utf-8")
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / "meta.json").exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process was first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _mapped(path: Path) -> np.ndarray:
    """A ``.npy`` file mapped read-only, as a plain ndarray view of the map (indexing a
    ``numpy.memmap`` runs Python code per access; the view reads the same pages)."""
    mapped: np.ndarray = np.load(path, mmap_mode="r").view(np.ndarray)
    return mapped


def read_areas(folder: Path, meta: dict[str, Any]) -> gpd.GeoDataFrame | None:
    """The areas kept in an index folder (EPSG:4326), as the full build had them."""
    if meta["areas"] is None:
        return None
    area_blob, area_off = read_blob(folder, "areas")
    records = json.loads((folder / "areas.json").read_text(encoding="utf-8"))
    frame = pd.DataFrame(records, columns=meta["areas"]["columns"], dtype=object)
    for name, dtype in zip(meta["areas"]["columns"], meta["areas"]["dtypes"], strict=True):
        if dtype != "object":
            frame[name] = frame[name].astype(dtype)
    geoms = shapely.from_wkb(blob_pieces(area_blob, area_off)) if len(records) else []
    return gpd.GeoDataFrame(frame, geometry=list(geoms), crs=meta["areas"]["crs"])


def read_index(folder: Path, taxonomy: Taxonomy) -> ProviderIndex:
    """Map an index folder written by :func:`write_index` (read-only arrays)."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"{folder}: index format {meta.get('format')}, expected {FORMAT}")
    arrays = {name: _mapped(folder / f"{name}.npy") for name in ARRAYS}
    n = int(meta["n"])
    columns = RecordColumns(
        read_rows(folder, "records"),
        meta["columns"],
        meta["column_kinds"],
        {name: read_rows(folder, name) for name in meta["text_columns"]},
        {name: _mapped(folder / f"flag-{name}.npy") for name in meta["flag_columns"]},
    )
    text = (folder / "uids.txt").read_text(encoding="utf-8")  # records stay on disk
    uids = np.array(text.split("\n") if n else [], dtype=object)
    poly_blob, poly_off = read_blob(folder, "polygons")
    polygons = np.array(shapely.from_wkb(blob_pieces(poly_blob, poly_off)), dtype=object).reshape(
        -1
    )
    areas = read_areas(folder, meta)
    lon, lat, xy = arrays["lon"], arrays["lat"], arrays["xy"]
    source = np.array(SOURCES, dtype=object)[np.load(folder / "rule_source.npy")]
    confirmed = folder / "confirmed_at.npy"  # absent in folders written before it
    answer_values = json.loads((folder / "answers.json").read_text(encoding="utf-8"))
    return ProviderIndex(
        generation=int(meta["generation"]),
        taxonomy=taxonomy,
        columns=columns,
        uids=uids,
        lon=lon,
        lat=lat,
        crs=CRS.from_wkt(meta["crs"]),
        xy=xy,
        kdtree=None,  # built on first use (ProviderIndex.nearest_tree)
        point_tree=None,  # bbox queries: lon_order/sorted_lon below
        type_keys=tuple(meta["type_keys"]),
        type_code=arrays["type_code"],
        active=arrays["active"],
        cap_keys=tuple(meta["cap_keys"]),
        caps=arrays["caps"],
        rule=arrays["rule"],
        rule_source=source,
        radius_m=arrays["radius_m"],
        minutes=arrays["minutes"],
        poly_pos=_mapped(folder / "poly_pos.npy"),
        polygons=polygons,
        poly_tree=shapely.STRtree(polygons) if len(polygons) else None,
        area_names={int(k): v for k, v in meta["area_names"].items()},
        problems=meta["problems"],
        areas=areas,
        built_at=float(meta["built_at"]),
        lon_order=_mapped(folder / "lon_order.npy"),
        sorted_lon=_mapped(folder / "sorted_lon.npy"),
        confirmed=_mapped(confirmed) if confirmed.exists() else None,
        answer_ids=arrays["answer_ids"],
        answer_values=tuple(tuple(values) for values in answer_values),
    )


def index_key(services: Any) -> str:
    """What else than the generation the index depends on: store, taxonomy, defaults."""
    taxonomy_path = Path(services.taxonomy.path)
    overrides = services.config.get("SERVICE_AREA_OVERRIDES") or {}
    parts = [
        str(FORMAT),
        str(services.config["DATABASE_URL"]),
        hashlib.sha256(taxonomy_path.read_bytes()).hexdigest(),
        json.dumps(overrides, sort_keys=True, default=str),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class IndexBusy(Exception):  # noqa: N818 - a state, not an error
    """The index of the current generation is being built (by this process's background
    thread or by another process): answer from the previous one meanwhile."""


_BUILDING: dict[str, threading.Thread] = {}
_BUILDING_LOCK = threading.Lock()


def _try_lock(path: Path, wait: bool) -> Any:
    """An open file holding the exclusive lock, or None when ``wait`` is False and
    another process holds it."""
    fh = open(path, "a+b")  # noqa: SIM115 - closed by _unlock
    try:
        fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    return fh


def _unlock(fh: Any) -> None:
    fcntl.flock(fh, fcntl.LOCK_UN)
    fh.close()


def _release_memory() -> None:
    """Hand the build's freed heap back to the system.

    glibc keeps freed memory in the process: at 300,000 providers the worker that built
    the folder stayed at ~1 GB RSS after dropping the built index (215 MB after a trim)
    while the workers that only map it hold ~250 MB. No-op where there is no glibc.
    """
    gc.collect()
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim(0)


def _build(services: Any, directory: Path, key: str, folder_of: Any) -> None:
    """Build and write the current generation (the caller holds the lock)."""
    from mapsvc.finder.index_build import load_index
    from mapsvc.finder.index_delta import build_changes

    base = services.store.generations(*INDEX_KINDS)
    current = folder_of(sum(base.values()))
    if (current / "meta.json").exists():
        return
    # only the providers changed since the previous folder, when few did (else None)
    written = build_changes(services, directory.glob(f"providers-{key}-*"), base, current)
    if written is None:
        built = load_index(services)
        current = write_index(built, folder_of(built.generation), base=base)
        del built
        _release_memory()
    for old in directory.glob(f"providers-{key}-*"):
        if old != current:  # workers that mapped it keep their (unlinked) pages
            shutil.rmtree(old, ignore_errors=True)


def file_index(services: Any, directory: Path | None = None, *, wait: bool = True) -> ProviderIndex:
    """The index of the store's current generation, mapped from its folder.

    The first process to ask after a change builds and writes it. With ``wait`` (a worker
    that has no index yet) the call waits for that; without (a worker still holding the
    previous index) it raises :class:`IndexBusy` at once, building in a background thread
    if no other process is, so no request waits for a build.
    """
    directory = directory or Path(services.instance_path) / "index"
    directory.mkdir(parents=True, exist_ok=True)
    key = index_key(services)

    def folder_of(generation: int) -> Path:
        return directory / f"providers-{key}-{generation}"

    current = folder_of(services.store.generation(*INDEX_KINDS))
    if (current / "meta.json").exists():
        try:
            return read_index(current, services.taxonomy)
        except FileNotFoundError:
            pass  # replaced by a newer generation while we opened it: take the lock below
    lock_path = directory / f".providers-{key}.lock"
    if not wait:
        with _BUILDING_LOCK:
            running = _BUILDING.get(key)
            if running is not None and running.is_alive():
                raise IndexBusy(key)
            fh = _try_lock(lock_path, wait=False)
            if fh is None:
                raise IndexBusy(key)  # another process is building it

            def run() -> None:
                try:
                    _build(services, directory, key, folder_of)
                finally:
                    _unlock(fh)

            thread = _BUILDING[key] = threading.Thread(target=run, name="index-build", daemon=True)
            thread.start()
        raise IndexBusy(key)
    fh = _try_lock(lock_path, wait=True)
    try:
        _build(services, directory, key, folder_of)
    finally:
        _unlock(fh)
    return read_index(folder_of(services.store.generation(*INDEX_KINDS)), services.taxonomy)
