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
* ``meta.json`` (written last): generation, CRS, keys, area names, problems.

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
    column_kind,
    read_blob,
    write_blob,
)
from mapsvc.finder.temporal import confirmed_times

FORMAT = 3  # 2: flag columns as int8 arrays; 3: shared capability answers
ARRAYS = ("lon", "lat", "xy", "type_code", "active", "caps", "rule", "radius_m", "minutes")
SOURCES = ("explicit", "provider", "type_default", "unresolved")
TEXT_COLUMNS = ("capabilities",)  # JSON text in the index (an empty text is None)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def write_index(index: ProviderIndex, folder: Path) -> Path:
    """Write ``index`` as ``folder`` (atomically: a temporary folder renamed into place).
    When another process wrote the same folder first, theirs is kept."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name in ARRAYS:
            np.save(tmp / f"{name}.npy", getattr(index, name))
        np.save(tmp / "poly_pos.npy", index.poly_pos)
        if index.answer_ids is not None:
            np.save(tmp / "answer_ids.npy", index.answer_ids)
            shared = json.dumps(index.answer_values, ensure_ascii=False, separators=(",", ":"))
            (tmp / "answers.json").write_text(shared, encoding="utf-8")  # NaN as in the texts
        np.save(tmp / "confirmed_at.npy", confirmed_times(index))
        source_code = {s: i for i, s in enumerate(SOURCES)}
        np.save(
            tmp / "rule_source.npy", np.array([source_code[s] for s in index.rule_source], np.int8)
        )
        names = list(index.columns)
        texts = [n for n in TEXT_COLUMNS if n in index.columns]
        for name in texts:
            values = index.columns[name]
            if any(v is not None and not isinstance(v, str) for v in values):
                raise TypeError(f"index column {name} holds non-text values")
            write_blob(tmp, name, [b"" if not v else v.encode("utf-8") for v in values])
        flags = []
        for name in names:
            if name in texts:
                continue
            values = [_plain(v) for v in index.columns[name]]
            if values and all(v is None or type(v) is bool for v in values):
                codes = [-1 if v is None else int(v) for v in values]
                np.save(tmp / f"flag-{name}.npy", np.array(codes, dtype=np.int8))
                flags.append(name)
        stored = [n for n in names if n not in texts and n not in flags]
        columns = [[_plain(v) for v in index.columns[name]] for name in stored]
        kinds = [column_kind(values) for values in columns]
        rows = []
        for values in zip(*columns, strict=True) if columns else ():
            row = [
                v.isoformat() if k != "json" and v is not None else v
                for v, k in zip(values, kinds, strict=True)
            ]
            rows.append(_dumps(row).encode("utf-8"))
        write_blob(tmp, "records", rows)
        uids = [str(u) for u in index.uids]
        if any("\n" in u for u in uids):
            raise ValueError("a provider id holds a line break")
        (tmp / "uids.txt").write_text("\n".join(uids), encoding="utf-8")
        order = np.argsort(np.asarray(index.lon), kind="stable").astype(np.int64)
        np.save(tmp / "lon_order.npy", order)
        np.save(tmp / "sorted_lon.npy", np.asarray(index.lon)[order])
        write_blob(tmp, "polygons", [shapely.to_wkb(g) for g in index.polygons])
        areas = index.areas
        area_columns: list[str] = []
        if areas is not None:
            area_columns = [c for c in areas.columns if c != areas.geometry.name]
            plain = pd.DataFrame(areas[area_columns]).astype(object)
            records = [[_plain(v) for v in row] for row in plain.itertuples(index=False)]
            (tmp / "areas.json").write_text(_dumps(records), encoding="utf-8")
            write_blob(tmp, "areas", [shapely.to_wkb(g) for g in areas.geometry])
        meta = {
            "format": FORMAT,
            "generation": index.generation,
            "n": len(index),
            "crs": index.crs.to_wkt(),
            "type_keys": list(index.type_keys),
            "cap_keys": list(index.cap_keys),
            "columns": names,
            "text_columns": texts,
            "flag_columns": flags,
            "column_kinds": kinds,
            "area_names": {str(k): v for k, v in index.area_names.items()},
            "problems": index.problems,
            "areas": None
            if areas is None
            else {
                "columns": area_columns,
                "dtypes": [str(areas[c].dtype) for c in area_columns],
                "crs": str(areas.crs),
            },
            "built_at": index.built_at,
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


def read_index(folder: Path, taxonomy: Taxonomy) -> ProviderIndex:
    """Map an index folder written by :func:`write_index` (read-only arrays)."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"{folder}: index format {meta.get('format')}, expected {FORMAT}")
    arrays = {name: _mapped(folder / f"{name}.npy") for name in ARRAYS}
    n = int(meta["n"])
    columns = RecordColumns(
        read_blob(folder, "records"),
        meta["columns"],
        meta["column_kinds"],
        {name: read_blob(folder, name) for name in meta["text_columns"]},
        {name: _mapped(folder / f"flag-{name}.npy") for name in meta["flag_columns"]},
    )
    text = (folder / "uids.txt").read_text(encoding="utf-8")  # records stay on disk
    uids = np.array(text.split("\n") if n else [], dtype=object)
    poly_blob, poly_off = read_blob(folder, "polygons")
    polygons = np.array(shapely.from_wkb(blob_pieces(poly_blob, poly_off)), dtype=object).reshape(
        -1
    )
    areas = None
    if meta["areas"] is not None:
        area_blob, area_off = read_blob(folder, "areas")
        records = json.loads((folder / "areas.json").read_text(encoding="utf-8"))
        frame = pd.DataFrame(records, columns=meta["areas"]["columns"], dtype=object)
        for name, dtype in zip(meta["areas"]["columns"], meta["areas"]["dtypes"], strict=True):
            if dtype != "object":
                frame[name] = frame[name].astype(dtype)
        geoms = shapely.from_wkb(blob_pieces(area_blob, area_off)) if len(records) else []
        areas = gpd.GeoDataFrame(frame, geometry=list(geoms), crs=meta["areas"]["crs"])
    lon, lat, xy = arrays["lon"], arrays["lat"], arrays["xy"]
    source = np.array(SOURCES, dtype=object)[np.load(folder / "rule_source.npy")]
    confirmed = folder / "confirmed_at.npy"  # absent in folders written before it
    shared = folder / "answers.json"  # absent when the index had no answer codes
    answer_values = json.loads(shared.read_text(encoding="utf-8")) if shared.exists() else []
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
        answer_ids=_mapped(folder / "answer_ids.npy") if shared.exists() else None,
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

    if (folder_of(services.store.generation(*INDEX_KINDS)) / "meta.json").exists():
        return
    built = load_index(services)
    current = write_index(built, folder_of(built.generation))
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
