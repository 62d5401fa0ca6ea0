"""db.bulk_insert (the importer's fast path) stores exactly what SQLAlchemy's insert does."""

from __future__ import annotations

from sqlalchemy import insert, select

from mapsvc.core.db import bulk_insert
from mapsvc.core.models import AuditEntry, Provider, utcnow


def _row(i: int, now) -> dict:
    return {
        "uid": f"u{i}",
        "source": "s",
        "source_id": str(i),
        "type": "clinic",
        "name": "名前「テスト」",
        "address": None if i % 2 else "香川県高松市",
        "lon": 134.05 + i,
        "lat": None,
        "geocode_status": "source",
        "status": "active",
        "service_area": None if i % 2 else {"kind": "radius", "km": 3.5},
        "capabilities": {"night_response": {"level": "受入"}},
        "extra": {},
        "confirmed_at": now if i % 2 else None,
        "created_at": now,
        "updated_at": now,
    }


def test_bulk_insert_stores_what_sqlalchemy_stores(services):
    now = utcnow()
    audit = {
        "actor": "a",
        "action": "import.insert",
        "entity": "provider",
        "entity_id": "x",
        "before": None,
        "after": {"name": "名", "lon": 1.25},
        "import_run_id": None,
    }
    with services.store.session() as session:
        session.execute(insert(Provider.__table__), [_row(1, now), _row(2, now)])
        bulk_insert(session, Provider.__table__, [_row(3, now), _row(4, now)])
        session.execute(insert(AuditEntry.__table__), [audit])
        bulk_insert(session, AuditEntry.__table__, [audit])
        bulk_insert(session, AuditEntry.__table__, [])  # nothing to do
    with services.store.engine.connect() as conn:
        # raw stored values (JSON text, date strings on SQLite), not just what the ORM reads
        providers = [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM providers ORDER BY id")]
        audits = [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM audit_log ORDER BY id")]
    for a, b in ((providers[0], providers[2]), (providers[1], providers[3])):
        differ = [j for j, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        assert [list(Provider.__table__.columns)[j].name for j in differ] == [
            "id",
            "uid",
            "source_id",
            "lon",
        ]
    names = [c.name for c in AuditEntry.__table__.columns]
    differ = [names[j] for j, (x, y) in enumerate(zip(*audits, strict=True)) if x != y]
    assert set(differ) <= {"id", "at"} and "id" in differ  # `at`: the default, taken later
    with services.store.session() as session:
        found = session.scalars(select(Provider).order_by(Provider.id)).all()
        assert [p.service_area for p in found] == [None, {"kind": "radius", "km": 3.5}] * 2
        assert [p.confirmed_at for p in found] == [now, None, now, None]
