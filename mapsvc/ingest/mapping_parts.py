"""Validation of a mapping file's sections (type, status, capabilities, answers).

Each parser reads one section of the YAML, adds every problem it finds to a shared
:class:`Problems` list and returns the validated parts; :func:`mapsvc.ingest.mapping.load_mapping`
assembles them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mapsvc.core.codes import nfkc
from mapsvc.core.errors import InvalidMapping
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.ingest.spec import (
    _RULE_OPS,
    DEFAULT_DERIVED,
    DERIVED_PARTS,
    JOIN_AGGREGATES,
    ROW,
    TARGETS,
    TEMPLATE_FIELD,
    TEMPLATE_FILTERS,
    AnswerSpec,
    CapabilityColumn,
    ColumnSpec,
    Join,
    JoinField,
    Rule,
)
from mapsvc.ingest.text import clean


class Problems:
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


def _headers(value: Any, where: str, problems: Problems) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    problems.add(where, f"expected a header name or a list of header names, got {value!r}")
    return ()


def _rule(item: Any, where: str, result_key: str, problems: Problems) -> Rule | None:
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


def _check_template(template: str, where: str, problems: Problems) -> None:
    fields = TEMPLATE_FIELD.findall(template)
    if not fields:
        problems.add(where, "a template needs at least one {header}")
    for f in fields:
        for filt in f.split("|")[1:]:
            if filt not in TEMPLATE_FILTERS:
                problems.add(
                    where, f"unknown filter {filt!r}; expected one of {', '.join(TEMPLATE_FILTERS)}"
                )


def parse_type(
    data: dict[str, Any],
    layout: str,
    columns: dict[str, ColumnSpec],
    taxonomy: Taxonomy,
    problems: Problems,
) -> dict[str, Any]:
    """The ``type`` section: fixed, column + map, rules, filename."""
    type_spec = data.get("type") or {}
    if not isinstance(type_spec, dict):
        problems.add("type", "expected a mapping")
        type_spec = {}
    unknown = set(type_spec) - {"fixed", "column", "map", "rules", "filename", "default", "by_name"}
    if unknown:
        problems.add("type", f"unknown key(s) {sorted(unknown)}")
    type_fixed = type_spec.get("fixed") or type_spec.get("default")
    type_column = (
        _headers(type_spec["column"], "type.column", problems) if "column" in type_spec else ()
    )
    # keys compare like cells: cleaned (NFKC, spaces and line breaks folded)
    type_map = {clean(str(k)): str(v) for k, v in (type_spec.get("map") or {}).items()}
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
        if t not in taxonomy.provider_types and t not in ("reject", "by_name"):
            problems.add(
                "type",
                f"unknown provider type {t!r}; expected one of {', '.join(taxonomy.provider_types)}",
            )
    if layout == "table" and not (
        type_fixed
        or type_column
        or type_rules
        or type_filename
        or "type" in columns
        or type_spec.get("by_name")
    ):
        problems.add(
            "type",
            "a table mapping needs a way to decide the provider type (fixed, column, rules or filename)",
        )
    by_name: list[tuple[str, str]] = []
    for i, item in enumerate(type_spec.get("by_name") or []):
        where = f"type.by_name[{i}]"
        if not isinstance(item, dict) or "regex" not in item or "type" not in item:
            problems.add(where, "expected {regex: ..., type: ...}")
            continue
        try:
            re.compile(str(item["regex"]))
        except re.error as exc:
            problems.add(where, f"invalid regular expression: {exc}")
            continue
        if item["type"] not in taxonomy.provider_types and item["type"] != "reject":
            problems.add(where, f"unknown provider type {item['type']!r}")
        by_name.append((str(item["regex"]), str(item["type"])))
    return {
        "type_by_name": tuple(by_name),
        "type_fixed": str(type_fixed) if type_fixed else None,
        "type_column": type_column,
        "type_map": type_map,
        "type_rules": type_rules,
        "type_filename": type_filename,
    }


def parse_status(data: dict[str, Any], problems: Problems) -> tuple[Rule, ...]:
    """The ``status`` section's rules."""
    status_rules = tuple(
        r
        for i, item in enumerate((data.get("status") or {}).get("rules") or [])
        if (r := _rule(item, f"status.rules[{i}]", "status", problems)) is not None
    )
    for r in status_rules:
        if r.result not in ("active", "suspended", "closed"):
            problems.add("status.rules", f"{r.result!r} is not active, suspended or closed")
    return status_rules


