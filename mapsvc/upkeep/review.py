"""The editor's review queue: provider self-updates wait here until approved or rejected.

A :class:`~mapsvc.core.models.Submission` never changes the registry by itself. Approval
recomputes the change against the record as it is now, writes it through
:func:`mapsvc.core.registry.apply_changes` with ``confirm=True`` (audit row with before and
after, ``confirmed_at``/``confirmed_by``, generation bump) and marks the submission
approved. Approval is refused when it would overwrite a newer change: a later submission
for the same provider was already approved, or a field it changes was changed by someone
else after it was submitted. Rejection needs a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mapsvc.core.errors import Conflict, InvalidInput, NotFound
from mapsvc.core.models import AuditEntry, Provider, Submission, SurveyToken, utcnow
from mapsvc.core.registry import Change, apply_changes, audit, diff, provider_record
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.upkeep.review_diff import DiffRow, describe, moved_fields
from mapsvc.upkeep.survey_form import SURVEY_FIELDS, build_payload, validate_answers

ORIGINS = ("web", "template")
STATUSES = ("pending", "approved", "rejected")
# What a provider may change through the survey. Address and location stay with the
# editor (a new address needs geocoding); type, source and status come from the lists.
REVIEWABLE_FIELDS = frozenset({*SURVEY_FIELDS, "name", "kana", "capabilities", "service_area"})


class InvalidAnswers(InvalidInput):
    """Survey answers with problems; ``errors`` maps each input name to its message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        first = next(iter(errors))
        super().__init__(f"{first}: {errors[first]}", field=first, errors=dict(errors))
        self.errors = dict(errors)


def receive(
    session: Session,
    taxonomy: Taxonomy,
    provider: Provider,
    answers: Mapping[str, Any],
    *,
    origin: str = "web",
    token_id: str | None = None,
    now: datetime | None = None,
) -> Submission:
    """Validate a provider's answers and queue them for review (the registry is untouched).

    Raises
    ------
    InvalidAnswers
        Unknown capability, a capability that does not apply to the provider's type, an
        out-of-range value or a missing respondent; ``field`` names the first bad input.
    """
    incoming, errors = validate_answers(taxonomy, provider.type, answers)
    if errors:
        raise InvalidAnswers(errors)
    payload = build_payload(provider_record(provider), incoming, answers)
    return queue_submission(
        session,
        provider,
        payload,
        origin=origin,
        token_id=token_id,
        submitted_by=who_answered(payload["respondent"]),
        now=now,
    )


def who_answered(respondent: Mapping[str, str]) -> str | None:
    """「氏名（職名）」, or the name alone; None when nobody is named."""
    name, title = respondent.get("name") or "", respondent.get("title") or ""
    if name and title:
        return f"{name}（{title}）"
    return name or None


def queue_submission(
    session: Session,
    provider: Provider,
    payload: dict[str, Any],
    *,
    origin: str,
    submitted_by: str | None,
    token_id: str | None = None,
    now: datetime | None = None,
) -> Submission:
    """Store a pending submission (payload: ``changes``, ``base`` and context)."""
    if origin not in ORIGINS:
        raise InvalidInput(f"origin {origin!r} is not one of {', '.join(ORIGINS)}", field="origin")
    submission = Submission(
        provider_id=provider.id,
        token_id=token_id,
        origin=origin,
        submitted_at=now or utcnow(),
        submitted_by=(submitted_by or "")[:200] or None,
        payload=payload,
        status="pending",
    )
    session.add(submission)
    session.flush()
    return submission


