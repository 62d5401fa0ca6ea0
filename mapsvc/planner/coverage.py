"""Population coverage of a capability by providers' service areas.

For a capability filter (one or more ``key[:min_level]``, all required), the matching
active providers' service areas (:mod:`mapsvc.geo.service_areas`) are united and each
population unit (mesh cell or town point) is covered when its representative point is
inside the union, by the same rule the map polygons follow. Every count column — the
data's ``total``, the 18 five-year bands, ``65+`` and ``75+`` — is split into covered and
uncovered, so covered + uncovered == total for every column, always (a unit is either
in or out, never partly).

Everything is vectorised: one multi-source Dijkstra per distinct time limit, one
nearest-geometry query for all points. :func:`mapsvc.planner.what_if.what_if` adds hypothetical
providers in memory (the registry is not touched) and reports the gain, area by area.

A capability filter is the finder's :class:`mapsvc.core.filters.CapabilityFilter` (same
"offers" rule, same description); :func:`parse_capability` reads the planner's
``key[:min_level]`` with errors on the ``capability`` field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from mapsvc.core.errors import InvalidInput
from mapsvc.core.filters import CapabilityFilter  # the finder's filter: one rule for "offers"
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.geo.area_sets import AreaSet, build_area_set
from mapsvc.geo.population import BANDS
from mapsvc.geo.service_areas import AreaContext, AreaRule, resolve_rules

COUNT_COLUMNS: tuple[str, ...] = ("total", *BANDS, "65+", "75+")
MISSING_JA = "データなし（この項目の回答がありません）"
MISSING_EN = "No data (no provider has answered this item)"


def off_network_counts(problems: list[dict[str, Any]]) -> dict[str, int]:
    """Providers off the road network: how many fell back to their radius, how many a
    forced time limit left out (each is also listed in ``problems``)."""
    off = [p for p in problems if p["problem"] == "off_network"]
    fell = sum(1 for p in off if p.get("fallback") == "radius")
    return {"fallback_radius": fell, "left_out": len(off) - fell}


def unanswered(providers: gpd.GeoDataFrame, filters: list[Filter], taxonomy: Taxonomy) -> list[str]:
    """Capabilities of ``filters`` that no active provider of a type they apply to has
    answered at all: a coverage of 0 there is missing data, not a gap."""
    out = []
    if len(providers):
        active = providers[providers["status"].fillna("active").eq("active")]
    else:
        active = providers
    for f in filters:
        if not isinstance(f, CapabilityFilter):
            continue
        applies = set(taxonomy.capabilities[f.key].applies_to)
        rows = active[active["type"].isin(applies)] if applies and len(active) else active
        answered = any(
            (c or {}).get(f.key) not in (None, {}, "") for c in rows.get("capabilities", [])
        )
        if not answered:
            out.append(f.key)
    return out


@dataclass(frozen=True)
class TypeFilter:
    """Providers of this type (several type filters: any of them)."""

    key: str
    min_level: None = None

    def spec(self) -> str:
        return f"type:{self.key}"

    def describe(self, taxonomy: Taxonomy, lang: str = "ja") -> str:
        return taxonomy.provider_types[self.key].label.get(lang)


Filter = CapabilityFilter | TypeFilter


def parse_type(key: str, taxonomy: Taxonomy) -> TypeFilter:
    """A provider type filter; ``field`` is ``type`` when the type is unknown."""
    key = str(key).strip()
    if key not in taxonomy.provider_types:
        raise InvalidInput(
            f"unknown provider type {key!r}; expected one of {', '.join(taxonomy.provider_types)}",
            field="type",
        )
    return TypeFilter(key)


def parse_capability(spec: str, taxonomy: Taxonomy) -> CapabilityFilter:
    """Parse ``key`` or ``key:min_level`` against the taxonomy.

    Raises
    ------
    InvalidInput
        Unknown capability, a level on a capability that has none, or an unknown level
        (the message lists what is accepted); ``field`` is ``capability``.
    """
    key, _, level = str(spec).strip().partition(":")
    key, level = key.strip(), level.strip()
    if key not in taxonomy.capabilities:
        close = [k for k in taxonomy.capabilities if key and (key in k or k in key)][:5]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InvalidInput(
            f"unknown capability {key!r}{hint} (see layers/taxonomy.yaml for the keys)",
            field="capability",
        )
    cap = taxonomy.capabilities[key]
    if cap.kind == "text":
        raise InvalidInput(f"{key} is free text and cannot be covered", field="capability")
    if not level:
        return CapabilityFilter(key)
    if cap.kind != "level":
        raise InvalidInput(
            f"{key} is a {cap.kind} capability; a minimum level applies only to "
            "acceptance-level capabilities",
            field="capability",
        )
    levels = [lv.key for lv in taxonomy.levels if lv.rank > 0]
    if level not in levels:
        raise InvalidInput(
            f"{level!r} is not a minimum level for {key}; expected one of {', '.join(levels)}",
            field="capability",
        )
    return CapabilityFilter(key, min_level=level)


def matching_providers(
    providers: gpd.GeoDataFrame, filters: list[Filter], taxonomy: Taxonomy
) -> gpd.GeoDataFrame:
    """Active providers of one of the filter's types (if any) offering every capability."""
    if len(providers) == 0:
        return providers
    active = providers["status"].fillna("active").eq("active").to_numpy()
    types = {f.key for f in filters if isinstance(f, TypeFilter)}
    if types:
        active = active & providers["type"].isin(types).to_numpy()
    offers = [f for f in filters if isinstance(f, CapabilityFilter)]
    caps = providers["capabilities"].to_numpy()
    keep = np.array(
        [
            bool(a) and all(f.matches((c or {}).get(f.key), taxonomy) for f in offers)
            for a, c in zip(active, caps, strict=True)
        ],
        dtype=bool,
    )
    return providers[keep]