def parse_capabilities(
    data: dict[str, Any], taxonomy: Taxonomy, problems: Problems
) -> tuple[bool, tuple[CapabilityColumn, ...], dict[str, tuple[str, ...]]]:
    """The ``capabilities`` section and ``extra``: (from_headers, columns, extra)."""
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

    return bool(caps.get("from_headers", False)), tuple(cap_columns), extra


_QUESTION_KEYS = {"capability", "answers", "ignore", "service_area", "planned"}
_ANSWER_KEYS = {"capability", "level", "value", "planned", "ignore", "area"}


def _check_target(
    t: Any, where: str, taxonomy: Taxonomy, problems: Problems, *, keys: set[str]
) -> None:
    """One question or answer target: capability (a key, or {type: key}), level/value."""
    if not isinstance(t, dict):
        problems.add(where, f"expected a mapping, got {t!r}")
        return
    unknown = set(t) - keys
    if unknown:
        problems.add(where, f"unknown key(s) {sorted(unknown)}")
    if t.get("ignore") or "area" in t:
        return
    cap = t.get("capability")
    caps = list(cap.values()) if isinstance(cap, dict) else [cap]
    if isinstance(cap, dict):
        for ptype in cap:
            if ptype != "default" and ptype not in taxonomy.provider_types:
                problems.add(where, f"unknown provider type {ptype!r} in capability targets")
    for c in caps:
        if c not in taxonomy.capabilities:
            problems.add(where, f"unknown capability {c!r}")
        elif "level" in t:
            try:
                taxonomy.parse_value(c, t["level"])
            except ValueError as exc:
                problems.add(where, str(exc))


def parse_answers(
    data: dict[str, Any], layout: str, taxonomy: Taxonomy, problems: Problems
) -> AnswerSpec | None:
    """The ``answers`` section of a long-format (answers layout) mapping.

    A question is ``ignore: true``; or ``service_area: codes|names`` (its answers list the
    areas served); or ``capability: KEY`` (or ``{TYPE: KEY, default: KEY}`` to target a
    different capability per provider type) taking the answer's value; or ``answers:`` by
    answer code, each ``{capability, level | value}``, ``{planned: true, capability}`` (a
    "plans to start" answer: never a level), ``{area: CODE}`` or ``ignore``.
    """
    if layout != "answers":
        return None
    a = data.get("answers")
    if not isinstance(a, dict):
        problems.add("answers", "layout answers needs an `answers` section")
        return None
    questions = a.get("questions") or {}
    for q, qspec in questions.items():
        where = f"answers.questions.{q}"
        if not isinstance(qspec, dict):
            problems.add(where, "expected a mapping")
            continue
        if qspec.get("ignore"):
            continue
        if "service_area" in qspec:
            if qspec["service_area"] not in ("codes", "names"):
                problems.add(f"{where}.service_area", "expected codes or names")
            for code, t in (qspec.get("answers") or {}).items():
                if t != "ignore":
                    _check_target(
                        t, f"{where}.answers.{code}", taxonomy, problems, keys=_ANSWER_KEYS
                    )
            continue
        if "capability" in qspec:
            _check_target(qspec, where, taxonomy, problems, keys=_QUESTION_KEYS)
        elif qspec.get("answers"):
            unknown = set(qspec) - _QUESTION_KEYS
            if unknown:
                problems.add(where, f"unknown key(s) {sorted(unknown)}")
            for code, t in qspec["answers"].items():
                if t != "ignore":
                    _check_target(
                        t, f"{where}.answers.{code}", taxonomy, problems, keys=_ANSWER_KEYS
                    )
        else:
            problems.add(where, "expected `capability`, `answers`, `service_area` or `ignore`")
    conflict = str(a.get("conflict", "strongest"))
    if conflict not in ("strongest", "last"):
        problems.add("answers.conflict", f"{conflict!r} is not strongest or last")
    return AnswerSpec(
        provider=_headers(a.get("provider"), "answers.provider", problems),
        provider_source=str(a.get("provider_source") or data.get("source") or ""),
        question=_headers(a.get("question"), "answers.question", problems),
        answer=_headers(a.get("answer"), "answers.answer", problems),
        text=_headers(a.get("text"), "answers.text", problems) if a.get("text") else (),
        values={str(k): str(v) for k, v in (a.get("values") or {}).items()},
        questions={str(k): v for k, v in questions.items() if isinstance(v, dict)},
        conflict=conflict,
    )


