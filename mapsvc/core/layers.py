"""Map layers as data: one YAML file per layer under ``layers/collections/``.

A layer names its provider types, a capability filter, its audience and a style. The
layer list, the map's layer control, the API's collections and the OpenAPI description
all come from these files; adding a layer needs no code. :func:`load_layers` validates
every file and raises one :class:`InvalidLayerDefinition` listing all problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mapsvc.core._yaml import load_yaml
from mapsvc.core.errors import InvalidLayerDefinition
from mapsvc.core.taxonomy import AUDIENCES, Label, Taxonomy

_KEYS = {
    "id",
    "title",
    "description",
    "provider_types",
    "filter",
    "audience",
    "style",
    "order",
    "default_visible",
}
_STYLE_KEYS = {"color", "icon", "radius"}
_ID = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class CapabilityFilter:
    capability: str
    min_level: str | None = None


@dataclass(frozen=True, eq=False)
class Layer:
    id: str
    title: Label
    description: Label
    provider_types: tuple[str, ...]
    filters: tuple[CapabilityFilter, ...]
    audience: str
    style: dict[str, Any] = field(default_factory=dict)
    order: int = 100
    default_visible: bool = True
    path: Path | None = None

    def visible_to(self, audience: str) -> bool:
        return self.audience == "public" or audience == "professional"


def load_layers(folder: Path | str, taxonomy: Taxonomy) -> list[Layer]:
    """Load and validate every ``*.yaml`` under ``<folder>/collections``, sorted by order.

    Raises
    ------
    InvalidLayerDefinition
        Naming each file, key and problem (unknown type or capability, a professional
        capability in a public layer's filter, duplicate ids, bad style values).
    """
    folder = Path(folder)
    files = sorted((folder / "collections").glob("*.yaml"))
    problems: list[str] = []
    layers: list[Layer] = []
    seen: dict[str, Path] = {}
    for path in files:
        try:
            data = load_yaml(path)
        except ValueError as exc:
            problems.append(str(exc))
            continue

        def bad(key: str, problem: str, path: Path = path) -> None:
            problems.append(f"{path}: {key}: {problem}")

        if not isinstance(data, dict):
            bad("(top level)", "expected a mapping")
            continue
        for key in data:
            if key not in _KEYS:
                bad(str(key), f"unknown key; expected one of {', '.join(sorted(_KEYS))}")
        layer_id = data.get("id")
        if not isinstance(layer_id, str) or not _ID.match(layer_id):
            bad("id", f"{layer_id!r} must be lower-case letters, digits and _ (2-63 characters)")
            continue
        if layer_id in seen:
            bad("id", f"duplicate id {layer_id!r} (also in {seen[layer_id]})")
        seen[layer_id] = path
        labels = {}
        for key in ("title", "description"):
            value = data.get(key) or ({} if key == "description" else None)
            if not isinstance(value, dict) or (
                key == "title" and not (value.get("ja") and value.get("en"))
            ):
                bad(key, "expected {ja: ..., en: ...}")
                value = {}
            labels[key] = Label(str(value.get("ja", "")), str(value.get("en", "")))
        types = data.get("provider_types") or []
        if not isinstance(types, list) or not types:
            bad("provider_types", "expected a non-empty list")
            types = []
        for t in types:
            if t not in taxonomy.provider_types:
                bad("provider_types", f"unknown provider type {t!r}")
        audience = data.get("audience", "public")
        if audience not in AUDIENCES:
            bad("audience", f"{audience!r} is not one of {', '.join(AUDIENCES)}")
        filters: list[CapabilityFilter] = []
        for i, item in enumerate(data.get("filter") or []):
            if not isinstance(item, dict) or "capability" not in item:
                bad(f"filter[{i}]", "expected {capability: key, min_level: level}")
                continue
            cap = taxonomy.capabilities.get(item["capability"])
            if cap is None:
                bad(f"filter[{i}].capability", f"unknown capability {item['capability']!r}")
                continue
            if audience == "public" and cap.audience != "public":
                bad(
                    f"filter[{i}].capability",
                    f"{cap.key} is professional-only and cannot filter a public layer",
                )
            min_level = item.get("min_level")
            if min_level is not None and (
                cap.kind != "level" or taxonomy.level_rank(min_level) is None
            ):
                bad(
                    f"filter[{i}].min_level",
                    f"{min_level!r} is not an acceptance level of {cap.key}",
                )
            filters.append(CapabilityFilter(cap.key, min_level))
        style = data.get("style") or {}
        if not isinstance(style, dict):
            bad("style", "expected a mapping")
            style = {}
        for key in style:
            if key not in _STYLE_KEYS:
                bad(
                    f"style.{key}", f"unknown key; expected one of {', '.join(sorted(_STYLE_KEYS))}"
                )
        if "color" in style and not _COLOR.match(str(style["color"])):
            bad("style.color", f"{style['color']!r} is not #rrggbb")
        layers.append(
            Layer(
                layer_id,
                labels["title"],
                labels["description"],
                tuple(types),
                tuple(filters),
                str(audience),
                dict(style),
                int(data.get("order", 100)),
                bool(data.get("default_visible", True)),
                path,
            )
        )
    if problems:
        raise InvalidLayerDefinition(
            f"{len(problems)} problem(s) in layer definitions:\n  - " + "\n  - ".join(problems)
        )
    return sorted(layers, key=lambda layer: (layer.order, layer.id))