@dataclass
class CoverageResult:
    """Coverage of one filter over one population dataset."""

    filters: list[Filter]
    mode: str  # travel_time | radius | default
    minutes: float | None
    radius_km: float | None
    access_m: float
    rules: list[AreaRule]
    problems: list[dict[str, Any]]
    area_set: AreaSet
    population: gpd.GeoDataFrame  # with a boolean "covered" column
    group_column: str = "area_code"
    top: int = 20
    hypothetical: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # capabilities nobody has answered

    @property
    def covered(self) -> np.ndarray:
        return self.population["covered"].to_numpy(dtype=bool)

    def bands(self) -> list[dict[str, Any]]:
        """``[{band, total, covered, uncovered, share}]`` for every count column."""
        return _band_rows(self.population, self.covered)

    def share(self, column: str = "75+") -> float | None:
        row = next(r for r in self.bands() if r["band"] == column)
        return row["share"]

    def uncovered_places(self) -> list[dict[str, Any]]:
        """Uncovered units, most people aged 75+ first (ties: larger total, then key)."""
        pop = self.population[~self.covered]
        if len(pop) == 0:
            return []
        order = pop.sort_values(["75+", "total", "key"], ascending=[False, False, True])
        out = []
        for row in order.head(self.top).to_dict("records"):
            out.append(
                {
                    "key": row["key"],
                    "name": row.get("name"),
                    "area": row.get(self.group_column),
                    "total": int(row["total"]),
                    "65+": int(row["65+"]),
                    "75+": int(row["75+"]),
                    "lon": round(float(row["geometry"].x), 6),
                    "lat": round(float(row["geometry"].y), 6),
                }
            )
        return out

    def by_area(self) -> list[dict[str, Any]]:
        """Per group (``group_column``): total, covered and share for total, 65+ and 75+."""
        pop = self.population
        if len(pop) == 0:
            return []
        frame = pd.DataFrame(
            {
                "area": pop[self.group_column].fillna("").astype(str).to_numpy(),
                "covered": self.covered,
            }
        )
        out = []
        for col in ("total", "65+", "75+"):
            values = pop[col].to_numpy(dtype=np.int64)
            frame[col] = values
            frame[f"{col}_covered"] = np.where(self.covered, values, 0)
        grouped = frame.groupby("area", sort=True).sum(numeric_only=True)
        for area, row in grouped.iterrows():
            item: dict[str, Any] = {"area": area}
            for col in ("total", "65+", "75+"):
                total, cov = int(row[col]), int(row[f"{col}_covered"])
                item[col] = total
                item[f"{col}_covered"] = cov
                item[f"{col}_share"] = round(cov / total, 4) if total else None
            out.append(item)
        return out

    def to_dict(self, taxonomy: Taxonomy, lang: str = "ja") -> dict[str, Any]:
        """JSON-ready summary (no geometry; see :meth:`geometry_wgs84`)."""
        kinds: dict[str, int] = {}
        for r in self.rules:
            kinds[r.kind] = kinds.get(r.kind, 0) + 1
        return {
            "filter": [f.spec() for f in self.filters],
            "description": _describe(self.filters, taxonomy, lang),
            "missing": [
                {
                    "capability": key,
                    "label": taxonomy.capabilities[key].label.get(lang),
                    "message": MISSING_JA if lang != "en" else MISSING_EN,
                }
                for key in self.missing
            ],
            "mode": self.mode,
            "minutes": self.minutes,
            "radius_km": self.radius_km,
            "access_m": self.access_m,
            "providers": len([r for r in self.rules if r.provider_id > 0]),
            "hypothetical": self.hypothetical,
            "area_kinds": kinds,
            "off_network": off_network_counts(self.problems),
            "units": len(self.population),
            "bands": self.bands(),
            "uncovered_places": self.uncovered_places(),
            "by_area": self.by_area(),
            "problems": self.problems,
        }

    def geometry_wgs84(self, simplify_m: float = 0.0) -> Any:
        """The covered area's union as one geometry in EPSG:4326."""
        geom = self.area_set.geometry()
        if simplify_m > 0 and not geom.is_empty:
            geom = geom.simplify(simplify_m)
        return gpd.GeoSeries([geom], crs=self.area_set.crs).to_crs("EPSG:4326").iloc[0]


