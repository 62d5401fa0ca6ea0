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

from sqlalchemy.orm import Session

from mapsvc.core.models import RejectedRow
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
    # geodata hooks: service areas naming no loaded area (対応地域を特定できません), and how
    # the imported rows were placed ({"file", "gazetteer", "pending", "dropped"})
    warnings: list[str] = field(default_factory=list)
    placed: dict[str, int] = field(default_factory=dict)
    untouched: int = 0  # review mode: template rows nobody changed or signed

    def summary(self) -> dict[str, int]:
        """The four counts and the number of data rows read (the `--json` output)."""
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "rows": self.rows,
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


def record_rejections(session: Session, run_id: int, rejections: list[Rejection]) -> None:
    """Keep rejected rows with their reasons for the editor's dashboard."""
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
