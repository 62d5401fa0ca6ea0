"""Why nothing (or little) matched: what each chosen condition costs, and what relaxing it gives.

For a search with few results, :func:`explain_few` looks at the providers whose service
area covers the point **whatever their capabilities** (one more coverage pass on the
index, in the same request) and, for each chosen condition (each required capability,
and the provider types when some were chosen):

* ``removes``: how many providers that condition alone removes — those that meet every
  other condition but not this one;
* ``dropped``: how many there would be without it;
* ``relaxed``: for an acceptance level above the lowest, how many there would be at the
  lowest level (「人工呼吸器を「要相談」まで広げると 4 件」).

Counts are over the covering providers, so they are the numbers the user would get on the
next search. Nothing here logs or keeps the point. No Flask.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mapsvc.core.filters import CapabilityFilter, FilterSet
from mapsvc.finder.index import ProviderIndex
from mapsvc.finder.reasons import Text
from mapsvc.finder.search import FinderResult, find_providers

LOWEST_LEVEL = "consult"


@dataclass(frozen=True)
class Condition:
    """One chosen condition and what it costs at this point."""

    spec: str  # the grammar term (``ventilator:accept``) or ``type``
    label: Text  # the condition in words
    removes: int
    dropped: int
    relaxed_to: str | None = None  # a level key, when relaxing is possible
    relaxed: int | None = None
    sentence: Text = Text("", "")

    def as_dict(self, lang: str) -> dict[str, Any]:
        return {
            "condition": self.spec,
            "label": self.label.get(lang),
            "removes": self.removes,
            "without": self.dropped,
            "relaxed_to": self.relaxed_to,
            "relaxed": self.relaxed,
            "text": self.sentence.get(lang),
        }


@dataclass(frozen=True)
class Explanation:
    """The covering providers before any condition, and each condition's cost."""

    covering: int  # providers whose area covers the point, any capability or type
    matched: int
    conditions: tuple[Condition, ...]
    summary: Text

    def as_dict(self, lang: str) -> dict[str, Any]:
        return {
            "covering": self.covering,
            "matched": self.matched,
            "summary": self.summary.get(lang),
            "conditions": [c.as_dict(lang) for c in self.conditions],
        }


def _label(f: CapabilityFilter, index: ProviderIndex) -> Text:
    return Text(f.describe(index.taxonomy, "ja"), f.describe(index.taxonomy, "en"))


def _types_label(filters: FilterSet, index: ProviderIndex) -> Text:
    only = FilterSet(types=filters.types)
    return Text(only.describe(index.taxonomy, "ja"), only.describe(index.taxonomy, "en"))


def _sentence(c: Condition, index: ProviderIndex) -> Text:
    if c.removes == 0 and c.dropped == 0:
        return Text(
            f"「{c.label.ja}」を外しても増えません（ほかの条件で外れています）。",
            f"Dropping “{c.label.en}” adds none (other conditions remove them).",
        )
    ja = f"「{c.label.ja}」だけで {c.removes} 件が外れています。"
    en = f"“{c.label.en}” alone removes {c.removes}."
    if c.relaxed_to is not None and c.relaxed is not None:
        name = c.spec.split(":")[0]
        cap = index.taxonomy.capability(name).label
        level = (
            index.taxonomy.level_label(c.relaxed_to, "ja"),
            index.taxonomy.level_label(c.relaxed_to, "en"),
        )
        ja += f"{cap.ja}を「{level[0]}」まで広げると {c.relaxed} 件、"
        en += f" Widening {cap.en} to “{level[1]}” gives {c.relaxed};"
    ja += f"この条件を外すと {c.dropped} 件です。"
    en += f" without this condition, {c.dropped}."
    return Text(ja, en)


def explain_few(index: ProviderIndex, result: FinderResult, **search: Any) -> Explanation:
    """What each condition of ``result.filters`` costs at the result's point.

    ``search`` takes the keyword arguments given to :func:`find_providers` for the result
    (``road``, ``snap_m``, ``access_m``), so coverage is judged by the same rule.
    """
    filters = result.filters
    search = {k: v for k, v in search.items() if k not in ("limit", "seed")}
    everyone = find_providers(
        index, result.lon, result.lat, FilterSet(), seed=result.seed, limit=None, **search
    )
    positions = np.array([m.pos for m in everyone.matches], dtype=np.int64)
    masks: list[tuple[str, Text, np.ndarray, CapabilityFilter | None]] = []
    for chosen in filters.capabilities:
        mask = index.filter_mask(FilterSet((chosen,)), positions=positions)
        masks.append((chosen.spec(), _label(chosen, index), mask, chosen))
    if filters.types:
        mask = index.filter_mask(FilterSet(types=filters.types), positions=positions)
        masks.append(("type", _types_label(filters, index), mask, None))
    every = np.ones(len(positions), dtype=bool)
    for _spec, _text, mask, _f in masks:
        every &= mask
    conditions = []
    for i, (spec, text, mask, f) in enumerate(masks):
        others = np.ones(len(positions), dtype=bool)
        for j, (_s, _t, other, _f) in enumerate(masks):
            if j != i:
                others &= other
        relaxed_to = relaxed = None
        if (
            f is not None
            and f.min_level is not None
            and f.min_level != LOWEST_LEVEL
            and index.taxonomy.capability(f.key).kind == "level"
        ):
            wider = replace(f, min_level=LOWEST_LEVEL)
            wide = index.filter_mask(FilterSet((wider,)), positions=positions)
            relaxed_to, relaxed = LOWEST_LEVEL, int((others & wide).sum())
        c = Condition(
            spec,
            text,
            removes=int((others & ~mask).sum()),
            dropped=int(others.sum()),
            relaxed_to=relaxed_to,
            relaxed=relaxed,
        )
        conditions.append(replace(c, sentence=_sentence(c, index)))
    conditions.sort(key=lambda c: -c.removes)
    covering = len(positions)
    if covering == 0:
        summary = Text(
            "この地点を対応範囲に含む事業所がありません（条件に関係なく）。地点を確かめてください。",
            "No provider's service area covers this point, whatever the conditions; "
            "check the place.",
        )
    else:
        summary = Text(
            f"この地点を対応範囲に含む事業所は条件を問わなければ {covering} 件です。",
            f"{covering} providers cover this point when no condition is set.",
        )
    return Explanation(covering, int(every.sum()), tuple(conditions), summary)
