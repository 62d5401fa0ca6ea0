"""Per-user API tokens for the JSON finder: issued and revoked by an editor; no Flask.

A token is shown once when issued (``mst_`` + 43 URL-safe characters); the store keeps only
its SHA-256, so a copy of the database does not give access. A token acts as its user:
a revoked token, or one whose user is inactive, authenticates nobody.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mapsvc.core.errors import InvalidInput, NotFound
from mapsvc.core.models import ApiToken, User, utcnow
from mapsvc.core.registry import audit

PREFIX = "mst_"
USE_STAMP_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenUser:
    """Who a valid token speaks for."""

    user_id: int
    username: str
    role: str
    token_id: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, username: str, *, actor: str, label: str | None = None) -> str:
    """A new token for ``username`` (returned once, never stored in clear)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}", field="username")
    if not user.active:
        raise InvalidInput(f"user {username!r} is not active", field="username")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        token_hash=_digest(token),
        label=(label or "")[:200] or None,
        issued_by=actor,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor=actor,
        action="issue",
        entity="api_token",
        entity_id=str(row.id),
        after={"user": username, "label": row.label},
    )
    return token


def revoke_token(session: Session, token_id: int, *, actor: str) -> ApiToken:
    """Revoke a token by its id (listed by :func:`list_tokens`); revoking twice is a no-op."""
    row = session.get(ApiToken, int(token_id))
    if row is None:
        raise NotFound(f"no API token {token_id}", field="token_id")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit(session, actor=actor, action="revoke", entity="api_token", entity_id=str(row.id))
    return row


def list_tokens(session: Session) -> list[tuple[ApiToken, str]]:
    """Every token (newest first) with its user name; never the token itself."""
    rows = session.execute(
        select(ApiToken, User.username)
        .join(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.issued_at.desc(), ApiToken.id.desc())
    ).all()
    return [(token, name) for token, name in rows]


def token_user(session: Session, token: str) -> TokenUser | None:
    """The user a presented token speaks for, or None (unknown, revoked, inactive user)."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _digest(token))
    ).first()
    if row is None:
        return None
    api_token, user = row
    if api_token.revoked_at is not None or not user.active:
        return None
    now = utcnow()
    if api_token.last_used_at is None or now - api_token.last_used_at > USE_STAMP_EVERY:
        api_token.last_used_at = now  # once a minute at most: no write on every call
    return TokenUser(user.id, user.username, user.role, api_token.id)
