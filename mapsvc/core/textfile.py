"""Text out of a file's bytes: the first encoding that decodes it, or an error naming where."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mapsvc.core.errors import ImportFailed


def decode(path: Path, data: bytes, encodings: Iterable[str]) -> tuple[str, str]:
    """Decode with the first encoding that works (a BOM means UTF-8)."""
    if data.startswith(b"\xef\xbb\xbf"):
        encodings = ["utf-8-sig"]
    first_error: UnicodeDecodeError | None = None
    tried: list[str] = []
    for enc in encodings:
        tried.append(enc)
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError as exc:
            first_error = first_error or exc
    assert first_error is not None
    start = first_error.start
    line = data.count(b"\n", 0, start) + 1
    column = start - (data.rfind(b"\n", 0, start) + 1) + 1
    raise ImportFailed(
        f"{path}: line {line}, column {column} (byte {start}): cannot decode as {' or '.join(tried)}; "
        "save the file as UTF-8 or Shift_JIS (CP932), or name the encoding in a mapping file",
        field="encoding",
    )
