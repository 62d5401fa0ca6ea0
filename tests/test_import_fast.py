"""The importer's fast paths store exactly what the plain ones did (issue 13 item 3)."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from mapsvc.core.db import EncodedJSON, bulk_insert, encode_json
from mapsvc.core.models import AuditEntry, Provider
from mapsvc.core.registry import UID_NAMESPACE, insert_records, provider_uid


def test_provider_uid_is_the_uuid5_of_source_and_id() -> None:
    ids = ["", "b0000001", "0111010000010", "~名前|香川県高松市番町1-1|clinic", "x" * 200, "🏥\x00"]
    for source in ("generic", "navii_facility", ""):
        for source_id in ids:
            expected = str(uuid.uuid5(UID_NAMESPACE, f"{source}\x1f{source_id}"))
            assert provider_uid(source, source_id) == expected


def test_encoded_json_is_stored_as_given(services) -> None:
    row = {"actor": "a", "action": "x", "entity": "provider", "entity_id": "e", "before": None}
    value = {"name": "名前", "lon": 134.5, "capabilities": {"ventilator": {"level": "accept"}}}
    with services.store.session() as session:
        bulk_insert(session, AuditEntry.__table__, [{**row, "after": value}])
        bulk_insert(
            session, AuditEntry.__table__, [{**row, "after": EncodedJSON(encode_json(value))}]
        )
    with services.store.session() as session:
        stored = session.scalars(select(AuditEntry.after).order_by(AuditEntry.id)).all()
    assert stored == [value, value]
    assert encode_json(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_inserted_provider_and_its_audit_row_hold_the_same_values(services) -> None:
    records = [
        {
            "source_id": "a1",
            "type": "clinic",
            "name": "クリニック「一」",
            "lon": 134.05,
            "lat": 34.33,
            "capabilities": {"night_response": {"level": "accept"}, "dementia": {"level": "no"}},
            "extra": {"備考": "あり"},
        },
        {"source_id": "a2", "type": "pharmacy", "name": "薬局", "address": ""},
    ]
    with services.store.session() as session:
        insert_records(session, "test", records, actor="tester")
    with services.store.session() as session:
        providers = session.scalars(select(Provider).order_by(Provider.id)).all()
        audits = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [a.entity_id for a in audits] == [p.uid for p in providers]
    first, second = (a.after for a in audits)
    assert first["capabilities"] == records[0]["capabilities"] == providers[0].capabilities
    assert first["extra"] == {"備考": "あり"} and first["name"] == "クリニック「一」"
    assert "capabilities" not in second and "address" not in second  # empty values left out
    assert second["uid"] == providers[1].uid and providers[1].capabilities == {}
