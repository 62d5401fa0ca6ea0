"""One import mechanism for every format: read, map, validate, plan, write, report.

A file that cannot be read at all (encoding, missing columns, unknown format) raises
:class:`ImportFailed` before anything is written. Otherwise the whole import runs in one
transaction: rows that cannot become records are rejected with a reason (written to a
rejects CSV and kept in the store), the rest are upserted idempotently by source id.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from mapsvc.core._csv import csv_bytes, rejects_rows
from mapsvc.core.codes import nfkc
from mapsvc.core.db import Store
from mapsvc.core.errors import ImportFailed, InvalidMapping
from mapsvc.core.models import ImportRun, utcnow
from mapsvc.core.registry import (
    Change,
    apply_changes,
    diff,
    existing_by_source,
    existing_by_uid,
    insert_records,
)
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.geo.area_codes import service_area_warnings
from mapsvc.geo.geocode_reasons import placement_counts
from mapsvc.ingest.mapping import (
    Mapping,
    detect_mapping,
    load_mapping,
    mapping_by_name,
    shipped_mappings,
)
from mapsvc.ingest.plan import (
    Geocode,
    ImportPlan,
    ImportReport,
    Rejection,
    ReviewMode,
    record_rejections,
)
from mapsvc.ingest.reader import Table, file_kind, read_raw, to_table
from mapsvc.ingest.rows import RowRejected, resolve, row_to_record


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
        _check_file_type(path, mapping)
        raw = read_raw(path, mapping.encodings)
        return to_table(raw, mapping.known_headers(), mapping.metadata_prefix), mapping
    raw = read_raw(path)
    known: set[str] = set()
    for m in shipped_mappings(taxonomy):
        known |= m.known_headers()
    table = to_table(raw, known, None)
    try:
        mapping = detect_mapping(table.header, path.name, taxonomy)
    except InvalidMapping as exc:
        raise ImportFailed(exc.message, field="format") from None
    _check_file_type(path, mapping)
    return to_table(raw, mapping.known_headers(), mapping.metadata_prefix), mapping


def _check_file_type(path: Path, mapping: Mapping) -> None:
    kind = file_kind(path)
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
    source = source or mapping.source
    where = f"{path}: line {table.header_line}" if table.header_line else str(path)
    try:
        resolved = resolve(mapping, table.header, taxonomy, path.name)
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
    seen: dict[str, int] = {}
    for line, row in table.rows:
        try:
            rec = row_to_record(resolved, row, taxonomy)
        except RowRejected as exc:
            plan.rejections.append(Rejection(line, str(exc), row))
            continue
        key = rec.get("uid") or rec["source_id"]
        if key in seen:
            plan.rejections.append(
                Rejection(line, f"duplicate source id {key!r} (first on line {seen[key]})", row)
            )
            continue
        seen[key] = line
        records.append((line, rec, row))
    _geocode_missing(session, records, geocode)
    _plan_upserts(session, plan, records)
    return plan


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


def _can_write(folder: Path) -> bool:
    """Writable, and not marked read-only (a folder without write bits is left alone even
    by root, who could write there anyway: published data folders are such folders)."""
    try:
        return os.access(folder, os.W_OK) and bool(folder.stat().st_mode & 0o222)
    except OSError:
        return False


def default_rejects_path(path: Path, instance_path: Path) -> Path:
    """``<stem>.rejects.csv`` beside the input, or in the instance folder if that is read-only."""
    beside = path.with_name(f"{path.stem}.rejects.csv")
    if _can_write(path.parent):
        return beside
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    return instance_path / "rejects" / f"{path.stem}.{stamp}.rejects.csv"


def write_rejects(target: Path, plan: ImportPlan) -> None:
    """Rejected rows with line and reason first, then the original columns (UTF-8 with BOM)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_bytes(csv_bytes(rejects_rows(plan.rejections, plan.header or None)))
    tmp.replace(target)


