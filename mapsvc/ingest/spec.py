"""The parts of a validated import mapping (what :func:`mapsvc.ingest.mapping.load_mapping`
returns) and the names a mapping file may use."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mapsvc.core.codes import header_key

FORMATS_DIR = Path(__file__).resolve().parent / "formats"

# Record fields a mapping can fill from columns.
TARGETS = frozenset(
    {
        "source_id",
        "uid",
        "name",
        "kana",
        "address",
        "address_detail",
        "municipality_code",
        "lon",
        "lat",
        "phone",
        "url",
        "hours",
        "fax",
        "phone_direct",
        "email",
        "contact_person",
        "contact_hours",
        "notes_professional",
        "confirmed_at",
        "confirmed_by",
        "service_area_km",
        "service_area_minutes",
        "service_area_codes",
        "service_area_geojson",
        "type",
        "status",
        "public",
        "professional_visible",
    }
)
_TOP_KEYS = {
    "name",
    "title",
    "description",
    "source",
    "layout",
    "file_types",
    "encodings",
    "metadata_prefix",
    "detect",
    "columns",
    "required_columns",
    "required_values",
    "defaults",
    "source_id",
    "type",
    "status",
    "coordinates",
    "capabilities",
    "extra",
    "answers",
    "derived_id",
    "empty",
    "join",
}
# A row's ordinal among the data rows (1 = first row after the header): a virtual column
# for `source_id: "@row"` or templates, stable only while the publisher keeps the order.
ROW = "@row"
# The row's decided provider type, for source id templates ("{事業所番号}-{@type}").
TYPE = "@type"
# Parts of a derived id when a row has no id of its own (see rows.derived_id).
DERIVED_PARTS = ("name", "address", "type", "kana", "phone", "municipality_code")
DEFAULT_DERIVED = ("name", "address", "type")
JOIN_AGGREGATES = ("first", "list", "count", "weekly_hours")
_RULE_OPS = ("equals", "contains", "regex")
TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")
# {column|filter}: key = comparable name (no spaces, no 休止中 marker); town = address cut
# before the first block number (so "…宮脇町一丁目32番25号" and "…宮脇町1丁目32-25" agree).
TEMPLATE_FILTERS = ("key", "town")


@dataclass(frozen=True)
class ColumnSpec:
    """Where a target value comes from: the first header variant present, or a template."""

    target: str
    headers: tuple[str, ...] = ()
    template: str | None = None

    def template_headers(self) -> list[str]:
        """Header names a template reads (``{name|key}`` reads ``name``)."""
        return [f.split("|", 1)[0] for f in TEMPLATE_FIELD.findall(self.template or "")]


@dataclass(frozen=True)
class Rule:
    column: tuple[str, ...]
    op: str
    operand: str
    result: str
    strip: bool = False

    def matches(self, text: str) -> bool:
        if self.op == "equals":
            return text == self.operand
        if self.op == "contains":
            return self.operand in text
        return re.search(self.operand, text) is not None


@dataclass(frozen=True)
class CapabilityColumn:
    headers: tuple[str, ...]
    capability: str
    values: dict[str, str | None] = field(default_factory=dict)
    on_unknown: str = "reject"  # reject | note | ignore
    note_headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnswerSpec:
    provider: tuple[str, ...]
    provider_source: str
    question: tuple[str, ...]
    answer: tuple[str, ...]
    text: tuple[str, ...]
    values: dict[str, str]
    questions: dict[str, dict[str, Any]]
    conflict: str = "strongest"  # strongest | last


@dataclass(frozen=True)
class JoinField:
    """One value taken from a companion file's matching rows."""

    target: str  # a record field (columns), or an extra key
    kind: str  # column | extra
    headers: tuple[str, ...]
    aggregate: str = "first"  # first | list | count | weekly_hours
    # weekly_hours: day labels and the {day} header templates of start and end times
    days: tuple[str, ...] = ()
    start: str = ""
    end: str = ""


@dataclass(frozen=True)
class Join:
    """A companion file joined onto the main file's rows by a key column (many rows per
    key are aggregated), e.g. ナビイ's 診療科・診療時間票 onto its 施設票."""

    files: tuple[str, ...]  # glob patterns beside the main file, first match wins
    on: tuple[str, ...]  # key header in the main file
    other_on: tuple[str, ...]  # key header in the companion file
    required: bool
    fields: tuple[JoinField, ...]


@dataclass(frozen=True)
class Mapping:
    """A validated mapping file."""

    path: Path
    name: str
    title: str
    description: str
    source: str
    layout: str
    file_types: tuple[str, ...]
    encodings: tuple[str, ...]
    metadata_prefix: str | None
    detect_all: tuple[str, ...]
    detect_any: tuple[tuple[str, ...], ...]
    detect_none: tuple[str, ...]
    detect_filename: str | None
    columns: dict[str, ColumnSpec]
    required_columns: tuple[str, ...]
    required_values: tuple[str, ...]
    defaults: dict[str, str]
    type_fixed: str | None
    type_column: tuple[str, ...]
    type_map: dict[str, str]
    type_rules: tuple[Rule, ...]
    type_filename: tuple[str, dict[str, str]] | None
    status_rules: tuple[Rule, ...]
    zero_is_missing: bool
    capabilities_from_headers: bool
    capability_columns: tuple[CapabilityColumn, ...]
    extra: dict[str, tuple[str, ...]]
    answers: AnswerSpec | None
    # fields a row without an id is identified by; () = such rows are rejected; ("@row",)
    derived_id: tuple[str, ...] = DEFAULT_DERIVED
    # keep: an empty cell leaves the stored value alone; clear: it erases it
    empty: str = "keep"
    joins: tuple[Join, ...] = ()
    # (regex on the row's name, type): for type values mapped to `by_name`, or when nothing
    # else decides the type
    type_by_name: tuple[tuple[str, str], ...] = ()

    def known_headers(self) -> set[str]:
        """Header keys this mapping reads (for detection and reporting)."""
        out: set[str] = set()
        for spec in self.columns.values():
            out.update(header_key(h) for h in spec.headers)
            out.update(header_key(h) for h in spec.template_headers())
        return out
