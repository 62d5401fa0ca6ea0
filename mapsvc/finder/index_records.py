"""The records of a mapped provider index (:mod:`mapsvc.finder.index_file`): blobs of
JSON records and texts with their offsets, flag columns as int8 arrays, read as Python
values only for the rows asked for."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

_FLAG_VALUES = (None, False, True)  # a flag column's int8 codes -1, 0, 1
RowBlob = tuple[Any, list[int], list[int]]  # blob, start and end of each row's bytes


class RecordColumns(Mapping[str, list[Any]]):
    """The frame columns of a mapped index, as Python values (never numpy scalars).

    Records are decoded from the blob only for the rows asked for (:meth:`row`); flag
    columns (only True/False/None) are int8 arrays read as a whole without decoding any
    record (:meth:`flag_codes`, e.g. who the public may see); a whole record column is
    decoded once, in batches, only when asked for (e.g. the address table)."""

    def __init__(
        self,
        blob: RowBlob,
        names: list[str],
        kinds: list[str],
        texts: dict[str, RowBlob],
        flags: dict[str, np.ndarray] | None = None,
    ) -> None:
        self._blob, self._starts, self._ends = blob
        self._flags = flags or {}
        self._stored = [n for n in names if n not in texts and n not in self._flags]
        self._names = names
        self._col = {name: i for i, name in enumerate(self._stored)}
        self._kinds = [(i, k) for i, k in enumerate(kinds) if k != "json"]
        # text columns (the capability answers) have their own blob: the finder reads
        # them for every candidate, without decoding the rest of the record
        self._texts = texts
        self._whole: dict[str, list[Any]] = {}
        self._plans: dict[tuple[str, ...], Any] = {}  # pick(): names -> where they are

    def _parse(self, values: list[Any]) -> list[Any]:
        for i, kind in self._kinds:
            if values[i] is not None:
                parse = dt.datetime if kind == "datetime" else dt.date
                values[i] = parse.fromisoformat(values[i])
        return values

    def _values(self, pos: int) -> list[Any]:
        return self._parse(json.loads(self._blob[self._starts[pos] : self._ends[pos]]))

    def _text(self, name: str, pos: int) -> str | None:
        blob, starts, ends = self._texts[name]
        start, end = starts[pos], ends[pos]
        return None if start == end else blob[start:end].decode("utf-8")

    def row(self, pos: int) -> dict[str, Any]:
        """The record at ``pos`` (``_plain`` values, as the in-memory index gives them)."""
        found = dict(zip(self._stored, self._values(pos), strict=True))
        found.update({name: self._text(name, pos) for name in self._texts})
        found.update(
            {name: _FLAG_VALUES[int(codes[pos]) + 1] for name, codes in self._flags.items()}
        )
        return {name: found[name] for name in self._names}

    def _plan(self, names: tuple[str, ...]) -> Any:
        plan = self._plans.get(names)
        if plan is None:
            stored = [(n, self._col[n]) for n in names if n in self._col]
            texts = [n for n in names if n in self._texts]
            plan = self._plans[names] = (stored, texts, [n for n in names if n in self._flags])
        return plan

    def pick(self, pos: int, names: tuple[str, ...]) -> dict[str, Any]:
        """Only ``names`` of the record at ``pos`` (those it has), decoding its stored
        values once and no text column it was not asked for."""
        stored, texts, flags = self._plan(names)
        out: dict[str, Any] = {}
        if stored:
            values = self._values(pos)
            out = {name: values[i] for name, i in stored}
        for name in texts:
            out[name] = self._text(name, pos)
        for name in flags:
            out[name] = _FLAG_VALUES[int(self._flags[name][pos]) + 1]
        return out

    def pick_many(self, positions: list[int], names: tuple[str, ...]) -> list[dict[str, Any]]:
        """:meth:`pick` for each of ``positions``, their stored values decoded at once."""
        stored, texts, flags = self._plan(names)
        if stored and positions:
            # rows need not follow each other (an incremental build appends changed rows)
            blob, starts, ends = self._blob, self._starts, self._ends
            pieces = [blob[starts[p] : ends[p]] for p in positions]
            decoded = json.loads(b"[" + b",".join(pieces) + b"]")
            kinds = dict(self._kinds)
            dated = [
                (name, dt.datetime if kinds[i] == "datetime" else dt.date)
                for name, i in stored
                if i in kinds
            ]
            out = [{name: values[i] for name, i in stored} for values in decoded]
            for row in out:
                for name, parse in dated:
                    if row[name] is not None:
                        row[name] = parse.fromisoformat(row[name])
        else:
            out = [{} for _ in positions]
        for row, pos in zip(out, positions, strict=True):
            for name in texts:
                row[name] = self._text(name, pos)
            for name in flags:
                row[name] = _FLAG_VALUES[int(self._flags[name][pos]) + 1]
        return out

    def value(self, name: str, pos: int) -> Any:
        if name in self._texts:
            return self._text(name, pos)
        if name in self._flags:
            return _FLAG_VALUES[int(self._flags[name][pos]) + 1]
        return self._values(pos)[self._col[name]]

    def flag_codes(self, name: str) -> np.ndarray | None:
        """A flag column as int8 codes (-1 None, 0 False, 1 True), or None when the column
        is not kept as flags."""
        return self._flags.get(name)

    def _decode_all(self, name: str) -> list[Any]:
        count = len(self._starts)
        if name in self._texts:
            return [self._text(name, i) for i in range(count)]
        if name in self._flags:
            return [_FLAG_VALUES[c + 1] for c in self._flags[name].tolist()]
        col, out = self._col[name], list[Any]()
        blob, starts, ends = self._blob, self._starts, self._ends
        for start in range(0, count, 20_000):  # one json.loads per batch of records
            stop = min(start + 20_000, count)
            # one read for the batch; a record written elsewhere (appended by an
            # incremental build: mapsvc.finder.index_delta) is read on its own
            base, top = starts[start], ends[stop - 1]
            data = blob[base:top] if top > base else b""
            pieces = [
                data[s - base : e - base] if base <= s and e <= top else blob[s:e]
                for s, e in zip(starts[start:stop], ends[start:stop], strict=True)
            ]
            out.extend(values[col] for values in json.loads(b"[" + b",".join(pieces) + b"]"))
        kind = dict(self._kinds).get(col)
        if kind is not None:
            parse: Any = dt.datetime if kind == "datetime" else dt.date
            out = [None if v is None else parse.fromisoformat(v) for v in out]
        return out

    def __getitem__(self, name: str) -> list[Any]:
        if name not in self._names:
            raise KeyError(name)
        if name not in self._whole:
            self._whole[name] = self._decode_all(name)
        return self._whole[name]

    def __contains__(self, name: object) -> bool:  # without decoding the column
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def write_blob(folder: Path, name: str, items: list[bytes]) -> None:
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    if items:
        offsets[1:] = np.cumsum([len(b) for b in items])
    with open(folder / f"{name}.bin", "wb") as fh:
        for data in items:
            fh.write(data)
    np.save(folder / f"{name}.npy", offsets)


class _Blob:
    """A blob file read with ``os.pread`` (thread-safe, no shared file position).

    Not mapped: a worker reads records a few at a time, anywhere in the file, and every
    page fault on a mapping brings the pages around it into the worker's resident set
    (at 300,000 providers the finder's reads alone made ~240 MB of the capability answers
    resident in each worker). Read this way, the records stay in the page cache, shared
    by every worker and counted in no worker's RSS. An open file keeps its pages when a
    newer generation deletes the folder."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))

    # the index (and so the blob) lives until replaced; ``os.close`` is bound here because
    # at interpreter exit the module's globals may already be gone
    def __del__(self, _close: Any = os.close) -> None:
        fd, self._fd = getattr(self, "_fd", -1), -1
        if fd >= 0:
            _close(fd)

    def __getitem__(self, piece: slice) -> bytes:
        start, stop = int(piece.start), int(piece.stop)
        return os.pread(self._fd, stop - start, start) if stop > start else b""


