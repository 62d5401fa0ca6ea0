"""A provider's explicit service area drawn on a map or picked from areas (DESIGN.md §6).

:func:`check_service_area` turns what a page sends into the stored ``service_area`` value:
``{"kind": "polygon", "geometry": GeoJSON}`` (checked by :func:`mapsvc.geo.drawn.parse_drawn`),
``{"kind": "codes", "codes": ["daily_life_area:372013-01", …]}`` (each code must name a loaded
area), or ``None`` (back to the type's default radius / travel time). :func:`set_service_area`
writes it through the registry (one audit row, store generation bumped, so the finder's index
and the planner use it at once). :func:`service_area_geojson` is the area as one GeoJSON
geometry for the small maps (editor page, survey form, review queue).
"""

from __future__ import annotations

import re
from typing import Any

import shapely
from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from mapsvc.core.errors import InvalidInput
from mapsvc.core.models import Area
from mapsvc.core.registry import Change, apply_changes, get_provider, provider_record
from mapsvc.geo.drawn import checked_geojson, geojson
from mapsvc.geo.service_areas import CODE_KINDS

MAX_CODES = 200
_CODE = re.compile(r"^[0-9A-Za-z_:.\-]{1,80}$")
PICK_KINDS = ("town", "daily_life_area", "municipality")


def _area_for(session: Session, code: str) -> Area | None:
    if ":" in code:
        kind, _, bare = code.partition(":")
        return session.scalar(select(Area).where(Area.kind == kind, Area.code == bare))
    for kind in CODE_KINDS:
        hit = session.scalar(select(Area).where(Area.kind == kind, Area.code == code))
        if hit is not None:
            return hit
    return None


def check_service_area(
    session: Session, value: Any, field: str = "service_area"
) -> dict[str, Any] | None:
    """The stored form of a drawn or picked service area (module docstring).

    Raises
    ------
    InvalidInput
        ``field`` (or ``field.geometry`` / ``field.codes``) names the bad part.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(f"{field}: expected an object with kind", field=field)
    kind = value.get("kind")
    if kind == "polygon":
        return {
            "kind": "polygon",
            "geometry": checked_geojson(value.get("geometry"), f"{field}.geometry"),
        }
    if kind == "codes":
        codes = value.get("codes")
        if not isinstance(codes, list) or not codes or len(codes) > MAX_CODES:
            raise InvalidInput(
                f"{field}.codes: pick 1 to {MAX_CODES} areas", field=f"{field}.codes"
            )
        out: list[str] = []
        for code in codes:
            if not isinstance(code, str) or not _CODE.match(code):
                raise InvalidInput(
                    f"{field}.codes: {str(code)[:40]!r} is not an area code", field=f"{field}.codes"
                )
            if _area_for(session, code) is None:
                raise InvalidInput(
                    f"{field}.codes: no area {code!r} is loaded", field=f"{field}.codes"
                )
            out.append(code)
        return {"kind": "codes", "codes": list(dict.fromkeys(out))}
    raise InvalidInput(f"{field}.kind {kind!r}: expected polygon or codes", field=f"{field}.kind")


def set_service_area(
    session: Session, uid: str, area: dict[str, Any] | None, *, actor: str
) -> bool:
    """Store a checked service area on a provider (audit row ``provider.service_area``).

    Returns False when the provider already had exactly this area.
    """
    provider = get_provider(session, uid)
    current = provider_record(provider)
    if current.get("service_area") == area:
        return False
    change = Change(
        provider.id,
        provider.uid,
        {"service_area": current.get("service_area")},
        {"service_area": area},
        current,
    )
    apply_changes(session, [change], actor=actor, action="provider.service_area")
    return True


def service_area_geojson(session: Session, area: Any) -> dict[str, Any] | None:
    """An explicit service area as one GeoJSON geometry (codes resolved), else None."""
    if not isinstance(area, dict):
        return None
    if area.get("kind") == "polygon" and isinstance(area.get("geometry"), dict):
        return dict(area["geometry"])
    if area.get("kind") == "codes":
        geoms = []
        for code in area.get("codes") or []:
            hit = _area_for(session, str(code))
            if hit is not None and hit.geometry:
                geoms.append(shape(hit.geometry))
        return geojson(shapely.union_all(geoms)) if geoms else None
    return None


def pickable_areas(session: Session, municipality_code: str | None) -> dict[str, Any]:
    """Areas a provider's area can be picked from (towns, 日常生活圏域, municipalities)."""
    query = select(Area).where(Area.kind.in_(PICK_KINDS))
    if municipality_code:
        query = query.where(Area.municipality_code == municipality_code)
    rows = session.scalars(query.order_by(Area.kind, Area.code)).all()
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": a.geometry,
                "properties": {"code": f"{a.kind}:{a.code}", "name": a.name, "kind": a.kind},
            }
            for a in rows
            if a.geometry
        ],
    }
