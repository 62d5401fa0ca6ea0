"""An index folder built from the previous generation's folder and the providers changed
since, instead of from the whole store (issue 13: the first request after an edit).

Every change of providers records its transaction (``Provider.change_token`` and
:class:`~mapsvc.core.models.ProviderChange`, :mod:`mapsvc.core.registry`), so the rows
changed since a folder's ``generations`` are one indexed query. They are built as a small
index of their own (:func:`~mapsvc.finder.index_build.build_index` with the folder's CRS
and areas: the same code as a full build), encoded the same way
(:func:`~mapsvc.finder.index_rows.encode_rows`) and merged by store id into the previous
folder's per-row arrays and blobs (the unchanged byte ranges copied as they are), so the
folder written equals a full build's file for file (``tests/test_index_delta.py``), but for
the shared capability answers (:mod:`mapsvc.finder.answers`): the changed rows' answers
are numbered in the previous folder's table, extended by the answers it lacked, so each
row has the same answer as in a full build under another number.

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
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import CRS
from sqlalchemy import func, select

from mapsvc.core.models import Provider, ProviderChange
from mapsvc.core.projection import utm_crs_for_extent
from mapsvc.finder import answers
from mapsvc.finder.index_records import (
    RecordColumns,
    blob_pieces,
    link_file,
    read_blob,
    read_rows,
)
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
MAX_DEAD = 0.25  # a blob with more dead bytes than this share is rewritten, not appended to


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
    from mapsvc.finder.index_file import read_areas, write_folder

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
        old = _Previous(folder, meta)
        # the areas only matter to service areas given as codes
        codes = any(
            isinstance(a, dict) and a.get("kind") == "codes" for a in changed["service_area"]
        )
        defaults = services.taxonomy.service_area_defaults(
            services.config.get("SERVICE_AREA_OVERRIDES") or {}
        )
        mini = build_index(
            changed,
            services.taxonomy,
            defaults=defaults,
            areas=read_areas(folder, meta) if codes else None,
            crs=old.crs,
        )
        if old.ids.size > 1 and not bool(np.all(np.diff(old.ids) > 0)):
            return None
        keep = ~np.isin(old.ids, changed["id"].to_numpy(dtype=np.int64))
        # the census without the changed rows' previous values, with their new ones
        names = list(meta["columns"])
        before = [old.columns().row(p) for p in np.flatnonzero(~keep).tolist()]
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
        if mini.cap_keys != tuple(meta["cap_keys"]):
            return None
        changed_rows = encode_rows(mini, layout, plain)
        # the changed rows' answers numbered in the previous folder's shared answers
        # (extended by those it lacks: unused entries are harmless, a full build drops them)
        table = json.loads((folder / "answers.json").read_text(encoding="utf-8"))
        changed_rows.arrays["answer_ids"], changed_rows.answers = answers.extend(
            table, changed_rows.arrays["answer_ids"], mini.answer_values
        )
        merged = _merge(old, keep, changed_rows)
        if merged is not None and [len(t) for t in table] == [len(t) for t in merged[0].answers]:
            merged[0].linked["answers.json"] = folder / "answers.json"  # nothing added
        if merged is None:
            return None
        rows, blobs = merged
        lon = rows.arrays["lon"]
        if lon.size == 0 or utm_crs_for_extent(lon) != old.crs:
            return None
        kept_meta = {
            k: v
            for k, v in meta.items()
            if k not in ("row_arrays", "area_names", "problems", "areas")
        }
        kept_meta.update(
            generation=sum(base.values()),
            generations=dict(base),
            n=int(lon.size),
            census=census,
            built_at=time.time(),
        )

        def areas(tmp: Path) -> dict[str, Any] | None:
            if meta["areas"] is not None:
                for name in ("areas.json", "areas.bin", "areas.npy"):
                    link_file(folder / name, tmp / name)
            return meta["areas"]  # type: ignore[no-any-return]

        return write_folder(target, rows, kept_meta, blobs, areas)
    except FileNotFoundError:
        return None  # the previous folder was removed meanwhile: build in full


class _Previous:
    """The previous folder, read only as far as the merge needs it."""

    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        self.folder, self.meta = folder, meta
        self.crs = CRS.from_wkt(meta["crs"])
        self.ids = self.array("ids")
        self._uids: list[str] | None = None
        self._columns: RecordColumns | None = None

    def array(self, name: str) -> np.ndarray:
        found: np.ndarray = np.load(self.folder / f"{name}.npy", mmap_mode="r")
        return found

    def uids(self) -> list[str]:
        if self._uids is None:
            text = (self.folder / "uids.txt").read_text(encoding="utf-8")
            self._uids = text.split("\n") if int(self.meta["n"]) else []
        return self._uids

    def columns(self) -> RecordColumns:
        if self._columns is None:
            meta = self.meta
            self._columns = RecordColumns(
                read_rows(self.folder, "records"),
                meta["columns"],
                meta["column_kinds"],
                {name: read_rows(self.folder, name) for name in meta["text_columns"]},
                {name: self.array(f"flag-{name}") for name in meta["flag_columns"]},
            )
        return self._columns


def _merge(old: _Previous, keep: np.ndarray, rows: Rows) -> tuple[Rows, Any] | None:
    """The per-row data of the new folder: the kept rows of ``old`` and ``rows``, by id
    (and the callable writing its blobs); None when ``rows`` does not fit the folder.
    Files that come out the same as the previous folder's are linked to them."""
    folder, meta = old.folder, old.meta
    if set(rows.arrays) != set(meta["row_arrays"]) or set(rows.blobs) != set(meta["row_blobs"]):
        return None
    kept = np.flatnonzero(keep)
    ids = np.concatenate([old.ids[kept], rows.arrays["ids"]])
    n_new = int(ids.size)
    where = np.empty(n_new, dtype=np.int64)
    where[np.argsort(ids, kind="stable")] = np.arange(n_new)
    new_of_kept, new_of_row = where[: kept.size], where[kept.size :]
    # the same providers at the same positions (edits only): most files stay as they are
    same_rows = n_new == keep.size and bool(np.array_equal(new_of_kept, kept))
    merged = Rows(uids=[], arrays={}, blobs={}, answers=rows.answers)
    for name in meta["row_arrays"]:
        before, added = old.array(name), rows.arrays[name]
        if added.dtype != before.dtype or added.shape[1:] != before.shape[1:]:
            return None
        if same_rows and before[new_of_row].tobytes() == added.tobytes():
            merged.arrays[name] = before.view(np.ndarray)
            merged.linked[f"{name}.npy"] = folder / f"{name}.npy"
            continue
        fortran = before.flags.f_contiguous and not before.flags.c_contiguous
        out = np.empty(
            (n_new, *before.shape[1:]), dtype=before.dtype, order="F" if fortran else "C"
        )
        out[new_of_kept] = before[kept]
        out[new_of_row] = added
        merged.arrays[name] = out
    if same_rows:  # a provider's public id never changes
        merged.linked["uids.txt"] = folder / "uids.txt"
    else:
        uids = np.empty(n_new, dtype=object)
        uids[new_of_kept] = np.array(old.uids(), dtype=object)[kept]
        uids[new_of_row] = np.array(rows.uids, dtype=object)
        merged.uids = uids.tolist()
    if "lon.npy" in merged.linked:
        for name in ("lon_order.npy", "sorted_lon.npy"):
            merged.linked[name] = folder / name
    new_of_old = np.full(keep.size, -1, dtype=np.int64)
    new_of_old[kept] = new_of_kept
    _merge_sparse(old, keep, new_of_old, rows, new_of_row, merged)
    source = np.full(n_new, -1, dtype=np.int64)  # old position of each new one (-1: added)
    source[new_of_kept] = kept
    added_at = np.full(n_new, -1, dtype=np.int64)
    added_at[new_of_row] = np.arange(new_of_row.size)

    def blobs(tmp: Path) -> None:
        for name in meta["row_blobs"]:
            _merge_blob(folder, tmp, name, source, added_at, rows.blobs[name])

    return merged, blobs


