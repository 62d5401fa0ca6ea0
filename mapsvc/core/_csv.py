"""CSV for people who open it in Excel: CRLF line ends, and UTF-8 with a BOM once it is a
file or a download (without the BOM Excel reads Japanese text as mojibake).

:func:`csv_text` is what a command prints to the terminal; :func:`csv_bytes` (or
``text.encode(BOM_ENCODING)``) is what a file or a download holds.

One export rule for every CSV and XLSX writer (:func:`text_cell`): a text cell starting with
``= + - @``, a tab or a carriage return is written with a leading ``'`` so a spreadsheet shows
it as text and never runs it as a formula (OWASP "CSV injection"). XLSX writers store such
cells as strings (:func:`xlsx_text`), never as formulas.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

BOM_ENCODING = "utf-8-sig"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: Any) -> Any:
    """The export rule: ``'`` before a text cell a spreadsheet would read as a formula.

    Numbers stay numbers (``-3`` is a number, not a formula); only text is guarded. The
    check runs on the text as stored, which the importer's normaliser
    (:func:`mapsvc.core.codes.nfkc`) keeps free of full-width formula look-alikes.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def xlsx_text(cell: Any) -> None:
    """Make an openpyxl cell holding text a string cell (openpyxl makes ``=…`` a formula)."""
    if isinstance(cell.value, str) and cell.data_type == "f":
        cell.data_type = "s"


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """Rows (the header first) as CSV text with CRLF line ends, through :func:`text_cell`."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        writer.writerow([text_cell(v) for v in row])
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
