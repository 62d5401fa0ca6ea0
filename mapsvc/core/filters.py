"""The finder's and the API's filter grammar, and filters that describe themselves.

Grammar (query parameters of ``/api/collections/{id}/items`` and the finder form)
--------------------------------------------------------------------------------
``cap=TERM[,TERM...]``, repeatable; every term must hold (AND)::

    TERM = KEY                 the provider offers KEY
         | KEY ":" LEVEL       acceptance-level capability at LEVEL or better
                               (LEVEL = active | accept | consult; 不可 and unknown never match)
         | KEY ":" OPTION      choice capability with exactly that option
         | KEY ":" "yes"       flag capability (same as KEY)

``type=T[,T...]``, repeatable: provider types (any of them, OR).

Examples: ``cap=ventilator:accept,night_response`` — ventilator accepted or actively
accepted, and night response at 要相談 or better; ``cap=home_care_support_clinic:enhanced_single``.

"Offers" follows :meth:`mapsvc.core.taxonomy.Taxonomy.offers`: a level capability without a
minimum means 要相談 or better; unknown (no answer) never satisfies a filter.

Each filter says what it means in words, like datasette's ``human_clause``:
:meth:`FilterSet.describe` gives 「人工呼吸器（受入以上）、夜間対応」 or "Ventilator
(Accepting or better) and Night response".

For the public audience, professional-only capabilities do not exist: a term naming one
is refused exactly like an unknown key, and the message never repeats what was typed.
The public grammar is ``TERM = KEY`` only: a qualifier (``:LEVEL``, ``:OPTION``, ``:yes``)
is a 400 naming ``cap``, because comparing the answers for ``:consult``, ``:accept`` and
``:active`` would recover each provider's professional-only acceptance level. Every public
filter and count (items, clusters, print, the map page) is parsed by :func:`parse_filters`
with the caller's audience.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mapsvc.core.errors import InvalidFilter
from mapsvc.core.taxonomy import Taxonomy

MAX_TERMS = 20


@dataclass(frozen=True)
class CapabilityFilter:
    """One required capability: ``min_level`` for level kinds, ``option`` for choices."""

    key: str
    min_level: str | None = None
    option: str | None = None

    def spec(self) -> str:
        """The term in the query grammar (``ventilator:accept``)."""
        qualifier = self.min_level or self.option
        return f"{self.key}:{qualifier}" if qualifier else self.key

    def matches(self, value: dict[str, Any] | None, taxonomy: Taxonomy) -> bool:
        """Does one stored capability value satisfy this filter?"""
        if self.option is not None:
            return bool(value) and value.get("value") == self.option  # type: ignore[union-attr]
        return taxonomy.offers(self.key, value, self.min_level)

    def describe(self, taxonomy: Taxonomy, lang: str = "ja") -> str:
        """「人工呼吸器（受入以上）」 / "Ventilator (Accepting or better)"."""
        cap = taxonomy.capability(self.key)
        label = cap.label.get(lang)
        if self.option is not None:
            option = cap.options[self.option].get(lang)
            return f"{label}: {option}" if lang == "en" else f"{label}：{option}"
        if cap.kind == "level":
            level = taxonomy.level_label(self.min_level or "consult", lang)
            return f"{label} ({level} or better)" if lang == "en" else f"{label}（{level}以上）"
        return label


@dataclass(frozen=True)
class FilterSet:
    """Required capabilities (all) and provider types (any; empty = every type)."""

    capabilities: tuple[CapabilityFilter, ...] = ()
    types: tuple[str, ...] = ()

    def specs(self) -> list[str]:
        return [f.spec() for f in self.capabilities]

    def describe(self, taxonomy: Taxonomy, lang: str = "ja") -> str:
        """The whole filter in words; empty string when there is no filter."""
        parts = [f.describe(taxonomy, lang) for f in self.capabilities]
        caps = (" and ".join(parts) if lang == "en" else "、".join(parts)) if parts else ""
        if not self.types:
            return caps
        names = [taxonomy.provider_types[t].label.get(lang) for t in self.types]
        kinds = " or ".join(names) if lang == "en" else "・".join(names)
        if not caps:
            return kinds
        return f"{kinds} with {caps}" if lang == "en" else f"{kinds}（{caps}）"

    def narrowed(self, more: FilterSet) -> FilterSet:
        """Both filters at once (a layer's own filter plus the caller's)."""
        caps = tuple(dict.fromkeys(self.capabilities + more.capabilities))
        if self.types and more.types:
            types = tuple(t for t in self.types if t in more.types)
            if not types:
                types = ("__none__",)  # disjoint: nothing can match
        else:
            types = self.types or more.types
        return FilterSet(caps, types)


def _terms(values: Iterable[str] | str | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values:
        out.extend(part.strip() for part in str(value).split(",") if part.strip())
    return out


def parse_capability(
    term: str, taxonomy: Taxonomy, audience: str = "professional"
) -> CapabilityFilter:
    """Parse one ``KEY[:QUALIFIER]`` term.

    Parameters
    ----------
    term
        The term as typed.
    taxonomy
        Capability keys, kinds, levels and options.
    audience
        ``"public"`` hides professional-only capabilities (refused as unknown) and takes
        keys only (a qualifier is refused).

    Returns
    -------
    CapabilityFilter

    Raises
    ------
    InvalidFilter
        ``field="cap"``; for the public the message does not repeat the term.
    """
    key, _, qualifier = term.partition(":")
    key, qualifier = key.strip(), qualifier.strip()
    cap = taxonomy.capabilities.get(key)
    if cap is None or (audience == "public" and cap.audience != "public"):
        if audience == "public":
            raise InvalidFilter(
                "cap: unknown capability; the allowed keys are listed in /api/openapi.json",
                field="cap",
            )
        raise InvalidFilter(f"cap: unknown capability {key!r}", field="cap")
    if audience == "public" and qualifier:
        raise InvalidFilter(
            "cap: the public filter takes capability keys only, without a :qualifier",
            field="cap",
        )
    if cap.kind == "text":
        raise InvalidFilter(f"cap: {key} is free text and cannot be filtered on", field="cap")
    if not qualifier:
        return CapabilityFilter(key)
    if cap.kind == "level":
        allowed = [lv.key for lv in taxonomy.levels if lv.rank > 0]
        if qualifier not in allowed:
            raise InvalidFilter(
                f"cap: the minimum level of {key} must be one of {', '.join(allowed)}",
                field="cap",
            )
        return CapabilityFilter(key, min_level=qualifier)
    if cap.kind == "flag":
        if qualifier != "yes":
            raise InvalidFilter(f"cap: {key} is yes/no; write {key} or {key}:yes", field="cap")
        return CapabilityFilter(key)
    if cap.kind == "choice":
        if qualifier not in cap.options:
            raise InvalidFilter(
                f"cap: the option of {key} must be one of {', '.join(cap.options)}", field="cap"
            )
        return CapabilityFilter(key, option=qualifier)
    raise InvalidFilter(f"cap: {key} takes no qualifier; write just {key}", field="cap")


def parse_filters(
    caps: Iterable[str] | str | None,
    types: Iterable[str] | str | None,
    taxonomy: Taxonomy,
    audience: str = "professional",
) -> FilterSet:
    """Parse the ``cap`` and ``type`` parameters (see the module docstring).

    Raises
    ------
    InvalidFilter
        ``field`` is ``cap`` or ``type``: an unknown key, level, option or type, or more
        than :data:`MAX_TERMS` terms.
    """
    cap_terms = _terms(caps)
    if len(cap_terms) > MAX_TERMS:
        raise InvalidFilter(f"cap: at most {MAX_TERMS} terms", field="cap")
    parsed = tuple(dict.fromkeys(parse_capability(t, taxonomy, audience) for t in cap_terms))
    type_terms = _terms(types)
    for t in type_terms:
        if t not in taxonomy.provider_types:
            raise InvalidFilter(
                f"type: unknown provider type; expected one of {', '.join(taxonomy.provider_types)}",
                field="type",
            )
    return FilterSet(parsed, tuple(dict.fromkeys(type_terms)))


def layer_filters(layer: Any) -> FilterSet:
    """A layer definition's own filter (:class:`mapsvc.core.layers.Layer`) as a FilterSet."""
    return FilterSet(
        tuple(CapabilityFilter(f.capability, f.min_level) for f in layer.filters),
        tuple(layer.provider_types),
    )
