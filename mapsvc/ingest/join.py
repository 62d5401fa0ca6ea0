"""Declarative joins: a companion file's rows aggregated onto the main file's rows by key.

A mapping's ``join`` names companion files by glob pattern (looked up beside the main
file), the key column on both sides, and the fields to take, each with an aggregate:

- ``first``: the first non-empty value;
- ``list``: the distinct non-empty values in file order, joined with ``; ``;
- ``count``: how many companion rows share the key;
- ``weekly_hours``: per day label (``days``), the earliest ``start`` and latest ``end`` time
  over the key's rows (headers given as templates such as ``{day}_診療開始時間``), written
  ``月 09:00-17:30; 火 09:00-17:30 …``.

The companion file is read with the same reader as the main file (encodings, zip archives,
delimiters); it is streamed, so a 250,000-row hours table costs memory per key, not per row.
A companion the main file's rows do not match leaves those rows as they were. A missing
companion is an error only with ``required: true``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mapsvc.core.codes import header_index, header_key
from mapsvc.core.errors import ImportFailed
from mapsvc.ingest.reader import Table, iter_rows
from mapsvc.ingest.spec import Join, JoinField, Mapping
from mapsvc.ingest.text import clean

PREFIX = "@join:"


def find_companions(main: Path, join: Join) -> list[Path]:
    """Every file beside ``main`` matching one of the join's patterns (not main itself).

    All of them are read: a folder may hold the hours tables of hospitals, clinics and
    dental clinics side by side, and only the rows whose key is in the main file count."""
    found: list[Path] = []
    for pattern in join.files:
        for candidate in sorted(main.parent.glob(pattern)):
            if (
                candidate.is_file()
                and candidate.resolve() != main.resolve()
                and candidate not in found
            ):
                found.append(candidate)
    return found


def is_companion(path: Path, mapping: Mapping) -> bool:
    """Whether a file's name marks it as a companion of this mapping's main files."""
    return any(path.match(p) for j in mapping.joins for p in j.files)


def _index(header: list[str], variants: tuple[str, ...]) -> int | None:
    keys = {k: header.index(h) for k, h in header_index(header).items()}
    for v in variants:
        if header_key(v) in keys:
            return keys[header_key(v)]
    return None


def _hhmm(text: str) -> str:
    """``9:00`` / ``０９：００`` → ``09:00`` so times compare as text."""
    text = clean(text)
    hours, sep, minutes = text.partition(":")
    return f"{int(hours):02d}:{minutes}" if sep and hours.isdigit() else text


class _Acc:
    """Aggregates one field for one key."""

    __slots__ = ("values", "count", "days")

    def __init__(self) -> None:
        self.values: list[str] = []
        self.count = 0
        self.days: dict[str, list[str]] = {}


def _aggregate(
    companion: Path, join: Join, mapping: Mapping, wanted: set[str]
) -> dict[str, dict[str, str]]:
    rows = iter_rows(companion, mapping.encodings)
    first = next(rows, None)
    if first is None:
        return {}
    header = [c.replace("\ufeff", "").strip() for c in first]
    key_at = _index(header, join.other_on)
    if key_at is None:
        raise ImportFailed(
            f"{companion}: the companion file has no key column {join.other_on[0]!r}",
            field="join",
        )
    plans: list[tuple[JoinField, Any]] = []
    for f in join.fields:
        if f.aggregate == "weekly_hours":
            cols = [
                (
                    d,
                    _index(header, (f.start.replace("{day}", d),)),
                    _index(header, (f.end.replace("{day}", d),)),
                )
                for d in f.days
            ]
            plans.append((f, cols))
        else:
            plans.append((f, _index(header, f.headers)))
    out: dict[str, dict[str, _Acc]] = {}
    for cells in rows:
        if key_at >= len(cells):
            continue
        key = cells[key_at].strip()
        if key not in wanted and clean(key) not in wanted:
            continue
        accs = out.setdefault(key, {})
        for f, where in plans:
            acc = accs.get(f.target)
            if acc is None:
                acc = accs[f.target] = _Acc()
            acc.count += 1
            if f.aggregate == "weekly_hours":
                for day, s_at, e_at in where:
                    start = cells[s_at].strip() if s_at is not None and s_at < len(cells) else ""
                    end = cells[e_at].strip() if e_at is not None and e_at < len(cells) else ""
                    if start and end:
                        start, end = _hhmm(start), _hhmm(end)
                        span = acc.days.setdefault(day, [start, end])
                        span[0], span[1] = min(span[0], start), max(span[1], end)
            elif where is not None and where < len(cells):
                value = cells[where]
                if value and value not in acc.values:
                    acc.values.append(value)
    result: dict[str, dict[str, str]] = {}
    for key, accs in out.items():
        row: dict[str, str] = {}
        for f, _ in plans:
            acc = accs[f.target]
            values = list(dict.fromkeys(v for v in map(clean, acc.values) if v))
            if f.aggregate == "first":
                text = values[0] if values else ""
            elif f.aggregate == "list":
                text = "; ".join(values)
            elif f.aggregate == "count":
                text = str(acc.count)
            else:
                text = "; ".join(
                    f"{d} {acc.days[d][0]}-{acc.days[d][1]}" for d in f.days if d in acc.days
                )
            row[f"{PREFIX}{f.kind}:{f.target}"] = text
        result[key] = row
    return result


def apply_joins(table: Table, mapping: Mapping) -> list[JoinField]:
    """Add each join's aggregated values to the main rows; return the fields joined."""
    joined: list[JoinField] = []
    for join in mapping.joins:
        companions = find_companions(table.path, join)
        if not companions:
            if join.required:
                raise ImportFailed(
                    f"{table.path}: the companion file ({' or '.join(join.files)}) is not "
                    "beside it",
                    field="join",
                )
            continue
        key_at = _index(table.header, join.on)
        if key_at is None:
            raise ImportFailed(
                f"{table.path}: no key column {join.on[0]!r} to join {companions[0].name} on",
                field="join",
            )
        key_header = table.header[key_at]
        wanted = {clean(row.get(key_header)) for _, row in table.rows}
        values: dict[str, dict[str, str]] = {}
        for companion in companions:
            values.update(_aggregate(companion, join, mapping, wanted))
        for _, row in table.rows:
            found = values.get(clean(row.get(key_header)))
            if found:
                row.update(found)
        joined.extend(join.fields)
    return joined


def bind_joins(resolved: Any, joined: list[JoinField]) -> None:
    """Point the resolved mapping at the joined values: a field the main file fills keeps
    its own value and takes the companion's only where its cell is empty."""
    for f in joined:
        key = f"{PREFIX}{f.kind}:{f.target}"
        if f.kind == "extra":
            resolved.extra.setdefault(f.target, key)
        elif f.target in resolved.columns:
            resolved.fallbacks.setdefault(f.target, []).append(key)
        else:
            resolved.columns[f.target] = key
