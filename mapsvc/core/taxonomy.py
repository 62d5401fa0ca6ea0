"""Capability taxonomy: provider types, fields, acceptance levels and capabilities.

The taxonomy is data (``layers/taxonomy.yaml``). :func:`load_taxonomy` validates it
completely, collecting every problem, and raises one :class:`InvalidLayerDefinition`
naming the file, the key and what was expected. :meth:`Taxonomy.parse_value` turns what
a data file or form says ("受入", "○", "yes", "要相談") into the stored value, through the
word tables in :mod:`mapsvc.core.taxonomy_values`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from mapsvc.core._yaml import load_yaml
from mapsvc.core.errors import InvalidLayerDefinition
from mapsvc.core.taxonomy_values import (
    UNKNOWN,
    Capability,
    FieldDef,
    Label,
    Level,
    ProviderType,
    parse_capability_value,
)

# the parts live in taxonomy_values; callers import them from here
__all__ = [
    "AUDIENCES",
    "FLAG_LEVELS",
    "KINDS",
    "UNKNOWN",
    "Capability",
    "FieldDef",
    "Label",
    "Level",
    "ProviderType",
    "Taxonomy",
    "cached_taxonomy",
    "load_taxonomy",
]

AUDIENCES = ("public", "professional")
KINDS = ("level", "flag", "choice", "ranked", "text")
FLAG_LEVELS = ("yes", "no")


@dataclass(frozen=True, eq=False)
class Taxonomy:
    """The validated taxonomy; look-ups by key, and value parsing."""

    path: Path
    levels: tuple[Level, ...]
    unknown_label: Label
    groups: dict[str, Label]
    provider_types: dict[str, ProviderType]
    fields: dict[str, FieldDef]
    capabilities: dict[str, Capability]
    _memo: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict, repr=False)

    # ---- look-ups -----------------------------------------------------------------
    def level_rank(self, level: str | None) -> int | None:
        """Rank of an acceptance level (higher accepts more); None for unknown/absent."""
        for lv in self.levels:
            if lv.key == level:
                return lv.rank
        return None

    def level_label(self, level: str | None, lang: str = "ja") -> str:
        for lv in self.levels:
            if lv.key == level:
                return lv.label.get(lang)
        if level == "yes":
            return "あり" if lang != "en" else "Yes"
        if level == "no":
            return "なし" if lang != "en" else "No"
        return self.unknown_label.get(lang)

    def public_fields(self) -> list[str]:
        return [k for k, f in self.fields.items() if f.audience == "public"]

    def professional_fields(self) -> list[str]:
        return [k for k, f in self.fields.items() if f.audience == "professional"]

    def public_capabilities(self) -> list[str]:
        return [k for k, c in self.capabilities.items() if c.audience == "public"]

    def capability(self, key: str) -> Capability:
        try:
            return self.capabilities[key]
        except KeyError:
            raise KeyError(f"unknown capability {key!r}") from None

    # ---- values -----------------------------------------------------------------
    def parse_value(self, key: str, raw: Any, note: str | None = None) -> dict[str, Any] | None:
        """Normalise one capability answer.

        Parameters
        ----------
        key
            Capability key.
        raw
            What the file or form says: a level key, a Japanese label, ○/×/△, yes/no, an
            option key or label, a list (ranked), or text.
        note
            Optional free-text note kept with the value.

        Returns
        -------
        dict or None
            ``{"level": ...}`` for level and flag kinds, ``{"value": ...}`` for the
            others, with ``"note"`` when given; None when the cell is empty.

        Raises
        ------
        ValueError
            The value is not one the capability accepts; the message lists the accepted ones.
        """
        cap = self.capability(key)
        note = (note or "").strip() or None
        if note is None and isinstance(raw, str) and cap.kind in ("level", "flag"):
            # survey files repeat a handful of words: remember what each one means
            memo = self._memo.get((key, raw))
            if memo is None:
                memo = parse_capability_value(cap, self.levels, key, raw, None)
                self._memo[(key, raw)] = memo
            return dict(memo) if memo is not None else None
        return parse_capability_value(cap, self.levels, key, raw, note)

    def offers(self, key: str, value: dict[str, Any] | None, min_level: str | None = None) -> bool:
        """Does this stored value satisfy a filter on the capability (``min_level`` for levels)?"""
        if not value:
            return False
        cap = self.capabilities.get(key)
        if cap is None:
            return False
        if cap.kind == "level":
            rank = self.level_rank(value.get("level"))
            floor = self.level_rank(min_level or "consult")
            return rank is not None and floor is not None and rank >= floor and rank > 0
        if cap.kind == "flag":
            return value.get("level") == "yes"
        return bool(value.get("value"))

    def service_area_defaults(
        self, overrides: dict[str, Any] | None = None
    ) -> dict[str, dict[str, float]]:
        """Per-type radius_km / travel_minutes, with configuration overrides applied."""
        out = {
            k: {"radius_km": t.radius_km, "travel_minutes": t.travel_minutes}
            for k, t in self.provider_types.items()
        }
        for type_key, values in (overrides or {}).items():
            if type_key in out and isinstance(values, dict):
                out[type_key].update(
                    {k: float(v) for k, v in values.items() if k in ("radius_km", "travel_minutes")}
                )
        return out


# ---- loading and validation -----------------------------------------------------------

_TOP_KEYS = {
    "version",
    "acceptance_levels",
    "unknown",
    "groups",
    "provider_types",
    "fields",
    "capabilities",
}
_TYPE_KEYS = {"ja", "en", "category", "service_area"}
_CAP_KEYS = {"ja", "en", "group", "applies_to", "kind", "audience", "options"}
_FIELD_KEYS = {"ja", "en", "audience"}


class _Problems:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[str] = []

    def add(self, where: str, problem: str) -> None:
        self.items.append(f"{where}: {problem}")

    def raise_if_any(self) -> None:
        if self.items:
            listing = "\n  - ".join(self.items)
            raise InvalidLayerDefinition(
                f"{self.path}: {len(self.items)} problem(s):\n  - {listing}"
            )


def _label(data: Any, where: str, problems: _Problems) -> Label:
    if not isinstance(data, dict):
        problems.add(where, f"expected a mapping with ja and en labels, got {type(data).__name__}")
        return Label("", "")
    for lang in ("ja", "en"):
        if not isinstance(data.get(lang), str) or not data.get(lang, "").strip():
            problems.add(where, f"missing label {lang!r}")
    return Label(str(data.get("ja", "")), str(data.get("en", "")))


def _unknown_keys(data: dict[str, Any], allowed: set[str], where: str, problems: _Problems) -> None:
    for key in data:
        if key not in allowed:
            problems.add(
                where, f"unknown key {key!r}; expected one of {', '.join(sorted(allowed))}"
            )


def load_taxonomy(path: Path | str) -> Taxonomy:
    """Load and validate a taxonomy file.

    Parameters
    ----------
    path
        ``taxonomy.yaml``, or the layers folder that holds it.

    Returns
    -------
    Taxonomy

    Raises
    ------
    InvalidLayerDefinition
        Listing every problem found, each with the key and what was expected.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "taxonomy.yaml"
    try:
        data = load_yaml(path)
    except FileNotFoundError:
        raise InvalidLayerDefinition(f"{path}: taxonomy file not found") from None
    except ValueError as exc:
        raise InvalidLayerDefinition(str(exc)) from exc
    problems = _Problems(path)
    if not isinstance(data, dict):
        problems.add("(top level)", "expected a mapping")
        problems.raise_if_any()
    _unknown_keys(data, _TOP_KEYS, "(top level)", problems)
    for key in sorted(_TOP_KEYS - {"version"} - set(data)):
        problems.add(key, "missing section")

    levels: list[Level] = []
    for i, item in enumerate(data.get("acceptance_levels") or []):
        where = f"acceptance_levels[{i}]"
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("key"), str)
            or not isinstance(item.get("rank"), int)
        ):
            problems.add(where, "expected {key: str, ja, en, rank: int}")
            continue
        levels.append(Level(item["key"], _label(item, where, problems), item["rank"]))
    level_keys = [lv.key for lv in levels]
    expected_levels = {"active", "accept", "consult", "no"}
    if set(level_keys) != expected_levels:
        problems.add(
            "acceptance_levels",
            f"expected exactly the keys {sorted(expected_levels)} (積極的受入/受入/要相談/不可), got {level_keys}",
        )
    if len(set(lv.rank for lv in levels)) != len(levels):
        problems.add("acceptance_levels", "ranks must be distinct")
    unknown = data.get("unknown") or {}
    if not isinstance(unknown, dict) or unknown.get("key") != UNKNOWN:
        problems.add("unknown", f"expected key {UNKNOWN!r} (a state distinct from 不可)")
    unknown_label = _label(unknown, "unknown", problems)

    groups = {}
    for key, item in (data.get("groups") or {}).items():
        groups[str(key)] = _label(item, f"groups.{key}", problems)

    types: dict[str, ProviderType] = {}
    for key, item in (data.get("provider_types") or {}).items():
        where = f"provider_types.{key}"
        if not isinstance(item, dict):
            problems.add(where, "expected a mapping")
            continue
        _unknown_keys(item, _TYPE_KEYS, where, problems)
        area = item.get("service_area") or {}
        radius, minutes = area.get("radius_km"), area.get("travel_minutes")
        if not isinstance(radius, int | float) or radius <= 0:
            problems.add(
                f"{where}.service_area.radius_km", f"expected a positive number, got {radius!r}"
            )
        if not isinstance(minutes, int | float) or minutes <= 0:
            problems.add(
                f"{where}.service_area.travel_minutes",
                f"expected a positive number, got {minutes!r}",
            )
        types[str(key)] = ProviderType(
            str(key),
            _label(item, where, problems),
            str(item.get("category", "")),
            float(radius or 0),
            float(minutes or 0),
        )

    fields: dict[str, FieldDef] = {}
    for key, item in (data.get("fields") or {}).items():
        where = f"fields.{key}"
        if not isinstance(item, dict):
            problems.add(where, "expected a mapping")
            continue
        _unknown_keys(item, _FIELD_KEYS, where, problems)
        if item.get("audience") not in AUDIENCES:
            problems.add(f"{where}.audience", f"{item.get('audience')!r} is not one of {AUDIENCES}")
        fields[str(key)] = FieldDef(
            str(key), _label(item, where, problems), str(item.get("audience"))
        )

    caps: dict[str, Capability] = {}
    for key, item in (data.get("capabilities") or {}).items():
        where = f"capabilities.{key}"
        if not isinstance(item, dict):
            problems.add(where, "expected a mapping")
            continue
        _unknown_keys(item, _CAP_KEYS, where, problems)
        if key in fields:
            problems.add(where, "a capability may not share its key with a provider field")
        if item.get("group") not in groups:
            problems.add(
                f"{where}.group",
                f"{item.get('group')!r} is not a group; expected one of {', '.join(groups)}",
            )
        kind = item.get("kind")
        if kind not in KINDS:
            problems.add(f"{where}.kind", f"{kind!r} is not one of {', '.join(KINDS)}")
        if item.get("audience") not in AUDIENCES:
            problems.add(
                f"{where}.audience",
                f"{item.get('audience')!r} is not one of {', '.join(AUDIENCES)}",
            )
        applies = item.get("applies_to")
        if not isinstance(applies, list) or not applies:
            problems.add(f"{where}.applies_to", "expected a non-empty list of provider types")
            applies = []
        for t in applies:
            if t not in types:
                problems.add(
                    f"{where}.applies_to",
                    f"unknown provider type {t!r}; expected one of {', '.join(types)}",
                )
        options: dict[str, Label] = {}
        if kind in ("choice", "ranked"):
            raw_options = item.get("options")
            if not isinstance(raw_options, dict) or not raw_options:
                problems.add(f"{where}.options", f"kind {kind} needs a mapping of options")
            else:
                options = {
                    str(k): _label(v, f"{where}.options.{k}", problems)
                    for k, v in raw_options.items()
                }
        elif "options" in item:
            problems.add(
                f"{where}.options", f"options are only for choice and ranked kinds, not {kind}"
            )
        caps[str(key)] = Capability(
            str(key),
            _label(item, where, problems),
            str(item.get("group")),
            tuple(applies),
            str(kind),
            str(item.get("audience")),
            options,
        )
    for required in ("id", "type", "name", "address", "lon", "lat"):
        if required not in fields:
            problems.add("fields", f"missing required field {required!r}")
    problems.raise_if_any()
    return Taxonomy(
        path=path,
        levels=tuple(sorted(levels, key=lambda lv: -lv.rank)),
        unknown_label=unknown_label,
        groups=groups,
        provider_types=types,
        fields=fields,
        capabilities=caps,
    )


@lru_cache(maxsize=8)
def cached_taxonomy(path: str) -> Taxonomy:
    """Load once per process (the file is read at start-up, not per request)."""
    return load_taxonomy(path)
