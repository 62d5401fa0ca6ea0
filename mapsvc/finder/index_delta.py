"""An index folder built from the previous generation's folder and the providers changed
since, instead of from the whole store (issue 13: the first request after an edit).

Every change of providers records its transaction (``Provider.change_token`` and
:class:`~mapsvc.core.models.ProviderChange`, :mod:`mapsvc.core.registry`), so the rows
changed since a folder's ``generations`` are one indexed query. They are built as a small
index of their own (:func:`~mapsvc.finder.index_build.build_index` with the folder's CRS
and areas: the same code as a full build), encoded the same way
(:func:`~mapsvc.finder.index_rows.encode_rows`) and merged by store id into the previous
folder's per-row arrays and blobs (the unchanged byte ranges copied as they are), so the
folder written equals a full build's file for file (``tests/test_index_delta.py``).

``None`` (the caller builds in full) when there is no usable previous folder (none of
this format, areas changed since, no store ids), when a bump of the providers counter
since has no recorded change (a writer that went around the registry), when more than :data:`MAX_SHARE` of the
index changed, or when the change would change how the folder is laid out: another
projection (the median longitude moved to another UTM zone) or another column layout (a
column's first non-empty value, say).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from mapsvc.core.models import Provider, ProviderChange
from mapsvc.core.projection import utm_crs_for_extent
from mapsvc.finder.index_records import blob_pieces, read_blob
from mapsvc.finder.index_rows import (
    Layout,
    Rows,
    census_of,
    combine,
    encode_rows,
    layout_of,
    plain_columns,
)

MAX_SHARE = 0.05  # more changed providers than this share of the index: a full build


def _previous(folders: Iterable[Path], base: dict[str, int]) -> tuple[Path, dict[str, Any]] | None:
    """The newest folder an incremental build can start from, with its meta."""
    from mapsvc.finder.index_file import FORMAT

    best: tuple[Path, dict[str, Any]] | None = None
    for folder in folders:
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # being written, or removed meanwhile
        gens = meta.get("generations") or {}
        if (
            meta.get("format") != FORMAT
            or "ids" not in meta.get("row_arrays", ())
            or gens.get("areas") != base["areas"]
            or gens.get("providers", base["providers"] + 1) > base["providers"]
        ):
            continue
        if best is None or gens["providers"] > best[1]["generations"]["providers"]:
            best = folder, meta
    return best


def build_changes(
    services: Any, folders: Iterable[Path], base: dict[str, int], target: Path
) -> Path | None:
    """Write ``target`` (the store at ``base``) from the newest usable folder among
    ``folders`` and the providers changed since; None when a full build is needed."""
    from mapsvc.core.frames import load_providers_frame
    from mapsvc.finder.index_build import build_index
    from mapsvc.finder.index_file import read_index

    previous = _previous(folders, base)
    if previous is None:
        return None
    folder, meta = previous
    since = int(meta["generations"]["providers"])
    tokens = select(ProviderChange.token).where(ProviderChange.generation > since)
    with services.store.session() as session:
        # every bump of the counter since the folder must be a recorded change: one made
        # another way (a direct UPDATE and bump_generation) says nothing of what changed
        recorded = session.scalar(
            select(func.count())
            .select_from(ProviderChange)
            .where(ProviderChange.generation > since)
            .where(ProviderChange.generation <= base["providers"])
        )
        if recorded != base["providers"] - since:
            return None
        changed = load_providers_frame(
            session, located_only=False, where=Provider.change_token.in_(tokens)
        ).sort_values("id", kind="stable")
    n_old = int(meta["n"])
    if n_old == 0 or len(changed) > MAX_SHARE * n_old:
        return None
    try:
        old = read_index(folder, services.taxonomy)
    except FileNotFoundError:
        return None  # removed meanwhile
    defaults = services.taxonomy.service_area_defaults(
        services.config.get("SERVICE_AREA_OVERRIDES") or {}
    )
    mini = build_index(changed, services.taxonomy, defaults=defaults, areas=old.areas, crs=old.crs)
    old_ids = np.load(folder / "ids.npy", mmap_mode="r")
    if old_ids.size > 1 and not bool(np.all(np.diff(old_ids) > 0)):
        return None
    keep = ~np.isin(old_ids, changed["id"].to_numpy(dtype=np.int64))
    # the census without the changed rows' previous values, with their new ones
    gone = np.flatnonzero(~keep).tolist()
    row = old.columns.row  # type: ignore[attr-defined]  # a mapped index: RecordColumns
    before = [row(p) for p in gone]
    names = list(meta["columns"])
    minus = census_of({n: [r[n] for r in before] for n in names})
    plain = plain_columns(mini)
    if list(plain) != names:
        return None
    census = combine(meta["census"], minus, census_of(plain))
    try:
        layout = layout_of(names, census)
    except TypeError:
        return None  # the full build says what cannot be kept
    if layout != Layout(
        tuple(names),
        tuple(meta["text_columns"]),
        tuple(meta["flag_columns"]),
        tuple(meta["column_kinds"]),
    ):
        return None
    rows = encode_rows(mini, layout, plain)
    merged = _merge(folder, meta, old, keep, rows)
    if merged is None:
        return None
    new_rows, blobs = merged
    lon = new_rows.arrays["lon"]
    if lon.size == 0 or utm_crs_for_extent(lon) != old.crs:
        return None
    from mapsvc.finder.index_file import write_folder

    kept_meta = {
        k: v
        for k, v in meta.items()
        if k not in ("row_arrays", "row_blobs", "area_names", "problems", "areas")
    }
    kept_meta.update(
        generation=sum(base.values()),
        generations=dict(base),
        n=int(lon.size),
        census=census,
        built_at=time.time(),
        row_blobs=meta["row_blobs"],
    )

    def areas(tmp: Path) -> dict[str, Any] | None:
        if meta["areas"] is not None:
            for name in ("areas.json", "areas.bin", "areas.npy"):
                _link(folder / name, tmp / name)
        return meta["areas"]  # type: ignore[no-any-return]

    return write_folder(target, new_rows, kept_meta, blobs, areas)


def _link(source: Path, dest: Path) -> None:
    try:
        os.link(source, dest)  # unchanged: the same file under the new folder
    except OSError:
        shutil.copyfile(source, dest)


def _merge(
    folder: Path, meta: dict[str, Any], old: Any, keep: np.ndarray, rows: Rows
) -> tuple[Rows, Any] | None:
    """The per-row data of the new folder: the kept rows of ``folder`` and ``rows``, by id
    (and the callable writing its blobs); None when ``rows`` does not fit the folder."""
    if set(rows.arrays) != set(meta["row_arrays"]) or set(rows.blobs) != set(meta["row_blobs"]):
        return None
    kept = np.flatnonzero(keep)
    ids = np.concatenate([np.load(folder / "ids.npy", mmap_mode="r")[kept], rows.arrays["ids"]])
    n_new = int(ids.size)
    where = np.empty(n_new, dtype=np.int64)
    where[np.argsort(ids, kind="stable")] = np.arange(n_new)
    new_of_kept, new_of_row = where[: kept.size], where[kept.size :]
    new_of_old = np.full(keep.size, -1, dtype=np.int64)
    new_of_old[kept] = new_of_kept
    arrays: dict[str, np.ndarray] = {}
    for name in meta["row_arrays"]:
        before = np.load(folder / f"{name}.npy", mmap_mode="r")
        added = rows.arrays[name]
        if added.dtype != before.dtype or added.shape[1:] != before.shape[1:]:
            return None
        fortran = before.flags.f_contiguous and not before.flags.c_contiguous
        out = np.empty(
            (n_new, *before.shape[1:]), dtype=before.dtype, order="F" if fortran else "C"
        )
        out[new_of_kept] = before[kept]
        out[new_of_row] = added
        arrays[name] = out
    uids = np.empty(n_new, dtype=object)
    uids[new_of_kept] = np.asarray(old.uids)[kept]
    uids[new_of_row] = np.array(rows.uids, dtype=object)
    merged = Rows(uids=uids.tolist(), arrays=arrays, blobs={})
    poly_blob, poly_off = read_blob(folder, "polygons")
    for pos, wkb in zip(
        np.asarray(old.poly_pos).tolist(), blob_pieces(poly_blob, poly_off), strict=True
    ):
        if keep[pos]:
            merged.polygons[int(new_of_old[pos])] = wkb
    for pos, names in old.area_names.items():
        if keep[pos]:
            merged.area_names[int(new_of_old[pos])] = names
    if old.problems:
        at = {u: i for i, u in enumerate(np.asarray(old.uids).tolist())}
        for problem in old.problems:
            pos = at[problem["provider"]]
            if keep[pos]:
                merged.problems.setdefault(int(new_of_old[pos]), []).append(problem)
    for pos, wkb in rows.polygons.items():
        merged.polygons[int(new_of_row[pos])] = wkb
    for pos, names in rows.area_names.items():
        merged.area_names[int(new_of_row[pos])] = names
    for pos, found in rows.problems.items():
        merged.problems[int(new_of_row[pos])] = found

    source = np.full(n_new, -1, dtype=np.int64)  # old position of each new one (-1: added)
    source[new_of_kept] = kept
    added_at = np.full(n_new, -1, dtype=np.int64)
    added_at[new_of_row] = np.arange(new_of_row.size)

    def blobs(tmp: Path) -> None:
        for name in meta["row_blobs"]:
            _merge_blob(folder, tmp, name, source, added_at, rows.blobs[name])

    return merged, blobs


def _merge_blob(
    folder: Path, tmp: Path, name: str, source: np.ndarray, added_at: np.ndarray, added: list[bytes]
) -> None:
    """``name``'s blob: runs of consecutive old rows copied as byte ranges, added rows
    written; the offsets as :func:`~mapsvc.finder.index_records.write_blob` writes them."""
    old_off = np.load(folder / f"{name}.npy", mmap_mode="r")
    lengths = np.empty(source.size, dtype=np.int64)
    from_old = source >= 0
    lengths[from_old] = (old_off[source[from_old] + 1] - old_off[source[from_old]]).astype(np.int64)
    lengths[~from_old] = [len(added[i]) for i in added_at[~from_old].tolist()]
    offsets = np.zeros(source.size + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    follows = from_old[1:] & from_old[:-1] & (source[1:] == source[:-1] + 1)
    starts = np.flatnonzero(np.concatenate([[True], ~follows])).tolist() if source.size else []
    ends = [*starts[1:], int(source.size)]
    src = os.open(folder / f"{name}.bin", os.O_RDONLY)
    dst = os.open(tmp / f"{name}.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for start, end in zip(starts, ends, strict=True):
            if source[start] < 0:
                data = memoryview(added[int(added_at[start])])
                while data:
                    data = data[os.write(dst, data) :]
                continue
            first, last = int(old_off[source[start]]), int(old_off[source[end - 1] + 1])
            _copy_range(src, dst, first, last - first)
    finally:
        os.close(src)
        os.close(dst)
    np.save(tmp / f"{name}.npy", offsets)


def _copy_range(src: int, dst: int, offset: int, count: int) -> None:
    """``count`` bytes of ``src`` from ``offset`` appended to ``dst`` (in the kernel when
    it can: ``copy_file_range``)."""
    while count > 0:
        try:
            done = os.copy_file_range(src, dst, min(count, 1 << 30), offset)
        except OSError:
            done = os.write(dst, os.pread(src, min(count, 1 << 24), offset))
        if done <= 0:
            raise OSError(f"could not copy {count} bytes of the previous index")
        offset += done
        count -= done
