"""One import at a time per store: a second one gets a clear message, never a traceback.

PostgreSQL: a transaction-level advisory lock (``pg_try_advisory_xact_lock``, keyed by the
store's schema), released when the import's transaction ends. SQLite: an exclusive ``flock`` on ``<database>.import.lock``
beside the database file (in-memory databases have no other writer).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from mapsvc.core.errors import ImportFailed

ADVISORY_KEY = 0x6D617073  # "maps"
BUSY = "another import is running; try again when it has finished (nothing was written)"


@contextlib.contextmanager
def import_lock(session: Session) -> Iterator[None]:
    """Hold the store's import lock for the ``with`` block (inside the import's transaction).

    Raises
    ------
    ImportFailed
        Another import holds the lock.
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # keyed by the schema too: stores in other schemas of one database do not collide
        got = session.execute(
            text("SELECT pg_try_advisory_xact_lock(:k, hashtext(current_schema()))"),
            {"k": ADVISORY_KEY},
        )
        if not got.scalar():
            raise ImportFailed(BUSY)
        yield
        return
    database = bind.engine.url.database
    if bind.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    import fcntl

    lock_path = Path(f"{database}.import.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ImportFailed(BUSY) from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
