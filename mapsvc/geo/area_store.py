"""Writing drawn areas: save a checked batch with one audit row, list the history, undo.

A save writes the same :class:`~mapsvc.core.models.Area` rows a boundary file import makes
(so the planner's indicators and the finder's code areas use them at once: the store
generation is bumped) and one audit row: action ``area.edit`` / ``area.split`` /
``area.merge`` / ``area.undo``, entity ``area``, entity id ``kind:municipality``, ``before``
and ``after`` each ``{"kind", "municipality_code", "areas": {code: state or null}}`` where a
state holds name, geometry (GeoJSON) and properties. Undo restores the ``before`` of an audit
row when the areas still look as its ``after`` says (else :class:`Conflict`), and is itself
an audit row that can be undone.
"""

from __future__ import annotations

from typing import Any

from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from mapsvc.core.db import bump_generation
from mapsvc.core.errors import Conflict, InvalidInput, NotFound
from mapsvc.core.models import Area, AuditEntry, utcnow
from mapsvc.core.registry import audit
from mapsvc.geo.area_edit import AreaChange, EditBatch, Layout, check_batch, load_layout
from mapsvc.geo.drawn import geojson

ACTIONS = ("area.edit", "area.split", "area.merge", "area.undo")


class EditRefused(InvalidInput):
    """The batch adds overlaps, gaps or parts outside the municipality (``problems``)."""

    code = "area_refused"


def _state(area: Area | None) -> dict[str, Any] | None:
    if area is None:
        return None
    return {"name": area.name, "geometry": area.geometry, "properties": dict(area.properties or {})}


def _entity_id(kind: str, municipality_code: str) -> str:
    return f"{kind}:{municipality_code}"


def save_batch(session: Session, batch: EditBatch, *, actor: str) -> dict[str, Any]:
    """Check the batch against the store and write it (one audit row).

    Returns
    -------
    dict
        ``{"audit_id", "saved": [codes], "deleted": [codes]}``.

    Raises
    ------
    EditRefused
        Overlaps, gaps or parts outside the municipality; ``problems`` lists each with its
        geometry. Nothing is written.
    NotFound
        A deleted code does not exist.
    """
    layout = load_layout(session, batch.kind, batch.municipality_code)
    _check_codes(session, layout, batch)
    problems = check_batch(layout, batch)
    if problems:
        first = problems[0]["message"]
        more = f" (+{len(problems) - 1})" if len(problems) > 1 else ""
        raise EditRefused(f"保存できません。{first}{more}", field="areas", problems=problems)
    return _write(session, layout, batch, actor=actor)


def _check_codes(session: Session, layout: Layout, batch: EditBatch) -> None:
    for i, ch in enumerate(batch.changes):
        if ch.delete and ch.code not in layout.current:
            raise NotFound(f"no {batch.kind} {ch.code!r} to delete", field=f"areas[{i}].code")
        if ch.code in layout.current:
            continue
        taken = session.scalar(select(Area).where(Area.kind == batch.kind, Area.code == ch.code))
        if taken is not None:
            raise InvalidInput(
                f"{batch.kind} {ch.code!r} belongs to municipality {taken.municipality_code}",
                field=f"areas[{i}].code",
            )


