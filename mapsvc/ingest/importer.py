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

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from mapsvc.core._csv import csv_bytes, rejects_rows
from mapsvc.core.db import Store
from mapsvc.core.errors import ImportFailed
from mapsvc.core.import_lock import import_lock
from mapsvc.core.models import ImportRun, utcnow
from mapsvc.core.registry import apply_changes, insert_records
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.geo.area_codes import service_area_warnings
from mapsvc.geo.geocode_reasons import pending_counts, placement_counts
from mapsvc.ingest.plan import Geocode, ImportPlan, ImportReport, ReviewMode, record_rejections
from mapsvc.ingest.upsert import choose_mapping, plan_import, read_table

__all__ = [
    "ImportReport",
    "apply_plan",
    "choose_mapping",
    "default_rejects_path",
    "import_file",
    "plan_import",
    "read_table",
    "write_rejects",
]


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
    record_rejections(
        session, run.id, plan.rejections, replaces=(str(plan.path), plan.mapping.name)
    )
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
    try:
        return _import(
            store,
            path,
            taxonomy,
            fmt,
            mapping_path,
            rejects_path,
            actor,
            source,
            geocode,
            instance_path,
            review,
        )
    except DBAPIError as exc:
        # the driver's message and traceback would print the row's values (FAX numbers…)
        raise ImportFailed(
            f"the store refused the import ({type(exc).__name__}); nothing was written"
        ) from None


def _import(
    store: Store,
    path: Path,
    taxonomy: Taxonomy,
    fmt: str | None,
    mapping_path: Path | str | None,
    rejects_path: Path | str | None,
    actor: str,
    source: str | None,
    geocode: Geocode | None,
    instance_path: Path | str,
    review: ReviewMode | None,
) -> ImportReport:
    with _bulk_allocation(), store.session() as session, import_lock(session):
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
        area_warnings = service_area_warnings(session, written)
        placed = placement_counts(written)
        explain = getattr(geocode, "pending_reasons", None)
        pending_why = (
            {}
            if review is not None
            else explain(written)
            if explain is not None
            else pending_counts(written, None, {})
            if geocode is None
            else {}
        )
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
        plan.derived_ids,
        len(plan.skipped_cells),
        plan.warnings,
        area_warnings=area_warnings,
        placed=placed,
        untouched=plan.untouched,
        pending_reasons=pending_why,
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
