"""Caps on what one input file may expand to (compression bombs, deep or huge GeoJSON).

- :class:`CappedReader` wraps a decompressing stream (``.bz2``/``.gz``) and fails once more
  than ``limit`` bytes come out: a 1.6 KB ``.osm.bz2`` that inflates to 2 GB stops at the cap.
- :func:`check_zip` refuses a zip container (``.xlsx``) whose members add up to more than
  ``limit`` uncompressed bytes, before any member is inflated.
- :func:`parse_geojson` turns a nesting too deep for the parser (``RecursionError``) into a
  clear error and refuses more than ``max_features`` features.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import IO, Any

from mapsvc.core.errors import ImportFailed

MAX_DECOMPRESSED_BYTES = 4 * 1024**3  # an OSM extract of a prefecture inflates to ~1-2 GB
MAX_XLSX_BYTES = 512 * 1024**2
MAX_GEOJSON_FEATURES = 500_000


class CappedReader:
    """A binary stream that raises :class:`ImportFailed` past ``limit`` bytes read."""

    def __init__(self, raw: IO[bytes], limit: int, name: str) -> None:
        self.raw, self.limit, self.name, self.count = raw, limit, name, 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size if size is not None and size >= 0 else self.limit + 1)
        self.count += len(data)
        if self.count > self.limit:
            raise ImportFailed(
                f"{self.name}: decompresses to more than {self.limit:,} bytes; refused",
                field="file",
            )
        return data

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> CappedReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def check_zip(path: Path, limit: int = MAX_XLSX_BYTES) -> None:
    """Refuse a zip (``.xlsx``) that would inflate past ``limit`` bytes (not a zip: no-op)."""
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError):
        return  # the reader reports an unreadable workbook itself
    if total > limit:
        raise ImportFailed(
            f"{path}: the workbook decompresses to {total:,} bytes, more than {limit:,}; refused",
            field="file",
        )


def parse_geojson(text: str, name: str, max_features: int = MAX_GEOJSON_FEATURES) -> Any:
    """``json.loads`` for GeoJSON with depth and feature-count limits.

    Raises
    ------
    ImportFailed
        Nested too deep, or more than ``max_features`` features (``json.JSONDecodeError`` is
        left to the caller, which names line and column).
    """
    try:
        doc = json.loads(text)
    except RecursionError:
        raise ImportFailed(
            f"{name}: the JSON is nested too deeply; refused", field="file"
        ) from None
    features = doc.get("features") if isinstance(doc, dict) else None
    if isinstance(features, list) and len(features) > max_features:
        raise ImportFailed(
            f"{name}: {len(features):,} features, at most {max_features:,}", field="file"
        )
    return doc
