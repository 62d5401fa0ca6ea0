"""Areas drawn and edited on the map: the partition rule, fitting, split and merge.

The areas of one kind inside one municipality (日常生活圏域, the municipality's part of a
二次医療圏, or custom areas) should tile the municipality: no overlaps between them, no gaps,
nothing outside the municipality boundary. An edit (a batch of changed, new and deleted
areas) is checked against that rule *relative to the store*: it may not add an overlap, a
gap or a part outside the municipality bigger than :data:`TOLERANCE_M2` (rounding noise).
Each problem comes back with its geometry so the page can show it; thin ones (they vanish
when shrunk by :data:`SLIVER_M` / 2) are called slivers.

:func:`fit_edit` proposes the neighbours' new shapes for one redrawn area: the area is clipped
to the municipality, neighbours give up what it now covers, and pieces it gave up go to the
neighbour sharing the longest border with them. :func:`split_area` and :func:`merge_areas`
build the batch for cutting an area along a drawn line and joining two neighbours.

Writing, the audit row and undo are in :mod:`mapsvc.geo.area_store`. All set operations run
on lon/lat coordinates (topology only); every area and length is measured in metres in
the municipality's UTM zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from mapsvc.core.errors import InvalidInput, NotFound
from mapsvc.core.models import Area
from mapsvc.core.projection import to_metres, utm_crs_for_lon
from mapsvc.geo.drawn import DIGITS, geojson, parse_drawn

# kinds a planner or editor may draw (label ja, label en)
EDIT_KINDS: dict[str, tuple[str, str]] = {
    "daily_life_area": ("日常生活圏域", "Daily-life area"),
    "secondary_medical_area": ("二次医療圏（市町村内の部分）", "Secondary medical area (part)"),
    "custom": ("任意の区域", "Custom area"),
}
TOLERANCE_M2 = 1.0  # overlaps / gaps smaller than this are coordinate rounding
NOISE_M = 0.1  # ... and so are those thinner than this (1e-7 degree rounding along a border)
SLIVER_M = 2.0  # a problem thinner than this (but not noise) is a sliver
MAX_EDITS = 50
_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.\-]{0,63}$")


@dataclass
class AreaChange:
    """One area in a batch: new geometry and name, or ``delete``."""

    code: str
    name: str | None = None
    geometry: BaseGeometry | None = None
    delete: bool = False


@dataclass
class EditBatch:
    kind: str
    municipality_code: str
    changes: list[AreaChange] = field(default_factory=list)
    action: str = "area.edit"


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} is required", field=name)
    text = value.strip()
    if len(text) > limit:
        raise InvalidInput(f"{name}: at most {limit} characters", field=name)
    return text


def check_kind(kind: Any) -> str:
    if kind not in EDIT_KINDS:
        raise InvalidInput(f"kind {kind!r}; expected one of {', '.join(EDIT_KINDS)}", field="kind")
    return str(kind)


def check_code(value: Any, name: str = "code") -> str:
    code = _text(value, name, 64)
    if not _CODE.match(code):
        raise InvalidInput(
            f"{name} {code!r}: letters, digits and - _ . only (start with a letter or digit)",
            field=name,
        )
    return code


def parse_batch(body: Any) -> EditBatch:
    """The JSON body of a save: ``{kind, municipality_code, areas: [{code, name, geometry} |
    {code, delete: true}]}``; every drawn geometry goes through :func:`parse_drawn`.

    Raises
    ------
    InvalidInput
        ``field`` names the part, e.g. ``areas[1].geometry``.
    """
    if not isinstance(body, dict):
        raise InvalidInput("expected a JSON object", field="body")
    kind = check_kind(body.get("kind"))
    muni = _text(body.get("municipality_code"), "municipality_code", 6)
    items = body.get("areas")
    if not isinstance(items, list) or not items or len(items) > MAX_EDITS:
        raise InvalidInput(f"areas: a list of 1 to {MAX_EDITS} areas", field="areas")
    batch = EditBatch(kind, muni)
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"areas[{i}]"
        if not isinstance(item, dict):
            raise InvalidInput(f"{where}: expected an object", field=where)
        code = check_code(item.get("code"), f"{where}.code")
        if code in seen:
            raise InvalidInput(f"{where}.code {code!r} appears twice", field=f"{where}.code")
        seen.add(code)
        if item.get("delete") is True:
            batch.changes.append(AreaChange(code, delete=True))
            continue
        name = _text(item.get("name"), f"{where}.name", 300)
        geom = parse_drawn(item.get("geometry"), f"{where}.geometry")
        batch.changes.append(AreaChange(code, name, geom))
    return batch


# ---- measuring ---------------------------------------------------------------------------


class Meter:
    """Areas and lengths in metres (the UTM zone of the municipality)."""

    def __init__(self, lon: float) -> None:
        self._t = to_metres(utm_crs_for_lon(lon))

    def project(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(
            geom, lambda c: np.column_stack(self._t.transform(c[:, 0], c[:, 1]))
        )

    def area(self, geom: BaseGeometry) -> float:
        return 0.0 if geom.is_empty else float(self.project(geom).area)

    def length(self, geom: BaseGeometry) -> float:
        return 0.0 if geom.is_empty else float(self.project(geom).length)

    def is_sliver(self, geom: BaseGeometry) -> bool:
        return bool(self.project(geom).buffer(-SLIVER_M / 2).is_empty)

    def is_noise(self, geom: BaseGeometry) -> bool:
        projected = self.project(geom)
        return bool(projected.area <= TOLERANCE_M2 or projected.buffer(-NOISE_M / 2).is_empty)


def _polygons(geom: BaseGeometry) -> list[BaseGeometry]:
    parts = getattr(geom, "geoms", [geom])
    out: list[BaseGeometry] = []
    for g in parts:
        if g.geom_type == "Polygon":
            out.append(g)
        elif g.geom_type in ("MultiPolygon", "GeometryCollection"):
            out.extend(_polygons(g))
    return out


def _clean(geom: BaseGeometry) -> BaseGeometry:
    """Valid polygons only, on the store's coordinate grid (what a save would keep)."""
    parts = _polygons(shapely.make_valid(geom))
    if not parts:
        return shapely.Polygon()
    snapped = shapely.set_precision(shapely.union_all(parts), 10**-DIGITS, mode="valid_output")
    parts = _polygons(snapped)
    return shapely.union_all(parts) if parts else shapely.Polygon()