def _write(
    session: Session,
    layout: Layout,
    batch: EditBatch,
    *,
    actor: str,
    extra: dict[str, Any] | None = None,
    restore: dict[str, dict[str, Any] | None] | None = None,
) -> dict[str, Any]:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    saved: list[str] = []
    deleted: list[str] = []
    stamp = utcnow().isoformat(timespec="seconds")
    for ch in batch.changes:
        area = layout.current.get(ch.code)
        before[ch.code] = _state(area)
        if ch.delete:
            if area is not None:
                session.delete(area)
            after[ch.code] = None
            deleted.append(ch.code)
            continue
        assert ch.geometry is not None and ch.name is not None
        if area is None:
            area = Area(
                kind=batch.kind,
                code=ch.code,
                parent_code=batch.municipality_code,
                municipality_code=batch.municipality_code,
                properties={},
            )
            session.add(area)
            layout.current[ch.code] = area
        area.name = ch.name
        old = restore.get(ch.code) if restore is not None else None
        if old is not None:  # undo: the stored state exactly as it was
            area.geometry = old["geometry"]
            area.properties = dict(old["properties"])
        else:
            area.geometry = geojson(ch.geometry)
            area.properties = {**(area.properties or {}), "drawn_by": actor, "drawn_at": stamp}
        after[ch.code] = _state(area)
        saved.append(ch.code)
    session.flush()
    head = {"kind": batch.kind, "municipality_code": batch.municipality_code}
    audit(
        session,
        actor=actor,
        action=batch.action,
        entity="area",
        entity_id=_entity_id(batch.kind, batch.municipality_code),
        before={**head, "areas": before},
        after={**head, "areas": after, **(extra or {})},
    )
    bump_generation(session, "areas")  # indicators and code-based service areas rebuild
    session.flush()
    row = session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "area").order_by(AuditEntry.id.desc())
    ).first()
    return {"audit_id": row.id if row else None, "saved": saved, "deleted": deleted}


def history(
    session: Session, kind: str, municipality_code: str, *, limit: int = 20
) -> list[dict[str, Any]]:
    """Area edits of one kind in one municipality, newest first (no geometries)."""
    rows = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.entity == "area",
            AuditEntry.entity_id == _entity_id(kind, municipality_code),
            AuditEntry.action.in_(ACTIONS),
        )
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": r.id,
            "at": r.at.isoformat(timespec="seconds"),
            "actor": r.actor,
            "action": r.action,
            "codes": sorted((r.after or {}).get("areas", {})),
            "undoes": (r.after or {}).get("undoes"),
        }
        for r in rows
    ]


def undo(session: Session, audit_id: int, *, actor: str) -> dict[str, Any]:
    """Restore the areas as they were before audit row ``audit_id``.

    Raises
    ------
    NotFound
        No such area edit.
    Conflict
        An area was changed again since that edit (undo the later edit first).
    EditRefused
        Restoring would now overlap areas changed since (rare; the message says which).
    """
    row = session.get(AuditEntry, audit_id)
    if row is None or row.entity != "area" or row.action not in ACTIONS:
        raise NotFound(f"no area edit #{audit_id}", field="audit_id")
    before, after = row.before or {}, row.after or {}
    kind, muni = str(after.get("kind")), str(after.get("municipality_code"))
    layout = load_layout(session, kind, muni)
    changes: list[AreaChange] = []
    for code, was in (after.get("areas") or {}).items():
        now = _state(layout.current.get(code))
        same = (now is None and was is None) or (
            now is not None
            and was is not None
            and now["name"] == was["name"]
            and now["geometry"] == was["geometry"]
        )
        if not same:
            raise Conflict(
                f"{code} has changed since edit #{audit_id}; undo the later edit first",
                field="audit_id",
            )
        old = (before.get("areas") or {}).get(code)
        if old is None:
            changes.append(AreaChange(code, delete=True))
        else:
            changes.append(AreaChange(code, old["name"], shape(old["geometry"])))
    batch = EditBatch(kind, muni, changes, action="area.undo")
    problems = check_batch(layout, batch)
    if problems:
        raise EditRefused(
            f"元に戻せません。{problems[0]['message']}", field="audit_id", problems=problems
        )
    return _write(
        session,
        layout,
        batch,
        actor=actor,
        extra={"undoes": audit_id},
        restore=before.get("areas") or {},
    )


def areas_geojson(session: Session, kind: str, municipality_code: str) -> dict[str, Any]:
    """The areas of a kind in a municipality, and its boundary, as GeoJSON for the editor."""
    rows = session.scalars(
        select(Area)
        .where(Area.kind == kind, Area.municipality_code == municipality_code)
        .order_by(Area.code)
    ).all()
    muni = session.scalar(
        select(Area).where(Area.kind == "municipality", Area.code == municipality_code)
    )
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": a.geometry,
                "properties": {"code": a.code, "name": a.name, "kind": a.kind},
            }
            for a in rows
            if a.geometry
        ],
        "boundary": muni.geometry if muni is not None else None,
        "municipality_name": muni.name if muni is not None else None,
    }