def approval_problem(
    session: Session, submission: Submission, current: Mapping[str, Any]
) -> str | None:
    """Why this submission cannot be approved now, or None if it can."""
    if submission.status != "pending":
        return f"submission #{submission.id} is already {submission.status}"
    newer = session.scalar(
        select(Submission)
        .where(
            Submission.provider_id == submission.provider_id,
            Submission.status == "approved",
            (Submission.submitted_at > submission.submitted_at)
            | (
                (Submission.submitted_at == submission.submitted_at)
                & (Submission.id > submission.id)
            ),
        )
        .order_by(Submission.submitted_at.desc())
        .limit(1)
    )
    if newer is not None:
        return (
            f"submission #{submission.id} ({submission.submitted_at:%Y-%m-%d %H:%M} UTC) is older "
            f"than #{newer.id} ({newer.submitted_at:%Y-%m-%d %H:%M} UTC), which was already approved; "
            "approving it would overwrite the newer answers. Reject it, or send the provider a new link."
        )
    moved = moved_fields(current, submission.payload or {})
    if moved:
        last = session.scalar(
            select(AuditEntry)
            .where(
                AuditEntry.entity == "provider",
                AuditEntry.entity_id == current["id"],
                AuditEntry.at >= submission.submitted_at,
            )
            .order_by(AuditEntry.at.desc())
            .limit(1)
        )
        by = f" by {last.actor} ({last.action}, {last.at:%Y-%m-%d %H:%M} UTC)" if last else ""
        return (
            f"{', '.join(moved)} changed after submission #{submission.id} was made{by}; "
            "approving it would overwrite the newer change. Reject it, or send the provider a new link."
        )
    return None


def link_warning(session: Session, submission: Submission, now: datetime) -> str | None:
    """Why the link the submission came through is no longer good (revoked or expired).

    Such a submission stays in the queue, flagged; approving it needs an explicit
    confirmation (``approve(..., confirm_link=True)``): the link may have leaked.
    """
    if not submission.token_id:
        return None
    token = session.get(SurveyToken, submission.token_id)
    if token is None:
        return "the survey link this answer came through no longer exists"
    if token.revoked_at is not None:
        return f"the survey link this answer came through was revoked on {token.revoked_at:%Y-%m-%d %H:%M} UTC"
    if token.expires_at < now:
        return f"the survey link this answer came through expired on {token.expires_at:%Y-%m-%d}"
    return None


# ---- the queue ------------------------------------------------------------------------------


@dataclass
class QueueEntry:
    submission: Submission
    rows: list[DiffRow]
    problem: str | None
    link_warning: str | None = None  # revoked or expired link: approval needs a confirmation


@dataclass
class ProviderQueue:
    """The submissions of one provider, oldest first."""

    provider: dict[str, Any]
    entries: list[QueueEntry] = field(default_factory=list)


def review_queue(
    session: Session,
    taxonomy: Taxonomy,
    *,
    status: str = "pending",
    provider_uid: str | None = None,
    lang: str = "ja",
    limit: int = 500,
) -> list[ProviderQueue]:
    """Submissions grouped by provider (providers with the oldest waiting first).

    Each entry has its diff rows (value now → proposed) and, for pending ones, the reason
    approval would be refused (None when it can be approved).
    """
    if status not in STATUSES:
        raise InvalidInput(f"status {status!r} is not one of {', '.join(STATUSES)}", field="status")
    stmt = (
        select(Submission, Provider)
        .join(Provider, Provider.id == Submission.provider_id)
        .where(Submission.status == status)
        .order_by(Submission.submitted_at, Submission.id)
    )
    if status != "pending":
        stmt = stmt.order_by(None).order_by(Submission.reviewed_at.desc(), Submission.id.desc())
    if provider_uid:
        stmt = stmt.where(Provider.uid == provider_uid)
    groups: dict[int, ProviderQueue] = {}
    for submission, provider in session.execute(stmt.limit(limit)):
        group = groups.get(provider.id)
        if group is None:
            group = groups[provider.id] = ProviderQueue(provider_record(provider))
        current = group.provider
        group.entries.append(
            QueueEntry(
                submission,
                describe(taxonomy, current, submission.payload or {}, lang),
                approval_problem(session, submission, current) if status == "pending" else None,
                link_warning(session, submission, utcnow()) if status == "pending" else None,
            )
        )
    return list(groups.values())


