"""CSV for people who open it in Excel: CRLF line ends, and UTF-8 with a BOM once it is a
file or a download (without the BOM Excel reads Japanese text as mojibake).

:func:`csv_text` is what a command prints to the terminal; :func:`csv_bytes` (or
``text.encode(BOM_ENCODING)``) is what a file or a download holds.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

BOM_ENCODING = "utf-8-sig"


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """Rows (the header first) as CSV text with CRLF line ends."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


def csv_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows as CSV in UTF-8 with a BOM (for Excel)."""
    return csv_text(rows).encode(BOM_ENCODING)


def rejects_rows(
    rejections: Sequence[Any], columns: Sequence[str] | None = None
) -> list[list[Any]]:
    """A rejects table: line, reason, then the row's original columns (header first).

    Takes the import's :class:`Rejection` items or stored ``RejectedRow`` rows alike.
    """
    if columns is None:
        seen: dict[str, None] = {}
        for r in rejections:
            seen.update(dict.fromkeys(r.row))
        columns = list(seen)
    columns = [c for c in columns if not c.startswith("@")]
    return [
        ["line", "reason", *columns],
        *([r.line, r.reason, *[r.row.get(c, "") for c in columns]] for r in rejections),
    ]
