"""Declarative import mappings: how one file format maps onto provider records.

A mapping is a YAML file (see ``formats/`` and the README's "Mapping files" section).
Every shipped format is such a file; a municipality with its own schema writes one and
imports with ``--mapping``. :func:`load_mapping` validates it completely and raises one
:class:`InvalidMapping` naming the file, the key and the problem.
"""

from __future__ import annotations

from pathlib import Path

from mapsvc.core._yaml import load_yaml
from mapsvc.core.errors import InvalidMapping
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.ingest.mapping_parts import (
    Problems,
    _check_template,
    _headers,
    parse_answers,
    parse_capabilities,
    parse_derived_id,
    parse_empty,
    parse_joins,
    parse_status,
    parse_type,
)
from mapsvc.ingest.spec import (
    _TOP_KEYS,
    FORMATS_DIR,
    TARGETS,
    TEMPLATE_FIELD,
    TEMPLATE_FILTERS,
    AnswerSpec,
    CapabilityColumn,
    ColumnSpec,
    Mapping,
    Rule,
)

__all__ = [
    "FORMATS_DIR",
    "TARGETS",
    "TEMPLATE_FIELD",
    "TEMPLATE_FILTERS",
    "AnswerSpec",
    "CapabilityColumn",
    "ColumnSpec",
    "Mapping",
    "Rule",
    "load_mapping",
]


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
    problems = Problems(path)
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
        if sid == "@row":
            columns["source_id"] = ColumnSpec("source_id", ("@row",))
        elif isinstance(sid, dict) and isinstance(sid.get("template"), str):
            columns["source_id"] = ColumnSpec("source_id", (), sid["template"])
            _check_template(sid["template"], "source_id.template", problems)
        else:
            problems.add("source_id", "expected \"@row\" or {template: '{column}...'}")
    required_columns = tuple(data.get("required_columns") or [])
    required_values = tuple(data.get("required_values") or [])
    for target in (*required_columns, *required_values):
        if target not in columns and target != "type":
            problems.add(
                "required_columns/required_values", f"{target!r} has no entry under columns"
            )

    types = parse_type(data, str(layout), columns, taxonomy, problems)
    status_rules = parse_status(data, problems)
    from_headers, cap_columns, extra = parse_capabilities(data, taxonomy, problems)
    answers = parse_answers(data, str(layout), taxonomy, problems)
    coords = data.get("coordinates") or {}
    derived_id = parse_derived_id(data, problems)
    empty = parse_empty(data, problems)
    joins = parse_joins(data, problems)
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
        **types,
        status_rules=status_rules,
        zero_is_missing=bool(coords.get("zero_is_missing", False)),
        capabilities_from_headers=from_headers,
        capability_columns=cap_columns,
        extra=extra,
        answers=answers,
        derived_id=derived_id,
        empty=empty,
        joins=joins,
    )