def _merge_sparse(
    old: _Previous,
    keep: np.ndarray,
    new_of_old: np.ndarray,
    rows: Rows,
    new_of_row: np.ndarray,
    merged: Rows,
) -> None:
    """The polygons, area names and problems of the kept rows and of ``rows``."""
    poly_pos = old.array("poly_pos").tolist()
    before = dict(zip(poly_pos, blob_pieces(*read_blob(old.folder, "polygons")), strict=True))
    for pos, wkb in before.items():
        if keep[pos]:
            merged.polygons[int(new_of_old[pos])] = wkb
    for key, names in old.meta["area_names"].items():
        if keep[int(key)]:
            merged.area_names[int(new_of_old[int(key)])] = names
    if old.meta["problems"]:
        at = {u: i for i, u in enumerate(old.uids())}
        for problem in old.meta["problems"]:
            pos = at[problem["provider"]]
            if keep[pos]:
                merged.problems.setdefault(int(new_of_old[pos]), []).append(problem)
    for pos, wkb in rows.polygons.items():
        merged.polygons[int(new_of_row[pos])] = wkb
    for pos, names in rows.area_names.items():
        merged.area_names[int(new_of_row[pos])] = names
    for pos, found in rows.problems.items():
        merged.problems[int(new_of_row[pos])] = found
    if before == merged.polygons:  # the same polygons at the same positions
        for name in ("poly_pos.npy", "polygons.npy", "polygons.bin"):
            merged.linked[name] = old.folder / name


