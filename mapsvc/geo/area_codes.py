"""Service-area tokens: area codes (5 or 6 digits, ``kind:code``) and area names.

A provider's ``{"kind": "codes", "codes": [...]}`` service area names loaded areas. The
tokens are matched here, the same way for the planner, the finder, the importer's
warnings and the admin dashboard: a 5-digit 全国地方公共団体コード matches the stored
6-digit code (check digit computed) and back, full-width digits are normalised, and a
token that is no code is an area name (``高松市``, ``香川県高松市``). A token matching no
loaded area makes the area unresolved: 「対応地域を特定できません」, shown as such, never
replaced silently by a radius.
"""

from __future__ import annotations

import re
from typing import Any

from mapsvc.core.codes import nfkc, normalise_municipality_code

CODE_KINDS = ("town", "daily_life_area", "municipality", "secondary_medical_area", "custom")
UNRESOLVED_JA = "対応地域を特定できません"
UNRESOLVED_EN = "The service area cannot be identified"
_PREFECTURE = re.compile(r"^(東京都|北海道|京都府|大阪府|.{2,3}県)(?=.)")


def code_candidates(token: str) -> tuple[str | None, list[str]]:
    """(kind or None, codes to try) for a service-area token.

    A 5-digit 全国地方公共団体コード also tries its 6-digit form (check digit computed), a
    6-digit one its 5-digit form (N03 files and some layers store 5 digits); full-width
    digits and spaces are normalised; ``kind:code`` names the kind.
    """
    text = nfkc(str(token))
    kind = None
    if ":" in text:
        head, _, rest = text.partition(":")
        if head in CODE_KINDS:
            kind, text = head, rest.strip()
    out = [text]
    if text.isdigit() and len(text) in (5, 6):
        try:
            full = normalise_municipality_code(text)
        except ValueError:
            full = None
        if full:
            out += [c for c in (full, full[:5]) if c not in out]
    return kind, out


def name_key(name: str) -> str:
    """How area names are compared: NFKC, no spaces, no leading prefecture."""
    text = re.sub(r"\s+", "", nfkc(str(name)))
    return _PREFECTURE.sub("", text)


def lookup_code(
    code: str, table: dict[tuple[str, str], Any], names: dict[tuple[str, str], str] | None = None
) -> Any:
    """``table[(kind, code)]`` for ``kind:code``, else the first of :data:`CODE_KINDS`.

    5- and 6-digit municipality codes match each other (:func:`code_candidates`). A token
    that is no loaded code is taken as an area **name** (``高松市``, ``香川県高松市``,
    ``番町一丁目``): ``names`` maps ``(kind, name_key(name))`` to the code; without it,
    names are read from the table's values when they are ``(geometry, name)`` pairs.
    """
    kind, candidates = code_candidates(code)
    kinds = (kind,) if kind else CODE_KINDS
    for k in kinds:
        for c in candidates:
            hit = table.get((k, c))
            if hit is not None:
                return hit
    if names is None:
        names = {
            (k, name_key(v[1])): c
            for (k, c), v in table.items()
            if isinstance(v, tuple) and len(v) > 1 and v[1]
        }
    wanted = name_key(candidates[0])
    for k in kinds:
        found = names.get((k, wanted))
        if found is not None:
            return table.get((k, found))
    return None


def unresolved_area(area: Any, known: dict[tuple[str, str], Any]) -> list[str]:
    """Tokens of a ``codes`` service area that name no loaded area (empty when all resolve
    or the area is not of kind ``codes``); ``known`` maps (kind, code) to (anything, name)."""
    if not isinstance(area, dict) or area.get("kind") != "codes":
        return []
    return [str(c) for c in area.get("codes") or [] if lookup_code(str(c), known) is None]


def area_table(session: Any) -> dict[tuple[str, str], tuple[None, str]]:
    """(kind, code) -> (None, name) of every loaded area, for :func:`unresolved_area`."""
    from sqlalchemy import select

    from mapsvc.core.models import Area

    rows = session.execute(select(Area.kind, Area.code, Area.name)).all()
    return {(str(k), str(c)): (None, str(n)) for k, c, n in rows}


def service_area_warnings(session: Any, records: list[dict[str, Any]]) -> list[str]:
    """Import warnings for records whose ``codes`` service area names no loaded area.

    ``records`` are importer records (``name``, ``source_id``, ``service_area``); the
    message says 対応地域を特定できません and lists the tokens that matched nothing.
    """
    with_codes = [r for r in records if (r.get("service_area") or {}).get("kind") == "codes"]
    if not with_codes:
        return []
    known = area_table(session)
    out = []
    for r in with_codes:
        missing = unresolved_area(r.get("service_area"), known)
        if missing:
            who = r.get("name") or r.get("source_id") or "?"
            out.append(
                f"{who} ({r.get('source_id') or '-'}): {UNRESOLVED_JA} — no loaded area "
                f"{'/'.join(missing)} (load it with `mapsvc areas import`, or correct the area)"
            )
    return out
