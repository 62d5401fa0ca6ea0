"""Reading the audit log and the import history for the editor (filters, pages, CSV).

Every change to the registry, users and survey links writes an audit row (who, when,
action, entity, before, after; see :mod:`mapsvc.core.registry`). Imports are recorded as
:class:`~mapsvc.core.models.ImportRun` with their counts and rejected rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mapsvc.core._csv import csv_text, rejects_rows
from mapsvc.core.errors import InvalidInput, NotFound
from mapsvc.core.models import AuditEntry, ImportRun, Provider, RejectedRow


@dataclass(frozen=True)
class AuditFilter:
    """What the audit log view asks for; every part optional."""

    actor: str | None = None
    action: str | None = None
    entity: str | None = None
    provider: str | None = None  # provider id, or part of a provider's name
    since: date | None = None
    until: date | None = None  # inclusive


def parse_day(value: str | None, field: str) -> date | None:
    """A YYYY-MM-DD filter value, or None when empty.

    Raises
    ------
    InvalidInput
        Not a date; the message names the field.
    """
    if not value or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{field} {value!r} is not a date (YYYY-MM-DD)", field=field) from None


def _where(session: Session, flt: AuditFilter) -> list[Any]:
    clauses: list[Any] = []
    if flt.actor:
        clauses.append(AuditEntry.actor == flt.actor.strip())
    if flt.action:
        action = flt.action.strip()
        clauses.append(
            AuditEntry.action.startswith(action)
            if action.endswith(".")
            else AuditEntry.action == action
        )
    if flt.entity:
        clauses.append(AuditEntry.entity == flt.entity.strip())
    if flt.since:
        clauses.append(AuditEntry.at >= datetime.combine(flt.since, datetime.min.time()))
    if flt.until:
        end = datetime.combine(flt.until + timedelta(days=1), datetime.min.time())
        clauses.append(AuditEntry.at < end)
    if flt.since and flt.until and flt.since > flt.until:
        raise InvalidInput("the date range ends before it starts", field="until")
    if flt.provider:
        text = flt.provider.strip()
        uids = list(
            session.scalars(
                select(Provider.uid)
                .where(or_(Provider.uid == text, Provider.name.contains(text, autoescape=True)))
                .limit(1000)
            )
        )
        clauses.append(AuditEntry.entity == "provider")
        clauses.append(AuditEntry.entity_id.in_(uids or [text]))
    return clauses


def audit_entries(
    session: Session, flt: AuditFilter, *, limit: int = 100, offset: int = 0
) -> tuple[list[AuditEntry], int]:
    """Audit rows matching the filter, newest first, and how many match in all."""
    clauses = _where(session, flt)
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*clauses)) or 0
    rows = session.scalars(
        select(AuditEntry)
        .where(*clauses)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)


def audit_choices(session: Session) -> dict[str, list[str]]:
    """Distinct actors, actions and entities (for the filter drop-downs)."""
    return {
        name: sorted(v for v in session.scalars(select(column).distinct()) if v)
        for name, column in (
            ("actor", AuditEntry.actor),
            ("action", AuditEntry.action),
            ("entity", AuditEntry.entity),
        )
    }


def audit_csv(rows: Iterable[AuditEntry]) -> str:
    """Audit rows as CSV text (before/after as JSON)."""
    header = ["at", "actor", "action", "entity", "entity_id", "before", "after"]
    return csv_text(
        [
            header,
            *(
                [
                    r.at.isoformat(timespec="seconds"),
                    r.actor,
                    r.action,
                    r.entity,
                    r.entity_id,
                    json.dumps(r.before, ensure_ascii=False) if r.before is not None else "",
                    json.dumps(r.after, ensure_ascii=False) if r.after is not None else "",
                ]
                for r in rows
            ),
        ]
    )


def import_runs(session: Session, *, limit: int = 100) -> list[ImportRun]:
    """Import runs, newest first."""
    return list(
        session.scalars(
            select(ImportRun)
            .order_by(ImportRun.started_at.desc(), ImportRun.id.desc())
            .limit(limit)
        )
    )


def import_run(session: Session, run_id: int) -> tuple[ImportRun, list[RejectedRow]]:
    """One run and its rejected rows (by line).

    Raises
    ------
    NotFound
        No such run.
    """
    run = session.get(ImportRun, run_id)
    if run is None:
        raise NotFound(f"no import run #{run_id}", field="run")
    rows = session.scalars(
        select(RejectedRow).where(RejectedRow.import_run_id == run_id).order_by(RejectedRow.line)
    ).all()
    return run, list(rows)


def rejects_csv(rows: Sequence[RejectedRow]) -> str:
    """Rejected rows as CSV text: line, reason, then the row's original columns."""
    return csv_text(rejects_rows(rows))
