"""The store schema (SQLAlchemy 2), one schema for SQLite and PostgreSQL.

Changes go through Alembic migrations in ``mapsvc/migrations``. Times are naive UTC.
Capability values live in one JSON column per provider: the taxonomy is data, so a new
capability needs no migration, and spatial/capability queries run on the in-process
index (``mapsvc.finder.index``) anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy import true as sa_true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def utcnow() -> datetime:
    """Naive UTC now (the store keeps naive UTC everywhere)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    # every model maps one Table (the default annotation is FromClause, which has no insert())
    __table__: ClassVar[Table]


class Provider(Base):
    __tablename__ = "providers"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_provider_source"),
        Index("ix_provider_type", "type"),
        Index("ix_provider_geocode_status", "geocode_status"),
        Index("ix_provider_change_token", "change_token"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    source_id: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    kana: Mapped[str | None] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(Text)
    municipality_code: Mapped[str | None] = mapped_column(String(6))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    # source = coordinates came with the data; geocoded; pending = not geocoded yet
    geocode_status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    geocoder: Mapped[str | None] = mapped_column(String(40))
    geocode_precision: Mapped[str | None] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    hours: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    # publication state (公開/非公開, publish 0/1): False = never in any public output;
    # a non-public provider stays in the professional finder only if professional_visible
    public: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=True, server_default=sa_true()
    )
    professional_visible: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=True, server_default=sa_true()
    )
    # professional-only contact fields (taxonomy fields with audience: professional)
    fax: Mapped[str | None] = mapped_column(String(100))
    phone_direct: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(200))
    contact_person: Mapped[str | None] = mapped_column(String(200))
    contact_hours: Mapped[str | None] = mapped_column(Text)
    notes_professional: Mapped[str | None] = mapped_column(Text)
    # DESIGN.md section 6: {"kind": "codes"|"polygon"|"radius"|"travel_time", ...} or null
    service_area: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    capabilities: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    confirmed_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    # the change (ProviderChange.token) that last wrote this row: the shared index finds
    # what changed since its previous generation from it (mapsvc.finder.index_delta)
    change_token: Mapped[int | None] = mapped_column(BigInteger)


class AuditEntry(Base):
    """One row per change: who, when, what, before and after (changed fields only)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"), Index("ix_audit_at", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    entity: Mapped[str] = mapped_column(String(40), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(64), nullable=False)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    import_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id"))


class ImportRun(Base):
    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    filename: Mapped[str] = mapped_column(Text, nullable=False)
    format: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # ok | failed | review
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    rejects_path: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)


class RejectedRow(Base):
    """Rejected import rows, kept for the editor's quality dashboard."""

    __tablename__ = "rejected_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_run_id: Mapped[int] = mapped_column(
        ForeignKey("import_runs.id"), nullable=False, index=True
    )
    line: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    row: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(300), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)  # professional | planner | editor
    display_name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    # raised by logout, password and role changes: every older session cookie is refused
    session_version: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )


class ApiToken(Base):
    """A per-user key for the JSON finder (``Authorization: Bearer``); only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    label: Mapped[str | None] = mapped_column(String(200))
    issued_by: Mapped[str] = mapped_column(String(200), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)


class Shortlist(Base):
    """A professional's saved shortlist: providers and conditions, never the patient's place.

    ``id`` is an unguessable key, so the link can be shared with another professional."""

    __tablename__ = "shortlists"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    items: Mapped[list[Any]] = mapped_column(JSONType, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class LoginAttempt(Base):
    """Failed logins, for the rate limit (shared by every worker process)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class GeocodeCacheEntry(Base):
    __tablename__ = "geocode_cache"

    address_key: Mapped[str] = mapped_column(String(500), primary_key=True)
    geocoder: Mapped[str] = mapped_column(String(40), nullable=False)
    precision: Mapped[str] = mapped_column(String(16), nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    matched: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class SurveyToken(Base):
    """A provider's update link (追加調査); the signed token carries this row's id."""

    __tablename__ = "survey_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    issued_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    issued_by: Mapped[str] = mapped_column(String(200), nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)


class Submission(Base):
    """A proposed change waiting in the editor's review queue."""

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submission_provider_status", "provider_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), nullable=False
    )
    token_id: Mapped[str | None] = mapped_column(ForeignKey("survey_tokens.id"))
    origin: Mapped[str] = mapped_column(String(20), nullable=False)  # web | template
    submitted_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    submitted_by: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(Text)


