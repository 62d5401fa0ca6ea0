"""Review mode of the importer: returned survey templates go to the review queue.

:func:`import_returns` (``mapsvc import FILE --review``, the admin upload)
plans the import as usual, then, instead of writing the registry, turns every row that
names an existing provider into a pending :class:`~mapsvc.core.models.Submission` (origin
``template``): its changes against the current record, or none when the respondent signed
the row (回答者氏名/職名: the provider confirmed the record as it is). A row nobody changed
or signed — most rows of a whole-type template sent back with one edited row — is
**untouched**: not queued, counted in the report. Nothing reaches the registry before an
editor approves.

Rejected, with the reason in the rejects file and the import report: rows for providers
not in the registry, and rows that change what providers cannot change through the
survey (address, location, type, status, confirmation; see
:data:`mapsvc.upkeep.review.REVIEWABLE_FIELDS`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mapsvc.core.codes import header_key, nfkc
from mapsvc.core.db import Store
from mapsvc.core.models import ImportRun, Provider, utcnow
from mapsvc.core.registry import Change, jsonable
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.ingest.importer import import_file
from mapsvc.ingest.plan import ImportPlan, ImportReport, Rejection, record_rejections
from mapsvc.upkeep.review import REVIEWABLE_FIELDS, queue_submission, who_answered

# Optional template columns the generic format does not read: who filled the row in.
RESPONDENT_HEADERS = {
    "name": ("respondent_name", "回答者氏名", "回答者"),
    "title": ("respondent_title", "回答者職名", "職名"),
}


def _same_text(a: Any, b: Any) -> bool:
    """Equal once strings are NFKC (the importer normalises cells; older records may not be)."""
    if isinstance(a, str) and isinstance(b, str):
        return nfkc(a) == nfkc(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_text(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_text(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _drop_width_only(change: Change) -> None:
    """Remove "changes" that differ only in character width (（ vs (, full-width digits)."""
    for key in [k for k in change.after if k != "capabilities"]:
        if _same_text(change.before.get(key), change.after[key]):
            del change.after[key]
            change.before.pop(key, None)
    caps_after = change.after.get("capabilities") or {}
    caps_before = change.before.get("capabilities") or {}
    for key in [k for k in caps_after if _same_text(caps_before.get(k), caps_after[k])]:
        del caps_after[key]
        caps_before.pop(key, None)
    if "capabilities" in change.after and not caps_after:
        del change.after["capabilities"]
        change.before.pop("capabilities", None)


def screen_for_review(plan: ImportPlan) -> None:
    """Reject (in ``plan``) rows whose changes touch fields outside the survey.

    Differences only in character width are not changes (a record stored before NFKC
    normalisation reads back NFKC from its template).
    """
    rows = {uid: (line, row) for line, uid, row in plan.matched}
    kept = []
    refused: set[str] = set()
    for change in plan.changes:
        _drop_width_only(change)
        if not change.after:
            continue
        outside = sorted(k for k in change.after if k not in REVIEWABLE_FIELDS)
        if not outside:
            kept.append(change)
            continue
        line, row = rows[change.uid]
        plan.rejections.append(
            Rejection(
                line,
                f"{', '.join(outside)} cannot be changed through the survey "
                "(the editor changes them in the registry)",
                row,
            )
        )
        refused.add(change.uid)
    plan.changes = kept
    plan.matched = [m for m in plan.matched if m[1] not in refused]
    plan.rejections.sort(key=lambda r: r.line)


def _respondent(row: dict[str, str]) -> dict[str, str]:
    keys = {header_key(k): v for k, v in row.items()}
    out = {}
    for part, headers in RESPONDENT_HEADERS.items():
        out[part] = next(
            ((keys.get(header_key(h)) or "").strip() for h in headers if keys.get(header_key(h))),
            "",
        )
    return out


def queue_plan(
    session: Session, plan: ImportPlan, *, actor: str, rejects_path: Path | None
) -> tuple[int, int]:
    """Write a screened plan to the review queue; return (import run id, submissions).

    The import run is recorded with status ``review`` and counts ``queued`` (all
    submissions), ``changes`` (submissions that change something), ``confirmations``
    (signed rows identical to the record), ``untouched`` (rows nobody changed or signed:
    not queued), ``rejected`` and ``rows``.
    """
    changes = {c.uid: c for c in plan.changes}
    run = ImportRun(
        actor=actor,
        filename=str(plan.path),
        format=plan.mapping.name,
        status="review",
        counts={},
        rejects_path=str(rejects_path) if rejects_path else None,
    )
    session.add(run)
    session.flush()
    uids = [m[1] for m in plan.matched]
    providers: dict[str, Provider] = {}
    for start in range(0, len(uids), 500):
        stmt = select(Provider).where(Provider.uid.in_(uids[start : start + 500]))
        providers.update({p.uid: p for p in session.scalars(stmt)})
    queued = untouched = 0
    for line, uid, row in plan.matched:
        change = changes.get(uid)
        respondent = _respondent(row)
        if change is None and not any(respondent.values()):
            # nobody changed or signed this row of a whole-type template: not a confirmation
            untouched += 1
            continue
        payload: dict[str, Any] = {
            "changes": jsonable(change.after) if change else {},
            "base": jsonable(change.before) if change else {},
            "respondent": respondent,
            "comment": "",
            "import_run_id": run.id,
            "file": plan.path.name,
            "line": line,
        }
        queue_submission(
            session,
            providers[uid],
            payload,
            origin="template",
            submitted_by=who_answered(respondent) or f"{actor}: {plan.path.name} line {line}",
        )
        queued += 1
    record_rejections(session, run.id, plan.rejections)
    run.counts = {
        "queued": queued,
        "changes": len(changes),
        "confirmations": queued - len(changes),
        "untouched": untouched,
        "rejected": len(plan.rejections),
        "rows": plan.rows,
    }
    plan.untouched = untouched
    run.finished_at = utcnow()
    return run.id, queued


class _TemplateReturns:
    """The importer's review mode for returned survey templates."""

    def screen(self, plan: ImportPlan) -> None:
        screen_for_review(plan)

    def queue(
        self, session: Session, plan: ImportPlan, *, actor: str, rejects_path: Path | None
    ) -> tuple[int, int]:
        return queue_plan(session, plan, actor=actor, rejects_path=rejects_path)


TEMPLATE_RETURNS = _TemplateReturns()


def import_returns(
    store: Store, path: Path | str, taxonomy: Taxonomy, **options: Any
) -> ImportReport:
    """Import returned survey templates into the review queue (``import_file`` options)."""
    return import_file(store, path, taxonomy, review=TEMPLATE_RETURNS, **options)