def _merge_blob(
    folder: Path, tmp: Path, name: str, source: np.ndarray, added_at: np.ndarray, added: list[bytes]
) -> None:
    """``name``'s blob. While little of it would be dead (at most :data:`MAX_DEAD`): the
    previous blob linked and the changed rows appended to it (the previous folder never
    reads past its own rows), with where each row ends (``<name>.ends.npy``). Else
    rewritten in row order (as a full build writes it): runs of rows that follow each
    other copied as byte ranges, the changed rows written."""
    _, old_starts, old_ends = read_rows(folder, name)
    starts_old, ends_old = np.asarray(old_starts, np.int64), np.asarray(old_ends, np.int64)
    from_old = source >= 0
    lengths = np.empty(source.size, dtype=np.int64)
    picked = source[from_old]
    lengths[from_old] = ends_old[picked] - starts_old[picked]
    lengths[~from_old] = [len(added[i]) for i in added_at[~from_old].tolist()]
    size = (folder / f"{name}.bin").stat().st_size
    appended = int(lengths[~from_old].sum())
    if int(lengths.sum()) >= (1 - MAX_DEAD) * (size + appended) and size > 0:
        link_file(folder / f"{name}.bin", tmp / f"{name}.bin")
        starts = np.empty(source.size, dtype=np.int64)
        starts[from_old] = starts_old[picked]
        with open(tmp / f"{name}.bin", "ab") as out:
            end = out.seek(0, os.SEEK_END)
            for j in np.flatnonzero(~from_old).tolist():
                starts[j] = end
                end += out.write(added[int(added_at[j])])
        np.save(tmp / f"{name}.npy", np.append(starts, end))
        np.save(tmp / f"{name}.ends.npy", starts + lengths)
        return
    offsets = np.zeros(source.size + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    follows = from_old[1:] & from_old[:-1]
    follows &= starts_old[np.maximum(source[1:], 0)] == ends_old[np.maximum(source[:-1], 0)]
    follows &= source[1:] == source[:-1] + 1
    runs = np.flatnonzero(np.concatenate([[True], ~follows])).tolist() if source.size else []
    src = os.open(folder / f"{name}.bin", os.O_RDONLY)
    dst = os.open(tmp / f"{name}.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for start, stop in zip(runs, [*runs[1:], int(source.size)], strict=True):
            if source[start] < 0:
                data = memoryview(added[int(added_at[start])])
                while data:
                    data = data[os.write(dst, data) :]
                continue
            first, last = int(starts_old[source[start]]), int(ends_old[source[stop - 1]])
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
