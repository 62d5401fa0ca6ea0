"""A row's capability cells: each parsed on its own, so a cell that cannot be read costs
that cell, never the provider.

A cell whose capability does not apply to the row's provider type, or whose value is not
one the taxonomy (or the column's ``values`` table) knows, is **skipped**: reported as
``(header, value, reason)``, kept in the record's ``extra["skipped: <header>"]`` by
:func:`mapsvc.ingest.rows.row_to_record`, and the rest of the row imports. ``on_unknown:
note`` stores an unknown value as ``unknown`` with the text as its note, ``ignore`` drops it
silently, and ``reject`` (the default) skips the cell with the reason.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from mapsvc.core.codes import nfkc
from mapsvc.core.taxonomy import UNKNOWN, Taxonomy
from mapsvc.ingest.text import clean

# (header, capability key, its CapabilityColumn or None, the note column or None)
CapabilityColumnBinding = tuple[str, str, Any, str | None]


def _noted(kind: str, raw: str) -> dict[str, Any]:
    return {"level": UNKNOWN, "note": raw} if kind in ("level", "flag") else {"value": raw}


def _parse(
    taxonomy: Taxonomy, key: str, spec: Any, raw: str, note: str | None
) -> dict[str, Any] | None:
    """The stored value of one cell, None to leave it out; ``ValueError`` says why the cell
    cannot be read."""
    kind = taxonomy.capabilities[key].kind
    on_unknown = spec.on_unknown if spec is not None else "reject"
    if spec is not None and spec.values:
        if raw in spec.values:
            mapped = spec.values[raw]
            return None if mapped is None else taxonomy.parse_value(key, mapped, note)
        try:  # a word the taxonomy knows (○, 要相談, …) also counts beside the column's table
            return taxonomy.parse_value(key, raw, note)
        except ValueError:
            if on_unknown == "ignore":
                return None
            if on_unknown == "note":
                return _noted(kind, raw)
            raise ValueError(
                f"{raw!r} is not one of {', '.join(spec.values)} nor a level word"
            ) from None
    try:
        return taxonomy.parse_value(key, raw, note)
    except ValueError:
        if on_unknown == "note":
            return _noted(kind, raw)
        if on_unknown == "ignore":
            return None
        raise


class CellMemo:
    """One file's capability cells: what each (column, cell, note cell) meant, as a file
    repeats a handful of words (the cell's text, its note and, once a provider it applies
    to has it, the parsed value or why it cannot be read), and the columns' reader."""

    __slots__ = ("cells", "headers", "getter")

    def __init__(self) -> None:
        self.cells: dict[tuple[str, str, str | None], list[Any]] = {}
        self.headers: tuple[str, ...] | None = None
        self.getter: Callable[[dict[str, str]], Any] = tuple

    def read(self, columns: list[CapabilityColumnBinding], row: dict[str, str]) -> Sequence[Any]:
        """The row's cell of every column, in order (None where the row has none)."""
        if self.headers is None:
            self.headers = tuple(c[0] for c in columns)
            if len(self.headers) > 1:
                self.getter = operator.itemgetter(*self.headers)
        if len(self.headers) < 2:
            return [row.get(h) for h in self.headers]
        try:
            return self.getter(row)  # type: ignore[no-any-return]
        except KeyError:  # a spreadsheet row without its trailing empty cells
            return [row.get(h) for h in self.headers]


def capability_cells(
    columns: list[CapabilityColumnBinding],
    row: dict[str, str],
    provider_type: str,
    taxonomy: Taxonomy,
    memo: CellMemo | None = None,
) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """(capabilities, skipped cells as (header, value, reason)) of one row; ``memo`` is
    the file's :class:`CellMemo` (one per file: the columns are the same for every row)."""
    caps: dict[str, Any] = {}
    skipped: list[tuple[str, str, str]] = []
    memo = CellMemo() if memo is None else memo
    cells = memo.cells
    for (header, key, spec, note_header), cell in zip(
        columns, memo.read(columns, row), strict=True
    ):
        note_cell = row.get(note_header) if note_header else None
        if not cell and not note_cell:
            continue
        seen = cells.get((header, cell, note_cell))
        if seen is None:
            note = clean(note_cell) if note_header else None
            seen = cells[(header, cell, note_cell)] = [nfkc(cell or ""), note, None]
        raw, note, known = seen
        if not raw and not note:
            continue
        if provider_type not in taxonomy.capabilities[key].applies_to:
            if raw:
                why = f"capability {key} does not apply to provider type {provider_type}"
                skipped.append((header, raw, why))
            continue
        if known is None:
            try:
                known = (_parse(taxonomy, key, spec, raw, note), None)
            except ValueError as exc:
                known = (None, f"column {header}: {exc}")
            seen[2] = known
        value, reason = known
        if reason is not None:
            skipped.append((header, raw, reason))
        elif value is not None:
            caps[key] = copy = dict(value)  # records never share a value
            if isinstance(copy.get("value"), list):
                copy["value"] = list(copy["value"])
    return caps, skipped
