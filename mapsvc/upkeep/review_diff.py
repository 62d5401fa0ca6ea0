"""Describing a submission for the editor: each changed field with its taxonomy label,
the value now and the proposed value, and which fields moved since the provider answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mapsvc.core.taxonomy import Taxonomy


def format_value(taxonomy: Taxonomy, key: str, value: Any, lang: str = "ja") -> str:
    """A field or capability value as an editor reads it (labels from the taxonomy)."""
    en = lang == "en"
    if key == "service_area":
        if not value:
            return "Type default" if en else "種別の標準"
        kind = value.get("kind")
        if kind == "radius":
            return f"{'Radius' if en else '半径'} {value.get('km'):g} km"
        if kind == "travel_time":
            return f"{'Travel time' if en else '移動時間'} {value.get('minutes'):g} {'min' if en else '分'}"
        if kind == "codes":
            return ("Areas: " if en else "地域コード: ") + ", ".join(value.get("codes") or [])
        return "Drawn area" if en else "地図で指定された範囲"
    cap = taxonomy.capabilities.get(key)
    if cap is None:
        return "" if value in (None, "") else str(value)
    if not value:
        return "(no answer)" if en else "（回答なし）"
    if cap.kind in ("level", "flag"):
        text = taxonomy.level_label(value.get("level"), lang)
    elif cap.kind == "choice":
        option = cap.options.get(value.get("value"))
        text = option.get(lang) if option else str(value.get("value"))
    elif cap.kind == "ranked":
        text = "、".join(
            cap.options[o].get(lang) if o in cap.options else str(o)
            for o in value.get("value") or []
        )
    else:
        text = str(value.get("value") or "")
    if value.get("note"):
        text += f"（{value['note']}）"
    return text


@dataclass
class DiffRow:
    """One changed field: label, the value now, the proposed value; ``moved`` = the value
    now differs from what it was when the provider answered."""

    field: str
    label: str
    audience: str
    before: str
    after: str
    moved: bool = False


def field_label(taxonomy: Taxonomy, key: str, lang: str = "ja") -> tuple[str, str]:
    """(label, audience) of a record field or capability."""
    if key in taxonomy.capabilities:
        cap = taxonomy.capabilities[key]
        return cap.label.get(lang), cap.audience
    if key in taxonomy.fields:
        f = taxonomy.fields[key]
        return f.label.get(lang), f.audience
    return key, "professional"


def _plain(taxonomy: Taxonomy, key: str, value: Any, lang: str) -> str:
    if key == "service_area":
        return format_value(taxonomy, key, value, lang)
    return "" if value in (None, "") else str(value)


def describe(
    taxonomy: Taxonomy, current: Mapping[str, Any], payload: Mapping[str, Any], lang: str = "ja"
) -> list[DiffRow]:
    """Field, value now and proposed value for each change in a payload."""
    changes = payload.get("changes") or {}
    base = payload.get("base") or {}
    rows: list[DiffRow] = []
    for key, new in changes.items():
        if key == "capabilities":
            continue
        label, audience = field_label(taxonomy, key, lang)
        now_value = current.get(key)
        rows.append(
            DiffRow(
                key,
                label,
                audience,
                _plain(taxonomy, key, now_value, lang),
                _plain(taxonomy, key, new, lang),
                now_value != base.get(key),
            )
        )
    current_caps = current.get("capabilities") or {}
    base_caps = base.get("capabilities") or {}
    for key, new in (changes.get("capabilities") or {}).items():
        label, audience = field_label(taxonomy, key, lang)
        now_value = current_caps.get(key)
        rows.append(
            DiffRow(
                f"capabilities.{key}",
                label,
                audience,
                format_value(taxonomy, key, now_value, lang),
                format_value(taxonomy, key, new, lang),
                now_value != base_caps.get(key),
            )
        )
    return rows


def moved_fields(current: Mapping[str, Any], payload: Mapping[str, Any]) -> list[str]:
    """Changed fields whose value moved since the submission and differs from its answer."""
    changes = payload.get("changes") or {}
    base = payload.get("base") or {}
    moved = [
        k
        for k, v in changes.items()
        if k != "capabilities" and current.get(k) != base.get(k) and current.get(k) != v
    ]
    current_caps = current.get("capabilities") or {}
    base_caps = base.get("capabilities") or {}
    moved += [
        f"capabilities.{k}"
        for k, v in (changes.get("capabilities") or {}).items()
        if current_caps.get(k) != base_caps.get(k) and current_caps.get(k) != v
    ]
    return moved
