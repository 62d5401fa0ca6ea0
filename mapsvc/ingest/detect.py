"""The shipped formats and recognising a file's format from its header."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from mapsvc.core.codes import header_index, header_key
from mapsvc.core.errors import InvalidMapping
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.ingest.mapping import FORMATS_DIR, Mapping, load_mapping


def shipped_mapping_paths() -> list[Path]:
    return sorted(FORMATS_DIR.glob("*.yaml"))


@lru_cache(maxsize=4)
def _shipped(taxonomy_path: str, taxonomy: Taxonomy) -> tuple[Mapping, ...]:
    return tuple(load_mapping(p, taxonomy) for p in shipped_mapping_paths())


def shipped_mappings(taxonomy: Taxonomy) -> tuple[Mapping, ...]:
    """Every format shipped with mapsvc, validated."""
    return _shipped(str(taxonomy.path), taxonomy)


def mapping_by_name(name: str, taxonomy: Taxonomy) -> Mapping:
    for m in shipped_mappings(taxonomy):
        if m.name == name:
            return m
    known = ", ".join(m.name for m in shipped_mappings(taxonomy))
    raise InvalidMapping(f"unknown format {name!r}; known formats: {known}", field="format")


def detect_mapping(headers: list[str], filename: str, taxonomy: Taxonomy) -> Mapping:
    """Pick the shipped format whose detection headers are all present.

    The most specific match wins (most detection headers); a tie is an error.
    """
    present = set(header_index(headers))
    candidates: list[tuple[int, Mapping]] = []
    for m in shipped_mappings(taxonomy):
        if not all(header_key(h) in present for h in m.detect_all):
            continue
        if not all(any(header_key(h) in present for h in group) for group in m.detect_any):
            continue
        if any(header_key(h) in present for h in m.detect_none):
            continue
        if m.detect_filename and not re.search(m.detect_filename, filename):
            continue
        score = len(m.detect_all) + len(m.detect_any) + (1 if m.detect_filename else 0)
        candidates.append((score, m))
    if not candidates:
        raise InvalidMapping(
            f"{filename}: the header matches no known format (columns: {', '.join(headers[:20])}"
            f"{' …' if len(headers) > 20 else ''}); use --format NAME or --mapping FILE",
            field="format",
        )
    candidates.sort(key=lambda c: -c[0])
    if len(candidates) > 1 and candidates[0][0] == candidates[1][0]:
        names = ", ".join(m.name for s, m in candidates if s == candidates[0][0])
        raise InvalidMapping(
            f"{filename}: the header fits several formats ({names}); choose one with --format",
            field="format",
        )
    return candidates[0][1]