def read_rows(folder: Path, name: str) -> RowBlob:
    """A per-row blob (:mod:`mapsvc.finder.index_rows`): row ``i`` is
    ``blob[starts[i]:ends[i]]``. Written by a full build, rows follow each other (offsets
    only, ``<name>.npy``); an incremental build appends the changed rows to the previous
    blob and says where each row ends in ``<name>.ends.npy``."""
    blob, offsets = read_blob(folder, name)
    bounds = np.asarray(offsets).tolist()  # plain ints: faster than memmap scalars
    ends_path = folder / f"{name}.ends.npy"
    ends = np.load(ends_path).tolist() if ends_path.exists() else bounds[1:]
    return blob, bounds[: len(ends)], ends


def link_file(source: Path, dest: Path) -> None:
    """``dest`` as the same file as ``source`` (a hard link: no copy, and the page cache
    that workers of the previous generation filled serves the new one), else a copy."""
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)


def read_blob(folder: Path, name: str) -> tuple[Any, np.ndarray]:
    offsets = np.load(folder / f"{name}.npy", mmap_mode="r")
    path = folder / f"{name}.bin"
    if path.stat().st_size == 0:
        return b"", offsets
    return _Blob(path), offsets


def blob_pieces(blob: Any, offsets: np.ndarray) -> list[bytes]:
    bounds = np.asarray(offsets).tolist()
    data = blob[0 : bounds[-1]] if bounds else b""  # one read for the whole blob
    return [data[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
