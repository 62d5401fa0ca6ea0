"""What an index folder holds for each provider, encoded the same way by a full build and
by an incremental one (:mod:`mapsvc.finder.index_delta`).

A folder (:mod:`mapsvc.finder.index_file`) is mostly *per-row* data, one entry per
provider in position order: arrays (``<name>.npy``, first axis = position) and blobs
(``<name>.bin`` + offsets ``<name>.npy``); ``meta.json`` lists them (``row_arrays``,
``row_blobs``), so an incremental build merges every one of them without knowing what it
is: adding a per-row array or blob to :func:`encode_rows` is all it takes for both builds.
A few things are *sparse* (only some rows: the explicit polygons, the area names, the
problems) or derived from every row (``lon_order``): :class:`Rows` keeps the sparse ones
by position, the writer derives the rest.

How a column is kept (a flag column, a record column and its kind) depends on every value
of the column, so a folder also stores each column's *census* (how many values of each
Python type): an incremental build updates it from the changed rows alone and checks
that the layout stays the same (else it builds in full).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from mapsvc.finder.index import ARRAYS_FOR_TESTS, ProviderIndex, _plain
from mapsvc.finder.temporal import confirmed_times

# the ProviderIndex arrays kept per row (poly_pos is sparse: Rows.polygons)
ARRAYS = tuple(name for name in ARRAYS_FOR_TESTS if name != "poly_pos")
SOURCES = ("explicit", "provider", "type_default", "unresolved")
TEXT_COLUMNS = ("capabilities",)  # JSON text in the index (an empty text is None)
_JSON_TYPES = frozenset({"str", "int", "float", "bool", "dict", "list"})
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode

Census = dict[str, dict[str, int]]  # column -> Python type name -> how many values


@dataclass(frozen=True)
class Layout:
    """How the columns are kept: text blobs, int8 flag arrays, the rest in the records
    (with each record column's kind: json, datetime or date)."""

    names: tuple[str, ...]
    texts: tuple[str, ...]
    flags: tuple[str, ...]
    kinds: tuple[str, ...]  # of the record columns (names minus texts and flags)

    @property
    def stored(self) -> list[str]:
        return [n for n in self.names if n not in self.texts and n not in self.flags]


@dataclass
class Rows:
    """Everything of a folder that belongs to one provider, in position order."""

    uids: list[str]
    arrays: dict[str, np.ndarray]  # name -> array whose first axis is the position
    blobs: dict[str, list[bytes]]  # name -> one piece of bytes per position
    polygons: dict[int, bytes] = field(default_factory=dict)  # position -> WKB (metres)
    area_names: dict[int, list[str]] = field(default_factory=dict)
    problems: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    # each capability's shared answers, the table the rows' answer_ids number into
    answers: tuple[tuple[Any, ...], ...] = ()
    # files of the folder that are the same as a previous folder's: linked, not written
    linked: dict[str, Path] = field(default_factory=dict)


def kind_of(type_names: set[str]) -> str:
    """A record column's kind from the types of its values (None left out)."""
    kinds = type_names - {"NoneType"}
    if kinds == {"datetime"}:
        return "datetime"
    if kinds == {"date"}:
        return "date"
    for kind in sorted(kinds - _JSON_TYPES):
        raise TypeError(f"index column holds {kind}, which the file cannot keep")
    return "json"


def census_of(columns: Mapping[str, Sequence[Any]]) -> Census:
    """Each column's count of values per Python type (values already ``_plain``)."""
    return {
        name: {t.__name__: c for t, c in Counter(map(type, values)).items()}
        for name, values in columns.items()
    }


def combine(old: Census, minus: Census, plus: Census) -> Census:
    """``old`` without the values counted in ``minus``, with those in ``plus``."""
    out: Census = {}
    for name in old:
        counts = Counter(old[name])
        counts.subtract(minus.get(name, {}))
        counts.update(plus.get(name, {}))
        if any(c < 0 for c in counts.values()):
            raise ValueError(f"index census of {name} went negative")
        out[name] = {k: c for k, c in counts.items() if c}
    return out


def layout_of(names: Sequence[str], census: Census) -> Layout:
    """The layout a full build gives columns with this census."""
    texts = tuple(n for n in TEXT_COLUMNS if n in names)
    for name in texts:
        if set(census[name]) - {"str", "NoneType"}:
            raise TypeError(f"index column {name} holds non-text values")
    flags = tuple(
        n for n in names if n not in texts and census[n] and set(census[n]) <= {"NoneType", "bool"}
    )
    kinds = tuple(kind_of(set(census[n])) for n in names if n not in texts and n not in flags)
    return Layout(tuple(names), texts, flags, kinds)


def plain_columns(index: ProviderIndex) -> dict[str, list[Any]]:
    return {name: [_plain(v) for v in values] for name, values in index.columns.items()}


def encode_rows(index: ProviderIndex, layout: Layout, plain: dict[str, list[Any]]) -> Rows:
    """The per-row data of ``index`` (``plain``: :func:`plain_columns`) in ``layout``."""
    if index.answer_ids is None:
        raise ValueError("an index without answer codes (mapsvc.finder.answers) is not written")
    arrays = {name: np.asarray(getattr(index, name)) for name in ARRAYS}
    arrays["confirmed_at"] = confirmed_times(index)
    code = {s: i for i, s in enumerate(SOURCES)}
    arrays["rule_source"] = np.array([code[s] for s in index.rule_source], dtype=np.int8)
    if "id" in plain:  # the store's ids, in ascending order: what an incremental build merges by
        arrays["ids"] = np.array(plain["id"], dtype=np.int64)
    for name in layout.flags:
        codes = [-1 if v is None else int(v) for v in plain[name]]
        arrays[f"flag-{name}"] = np.array(codes, dtype=np.int8)
    blobs = {
        name: [b"" if not v else v.encode("utf-8") for v in plain[name]] for name in layout.texts
    }
    stored = [plain[name] for name in layout.stored]
    records = []
    for values in zip(*stored, strict=True) if stored else ():
        row = [
            v.isoformat() if k != "json" and v is not None else v
            for v, k in zip(values, layout.kinds, strict=True)
        ]
        records.append(_dumps(row).encode("utf-8"))
    blobs["records"] = records
    uids = [str(u) for u in index.uids]
    if any("\n" in u for u in uids):
        raise ValueError("a provider id holds a line break")
    wkb = shapely.to_wkb(index.polygons) if len(index.polygons) else []
    problems: dict[int, list[dict[str, Any]]] = {}
    if index.problems:
        at = {u: i for i, u in enumerate(uids)}
        for problem in index.problems:
            problems.setdefault(at[problem["provider"]], []).append(problem)
    return Rows(
        uids=uids,
        arrays=arrays,
        blobs=blobs,
        polygons=dict(zip(np.asarray(index.poly_pos).tolist(), list(wkb), strict=True)),
        area_names=dict(index.area_names),
        problems=problems,
        answers=index.answer_values,
    )