class Area(Base):
    """A named area: municipality, 日常生活圏域, town (町丁・字), 二次医療圏."""

    __tablename__ = "areas"
    __table_args__ = (UniqueConstraint("kind", "code", name="uq_area_kind_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    parent_code: Mapped[str | None] = mapped_column(String(64))
    municipality_code: Mapped[str | None] = mapped_column(String(6))
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # GeoJSON, EPSG:4326
    properties: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)


class PopulationUnit(Base):
    """Population of one mesh cell or small area, by five-year age band."""

    __tablename__ = "population"
    __table_args__ = (UniqueConstraint("dataset", "key", name="uq_population_dataset_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset: Mapped[str] = mapped_column(String(80), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # mesh | town
    key: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str | None] = mapped_column(String(300))
    # None for an area-only unit (no point; counted per area, not in distance analyses)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    total: Mapped[int] = mapped_column(Integer, nullable=False)
    bands: Mapped[dict[str, int]] = mapped_column(JSONType, nullable=False)
    survey_date: Mapped[str | None] = mapped_column(String(20))
    area_code: Mapped[str | None] = mapped_column(String(64))
    # e.g. {"synthetic": true} for the demo grid, source file and format
    properties: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)


class RoadNetwork(Base):
    __tablename__ = "road_networks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    source_file: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    nodes: Mapped[int] = mapped_column(Integer, nullable=False)
    edges: Mapped[int] = mapped_column(Integer, nullable=False)
    bbox: Mapped[list[float] | None] = mapped_column(JSONType)
    signature: Mapped[str] = mapped_column(String(64), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class ServiceAreaCache(Base):
    """Computed travel-time service area of a provider on a network."""

    __tablename__ = "service_area_cache"

    provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True
    )
    network_signature: Mapped[str] = mapped_column(String(64), primary_key=True)
    minutes: Mapped[float] = mapped_column(Float, primary_key=True)
    provider_updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    geometry: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class IndicatorSnapshot(Base):
    __tablename__ = "indicator_snapshots"
    __table_args__ = (Index("ix_snapshot_date", "snapshot_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_date: Mapped[str] = mapped_column(String(10), nullable=False)  # YYYY-MM-DD
    label: Mapped[str | None] = mapped_column(String(200))
    area_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    area_code: Mapped[str] = mapped_column(String(64), nullable=False)
    indicator: Mapped[str] = mapped_column(String(100), nullable=False)
    value: Mapped[float | None] = mapped_column(Float)
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    # nobody answered the item (データなし), as against a rate over nobody (denominator 0);
    # NULL on rows stored before 0006_snapshot_missing (read by mapsvc.planner.indicators)
    missing: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class IndicatorTarget(Base):
    __tablename__ = "indicator_targets"
    __table_args__ = (UniqueConstraint("area_kind", "area_code", "indicator", name="uq_target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    area_code: Mapped[str] = mapped_column(String(64), nullable=False)
    indicator: Mapped[str] = mapped_column(String(100), nullable=False)
    target: Mapped[float] = mapped_column(Float, nullable=False)
    set_by: Mapped[str] = mapped_column(String(200), nullable=False)
    set_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class StoreState(Base):
    """One counter per kind of data (``db.GENERATION_KINDS``: providers, areas, population,
    networks), bumped on every change of it, so in-process indexes know to refresh."""

    __tablename__ = "store_state"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class ProviderChange(Base):
    """One transaction that changed providers: the rows it wrote carry its random
    ``token`` (``Provider.change_token``, set without any lock), and ``generation`` is the
    providers counter it bumped to at its end. Counters are bumped one transaction at a
    time, so every change with ``generation`` <= a counter value read from the store has
    committed: rows changed since an index built at generation G are those whose token
    has a generation > G."""

    __tablename__ = "provider_changes"
    __table_args__ = (Index("ix_provider_changes_generation", "generation"),)

    token: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(Integer, nullable=False)


class WhatIfScenario(Base):
    """A planner's named what-if scenario: the analysis and the hypothetical sites (lon,
    lat, type, own minutes/km) as the page placed them. Providers' places only, never a
    patient's."""

    __tablename__ = "what_if_scenarios"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    owner: Mapped[str] = mapped_column(String(200), nullable=False)
    analysis: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    sites: Mapped[list[Any]] = mapped_column(JSONType, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