def apply_plan(session: Session, plan: ImportPlan, *, actor: str, rejects_path: Path | None) -> int:
    """Write a plan in the caller's transaction; return the import run id."""
    run = ImportRun(
        actor=actor,
        filename=str(plan.path),
        format=plan.mapping.name,
        status="ok",
        counts=plan.counts,
        rejects_path=str(rejects_path) if rejects_path else None,
    )
    session.add(run)
    session.flush()
    insert_records(session, plan.source, plan.inserts, actor=actor, import_run_id=run.id)
    apply_changes(session, plan.changes, actor=actor, action="import.update", import_run_id=run.id)
    record_rejections(session, run.id, plan.rejections)
    run.finished_at = utcnow()
    return run.id


def import_file(
    store: Store,
    path: Path | str,
    taxonomy: Taxonomy,
    *,
    fmt: str | None = None,
    mapping_path: Path | str | None = None,
    rejects_path: Path | str | None = None,
    actor: str = "cli",
    source: str | None = None,
    geocode: Geocode | None = None,
    instance_path: Path | str = "instance",
    review: ReviewMode | None = None,
) -> ImportReport:
    """Import one file into the registry.

    Parameters
    ----------
    store
        The store to write to.
    path
        CSV, GeoJSON or XLSX file.
    taxonomy
        The loaded taxonomy (capability keys and values are checked against it).
    fmt, mapping_path
        A shipped format name, or a mapping file; neither = detect from the header.
    rejects_path
        Where rejected rows go; default ``<stem>.rejects.csv`` beside the input.
    actor
        Who imports (written to the audit log).
    source
        Source namespace for source ids (default: the mapping's).
    geocode
        Offline geocoder chain for rows without coordinates.
    review
        A review mode (:data:`mapsvc.upkeep.returns.TEMPLATE_RETURNS`): each row goes to the
        review queue as a pending submission instead of writing the registry.

    Returns
    -------
    ImportReport

    Raises
    ------
    ImportFailed
        The file cannot be imported at all; the store is unchanged.
    """
    path = Path(path)
    with _bulk_allocation(), store.session() as session:
        plan = plan_import(
            session,
            path,
            taxonomy,
            fmt=fmt,
            mapping_path=Path(mapping_path) if mapping_path else None,
            source=source,
            geocode=None if review else geocode,
            review=review is not None,
        )
        queued = 0
        if review is not None:
            review.screen(plan)
        target = None
        if plan.rejections:
            target = (
                Path(rejects_path)
                if rejects_path
                else default_rejects_path(path, Path(instance_path))
            )
        written = [*plan.inserts, *({**c.current, **c.after} for c in plan.changes)]
        warnings = service_area_warnings(session, written)
        placed = placement_counts(written)
        if review is not None:
            run_id, queued = review.queue(session, plan, actor=actor, rejects_path=target)
        else:
            run_id = apply_plan(session, plan, actor=actor, rejects_path=target)
        if target is not None:
            # inside the transaction: if writing the rejects fails, nothing is committed
            write_rejects(target, plan)
    pending = sum(1 for r in plan.inserts if r.get("geocode_status") == "pending") + sum(
        1 for c in plan.changes if c.after.get("geocode_status") == "pending"
    )
    counts = plan.counts
    if review is not None:
        counts.update(updated=0, unchanged=0)
    return ImportReport(
        counts["inserted"],
        counts["updated"],
        counts["unchanged"],
        counts["rejected"],
        counts["rows"],
        plan.mapping.name,
        plan.source,
        str(target) if target else None,
        pending,
        run_id,
        queued,
        warnings=warnings,
        placed=placed,
        untouched=plan.untouched,
    )


@contextmanager
def _bulk_allocation() -> Iterator[None]:
    """Pause the cyclic garbage collector while an import allocates millions of small,
    acyclic dicts (rows, records, audit values): it otherwise rescans them over and over
    and costs about a third of the import time. Reference counting still frees memory."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