def pending_count(session: Session) -> int:
    """Submissions waiting for an editor."""
    return int(
        session.scalar(
            select(func.count()).select_from(Submission).where(Submission.status == "pending")
        )
        or 0
    )


def _load(session: Session, submission_id: int, lock: bool = False) -> tuple[Submission, Provider]:
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound(f"no submission #{submission_id}", field="submission")
    # approving locks the provider row (PostgreSQL), so two editors approving two answers
    # of one provider at the same moment are serialised and the newer-change check holds
    provider = session.get(Provider, submission.provider_id, with_for_update=lock)
    if provider is None:  # pragma: no cover - rows cascade with their provider
        raise NotFound(f"submission #{submission_id} has no provider", field="submission")
    return submission, provider


def _close(
    session: Session,
    submission: Submission,
    status: str,
    actor: str,
    reason: str | None,
    now: datetime,
) -> None:
    updated = session.execute(
        update(Submission)
        .where(Submission.id == submission.id, Submission.status == "pending")
        .values(status=status, reviewed_by=actor, reviewed_at=now, reason=reason)
    ).rowcount  # type: ignore[attr-defined]
    if updated != 1:
        raise Conflict(f"submission #{submission.id} was already reviewed", field="submission")
    session.refresh(submission)


def approve(
    session: Session,
    submission_id: int,
    *,
    actor: str,
    now: datetime | None = None,
    confirm_link: bool = False,
) -> Change:
    """Apply a pending submission to its provider and confirm the record.

    Returns
    -------
    Change
        What was written (also in the audit log, action ``review.approve``).

    Raises
    ------
    NotFound
        No such submission.
    Conflict
        Already reviewed, or it would overwrite a newer change (the message says which), or
        the link was revoked or has expired and ``confirm_link`` is not set.
    """
    now = now or utcnow()
    submission, provider = _load(session, submission_id, lock=True)
    current = provider_record(provider)
    problem = approval_problem(session, submission, current)
    if problem:
        raise Conflict(problem, field="submission")
    warning = link_warning(session, submission, now)
    if warning and not confirm_link:
        raise Conflict(
            f"{warning}; tick the confirmation to approve it anyway", field="confirm_link"
        )
    changes = dict((submission.payload or {}).get("changes") or {})
    outside = sorted(set(changes) - REVIEWABLE_FIELDS)
    if outside:
        raise InvalidInput(
            f"submission #{submission.id} changes {', '.join(outside)}, which providers cannot "
            "change through the survey; reject it",
            field="submission",
        )
    before, after = diff(current, changes)
    change = Change(provider.id, provider.uid, before, after, current)
    _close(session, submission, "approved", actor, None, now)
    apply_changes(session, [change], actor=actor, action="review.approve", confirm=True)
    audit(
        session,
        actor=actor,
        action="submission.approve",
        entity="submission",
        entity_id=str(submission.id),
        before={"status": "pending"},
        after={
            "status": "approved",
            "provider": provider.uid,
            "origin": submission.origin,
            **({"link_warning": warning} if warning else {}),
        },
    )
    return change


def reject(
    session: Session,
    submission_id: int,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> Submission:
    """Reject a pending submission with a reason (the registry is untouched).

    Raises
    ------
    InvalidInput
        Empty reason (``field="reason"``).
    NotFound, Conflict
        No such submission, or it was already reviewed.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("a rejection needs a reason", field="reason")
    if len(reason) > 1000:
        raise InvalidInput("reason is longer than 1000 characters", field="reason")
    now = now or utcnow()
    submission, provider = _load(session, submission_id)
    _close(session, submission, "rejected", actor, reason, now)
    audit(
        session,
        actor=actor,
        action="submission.reject",
        entity="submission",
        entity_id=str(submission.id),
        before={"status": "pending"},
        after={"status": "rejected", "provider": provider.uid, "reason": reason},
    )
    return submission
