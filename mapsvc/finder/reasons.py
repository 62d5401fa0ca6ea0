"""The finder's reasons, in both languages: why a provider meets each asked capability
and why its service area covers the point (:func:`mapsvc.finder.search.find_providers`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mapsvc.core.filters import CapabilityFilter
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.finder.index import RULE_POLYGON, RULE_TRAVEL, ProviderIndex


@dataclass(frozen=True)
class Text:
    """A sentence in both languages (views pick one with ``get(lang)``)."""

    ja: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.ja


def minutes_text(travel_s: float) -> Text:
    """A drive in words: whole minutes, or "less than a minute" (never "0 minutes")."""
    minutes = int(round(travel_s / 60.0))
    if minutes < 1:
        return Text("車で1分未満", "under 1 min by car")
    return Text(f"車で約 {minutes} 分", f"about {minutes} min by car")


def capability_reason(
    f: CapabilityFilter, value: dict[str, Any] | None, taxonomy: Taxonomy
) -> Text:
    """Why a provider meets one asked capability: its answer and what was asked."""
    cap = taxonomy.capability(f.key)
    value = value or {}
    if cap.kind == "choice":
        option = cap.options.get(str(value.get("value")))
        shown = (option.ja, option.en) if option else ("", "")
    elif cap.kind in ("level", "flag"):
        level = value.get("level")
        shown = (taxonomy.level_label(level, "ja"), taxonomy.level_label(level, "en"))
    else:
        shown = ("あり", "yes")
    wanted = f.describe(taxonomy, "ja"), f.describe(taxonomy, "en")
    return Text(
        f"{cap.label.ja}：{shown[0]}（条件 {wanted[0]}）",
        f"{cap.label.en}: {shown[1]} (asked: {wanted[1]})",
    )


_SOURCE_WORDS = {
    "provider": ("事業所が届け出た範囲", "the provider's own limit"),
    "type_default": ("種別の標準", "the default for its type"),
    "explicit": ("届け出た対応地域", "its declared service area"),
    # a codes area naming no loaded area: never a silent radius (geo.area_codes)
    "unresolved": (
        "対応地域を特定できません。種別の標準で表示",
        "the service area cannot be identified; shown with its type's default",
    ),
}


def area_reason(
    index: ProviderIndex, pos: int, rule: int, dist_m: float, travel_s: float | None, fallback: Any
) -> Text:
    """Why the provider's service area covers the point (its rule, distance, limit)."""
    km = dist_m / 1000.0
    source = str(index.rule_source[pos])
    src = _SOURCE_WORDS.get(source, _SOURCE_WORDS["type_default"])
    if rule == RULE_POLYGON:
        names = index.area_names.get(pos)
        if names:
            return Text(
                f"対応地域（{'・'.join(names)}）の中にあります（直線 {km:.1f} km）",
                f"Inside its service area ({', '.join(names)}); {km:.1f} km in a straight line",
            )
        return Text(
            f"届け出た対応地域の範囲内です（直線 {km:.1f} km）",
            f"Inside its declared service area; {km:.1f} km in a straight line",
        )
    if rule == RULE_TRAVEL:
        limit = float(index.minutes[pos])
        drive = minutes_text(travel_s or 0.0)
        return Text(
            f"{drive.ja}（対応範囲は {limit:g} 分以内：{src[0]}）",
            f"{drive.en[0].upper()}{drive.en[1:]} (serves up to {limit:g} min: {src[1]})",
        )
    radius = float(index.radius_m[pos]) / 1000.0
    if fallback and source == "type_default":
        src = ("種別の標準の半径", "its type's default radius")
    why = {
        "no_network": ("道路網が未読込のため", "no road network is loaded; "),
        "point_off_network": (
            "地点が道路網から離れているため",
            "the point is off the road network; ",
        ),
        "provider_off_network": (
            "事業所が道路網から離れているため",
            "the provider is off the road network; ",
        ),
    }.get(str(fallback) if fallback else "", ("", ""))
    return Text(
        f"直線 {km:.1f} km（対応範囲は半径 {radius:g} km 以内：{why[0]}{src[0]}）",
        f"{km:.1f} km in a straight line (serves within {radius:g} km: {why[1]}{src[1]})",
    )
