"""Checks a provider record against the store's columns before anything is written.

The importer calls :func:`record_problem` for every row (one place), so a value that does not
fit — a 301-character name in ``String(300)``, text in a number column — becomes a rejected
row with its line and reason on every back-end, instead of a PostgreSQL ``DataError`` that
aborts the whole import (or, on SQLite, a value silently stored past its column size).
Messages name the field and the sizes, never the value.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, Integer, String, Text

from mapsvc.core.models import Provider


@functools.cache
def _columns() -> dict[str, tuple[str, int | None]]:
    """Column key -> (what it holds: text | float | bool | int | other, text size)."""
    out: dict[str, tuple[str, int | None]] = {}
    for c in Provider.__table__.columns:
        kind = c.type
        if isinstance(kind, String | Text) and not isinstance(kind, DateTime):
            out[c.key] = ("text", getattr(kind, "length", None))
        elif isinstance(kind, Float):
            out[c.key] = ("float", None)
        elif isinstance(kind, Boolean):
            out[c.key] = ("bool", None)
        elif isinstance(kind, Integer):
            out[c.key] = ("int", None)
    return out


def record_problem(record: Mapping[str, Any]) -> str | None:
    """Why ``record`` cannot be stored (the first problem), or None when every field fits."""
    columns = _columns()
    for key, value in record.items():
        column = columns.get(key)
        if column is None or value is None:
            continue
        kind, size = column
        if kind == "text":
            if not isinstance(value, str):
                return f"{key}: expected text"
            if size is not None and len(value) > size:
                return f"{key}: {len(value)} characters, at most {size}"
            if "\x00" in value:
                return f"{key}: contains a NUL character"
        elif kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"{key}: expected a number"
            if not math.isfinite(float(value)):
                return f"{key}: expected a finite number"
        elif kind == "bool":
            if not isinstance(value, bool):
                return f"{key}: expected yes or no"
        elif kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                return f"{key}: expected a whole number"
            if not -(2**31) <= value < 2**31:
                return f"{key}: out of range"
    return None
