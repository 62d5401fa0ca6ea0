"""Helpers for the survey, review and admin tests: a few providers, records, audit rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from mapsvc.core.models import AuditEntry, Provider, Submission
from mapsvc.core.registry import get_provider, insert_records, provider_record, provider_uid
from mapsvc.core.services import Services

SOURCE = "test"


def add_provider(services: Services, source_id: str, **fields: Any) -> str:
    """Insert one provider (type clinic unless given) and return its uid."""
    rec: dict[str, Any] = {
        "source_id": source_id,
        "type": "clinic",
        "name": f"テスト診療所{source_id}",
        "address": "香川県高松市番町一丁目8番15号",
        "municipality_code": "372013",
        "lon": 134.0466,
        "lat": 34.3401,
        "geocode_status": "source",
        "phone": "087-000-0000",
        **fields,
    }
    with services.store.session() as session:
        insert_records(session, SOURCE, [rec], actor="test")
    return provider_uid(SOURCE, source_id)


def set_columns(services: Services, uid: str, **values: Any) -> None:
    """Set columns directly (test set-up only: ages records, fakes creation dates)."""
    with services.store.session() as session:
        session.execute(update(Provider).where(Provider.uid == uid).values(**values))


def record(services: Services, uid: str) -> dict[str, Any]:
    with services.store.session() as session:
        return provider_record(get_provider(session, uid))


def provider_audits(services: Services, uid: str) -> list[AuditEntry]:
    with services.store.session() as session:
        stmt = (
            select(AuditEntry)
            .where(AuditEntry.entity == "provider", AuditEntry.entity_id == uid)
            .order_by(AuditEntry.id)
        )
        return list(session.scalars(stmt))


def submissions(services: Services, uid: str | None = None) -> list[Submission]:
    with services.store.session() as session:
        stmt = select(Submission).order_by(Submission.id)
        if uid is not None:
            stmt = stmt.join(Provider, Provider.id == Submission.provider_id).where(
                Provider.uid == uid
            )
        return list(session.scalars(stmt))


def answers(**caps: Any) -> dict[str, Any]:
    """A valid answers structure with a respondent; ``caps`` = capability answers."""
    return {
        "capabilities": caps,
        "respondent": {"name": "高松 花子", "title": "管理者"},
    }


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)
