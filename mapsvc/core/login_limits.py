"""Login rate limits, counted in the store so every worker process shares them.

Four counters over LOGIN_WINDOW_SECONDS, each a set of ``LoginAttempt`` rows (the key is a
SHA-256, so no user name or address is stored in clear):

- per user name and source address: LOGIN_ATTEMPTS, then that address waits the window out;
- per source address (any user name): LOGIN_ADDRESS_ATTEMPTS;
- global (every address): LOGIN_GLOBAL_ATTEMPTS;
- per user name (any address): no hard lockout, a growing delay instead — after
  LOGIN_ATTEMPTS failures, 1, 2, 4 … seconds (at most LOGIN_USER_DELAY_MAX_SECONDS) between
  tries — so failures from one address never lock the real user out from another.

Atomic: an attempt is written (and committed) *before* the counters are read
(:func:`begin_attempt`, then :func:`verdict`), so concurrent attempts all see each other and
none slips through between a check and an insert. A successful login deletes its rows and
the user's failures from that address (:func:`succeeded`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mapsvc.core.models import LoginAttempt, utcnow

GLOBAL = "global"


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def attempt_keys(username: str, remote: str) -> dict[str, str]:
    name = username.strip().lower()
    return {
        "pair": _key("pair", name, remote),
        "user": _key("user", name),
        "address": _key("address", remote),
        "global": _key(GLOBAL),
    }


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds
    reason: str = ""


def begin_attempt(session: Session, username: str, remote: str) -> list[int]:
    """Write this attempt under every key; returns the row ids (commit before :func:`verdict`)."""
    rows = [LoginAttempt(key=k) for k in attempt_keys(username, remote).values()]
    session.add_all(rows)
    session.flush()
    return [r.id for r in rows]


def verdict(
    session: Session, username: str, remote: str, mine: list[int], config: Mapping[str, Any]
) -> Verdict:
    """May this attempt go on to the password check?"""
    window = int(config["LOGIN_WINDOW_SECONDS"])
    now = utcnow()
    since = now - timedelta(seconds=window)
    keys = attempt_keys(username, remote)

    def count(key: str) -> int:
        return int(
            session.scalar(
                select(func.count())
                .select_from(LoginAttempt)
                .where(LoginAttempt.key == key, LoginAttempt.at >= since)
            )
            or 0
        )

    limits = (
        ("pair", int(config["LOGIN_ATTEMPTS"])),
        ("address", int(config["LOGIN_ADDRESS_ATTEMPTS"])),
        ("global", int(config["LOGIN_GLOBAL_ATTEMPTS"])),
    )
    for name, limit in limits:
        if count(keys[name]) > limit:  # this attempt's own row included
            return Verdict(False, window, name)
    earlier = session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            LoginAttempt.key == keys["user"],
            LoginAttempt.at >= since,
            LoginAttempt.id.not_in(mine),
        )
    ).one()
    failures, last = int(earlier[0] or 0), earlier[1]
    free = int(config["LOGIN_ATTEMPTS"])
    if failures >= free and last is not None:
        wait = min(2.0 ** (failures - free), float(config["LOGIN_USER_DELAY_MAX_SECONDS"]))
        waited = (now - last).total_seconds()
        if waited < wait:
            return Verdict(False, max(1, int(wait - waited + 0.999)), "user")
    return Verdict(True)


def succeeded(session: Session, username: str, remote: str, mine: list[int]) -> None:
    """A good password: this attempt and the user's failures from this address are forgotten."""
    keys = attempt_keys(username, remote)
    session.execute(delete(LoginAttempt).where(LoginAttempt.id.in_(mine)))
    session.execute(delete(LoginAttempt).where(LoginAttempt.key == keys["pair"]))


def prune(session: Session, config: Mapping[str, Any]) -> None:
    """Drop rows far outside the window."""
    old = utcnow() - timedelta(seconds=int(config["LOGIN_WINDOW_SECONDS"]) * 4)
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < old))
