"""Planning an import: read the file, settle the mapping, map rows, match them against the
registry by source id (or mapsvc id) and compute inserts, changes and rejections.

Nothing here writes; :mod:`mapsvc.ingest.importer` writes a plan in one transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from mapsvc.core.codes import nfkc
from mapsvc.core.errors import ImportFailed, InvalidMapping
from mapsvc.core.record_check import record_problem
from mapsvc.core.registry import Change, diff, existing_by_source, existing_by_uid
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.ingest.detect import detect_mapping, mapping_by_name, shipped_mappings
from mapsvc.ingest.join import apply_joins, bind_joins, is_companion
from mapsvc.ingest.mapping import Mapping, load_mapping
from mapsvc.ingest.plan import Geocode, ImportPlan, Rejection
from mapsvc.ingest.reader import Table, read_raw, table_header, to_table
from mapsvc.ingest.resolve import resolve
from mapsvc.ingest.rows import DERIVED, SKIPPED, RowRejected, row_to_record
from mapsvc.ingest.spec import ROW


def choose_mapping(
    taxonomy: Taxonomy, fmt: str | None, mapping_path: Path | None
) -> Mapping | None:
    """The mapping named by --format/--mapping, else None (detected after reading)."""
    if fmt and mapping_path:
        raise ImportFailed("give either --format or --mapping, not both", field="format")
    if mapping_path:
        return load_mapping(mapping_path, taxonomy)
    if fmt:
        return mapping_by_name(fmt, taxonomy)
    return None


def read_table(path: Path, taxonomy: Taxonomy, mapping: Mapping | None) -> tuple[Table, Mapping]:
    """Read the file and settle the mapping (detecting it from the header if needed)."""
    if mapping is not None:
        raw = read_raw(path, mapping.encodings)
        _check_file_type(path, raw.kind, mapping)
        return to_table(raw, mapping.known_headers(), mapping.metadata_prefix), mapping
    raw = read_raw(path)
    known: set[str] = set()
    for m in shipped_mappings(taxonomy):
        known |= m.known_headers()
    try:
        mapping = detect_mapping(table_header(raw, known), path.name, taxonomy)
    except InvalidMapping as exc:
        for m in shipped_mappings(taxonomy):
            if is_companion(path, m):
                raise ImportFailed(
                    f"{path}: this is a companion file of format {m.name} ({m.title}); import "
                    "the main file beside it, which joins this one by "
                    f"{m.joins[0].on[0]}",
                    field="format",
                ) from None
        raise ImportFailed(exc.message, field="format") from None
    _check_file_type(path, raw.kind, mapping)
    return to_table(raw, mapping.known_headers(), mapping.metadata_prefix), mapping


def _check_file_type(path: Path, kind: str, mapping: Mapping) -> None:
    if kind not in mapping.file_types:
        raise ImportFailed(
            f"{path}: format {mapping.name} reads {', '.join(mapping.file_types)} files, not {kind}",
            field="format",
        )


def plan_import(
    session: Session,
    path: Path,
    taxonomy: Taxonomy,
    *,
    fmt: str | None = None,
    mapping_path: Path | None = None,
    source: str | None = None,
    geocode: Geocode | None = None,
    review: bool = False,
) -> ImportPlan:
    """Read and validate a file and compute inserts, changes and rejections (no writes).

    With ``review`` rows must name providers already in the registry (others are
    rejected) and every matched row is listed in ``plan.matched`` for the review queue.

    Raises
    ------
    ImportFailed
        The file cannot be read, its format is unknown or required columns are missing.
    """
    path = Path(path)
    table, mapping = read_table(path, taxonomy, choose_mapping(taxonomy, fmt, mapping_path))
    for ordinal, (_, row) in enumerate(table.rows, start=1):
        row[ROW] = str(ordinal)
    joined = apply_joins(table, mapping) if mapping.joins else []
    source = source or mapping.source
    where = f"{path}: line {table.header_line}" if table.header_line else str(path)
    try:
        resolved = resolve(mapping, table.header, taxonomy, path.name)
        bind_joins(resolved, joined)
    except ValueError as exc:
        raise ImportFailed(f"{where}: {exc} (format {mapping.name})", field="columns") from None
    if mapping.layout == "answers":
        if review:
            raise ImportFailed(
                f"{path}: --review takes table formats (survey templates), not {mapping.name}",
                field="format",
            )
        from mapsvc.ingest.answers import plan_answers

        return plan_answers(session, table, mapping, taxonomy)
    plan = ImportPlan(
        path, mapping, source, rows=len(table.rows), header=table.header, review=review
    )
    records: list[tuple[int, dict[str, Any], dict[str, str]]] = []
    seen: dict[str, tuple[int, dict[str, Any]]] = {}
    for line, row in table.rows:
        try:
            rec = row_to_record(resolved, row, taxonomy)
        except RowRejected as exc:
            plan.rejections.append(Rejection(line, str(exc), row))
            continue
        derived = rec.pop(DERIVED, False)
        skipped = rec.pop(SKIPPED, ())
        problem = record_problem(rec)  # column sizes and types, before anything is written
        if problem:
            plan.rejections.append(Rejection(line, problem, row))
            continue
        key = rec.get("uid") or rec["source_id"]
        if key in seen:
            first_line, first = seen[key]
            if _same_but_extra(first, rec):
                # the same provider repeated (one row per service, say): merged, not lost
                _merge_extra(first, rec)
                plan.merged_rows += 1
                plan.unchanged += 1
                continue
            what = "derived id" if derived else "source id"
            plan.rejections.append(
                Rejection(line, f"duplicate {what} {key!r} (first on line {first_line})", row)
            )
            continue
        seen[key] = (line, rec)
        plan.derived_ids += bool(derived)
        plan.skipped_cells.extend((line, header, reason) for header, _, reason in skipped)
        records.append((line, rec, row))
    _geocode_missing(session, records, geocode)
    _plan_upserts(session, plan, records)
    return plan


def _same_but_extra(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return {k: v for k, v in a.items() if k != "extra"} == {
        k: v for k, v in b.items() if k != "extra"
    }


def _merge_extra(into: dict[str, Any], other: dict[str, Any]) -> None:
    """Extra values of a repeated row joined onto the first row's (``訪問看護; 介護予防訪問看護``)."""
    extra = into.setdefault("extra", {})
    for k, v in (other.get("extra") or {}).items():
        if k not in extra:
            extra[k] = v
        elif v not in extra[k].split("; "):
            extra[k] = f"{extra[k]}; {v}"