def parse_derived_id(data: dict[str, Any], problems: Problems) -> tuple[str, ...]:
    """``derived_id``: the fields that identify a row without an id (default name, address,
    type), ``"@row"`` (the row's position; only when the publisher keeps the order) or
    ``none`` (such rows are rejected)."""
    raw = data.get("derived_id", list(DEFAULT_DERIVED))
    if raw in ("none", None, False):
        return ()
    if raw == ROW:
        return (ROW,)
    if isinstance(raw, list) and raw and all(p in DERIVED_PARTS for p in raw):
        return tuple(str(p) for p in raw)
    problems.add(
        "derived_id",
        f'expected a list of {", ".join(DERIVED_PARTS)}, or "@row", or none; got {raw!r}',
    )
    return DEFAULT_DERIVED


def parse_empty(data: dict[str, Any], problems: Problems) -> str:
    """``empty: keep`` (default: an empty cell leaves the stored value) or ``clear``."""
    value = str(data.get("empty", "keep"))
    if value not in ("keep", "clear"):
        problems.add("empty", f"{value!r} is not keep or clear")
        return "keep"
    return value


def _join_field(
    target: str, kind: str, spec: Any, where: str, problems: Problems
) -> JoinField | None:
    if isinstance(spec, str | list):
        spec = {"headers": spec}
    if not isinstance(spec, dict):
        problems.add(where, "expected a header, a list of headers or {headers:, aggregate:}")
        return None
    unknown = set(spec) - {"headers", "aggregate", "days", "start", "end"}
    if unknown:
        problems.add(where, f"unknown key(s) {sorted(unknown)}")
    aggregate = str(spec.get("aggregate", "first"))
    if aggregate not in JOIN_AGGREGATES:
        problems.add(
            f"{where}.aggregate", f"{aggregate!r} is not one of {', '.join(JOIN_AGGREGATES)}"
        )
    if aggregate == "weekly_hours":
        days = spec.get("days") or []
        start, end = str(spec.get("start") or ""), str(spec.get("end") or "")
        if not days or "{day}" not in start or "{day}" not in end:
            problems.add(
                where, "weekly_hours needs days: [...], start: '{day}_…' and end: '{day}_…'"
            )
        return JoinField(target, kind, (), aggregate, tuple(str(d) for d in days), start, end)
    headers = _headers(spec.get("headers"), f"{where}.headers", problems)
    return JoinField(target, kind, headers, aggregate)


def parse_joins(data: dict[str, Any], problems: Problems) -> tuple[Join, ...]:
    """``join``: companion files (see :class:`mapsvc.ingest.spec.Join`)."""
    raw = data.get("join") or []
    if isinstance(raw, dict):
        raw = [raw]
    joins: list[Join] = []
    for i, item in enumerate(raw):
        where = f"join[{i}]"
        if not isinstance(item, dict):
            problems.add(
                where, "expected {files: [...], key: HEADER, columns: {...}, extra: {...}}"
            )
            continue
        unknown = set(item) - {"files", "key", "companion_key", "required", "columns", "extra"}
        if unknown:
            problems.add(where, f"unknown key(s) {sorted(unknown)}")
        files = _headers(item.get("files"), f"{where}.files", problems)
        on = _headers(item.get("key"), f"{where}.key", problems)
        other_on = (
            _headers(item["other_on"], f"{where}.other_on", problems)
            if item.get("other_on")
            else on
        )
        fields: list[JoinField] = []
        for target, spec in (item.get("columns") or {}).items():
            if target not in TARGETS or target in ("source_id", "uid", "type"):
                problems.add(f"{where}.columns.{target}", "not a field a companion file can fill")
                continue
            if f := _join_field(str(target), "column", spec, f"{where}.columns.{target}", problems):
                fields.append(f)
        for name, spec in (item.get("extra") or {}).items():
            if f := _join_field(str(name), "extra", spec, f"{where}.extra.{name}", problems):
                fields.append(f)
        if not fields:
            problems.add(where, "a join needs at least one entry under columns or extra")
        joins.append(Join(files, on, other_on, bool(item.get("required", False)), tuple(fields)))
    return tuple(joins)
