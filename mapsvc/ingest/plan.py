"""What an import would do, before anything is written: the plan, its rejections, the report.

Shared by the importer (:mod:`mapsvc.ingest.importer`), the answers layout
(:mod:`mapsvc.ingest.answers`) and review modes such as returned survey templates
(:mod:`mapsvc.upkeep.returns`), so none of them imports another for its types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mapsvc.core.models import ImportRun, RejectedRow
from mapsvc.core.registry import Change
from mapsvc.ingest.mapping import Mapping

# geocode(address, session) -> {"lon", "lat", "geocoder", "precision"} or None; the session
# is the import's own, so cached results commit (or roll back) with the import.
Geocode = Callable[[str, Session], dict[str, Any] | None]


@dataclass
class Rejection:
    line: int
    reason: str
    row: dict[str, str]


@dataclass
class ImportPlan:
    """What an import would do, before anything is written."""

    path: Path
    mapping: Mapping
    source: str
    rows: int
    inserts: list[dict[str, Any]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    # answers layout counts rows, not providers
    updated_rows: int = 0
    # review mode (survey templates): rows go to the review queue; rows for providers not
    # in the registry are rejected instead of inserted; matched = (line, uid, row) of every
    # row that names an existing provider (changed or not)
    review: bool = False
    matched: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    # warnings, not rejections: rows identified by a derived id (no id cell); cells that
    # were skipped (line, header, reason) while their row imported
    derived_ids: int = 0
    skipped_cells: list[tuple[int, str, str]] = field(default_factory=list)
    # rows repeating an earlier row's provider (same id, same values but extra): merged
    merged_rows: int = 0
    # answers layout: providers whose answers to one capability disagreed (rule applied)
    conflicts: int = 0

    @property
    def warnings(self) -> dict[str, int]:
        """Counts of what imported with a caveat, by reason (the import run keeps them)."""
        out: dict[str, int] = {}
        if self.derived_ids:
            out["derived id (the row has no id of its own)"] = self.derived_ids
        for _, _, reason in self.skipped_cells:
            out[reason] = out.get(reason, 0) + 1
        if self.merged_rows:
            out["repeated row merged into the first row with its id"] = self.merged_rows
        if self.conflicts:
            out["conflicting answers settled by the mapping's rule"] = self.conflicts
        return out

    # review mode: matched rows nobody changed or signed (not queued; upkeep.returns)
    untouched: int = 0

    @property
    def counts(self) -> dict[str, int]:
        updated = self.updated_rows if self.mapping.layout == "answers" else len(self.changes)
        return {
            "inserted": len(self.inserts),
            "updated": updated,
            "unchanged": self.unchanged,
            "rejected": len(self.rejections),
            "rows": self.rows,
            "derived_ids": self.derived_ids,
            "skipped_cells": len(self.skipped_cells),
        }


@dataclass
class ImportReport:
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    rows: int
    format: str
    source: str
    rejects_path: str | None
    pending_geocode: int
    run_id: int | None
    queued: int = 0  # review mode: submissions put in the review queue
    derived_ids: int = 0  # rows without an id, identified by a derived id
    skipped_cells: int = 0  # cells skipped (reported, kept in extra) while the row imported
    warnings: dict[str, int] = field(default_factory=dict)  # reason -> count
    # geodata: service areas naming no loaded area (対応地域を特定できません), and how the
    # imported rows were placed ({"file", "gazetteer", "pending", "dropped"})
    area_warnings: list[str] = field(default_factory=list)
    placed: dict[str, int] = field(default_factory=dict)
    untouched: int = 0  # review mode: template rows nobody changed or signed
    # why rows are still without a location (no gazetteer, geocoder unreachable, …) -> rows
    pending_reasons: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        """The four counts and the number of data rows read."""
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "rows": self.rows,
        }

    def json(self) -> dict[str, Any]:
        """The `--json` output: :meth:`summary` plus the warning counts and their reasons."""
        return {
            **self.summary(),
            "derived_ids": self.derived_ids,
            "skipped_cells": self.skipped_cells,
            "warnings": self.warnings,
            "area_warnings": self.area_warnings,
            "placed": self.placed,
            "pending_reasons": self.pending_reasons,
        }


class ReviewMode(Protocol):
    """Where a reviewed import's rows go instead of the registry (see ``import_file``)."""

    def screen(self, plan: ImportPlan) -> None:
        """Reject the rows the review queue does not take (in place)."""

    def queue(
        self, session: Session, plan: ImportPlan, *, actor: str, rejects_path: Path | None
    ) -> tuple[int, int]:
        """Write the plan to the queue; return (import run id, rows queued)."""
        ...


def record_rejections(
    session: Session,
    run_id: int,
    rejections: list[Rejection],
    *,
    replaces: tuple[str, str | None] | None = None,
) -> None:
    """Keep rejected rows with their reasons for the editor's dashboard.

    ``replaces=(filename, format)``: the rows kept from earlier runs of the same file and
    format are dropped first, so re-running an import replaces its rejects instead of
    adding the same rows again (the runs themselves, with their counts, stay).
    """
    if replaces is not None:
        earlier = select(ImportRun.id).where(
            ImportRun.filename == replaces[0],
            ImportRun.format == replaces[1],
            ImportRun.id != run_id,
        )
        session.execute(delete(RejectedRow).where(RejectedRow.import_run_id.in_(earlier)))
    if rejections:
        session.execute(
            RejectedRow.__table__.insert(),
            [
                {
                    "import_run_id": run_id,
                    "line": r.line,
                    "reason": r.reason,
                    "row": {k: v for k, v in r.row.items() if not k.startswith("@")},
                }
                for r in rejections
            ],
        )