def _geocode_missing(
    session: Session,
    records: list[tuple[int, dict[str, Any], dict[str, str]]],
    geocode: Geocode | None,
) -> None:
    if geocode is None:
        return
    for _, rec, _ in records:
        if rec.get("geocode_status") == "pending" and rec.get("address"):
            found = geocode(rec["address"], session)
            if found:
                rec.update(
                    lon=found["lon"],
                    lat=found["lat"],
                    geocode_status="geocoded",
                    geocoder=found["geocoder"],
                    geocode_precision=found["precision"],
                )


def _plan_upserts(
    session: Session,
    plan: ImportPlan,
    records: list[tuple[int, dict[str, Any], dict[str, str]]],
) -> None:
    existing = existing_by_source(session, plan.source)
    by_uid = existing_by_uid(session, [rec["uid"] for _, rec, _ in records if rec.get("uid")])
    for line, rec, row in records:
        uid = rec.pop("uid", None)
        current = by_uid.get(uid) if uid else existing.get(rec["source_id"])
        if uid and current is None:
            plan.rejections.append(
                Rejection(line, f"no provider with id {uid} in the registry", row)
            )
            continue
        if current is None:
            if plan.review:
                plan.rejections.append(
                    Rejection(
                        line,
                        "not a provider in the registry: survey rows need the id column "
                        "(mapsvc id); new providers are added by a normal import",
                        row,
                    )
                )
                continue
            plan.inserts.append(rec)
            continue
        plan.matched.append((line, current["uid"], row))
        incoming = {k: v for k, v in rec.items() if k != "source_id"}
        if plan.mapping.empty == "keep" and "extra" in incoming:
            # extra is one stored dict: keys this file leaves empty keep their value
            incoming["extra"] = {**(current.get("extra") or {}), **incoming["extra"]}
        if (
            incoming.get("geocode_status") == "pending"
            and current.get("lon") is not None
            and nfkc(current.get("address") or "")
            == nfkc(incoming.get("address") or current.get("address") or "")
        ):
            # keep a location found earlier (geocoded online or set by hand) for the same address
            for k in ("lon", "lat", "geocode_status", "geocoder", "geocode_precision"):
                incoming.pop(k, None)
        before, after = diff(current, incoming)
        if after:
            plan.changes.append(Change(current["id"], current["uid"], before, after, current))
        else:
            plan.unchanged += 1
