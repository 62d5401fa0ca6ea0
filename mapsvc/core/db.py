"""Engine, sessions and migrations of the store.

SQLite (one file in the instance folder) by default; PostgreSQL through
``MAPSVC_DATABASE_URL=postgresql+psycopg://...``. The schema is created and upgraded by
Alembic (:func:`upgrade`), never by ``create_all``, so both back-ends follow one history.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mapsvc.core.errors import StoreBusy
from mapsvc.core.models import StoreState

BUSY_TIMEOUT_S = 30.0  # how long an SQLite writer waits for another one before StoreBusy

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
# Japanese text stays readable in the store (and the JSON is a third smaller).
_json_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT_S}, json_serializer=_json_dumps, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True, json_serializer=_json_dumps, **kwargs)


class Store:
    """One store: an engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error.

        A store locked by another writer past the busy timeout (SQLite's "database is
        locked") becomes :class:`~mapsvc.core.errors.StoreBusy`, one clear message.
        """
        try:
            with self.sessions() as session, session.begin():
                yield session
        except OperationalError as exc:
            if "locked" not in str(exc.orig).lower():
                raise
            raise StoreBusy(
                "the store is busy: another mapsvc command is writing to it "
                "(for example `mapsvc service-areas` or an import); try again when it has "
                "finished",
                field="store",
            ) from None

    def is_initialised(self) -> bool:
        return inspect(self.engine).has_table("providers")

    def upgrade(self) -> None:
        upgrade(self.engine)

    def generation(self) -> int:
        """Counter bumped by every provider change (see :func:`bump_generation`)."""
        with self.engine.connect() as conn:
            value = conn.execute(
                select(StoreState.value).where(StoreState.key == "providers")
            ).scalar()
        return int(value or 0)

    def dispose(self) -> None:
        self.engine.dispose()


def bump_generation(session: Session) -> None:
    """Mark the providers as changed, inside the caller's transaction."""
    updated = session.execute(
        update(StoreState).where(StoreState.key == "providers").values(value=StoreState.value + 1)
    ).rowcount  # type: ignore[attr-defined]
    if not updated:
        session.add(StoreState(key="providers", value=1))


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision`` with Alembic."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)
