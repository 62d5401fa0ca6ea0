"""Placing population areas that carry no coordinates, and dropping subtotal rows.

An area without coordinates is placed at the representative point of a loaded ``town``
area (by code, then by name; a branch-office prefix such as ``本庁_`` is not part of the
name), else by the offline gazetteer (any prefecture's town file), else it is loaded as an
**area-only unit**: no point, counted in per-area figures through its area or municipality
code, and listed as not placeable for distance analyses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from mapsvc.geo._population_formats import Unit
from mapsvc.geo._population_tables import find_subtotals

if TYPE_CHECKING:
    from mapsvc.core.services import Services


def drop_subtotals(
    units: list[tuple[int, Unit]],
) -> tuple[list[tuple[int, Unit]], list[tuple[int, str]]]:
    """(units without subtotal rows, [(line, "name: why")]) for area (town) units."""
    towns = [(line, u) for line, u in units if u.kind == "town"]
    if len(towns) < 2:
        return units, []
    municipalities = {
        str(u.properties.get(k) or "")
        for _, u in towns
        for k in ("municipality_name", "address_prefix")
    }
    found = find_subtotals(
        [str(u.properties.get("raw_name") or u.name or "") for _, u in towns],
        [u.total for _, u in towns],
        sorted(m for m in municipalities if m),
    )
    drop = {towns[i][0]: f"{towns[i][1].name}: {why}" for i, why in found.items()}
    kept = [(line, u) for line, u in units if line not in drop]
    return kept, sorted(drop.items())


def locate_towns(
    session: Session, services: Services, units: list[tuple[int, Unit]]
) -> dict[str, int]:
    """Place towns without coordinates; returns counts by how they were placed.

    Keys: ``file`` (coordinates in the file), ``town_area``, ``gazetteer``, ``area_only``.
    """
    from mapsvc.geo.areas import areas_frame

    towns = areas_frame(session, "town")
    by_code = {str(r.code): r for r in towns.itertuples()}
    by_name: dict[str, Any] = {}
    for r in towns.itertuples():
        by_name.setdefault(str(r.name), r)
    geocoder = None
    counts = {"file": 0, "town_area": 0, "gazetteer": 0, "area_only": 0}
    for _line, unit in units:
        if unit.lon is not None:
            counts["file"] += 1
            continue
        area = by_code.get(unit.area_code or "") or by_name.get(unit.name or "")
        if area is not None:
            point = area.geometry.representative_point()
            unit.lon, unit.lat = point.x, point.y
            unit.area_code = unit.area_code or str(area.code)
            unit.properties["located_by"] = "town_area"
            counts["town_area"] += 1
            continue
        if geocoder is None:
            from mapsvc.geo.geocode import build_chain

            geocoder = build_chain(["gazetteer"], services.config)
        found = (
            geocoder.geocode(
                f"{unit.properties.get('address_prefix') or ''}{unit.name}", remember=False
            )
            if geocoder.steps
            else None
        )
        if found:
            unit.lon, unit.lat = found["lon"], found["lat"]
            unit.properties["located_by"] = "gazetteer"
            counts["gazetteer"] += 1
            continue
        unit.properties["located_by"] = None
        unit.properties["area_only"] = True
        unit.properties["not_placeable"] = (
            "no coordinates, no loaded town area of this name and no gazetteer match: "
            "counted per area, left out of distance analyses"
        )
        counts["area_only"] += 1
    return counts