def _describe(filters: list[Filter], taxonomy: Taxonomy, lang: str) -> str:
    types = [f.describe(taxonomy, lang) for f in filters if isinstance(f, TypeFilter)]
    caps = [f.describe(taxonomy, lang) for f in filters if isinstance(f, CapabilityFilter)]
    parts = ([("・" if lang != "en" else " or ").join(types)] if types else []) + caps
    return " + ".join(parts)


def _band_rows(pop: gpd.GeoDataFrame, covered: np.ndarray) -> list[dict[str, Any]]:
    rows = []
    for col in COUNT_COLUMNS:
        values = pop[col].to_numpy(dtype=np.int64) if len(pop) else np.zeros(0, np.int64)
        total = int(values.sum())
        cov = int(values[covered].sum())
        rows.append(
            {
                "band": col,
                "total": total,
                "covered": cov,
                "uncovered": total - cov,
                "share": round(cov / total, 4) if total else None,
            }
        )
    return rows


def check_population(population: gpd.GeoDataFrame) -> None:
    """Refuse a population frame without the count columns or a CRS (names what is missing)."""
    missing = [c for c in (*COUNT_COLUMNS, "key") if c not in population.columns]
    if missing:
        raise InvalidInput(
            f"population frame lacks column(s) {', '.join(missing)}", field="population"
        )
    if len(population) and population.crs is None:
        raise InvalidInput("population frame has no CRS; set EPSG:4326", field="population")


def compute_coverage(
    providers: gpd.GeoDataFrame,
    population: gpd.GeoDataFrame,
    ctx: AreaContext,
    filters: list[Filter],
    taxonomy: Taxonomy,
    *,
    minutes: float | None = None,
    radius_km: float | None = None,
    group_column: str = "area_code",
    top: int = 20,
) -> CoverageResult:
    """Coverage of the population by the providers matching ``filters``.

    Parameters
    ----------
    providers
        Provider frame (``load_providers_frame``); filtered here by ``filters`` and status.
    population
        Points with ``key``, ``name``, :data:`COUNT_COLUMNS` and ``group_column``.
    ctx
        :class:`~mapsvc.geo.service_areas.AreaContext` (network, defaults, access distance).
    filters
        Capabilities required together (:func:`parse_capability`).
    minutes, radius_km
        Force a travel-time limit or a radius for every provider without an explicit
        area; neither = each provider's own rule (module :mod:`mapsvc.geo.service_areas`).
    group_column
        Population column to break the result down by (e.g. a daily-life area code).
    top
        How many uncovered places to list.

    Raises
    ------
    InvalidInput
        No filter, a bad limit, or a population frame without the count columns.
    DataUnavailable
        A travel-time limit without a road network.
    """
    if not filters:
        raise InvalidInput("give at least one capability or provider type", field="capability")
    check_population(population)
    if group_column not in population.columns:
        raise InvalidInput(f"population has no column {group_column!r}", field="group")
    matched = matching_providers(providers, filters, taxonomy)
    rules, problems = resolve_rules(matched, ctx, minutes=minutes, radius_km=radius_km)
    area_set = build_area_set(rules, ctx)
    pop = population.copy()
    xy = (
        ctx.xy(pop.geometry.x.to_numpy(), pop.geometry.y.to_numpy())
        if len(pop)
        else np.empty((0, 2))
    )
    pop["covered"] = area_set.contains(xy)
    mode = (
        "travel_time" if minutes is not None else "radius" if radius_km is not None else "default"
    )
    return CoverageResult(
        filters=filters,
        mode=mode,
        minutes=minutes,
        radius_km=radius_km,
        access_m=ctx.access_m,
        rules=rules,
        problems=problems,
        area_set=area_set,
        population=pop,
        group_column=group_column,
        top=top,
        missing=unanswered(providers, filters, taxonomy),
    )
