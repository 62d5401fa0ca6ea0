"""User accounts and roles (professional, planner, editor); no Flask here."""

from __future__ import annotations

import functools
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from mapsvc.core.errors import Conflict, InvalidInput
from mapsvc.core.models import User
from mapsvc.core.passwords import check_password, hash_password
from mapsvc.core.registry import audit

ROLES = ("professional", "planner", "editor")
# What each role may open: editors can do everything planners and professionals can.
ROLE_ACCESS = {
    "professional": {"professional"},
    "planner": {"professional", "planner"},
    "editor": {"professional", "planner", "editor"},
}
MIN_PASSWORD_LENGTH = 10


def add_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    actor: str = "cli",
    display_name: str | None = None,
) -> User:
    """Create a user with a hashed password.

    Raises
    ------
    InvalidInput
        Unknown role, empty user name or a password shorter than 10 characters.
    Conflict
        The user name is taken.
    """
    username = username.strip()
    if not username:
        raise InvalidInput("user name is empty", field="username")
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(ROLES)}", field="role")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} already exists", field="username")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name,
    )
    session.add(user)
    session.flush()
    audit(
        session,
        actor=actor,
        action="user.add",
        entity="user",
        entity_id=username,
        after={"username": username, "role": role},
    )
    return user


def set_role(session: Session, username: str, role: str, *, actor: str) -> User:
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(ROLES)}", field="role")
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise InvalidInput(f"no user {username!r}", field="username")
    before = {"role": user.role}
    user.role = role
    end_sessions(user)
    audit(
        session,
        actor=actor,
        action="user.role",
        entity="user",
        entity_id=username,
        before=before,
        after={"role": role},
    )
    return user


def end_sessions(user: User) -> None:
    """Invalidate every session of ``user`` (logout, password or role change)."""
    user.session_version = (user.session_version or 0) + 1


def set_password(session: Session, username: str, password: str, *, actor: str) -> User:
    """Replace a user's password; every existing session of the user ends.

    Raises
    ------
    InvalidInput
        No such user, or a password shorter than 10 characters.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise InvalidInput(f"no user {username!r}", field="username")
    user.password_hash = hash_password(password)
    end_sessions(user)
    audit(session, actor=actor, action="user.password", entity="user", entity_id=username)
    return user


@functools.cache
def dummy_hash() -> str:
    """A hash to check unknown user names against, so they cost what known ones do."""
    return hash_password(secrets.token_hex(16))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, else None (same cost either way)."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.active:
        check_password(dummy_hash(), password)  # one hash, as for a known user
        return None
    return user if check_password(user.password_hash, password) else None


def can_access(role: str | None, area: str) -> bool:
    return role is not None and area in ROLE_ACCESS.get(role, set())
