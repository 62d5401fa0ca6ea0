"""The provider registry: reading records and changing them with an audit trail.

Every change goes through :func:`apply_changes` or :func:`insert_records`, which write
one audit row per provider (who, when, before, after) and bump the store generation so
in-process indexes refresh. Nothing here knows about Flask.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha1
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mapsvc.core.db import EncodedJSON, bulk_insert, bump_generation, encode_json
from mapsvc.core.errors import NotFound
from mapsvc.core.models import AuditEntry, Provider, ProviderChange, utcnow

UID_NAMESPACE = uuid.UUID("6f0d3c1e-4a55-4d8e-9a59-6d6170737663")
_UID_PREFIX = UID_NAMESPACE.bytes

# Fields a data source can set (the record content); capabilities are merged per key.
CONTENT_FIELDS: tuple[str, ...] = (
    "type",
    "name",
    "kana",
    "address",
    "municipality_code",
    "lon",
    "lat",
    "geocode_status",
    "geocoder",
    "geocode_precision",
    "phone",
    "url",
    "hours",
    "status",
    "public",
    "professional_visible",
    "fax",
    "phone_direct",
    "email",
    "contact_person",
    "contact_hours",
    "notes_professional",
    "service_area",
    "extra",
    "confirmed_at",
    "confirmed_by",
)
RECORD_FIELDS: tuple[str, ...] = (
    "id",
    "source",
    "source_id",
    *CONTENT_FIELDS,
    "capabilities",
    "updated_at",
    "created_at",
)


_STAMPS = frozenset({"created_at", "updated_at"})
# an inserted provider's audit `after`: the row's keys in order, without the stamps, with
# the capabilities (the last key) added already encoded by insert_records
_AFTER_KEYS = (*CONTENT_FIELDS, "uid", "source", "source_id")


def _change_token() -> int:
    """A random id for one transaction's provider changes (positive, fits a BIGINT)."""
    return secrets.randbits(62) + 1


def _changed(session: Session, token: int) -> None:
    """Bump the providers generation and record which generation ``token``'s rows belong
    to (:class:`~mapsvc.core.models.ProviderChange`), at the end of the transaction."""
    session.add(ProviderChange(token=token, generation=bump_generation(session)))