# ---- the partition rule --------------------------------------------------------------------


@dataclass
class Layout:
    """The areas of one kind in one municipality, and the municipality boundary."""

    kind: str
    municipality_code: str
    current: dict[str, Area]
    boundary: BaseGeometry | None
    meter: Meter

    def geoms(self) -> dict[str, BaseGeometry]:
        return {c: shape(a.geometry) for c, a in self.current.items() if a.geometry}


def load_layout(session: Session, kind: str, municipality_code: str) -> Layout:
    """Current areas of ``kind`` in the municipality (and any with a code being edited)."""
    rows = session.scalars(
        select(Area).where(Area.kind == kind, Area.municipality_code == municipality_code)
    ).all()
    muni = session.scalar(
        select(Area).where(Area.kind == "municipality", Area.code == municipality_code)
    )
    boundary = shape(muni.geometry) if muni is not None and muni.geometry else None
    geoms = [shape(a.geometry) for a in rows if a.geometry]
    anchor = boundary or (shapely.union_all(geoms) if geoms else None)
    if anchor is None:
        raise NotFound(
            f"municipality {municipality_code} has no boundary and no {kind} areas",
            field="municipality_code",
        )
    lon = anchor.centroid.x
    return Layout(kind, municipality_code, {a.code: a for a in rows}, boundary, Meter(lon))


def after_geoms(layout: Layout, batch: EditBatch) -> dict[str, BaseGeometry]:
    out = layout.geoms()
    for ch in batch.changes:
        if ch.delete:
            out.pop(ch.code, None)
        elif ch.geometry is not None:
            out[ch.code] = ch.geometry
    return out


def _problem(layout: Layout, kind: str, codes: list[str], geom: BaseGeometry) -> dict[str, Any]:
    area = layout.meter.area(geom)
    sliver = layout.meter.is_sliver(geom)
    ja = {"overlap": "重なり", "gap": "すき間", "outside": "市町村の外"}[kind]
    return {
        "problem": kind,
        "sliver": sliver,
        "codes": codes,
        "area_m2": round(area, 1),
        "message": f"{ja}{'（細長い断片）' if sliver else ''}: {', '.join(codes)} {area:,.0f} m²",
        "geometry": geojson(geom),
    }


def _big(layout: Layout, geom: BaseGeometry) -> BaseGeometry | None:
    parts = [p for p in _polygons(geom) if not layout.meter.is_noise(p)]
    return shapely.union_all(parts) if parts else None


def check_batch(layout: Layout, batch: EditBatch) -> list[dict[str, Any]]:
    """Overlaps, gaps and parts outside the municipality the batch would add (module docs)."""
    before = layout.geoms()
    after = after_geoms(layout, batch)
    edited = [ch.code for ch in batch.changes if not ch.delete]
    problems: list[dict[str, Any]] = []
    for code in edited:
        geom = after[code]
        for other, og in after.items():
            if other == code or (other in edited and other < code):
                continue  # each edited pair once
            if not geom.intersects(og):
                continue
            overlap = geom.intersection(og)
            if code in before and other in before:
                overlap = overlap.difference(before[code].intersection(before[other]))
            hit = _big(layout, overlap)
            if hit is not None:
                problems.append(_problem(layout, "overlap", sorted([code, other]), hit))
        if layout.boundary is not None:
            outside = geom.difference(layout.boundary)
            if code in before:
                outside = outside.difference(before[code])
            hit = _big(layout, outside)
            if hit is not None:
                problems.append(_problem(layout, "outside", [code], hit))
    if layout.boundary is not None:
        gap_before = layout.boundary.difference(shapely.union_all(list(before.values())))
        gap_after = layout.boundary.difference(shapely.union_all(list(after.values())))
        hit = _big(layout, gap_after.difference(gap_before))
        if hit is not None:
            for part in _polygons(hit):
                near = sorted(c for c, g in after.items() if g.distance(part) < 1e-7)
                problems.append(_problem(layout, "gap", near, part))
    return problems


