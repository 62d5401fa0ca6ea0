"""The finder's result as rows for a professional: on screen, printed, or as CSV.

Each row holds what a care manager needs to pick up the phone: the provider, why it
matched, distance and travel time, when its data was last confirmed, and the
professional contact fields (the record goes through ``reduce_record`` for the
professional audience). The CSV is UTF-8 with a BOM so Excel opens it correctly. The
patient's address or point is not part of any row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from mapsvc.core import _csv
from mapsvc.finder.features import capability_text, feature_properties
from mapsvc.finder.index import ProviderIndex
from mapsvc.finder.search import FinderResult

CONTACT_FIELDS = (
    "phone",
    "phone_direct",
    "fax",
    "email",
    "contact_person",
    "contact_hours",
    "notes_professional",
)
CONTACT_CAPABILITIES = (
    "contact_methods",
    "doctor_meeting_times",
    "care_conference",
    "notes_for_professions",
)


UNKNOWN_WORDS = {"ja": "情報なし", "en": "no information"}
_LINK_SCHEMES = {"phone": "tel:", "phone_direct": "tel:", "fax": "tel:", "email": "mailto:"}


def contact_href(field: str, value: Any) -> str | None:
    """A ``tel:`` (phone, direct line, FAX) or ``mailto:`` link for a contact field."""
    scheme = _LINK_SCHEMES.get(field)
    if not scheme or not value:
        return None
    text = str(value).strip()
    if scheme == "tel:":
        digits = "".join(ch for ch in text if ch.isdigit() or ch == "+")
        return f"tel:{digits}" if len(digits) >= 6 else None
    return f"mailto:{text}" if "@" in text and " " not in text else None


def shortlist_rows(
    result: FinderResult,
    index: ProviderIndex,
    lang: str,
    config: Mapping[str, Any],
    now: datetime,
    only: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """Rows in the result's order; ``only`` keeps just those provider ids (a shortlist)."""
    keep = set(only) if only is not None else None
    taxonomy = index.taxonomy
    rows = []
    for match in result.matches:
        if keep is not None and match.uid not in keep:
            continue
        props = feature_properties(index, match.pos, "professional", lang, config, now)
        caps = props.get("capabilities") or {}
        contact = [
            (taxonomy.fields[f].label.get(lang), props.get(f), contact_href(f, props.get(f)))
            for f in CONTACT_FIELDS
            if props.get(f)
        ]
        contact.extend(
            (
                taxonomy.capabilities[k].label.get(lang),
                capability_text(taxonomy, k, caps.get(k), lang),
                None,
            )
            for k in CONTACT_CAPABILITIES
            if caps.get(k)
        )
        levels = [
            (
                taxonomy.capabilities[f.key].label.get(lang),
                capability_text(taxonomy, f.key, caps.get(f.key), lang) or UNKNOWN_WORDS[lang],
            )
            for f in result.filters.capabilities
        ]
        drive = match.travel_text()
        rows.append(
            {
                "rank": match.rank,
                "uid": match.uid,
                "name": props.get("name"),
                "type_label": props.get("type_label"),
                "address": props.get("address"),
                "lon": float(index.lon[match.pos]),
                "lat": float(index.lat[match.pos]),
                "distance_km": match.distance_km,
                "travel_min": match.travel_min,
                "travel_text": drive.get(lang) if drive else None,
                "levels": levels,
                "area_rule": match.area_rule,
                "reasons": [r.get(lang) for r in match.reasons],
                "contact": contact,
                "props": props,
                "confirmation": props["confirmation"],
            }
        )
    return rows


def shortlist_csv(rows: list[dict[str, Any]], lang: str, taxonomy: Any) -> bytes:
    """The rows as CSV (UTF-8 with BOM), one column per contact field."""
    en = lang == "en"
    header = [
        "No." if en else "順位",
        "Name" if en else "名称",
        "Type" if en else "種別",
        "Address" if en else "所在地",
        "Distance (km)" if en else "直線距離（km）",
        "Driving time (min)" if en else "所要時間（分）",
        "Why it matched" if en else "一致した理由",
        *(taxonomy.fields[f].label.get(lang) for f in CONTACT_FIELDS),
        *(taxonomy.capabilities[k].label.get(lang) for k in CONTACT_CAPABILITIES),
        "Last confirmed" if en else "最終確認日",
        "Confirmation" if en else "確認の状態",
    ]
    lines: list[list[Any]] = [header]
    for row in rows:
        props = row["props"]
        caps = props.get("capabilities") or {}
        lines.append(
            [
                row["rank"],
                row["name"],
                row["type_label"],
                row["address"] or "",
                f"{row['distance_km']:.1f}",
                "" if row["travel_min"] is None else row["travel_min"],
                " / ".join(row["reasons"]),
                *(props.get(f) or "" for f in CONTACT_FIELDS),
                *(capability_text(taxonomy, k, caps.get(k), lang) for k in CONTACT_CAPABILITIES),
                row["confirmation"]["date"] or "",
                row["confirmation"]["label"],
            ]
        )
    return _csv.csv_bytes(lines)
