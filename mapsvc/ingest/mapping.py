"""Declarative import mappings: how one file format maps onto provider records.

A mapping is a YAML file (see ``formats/`` and the README's "Mapping files" section).
Every shipped format is such a file; a municipality with its own schema writes one and
imports with ``--mapping``. :func:`load_mapping` validates it completely and raises one
:class:`InvalidMapping` naming the file, the key and the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from mapsvc.core._yaml import load_yaml
from mapsvc.core.codes import header_key, nfkc
from mapsvc.core.errors import InvalidMapping
from mapsvc.core.taxonomy import Taxonomy

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
}
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

    def known_headers(self) -> set[str]:
        """Header keys this mapping reads (for detection and reporting)."""
        out: set[str] = set()
        for spec in self.columns.values():
            out.update(header_key(h) for h in spec.headers)
            out.update(header_key(h) for h in spec.template_headers())
        return out


class _Problems:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[str] = []

    def add(self, where: str, problem: str) -> None:
        self.items.append(f"{where}: {problem}")

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidMapping(
                f"{self.path}: {len(self.items)} problem(s):\n  - " + "\n  - ".join(self.items)
            )


def _headers(value: Any, where: str, problems: _Problems) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    problems.add(where, f"expected a header name or a list of header names, got {value!r}")
    return ()


def _rule(item: Any, where: str, result_key: str, problems: _Problems) -> Rule | None:
    if not isinstance(item, dict):
        problems.add(
            where, "expected a mapping like {column: ..., contains: ..., " + result_key + ": ...}"
        )
        return None
    ops = [op for op in _RULE_OPS if op in item]
    if len(ops) != 1:
        problems.add(where, f"expected exactly one of {', '.join(_RULE_OPS)}")
        return None
    unknown = set(item) - {"column", result_key, "strip", *_RULE_OPS}
    if unknown:
        problems.add(where, f"unknown key(s) {sorted(unknown)}")
    if result_key not in item:
        problems.add(where, f"missing {result_key!r}")
        return None
    if ops[0] == "regex":
        try:
            re.compile(str(item["regex"]))
        except re.error as exc:
            problems.add(f"{where}.regex", f"invalid regular expression: {exc}")
            return None
    # Cells are compared after NFKC (full-width → ASCII), so literal operands are too;
    # regular expressions are taken as written and match the NFKC text.
    operand = str(item[ops[0]]) if ops[0] == "regex" else nfkc(str(item[ops[0]]))
    return Rule(
        _headers(item.get("column"), f"{where}.column", problems),
        ops[0],
        operand,
        str(item[result_key]),
        bool(item.get("strip", False)),
    )


def _check_template(template: str, where: str, problems: _Problems) -> None:
    fields = TEMPLATE_FIELD.findall(template)
    if not fields:
        problems.add(where, "a template needs at least one {header}")
    for f in fields:
        for filt in f.split("|")[1:]:
            if filt not in TEMPLATE_FILTERS:
                problems.add(
                    where, f"unknown filter {filt!r}; expected one of {', '.join(TEMPLATE_FILTERS)}"
                )


def load_mapping(path: Path | str, taxonomy: Taxonomy) -> Mapping:
    """Load and validate one mapping file against the taxonomy.

    Raises
    ------
    InvalidMapping
        Listing every problem (unknown keys, unknown provider types or capabilities,
        bad regular expressions, missing required parts).
    """
    path = Path(path)
    try:
        data = load_yaml(path)
    except FileNotFoundError:
        raise InvalidMapping(f"{path}: mapping file not found") from None
    except ValueError as exc:
        raise InvalidMapping(str(exc)) from exc
    problems = _Problems(path)
    if not isinstance(data, dict):
        problems.add("(top level)", "expected a mapping")
        problems.raise_if_any()
    for key in data:
        if key not in _TOP_KEYS:
            problems.add(str(key), f"unknown key; expected one of {', '.join(sorted(_TOP_KEYS))}")
    for key in ("name", "title", "source"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            problems.add(key, "required text")
    layout = data.get("layout", "table")
    if layout not in ("table", "answers"):
        problems.add("layout", f"{layout!r} is not table or answers")
    file_types = tuple(data.get("file_types") or ["csv"])
    for ft in file_types:
        if ft not in ("csv", "geojson", "xlsx"):
            problems.add("file_types", f"{ft!r} is not csv, geojson or xlsx")
    encodings = tuple(data.get("encodings") or ["utf-8-sig", "cp932"])
    for enc in encodings:
        try:
            "".encode(enc)
        except LookupError:
            problems.add("encodings", f"unknown encoding {enc!r}")

    detect = data.get("detect") or {}
    detect_all = _headers(detect.get("all"), "detect.all", problems) if detect.get("all") else ()
    detect_any = tuple(
        _headers(group, f"detect.any[{i}]", problems)
        for i, group in enumerate(detect.get("any") or [])
    )
    detect_none = (
        _headers(detect.get("none"), "detect.none", problems) if detect.get("none") else ()
    )
    unknown = set(detect) - {"all", "any", "none", "filename"}
    if unknown:
        problems.add(
            "detect", f"unknown key(s) {sorted(unknown)}; expected all, any, none, filename"
        )
    if not detect_all and not detect_any:
        problems.add(
            "detect", "needs `all` and/or `any` header lists (used to recognise the format)"
        )

    columns: dict[str, ColumnSpec] = {}
    for target, spec in (data.get("columns") or {}).items():
        where = f"columns.{target}"
        if target not in TARGETS:
            problems.add(
                where, f"unknown target field; expected one of {', '.join(sorted(TARGETS))}"
            )
            continue
        if isinstance(spec, dict):
            unknown = set(spec) - {"headers", "template"}
            if unknown:
                problems.add(where, f"unknown key(s) {sorted(unknown)}")
            headers = (
                _headers(spec["headers"], f"{where}.headers", problems) if "headers" in spec else ()
            )
            template = spec.get("template")
            if template is not None:
                _check_template(str(template), f"{where}.template", problems)
            columns[target] = ColumnSpec(
                target, headers, str(template) if template is not None else None
            )
        else:
            columns[target] = ColumnSpec(target, _headers(spec, where, problems))
    sid = data.get("source_id")
    if sid is not None:
        if isinstance(sid, dict) and isinstance(sid.get("template"), str):
            columns["source_id"] = ColumnSpec("source_id", (), sid["template"])
            _check_template(sid["template"], "source_id.template", problems)
        else:
            problems.add("source_id", "expected {template: '{column}...'}")
    required_columns = tuple(data.get("required_columns") or [])
    required_values = tuple(data.get("required_values") or [])
    for target in (*required_columns, *required_values):
        if target not in columns and target != "type":
            problems.add(
                "required_columns/required_values", f"{target!r} has no entry under columns"
            )

    type_spec = data.get("type") or {}
    if not isinstance(type_spec, dict):
        problems.add("type", "expected a mapping")
        type_spec = {}
    unknown = set(type_spec) - {"fixed", "column", "map", "rules", "filename", "default"}
    if unknown:
        problems.add("type", f"unknown key(s) {sorted(unknown)}")
    type_fixed = type_spec.get("fixed") or type_spec.get("default")
    type_column = (
        _headers(type_spec["column"], "type.column", problems) if "column" in type_spec else ()
    )
    type_map = {nfkc(str(k)): str(v) for k, v in (type_spec.get("map") or {}).items()}
    type_rules = tuple(
        r
        for i, item in enumerate(type_spec.get("rules") or [])
        if (r := _rule(item, f"type.rules[{i}]", "type", problems)) is not None
    )
    type_filename = None
    if "filename" in type_spec:
        fn = type_spec["filename"]
        if not isinstance(fn, dict) or "regex" not in fn or not isinstance(fn.get("map"), dict):
            problems.add("type.filename", "expected {regex: ..., map: {code: type}}")
        else:
            type_filename = (str(fn["regex"]), {str(k): str(v) for k, v in fn["map"].items()})
    referenced_types = [
        *type_map.values(),
        *(r.result for r in type_rules),
        *(type_filename[1].values() if type_filename else []),
    ]
    if type_fixed:
        referenced_types.append(str(type_fixed))
    for t in referenced_types:
        if t not in taxonomy.provider_types and t != "reject":
            problems.add(
                "type",
                f"unknown provider type {t!r}; expected one of {', '.join(taxonomy.provider_types)}",
            )
    if layout == "table" and not (
        type_fixed or type_column or type_rules or type_filename or "type" in columns
    ):
        problems.add(
            "type",
            "a table mapping needs a way to decide the provider type (fixed, column, rules or filename)",
        )

    status_rules = tuple(
        r
        for i, item in enumerate((data.get("status") or {}).get("rules") or [])
        if (r := _rule(item, f"status.rules[{i}]", "status", problems)) is not None
    )
    for r in status_rules:
        if r.result not in ("active", "suspended", "closed"):
            problems.add("status.rules", f"{r.result!r} is not active, suspended or closed")

    caps = data.get("capabilities") or {}
    cap_columns: list[CapabilityColumn] = []
    for i, item in enumerate(caps.get("columns") or []):
        where = f"capabilities.columns[{i}]"
        if not isinstance(item, dict) or "capability" not in item:
            problems.add(where, "expected {headers: [...], capability: key, values: {...}}")
            continue
        key = str(item["capability"])
        if key not in taxonomy.capabilities:
            problems.add(f"{where}.capability", f"unknown capability {key!r}")
            continue
        values = {
            nfkc(str(k)): (None if v is None else str(v))
            for k, v in (item.get("values") or {}).items()
        }
        for raw, val in values.items():
            if val is None:
                continue
            try:
                taxonomy.parse_value(key, val)
            except ValueError as exc:
                problems.add(f"{where}.values.{raw}", str(exc))
        on_unknown = item.get("on_unknown", "reject")
        if on_unknown not in ("reject", "note", "ignore"):
            problems.add(f"{where}.on_unknown", f"{on_unknown!r} is not reject, note or ignore")
        cap_columns.append(
            CapabilityColumn(
                _headers(item.get("headers"), f"{where}.headers", problems),
                key,
                values,
                str(on_unknown),
                _headers(item["note_headers"], f"{where}.note_headers", problems)
                if item.get("note_headers")
                else (),
            )
        )
    extra = {
        str(k): _headers(v, f"extra.{k}", problems) for k, v in (data.get("extra") or {}).items()
    }

    answers = None
    if layout == "answers":
        a = data.get("answers")
        if not isinstance(a, dict):
            problems.add("answers", "layout answers needs an `answers` section")
        else:
            questions = a.get("questions") or {}
            for q, qspec in questions.items():
                where = f"answers.questions.{q}"
                if not isinstance(qspec, dict):
                    problems.add(where, "expected a mapping")
                    continue
                targets = (
                    [qspec]
                    if "capability" in qspec
                    else list((qspec.get("answers") or {}).values())
                )
                if not targets:
                    problems.add(where, "expected `capability` or `answers`")
                for t in targets:
                    if not isinstance(t, dict) or t.get("capability") not in taxonomy.capabilities:
                        problems.add(where, f"unknown capability in {t!r}")
                    elif "level" in t:
                        try:
                            taxonomy.parse_value(t["capability"], t["level"])
                        except ValueError as exc:
                            problems.add(where, str(exc))
            answers = AnswerSpec(
                provider=_headers(a.get("provider"), "answers.provider", problems),
                provider_source=str(a.get("provider_source") or data.get("source") or ""),
                question=_headers(a.get("question"), "answers.question", problems),
                answer=_headers(a.get("answer"), "answers.answer", problems),
                text=_headers(a.get("text"), "answers.text", problems) if a.get("text") else (),
                values={str(k): str(v) for k, v in (a.get("values") or {}).items()},
                questions={str(k): v for k, v in questions.items() if isinstance(v, dict)},
            )
    coords = data.get("coordinates") or {}
    problems.raise_if_any()
    return Mapping(
        path=path,
        name=str(data["name"]),
        title=str(data["title"]),
        description=str(data.get("description") or ""),
        source=str(data["source"]),
        layout=str(layout),
        file_types=file_types,
        encodings=encodings,
        metadata_prefix=data.get("metadata_prefix"),
        detect_all=detect_all,
        detect_any=detect_any,
        detect_none=detect_none,
        detect_filename=detect.get("filename"),
        columns=columns,
        required_columns=required_columns,
        required_values=required_values,
        defaults={str(k): str(v) for k, v in (data.get("defaults") or {}).items()},
        type_fixed=str(type_fixed) if type_fixed else None,
        type_column=type_column,
        type_map=type_map,
        type_rules=type_rules,
        type_filename=type_filename,
        status_rules=status_rules,
        zero_is_missing=bool(coords.get("zero_is_missing", False)),
        capabilities_from_headers=bool(caps.get("from_headers", False)),
        capability_columns=tuple(cap_columns),
        extra=extra,
        answers=answers,
    )


def shipped_mapping_paths() -> list[Path]:
    return sorted(FORMATS_DIR.glob("*.yaml"))


@lru_cache(maxsize=4)
def _shipped(taxonomy_path: str, taxonomy: Taxonomy) -> tuple[Mapping, ...]:
    return tuple(load_mapping(p, taxonomy) for p in shipped_mapping_paths())


def shipped_mappings(taxonomy: Taxonomy) -> tuple[Mapping, ...]:
    """Every format shipped with mapsvc, validated."""
    return _shipped(str(taxonomy.path), taxonomy)


def mapping_by_name(name: str, taxonomy: Taxonomy) -> Mapping:
    for m in shipped_mappings(taxonomy):
        if m.name == name:
            return m
    known = ", ".join(m.name for m in shipped_mappings(taxonomy))
    raise InvalidMapping(f"unknown format {name!r}; known formats: {known}", field="format")


def detect_mapping(headers: list[str], filename: str, taxonomy: Taxonomy) -> Mapping:
    """Pick the shipped format whose detection headers are all present.

    The most specific match wins (most detection headers); a tie is an error.
    """
    present = {header_key(h) for h in headers}
    candidates: list[tuple[int, Mapping]] = []
    for m in shipped_mappings(taxonomy):
        if not all(header_key(h) in present for h in m.detect_all):
            continue
        if not all(any(header_key(h) in present for h in group) for group in m.detect_any):
            continue
        if any(header_key(h) in present for h in m.detect_none):
            continue
        if m.detect_filename and not re.search(m.detect_filename, filename):
            continue
        score = len(m.detect_all) + len(m.detect_any) + (1 if m.detect_filename else 0)
        candidates.append((score, m))
    if not candidates:
        raise InvalidMapping(
            f"{filename}: the header matches no known format (columns: {', '.join(headers[:20])}"
            f"{' …' if len(headers) > 20 else ''}); use --format NAME or --mapping FILE",
            field="format",
        )
    candidates.sort(key=lambda c: -c[0])
    if len(candidates) > 1 and candidates[0][0] == candidates[1][0]:
        names = ", ".join(m.name for s, m in candidates if s == candidates[0][0])
        raise InvalidMapping(
            f"{filename}: the header fits several formats ({names}); choose one with --format",
            field="format",
        )
    return candidates[0][1]
