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