def provider_uid(source: str, source_id: str) -> str:
    """Stable public id: the same source row always gets the same id, in any store.

    ``str(uuid.uuid5(UID_NAMESPACE, f"{source}\\x1f{source_id}"))``, spelt out (the SHA-1
    name hash with the version and variant bits set) without building a UUID object: an
    import computes one per row.
    """
    digest = bytearray(sha1(_UID_PREFIX + f"{source}\x1f{source_id}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return value


def provider_record(p: Provider) -> dict[str, Any]:
    """A provider as a plain dict (every field; reduce it with ``visibility`` before showing)."""
    record = {name: getattr(p, name) for name in RECORD_FIELDS if name != "id"}
    record["id"] = p.uid
    record["capabilities"] = dict(p.capabilities or {})
    return record


def get_provider(session: Session, uid: str) -> Provider:
    provider = session.scalar(select(Provider).where(Provider.uid == uid))
    if provider is None:
        raise NotFound(f"no provider with id {uid}", field="id")
    return provider


def diff(
    before: Mapping[str, Any], incoming: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Changed fields as (before, after), comparing only the fields ``incoming`` carries.

    ``capabilities`` is compared per capability key, so a source that says nothing about
    a capability leaves the stored answer alone.
    """
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for key, value in incoming.items():
        if key == "capabilities":
            current = before.get("capabilities") or {}
            changed = {k: v for k, v in (value or {}).items() if current.get(k) != v}
            if changed:
                old["capabilities"] = {k: current.get(k) for k in changed}
                new["capabilities"] = changed
        elif before.get(key) != value:
            old[key] = before.get(key)
            new[key] = value
    return old, new


def jsonable(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy safe to store as JSON (datetimes as ISO strings)."""
    if values is None:
        return None
    return {k: _jsonable(v) for k, v in values.items()}


def merged_values(current: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Column values to write for a change computed by :func:`diff`."""
    values = {k: v for k, v in after.items() if k != "capabilities"}
    if "capabilities" in after:
        caps = dict(current.get("capabilities") or {})
        for k, v in after["capabilities"].items():
            if v is None:
                caps.pop(k, None)
            else:
                caps[k] = v
        values["capabilities"] = caps
    return values


@dataclass
class Change:
    """A change to one existing provider."""

    provider_id: int
    uid: str
    before: dict[str, Any]
    after: dict[str, Any]
    current: dict[str, Any]


def insert_records(
    session: Session,
    source: str,
    records: Iterable[Mapping[str, Any]],
    *,
    actor: str,
    action: str = "import.insert",
    import_run_id: int | None = None,
    chunk: int = 5000,
) -> int:
    """Insert new providers in bulk, with one audit row each. Returns how many."""
    now = utcnow()
    token = _change_token()
    count = 0
    batch: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []

    def flush() -> None:
        if batch:
            bulk_insert(session, Provider.__table__, batch)
            bulk_insert(session, AuditEntry.__table__, audits)
            batch.clear()
            audits.clear()

    for rec in records:
        source_id = rec["source_id"]
        uid = provider_uid(source, source_id)
        row = {f: rec.get(f) for f in CONTENT_FIELDS}
        capabilities = dict(rec.get("capabilities") or {})
        row.update(
            uid=uid,
            source=source,
            source_id=source_id,
            capabilities=capabilities,
            extra=dict(rec.get("extra") or {}),
            created_at=now,
            updated_at=now,
            change_token=token,
            geocode_status=rec.get("geocode_status") or "pending",
            status=rec.get("status") or "active",
            public=rec.get("public") is not False,
            professional_visible=rec.get("professional_visible") is not False,
        )
        after = {k: v for k in _AFTER_KEYS if (v := row[k]) is not None and v != "" and v != {}}
        if "confirmed_at" in after:
            after["confirmed_at"] = _jsonable(after["confirmed_at"])
        # the capabilities are encoded once, for the provider row and its audit row (last
        # key of `after`: a JSON object is its members' encodings joined)
        caps_json = encode_json(capabilities)
        row["capabilities"] = EncodedJSON(caps_json)
        after_json = encode_json(after)
        if capabilities:
            after_json = f'{after_json[:-1]},"capabilities":{caps_json}}}'
        batch.append(row)
        audits.append(
            dict(
                at=now,
                actor=actor,
                action=action,
                entity="provider",
                entity_id=uid,
                before=None,
                after=EncodedJSON(after_json),
                import_run_id=import_run_id,
            )
        )
        count += 1
        if len(batch) >= chunk:
            flush()
    flush()
    if count:
        _changed(session, token)
    return count


def apply_changes(
    session: Session,
    changes: Iterable[Change],
    *,
    actor: str,
    action: str,
    import_run_id: int | None = None,
    confirm: bool = False,
) -> int:
    """Write changes computed by :func:`diff`, with an audit row each. Returns how many.

    With ``confirm`` the provider's ``confirmed_at``/``confirmed_by`` are set to now/actor
    (an approved self-update confirms the record).
    """
    now = utcnow()
    token = _change_token()
    count = 0
    audits: list[dict[str, Any]] = []
    for ch in changes:
        values = merged_values(ch.current, ch.after)
        values["updated_at"] = now
        values["change_token"] = token
        before, after = dict(ch.before), dict(ch.after)
        if confirm:
            values["confirmed_at"] = now
            values["confirmed_by"] = actor
            after.update(confirmed_at=now, confirmed_by=actor)
            before.update(
                confirmed_at=ch.current.get("confirmed_at"),
                confirmed_by=ch.current.get("confirmed_by"),
            )
        session.execute(update(Provider).where(Provider.id == ch.provider_id).values(**values))
        audits.append(
            dict(
                at=now,
                actor=actor,
                action=action,
                entity="provider",
                entity_id=ch.uid,
                before=jsonable(before),
                after=jsonable(after),
                import_run_id=import_run_id,
            )
        )
        count += 1
        if len(audits) >= 5000:
            bulk_insert(session, AuditEntry.__table__, audits)
            audits.clear()
    if audits:
        bulk_insert(session, AuditEntry.__table__, audits)
    if count:
        _changed(session, token)
    return count


_CURRENT_COLUMNS = (
    Provider.id,
    Provider.uid,
    Provider.source_id,
    Provider.capabilities,
    *[getattr(Provider, f) for f in CONTENT_FIELDS],
)


def existing_by_source(session: Session, source: str) -> dict[str, dict[str, Any]]:
    """Current records of one source keyed by source id (for idempotent upserts)."""
    rows = session.execute(select(*_CURRENT_COLUMNS).where(Provider.source == source)).mappings()
    return {row["source_id"]: dict(row) for row in rows}


def existing_by_uid(session: Session, uids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Current records keyed by public id."""
    out: dict[str, dict[str, Any]] = {}
    uids = list(uids)
    for start in range(0, len(uids), 500):
        rows = session.execute(
            select(*_CURRENT_COLUMNS).where(Provider.uid.in_(uids[start : start + 500]))
        ).mappings()
        out.update({row["uid"]: dict(row) for row in rows})
    return out


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Write one audit row for a change that is not a provider upsert (users, tokens, …)."""
    session.add(
        AuditEntry(
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=jsonable(before),
            after=jsonable(after),
        )
    )
