"""Capability answers shared by the providers that gave the same one, for the finder's
reasons and levels without decoding each provider's capability text.

Most answers are one of a few (``{"level": "accept"}``); the index keeps, per capability,
the distinct answers once (:attr:`ProviderIndex.answer_values`, at most
:data:`MAX_SHARED` each) and, per provider and capability, the number of its answer among
them (:attr:`ProviderIndex.answer_ids`, ``int16``, column major): :data:`ABSENT` when
the provider gave none, :data:`UNSHARED` for an answer beyond the table, read from the
provider's own text. An answer read either way is the value
``ProviderIndex.capabilities(pos).get(key)`` gives (shared: never modify it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

ABSENT = -1
UNSHARED = -2
MAX_SHARED = 4096  # distinct answers kept per capability (int16 codes)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class AnswerCodes:
    """Collects the codes while the index is built (:func:`add` for every answer)."""

    def __init__(self, n: int, keys: Sequence[str]) -> None:
        self.ids = np.full((n, len(keys)), ABSENT, dtype=np.int16, order="F")
        self._seen: list[dict[Any, int]] = [{} for _ in keys]

    def add(self, i: int, j: int, value: Any) -> None:
        sig = _sig(value)
        seen = self._seen[j]
        code = seen.get(sig)
        if code is None:
            if len(seen) >= MAX_SHARED:
                self.ids[i, j] = UNSHARED
                return
            code = seen[sig] = len(seen)
        self.ids[i, j] = code

    def values(self) -> tuple[tuple[Any, ...], ...]:
        """Each capability's shared answers, in code order (as JSON decodes them)."""
        return tuple(
            tuple({"level": s} if type(s) is str else json.loads(s[1]) for s in seen)
            for seen in self._seen
        )


def _sig(value: Any) -> Any:
    # the plain answer {"level": "..."} by its level; anything else by its JSON text
    # (so 1, 1.0 and true stay apart, and the keys' order is kept)
    level = value.get("level") if type(value) is dict and len(value) == 1 else None
    return level if type(level) is str else ("json", _dumps(value))


def extend(
    table: Sequence[Sequence[Any]], ids: np.ndarray, values: Sequence[Sequence[Any]]
) -> tuple[np.ndarray, tuple[tuple[Any, ...], ...]]:
    """``ids`` (codes into ``values``: the shared answers of the changed rows, built on
    their own) as codes into ``table`` (the previous folder's), and ``table`` with the
    answers it lacked appended (an incremental build: :mod:`mapsvc.finder.index_delta`).
    Beyond :data:`MAX_SHARED` answers of a capability, an answer is :data:`UNSHARED`."""
    out = np.array(ids, dtype=np.int16, order="F", copy=True)
    extended = []
    for j, (known, theirs) in enumerate(zip(table, values, strict=True)):
        seen = {_sig(v): c for c, v in enumerate(known)}
        grown = list(known)
        to = np.empty(len(theirs), dtype=np.int16)
        for c, value in enumerate(theirs):
            code = seen.get(_sig(value))
            if code is None:
                code = UNSHARED
                if len(grown) < MAX_SHARED:
                    code = seen[_sig(value)] = len(grown)
                    grown.append(value)
            to[c] = code
        column = out[:, j]
        shared = column >= 0
        column[shared] = to[column[shared]]
        extended.append(tuple(grown))
    return out, tuple(extended)


def answers_of(index: Any, positions: list[int], keys: Sequence[str]) -> list[tuple[Any, ...]]:
    """Each provider's answers to ``keys`` (None where it gave none), for the providers at
    ``positions`` of ``index`` (a :class:`~mapsvc.finder.index.ProviderIndex`)."""
    if not keys:
        return [() for _ in positions]
    ids = index.answer_ids
    cols = [index.cap_keys.index(k) if k in index.cap_keys else -1 for k in keys]
    if ids is None or not positions or min(cols) < 0:
        return [_read(index, pos, keys) for pos in positions]
    rows = np.asarray(positions, dtype=np.int64)
    codes = np.asarray(ids)[np.ix_(rows, np.asarray(cols, dtype=np.int64))].tolist()
    tables = [index.answer_values[j] for j in cols]
    out = []
    for pos, row in zip(positions, codes, strict=True):
        if min(row) == UNSHARED:
            out.append(_read(index, pos, keys))
        else:
            out.append(tuple(None if c < 0 else t[c] for c, t in zip(row, tables, strict=True)))
    return out


def _read(index: Any, pos: int, keys: Sequence[str]) -> tuple[Any, ...]:
    caps = index.capabilities(pos)
    return tuple(caps.get(k) for k in keys)