# ---- helpers that build batches -----------------------------------------------------------


def fit_edit(layout: Layout, code: str, name: str, geom: BaseGeometry) -> EditBatch:
    """The batch that redraws ``code`` as ``geom`` and adjusts its neighbours to match."""
    current = layout.geoms()
    new = _clean(geom.intersection(layout.boundary)) if layout.boundary is not None else geom
    if new.is_empty:
        raise InvalidInput("the drawn area lies outside the municipality", field="geometry")
    batch = EditBatch(layout.kind, layout.municipality_code, [AreaChange(code, name, new)])
    shapes = {c: g for c, g in current.items() if c != code}
    for other, og in list(shapes.items()):
        if og.intersects(new):
            shapes[other] = _clean(og.difference(new))
    released = current[code].difference(new) if code in current else shapely.Polygon()
    for piece in _polygons(released):
        if layout.meter.is_noise(piece):
            continue
        border = {
            c: layout.meter.length(g.boundary.intersection(piece.buffer(1e-7)))
            for c, g in shapes.items()
        }
        best = max(border, key=lambda c: (border[c], c), default=None)
        if best is not None and border[best] > 0:
            shapes[best] = _clean(shapely.union_all([shapes[best], piece]))
    for other, og in shapes.items():
        if not og.equals(current[other]):
            if og.is_empty:
                batch.changes.append(AreaChange(other, delete=True))
            else:
                name_ = layout.current[other].name
                batch.changes.append(AreaChange(other, name_, og))
    return batch


def split_area(
    layout: Layout, code: str, line: BaseGeometry, new_code: str, new_name: str
) -> EditBatch:
    """Cut ``code`` in two along a drawn line; the larger part keeps the code."""
    current = layout.geoms()
    if code not in current:
        raise NotFound(f"no {layout.kind} {code!r} in {layout.municipality_code}", field="code")
    if new_code in layout.current:
        raise InvalidInput(f"new_code {new_code!r} already exists", field="new_code")
    if line.geom_type != "LineString":
        raise InvalidInput("line must be a GeoJSON LineString", field="line")
    from shapely.ops import split

    parts = [p for p in _polygons(split(current[code], line)) if not p.is_empty]
    if len(parts) != 2:
        raise InvalidInput(
            f"the line must cut the area into exactly two parts (it makes {len(parts)}); "
            "draw it from outside the area, across, to outside",
            field="line",
        )
    parts.sort(key=layout.meter.area, reverse=True)
    name = layout.current[code].name
    return EditBatch(
        layout.kind,
        layout.municipality_code,
        [AreaChange(code, name, parts[0]), AreaChange(new_code, new_name, parts[1])],
        action="area.split",
    )


def merge_areas(layout: Layout, keep: str, other: str) -> EditBatch:
    """Join ``other`` into ``keep`` (they must share a border); ``other`` is deleted."""
    current = layout.geoms()
    for name, code in (("code", keep), ("other", other)):
        if code not in current:
            raise NotFound(f"no {layout.kind} {code!r} in {layout.municipality_code}", field=name)
    if keep == other:
        raise InvalidInput("choose two different areas", field="other")
    a, b = current[keep], current[other]
    if layout.meter.length(a.boundary.intersection(b.boundary.buffer(1e-7))) < SLIVER_M:
        raise InvalidInput(f"{keep} and {other} do not share a border", field="other")
    merged = _clean(shapely.union_all([a, b]))
    if merged.geom_type == "Polygon" and merged.interiors:
        keep_holes = [r for r in merged.interiors if not layout.meter.is_sliver(shapely.Polygon(r))]
        merged = shapely.Polygon(merged.exterior, keep_holes)
    return EditBatch(
        layout.kind,
        layout.municipality_code,
        [AreaChange(keep, layout.current[keep].name, merged), AreaChange(other, delete=True)],
        action="area.merge",
    )


def batch_geojson(batch: EditBatch) -> dict[str, Any]:
    """A batch as the page's JSON (what ``parse_batch`` reads back)."""
    return {
        "kind": batch.kind,
        "municipality_code": batch.municipality_code,
        "areas": [
            {"code": c.code, "delete": True}
            if c.delete
            else {"code": c.code, "name": c.name, "geometry": geojson(c.geometry)}
            for c in batch.changes
        ],
    }
