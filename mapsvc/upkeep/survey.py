"""Survey links (追加調査): signed, expiring, revocable update links, one provider each.

A link is ``<base-url>/survey/<token>``. The token is an itsdangerous signature (over the
app's SECRET_KEY, with its own salt) of a random :class:`~mapsvc.core.models.SurveyToken` id.
The row decides validity: the token works only for the row's provider, only until
``expires_at`` (``SURVEY_TOKEN_DAYS`` after issue) and never after ``revoked_at``. A token
whose signature does not verify is refused before the store is asked.

Because validity lives in the row, a link can be printed again later (mail merge, FAX)
from the token id without issuing a new one. Link lists hold live links: editors only.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from mapsvc.core.errors import InvalidInput, MapsvcError, NotFound
from mapsvc.core.models import Provider, SurveyToken, utcnow
from mapsvc.core.registry import audit

TOKEN_SALT = "mapsvc.upkeep.survey-link.v1"
ACTIVE, EXPIRED, REVOKED = "active", "expired", "revoked"
MAX_LINK_DAYS = 365


class SurveyLinkError(MapsvcError):
    """A survey link that cannot be used; ``reason`` is tampered, unknown, expired, revoked
    or provider. The message is safe to show to whoever holds the link."""

    status = 403
    code = "invalid_link"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, field="token")
        self.reason = reason
        if reason in (EXPIRED, REVOKED):
            self.status = 410


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    if not secret_key:
        raise MapsvcError("SECRET_KEY is empty; survey links cannot be signed")
    return URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)


def sign(secret_key: str, token_id: str) -> str:
    """The URL-safe signed token for a token id."""
    return str(_serializer(secret_key).dumps(token_id))


def unsign(secret_key: str, signed: str) -> str:
    """The token id inside a signed token.

    Raises
    ------
    SurveyLinkError
        ``reason="tampered"``: the signature does not verify (altered, truncated, or
        signed with another key).
    """
    try:
        token_id = _serializer(secret_key).loads(signed)
    except BadSignature:
        raise SurveyLinkError(
            "このリンクは無効です（URLが途中で切れていないかご確認ください）。"
            " This link is not valid.",
            reason="tampered",
        ) from None
    if not isinstance(token_id, str):
        raise SurveyLinkError("このリンクは無効です。 This link is not valid.", reason="tampered")
    return token_id


def link_url(base_url: str, signed: str) -> str:
    """``<base_url>/survey/<signed>``."""
    return f"{base_url.rstrip('/')}/survey/{signed}"


def link_days(days: int) -> int:
    """``days`` if a link may stay valid that long (1 to :data:`MAX_LINK_DAYS`).

    Raises
    ------
    InvalidInput
        Out of range (``field="days"``).
    """
    if not 0 < days <= MAX_LINK_DAYS:
        raise InvalidInput(
            f"days {days} must be a whole number from 1 to {MAX_LINK_DAYS}", field="days"
        )
    return days


def token_status(token: SurveyToken, now: datetime) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if token.revoked_at is not None:
        return REVOKED
    if token.expires_at <= now:
        return EXPIRED
    return ACTIVE


def active_clause(now: datetime) -> ColumnElement[bool]:
    """SQL twin of :func:`token_status` ``== ACTIVE``: not revoked and not yet expired."""
    return and_(SurveyToken.revoked_at.is_(None), SurveyToken.expires_at > now)


def _revoke(
    session: Session, token: SurveyToken, actor: str, now: datetime, reason: str | None = None
) -> None:
    token.revoked_at = now
    after: dict[str, Any] = {"revoked_at": now}
    if reason:
        after["reason"] = reason
    audit(
        session,
        actor=actor,
        action="survey.revoke",
        entity="survey_token",
        entity_id=token.id,
        before={"revoked_at": None},
        after=after,
    )


def resolve(
    session: Session,
    secret_key: str,
    signed: str,
    *,
    now: datetime | None = None,
    provider_uid: str | None = None,
    touch: bool = True,
) -> tuple[SurveyToken, Provider]:
    """The token row and its provider for a signed token, if the link may be used now.

    Parameters
    ----------
    session
        Open store session.
    secret_key
        The app's SECRET_KEY.
    signed
        The token from the link.
    now
        Current time (naive UTC); default now.
    provider_uid
        When the caller names a provider (a form's hidden field, an API path), the token
        must belong to exactly that provider.
    touch
        Record ``last_used_at``.

    Raises
    ------
    SurveyLinkError
        Tampered, unknown, expired, revoked, or for another provider.
    """
    now = now or utcnow()
    token_id = unsign(secret_key, signed)
    token = session.get(SurveyToken, token_id)
    if token is None:
        raise SurveyLinkError("このリンクは無効です。 This link is not valid.", reason="unknown")
    status = token_status(token, now)
    if status == REVOKED:
        raise SurveyLinkError(
            "このリンクは取り消されました。お手数ですが市の担当者にお問い合わせください。"
            " This link was withdrawn; please contact the municipality.",
            reason=REVOKED,
        )
    if status == EXPIRED:
        raise SurveyLinkError(
            "このリンクの有効期限が切れています。お手数ですが市の担当者にお問い合わせください。"
            " This link has expired; please contact the municipality.",
            reason=EXPIRED,
        )
    provider = session.get(Provider, token.provider_id)
    if provider is None:
        raise SurveyLinkError("このリンクは無効です。 This link is not valid.", reason="unknown")
    if provider_uid is not None and provider.uid != provider_uid:
        raise SurveyLinkError(
            "このリンクは別の事業所のものです。 This link belongs to another provider.",
            reason="provider",
        )
    if touch:
        token.last_used_at = now
    return token, provider


@dataclass
class IssuedLink:
    """One row of a link list (mail merge / FAX)."""

    token_id: str
    provider_uid: str
    name: str
    type: str
    address: str | None
    fax: str | None
    email: str | None
    contact_person: str | None
    expires_at: datetime
    url: str


def issue_token(
    session: Session,
    provider: Provider,
    *,
    actor: str,
    days: int,
    now: datetime | None = None,
    replace: bool = True,
) -> SurveyToken:
    """Create a token for one provider, valid ``days`` days; audit-logged.

    With ``replace`` (default) the provider's other active links are revoked, so each
    provider has one live link at a time.
    """
    link_days(days)
    now = now or utcnow()
    if replace:
        earlier = session.scalars(
            select(SurveyToken).where(SurveyToken.provider_id == provider.id, active_clause(now))
        ).all()
        for old in earlier:
            _revoke(session, old, actor, now, "replaced by a new link")
    token = SurveyToken(
        id=secrets.token_hex(16),
        provider_id=provider.id,
        issued_at=now,
        expires_at=now + timedelta(days=days),
        issued_by=actor,
    )
    session.add(token)
    audit(
        session,
        actor=actor,
        action="survey.issue",
        entity="survey_token",
        entity_id=token.id,
        after={"provider": provider.uid, "expires_at": token.expires_at},
    )
    return token


def issued_link(
    provider: Provider, token: SurveyToken, secret_key: str, base_url: str
) -> IssuedLink:
    """The mail-merge row for a token (the link is signed again from the token id)."""
    return IssuedLink(
        token_id=token.id,
        provider_uid=provider.uid,
        name=provider.name,
        type=provider.type,
        address=provider.address,
        fax=provider.fax,
        email=provider.email,
        contact_person=provider.contact_person,
        expires_at=token.expires_at,
        url=link_url(base_url, sign(secret_key, token.id)),
    )


def issue_links(
    session: Session,
    providers: Iterable[Provider],
    *,
    secret_key: str,
    base_url: str,
    actor: str,
    days: int,
    now: datetime | None = None,
    replace: bool = True,
) -> list[IssuedLink]:
    """Issue one link per provider (see :func:`issue_token`) and return the link list."""
    link_days(days)  # also when no provider was chosen
    now = now or utcnow()
    out: list[IssuedLink] = []
    for provider in providers:
        token = issue_token(session, provider, actor=actor, days=days, now=now, replace=replace)
        out.append(issued_link(provider, token, secret_key, base_url))
    session.flush()
    return out


def revoke(
    session: Session,
    *,
    actor: str,
    token_id: str | None = None,
    provider_uid: str | None = None,
    now: datetime | None = None,
) -> int:
    """Revoke one token, or every active token of a provider. Returns how many.

    Raises
    ------
    InvalidInput
        Neither or both of ``token_id`` and ``provider_uid`` given.
    NotFound
        No such token or provider.
    """
    if (token_id is None) == (provider_uid is None):
        raise InvalidInput("give a token id or a provider id", field="token")
    now = now or utcnow()
    if token_id is not None:
        token = session.get(SurveyToken, token_id)
        if token is None:
            raise NotFound(f"no survey link with id {token_id}", field="token")
        tokens = [token] if token.revoked_at is None else []
    else:
        provider = session.scalar(select(Provider).where(Provider.uid == provider_uid))
        if provider is None:
            raise NotFound(f"no provider with id {provider_uid}", field="provider")
        tokens = list(
            session.scalars(
                select(SurveyToken).where(
                    SurveyToken.provider_id == provider.id, SurveyToken.revoked_at.is_(None)
                )
            )
        )
    for token in tokens:
        _revoke(session, token, actor, now)
    return len(tokens)


def active_links(
    session: Session,
    *,
    secret_key: str,
    base_url: str,
    now: datetime | None = None,
    provider_ids: Sequence[int] | None = None,
) -> list[IssuedLink]:
    """Every active link (optionally of some providers), for printing again."""
    now = now or utcnow()
    stmt = (
        select(SurveyToken, Provider)
        .join(Provider, Provider.id == SurveyToken.provider_id)
        .where(active_clause(now))
        .order_by(Provider.type, Provider.name, SurveyToken.issued_at)
    )
    if provider_ids is not None:
        stmt = stmt.where(SurveyToken.provider_id.in_(list(provider_ids)))
    return [issued_link(p, t, secret_key, base_url) for t, p in session.execute(stmt)]


def tokens_overview(
    session: Session, *, now: datetime | None = None, status: str | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Tokens newest first with provider and status, for the admin list."""
    now = now or utcnow()
    stmt = (
        select(SurveyToken, Provider)
        .join(Provider, Provider.id == SurveyToken.provider_id)
        .order_by(SurveyToken.issued_at.desc(), SurveyToken.id)
    )
    if status == ACTIVE:
        stmt = stmt.where(active_clause(now))
    elif status == REVOKED:
        stmt = stmt.where(SurveyToken.revoked_at.is_not(None))
    elif status == EXPIRED:
        stmt = stmt.where(SurveyToken.revoked_at.is_(None), SurveyToken.expires_at <= now)
    elif status:
        raise InvalidInput(f"status {status!r} is not active, expired or revoked", field="status")
    rows = []
    for token, provider in session.execute(stmt.limit(limit)):
        rows.append(
            {
                "token_id": token.id,
                "provider_uid": provider.uid,
                "name": provider.name,
                "type": provider.type,
                "issued_at": token.issued_at,
                "issued_by": token.issued_by,
                "expires_at": token.expires_at,
                "last_used_at": token.last_used_at,
                "revoked_at": token.revoked_at,
                "status": token_status(token, now),
            }
        )
    return rows
