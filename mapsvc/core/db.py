"""Engine, sessions and migrations of the store.

SQLite (one file in the instance folder) by default; PostgreSQL through
``MAPSVC_DATABASE_URL=postgresql+psycopg://...``. The schema is created and upgraded by
Alembic (:func:`upgrade`), never by ``create_all``, so both back-ends follow one history.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    Table,
    create_engine,
    event,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mapsvc.core.errors import StoreBusy
from mapsvc.core.models import StoreState

BUSY_TIMEOUT_S = 30.0  # how long an SQLite writer waits for another one before StoreBusy

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
# What in-process caches depend on, each with its own counter (a row of ``store_state``):
# a population import must not rebuild the provider index, an edit must not drop the
# planner's road caches.
GENERATION_KINDS = ("providers", "areas", "population", "networks")
# Japanese text stays readable in the store (and the JSON is a third smaller).
# One encoder for every value: what ``json.dumps(value, ensure_ascii=False,
# separators=(",", ":"))`` returns, without building an encoder per call (store values are
# plain trees, never circular).
_json_dumps = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), check_circular=False
).encode
encode_json = _json_dumps  # how the store writes a JSON value (bulk writers encode ahead)


class EncodedJSON:
    """A JSON column's value already encoded with :func:`encode_json`: :func:`bulk_insert`
    stores the text as it is (a writer that has the encoding of a part at hand, such as
    the capabilities inside an audit row, need not encode it twice)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


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

    def generation(self, *kinds: str) -> int:
        """A number that changes whenever one of ``kinds`` changes (default: any kind).

        The sum of the kinds' counters (see :func:`bump_generation`): each only grows, so
        the sum is unchanged exactly when none of them changed. One small query.
        """
        return sum(self.generations(*kinds).values())

    def generations(self, *kinds: str) -> dict[str, int]:
        """Each kind's counter (0 for a kind never bumped); default: every kind."""
        kinds = kinds or GENERATION_KINDS
        for kind in kinds:
            _check_kind(kind)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(StoreState.key, StoreState.value).where(StoreState.key.in_(kinds))
            ).all()
        found = {str(k): int(v or 0) for k, v in rows}
        return {kind: found.get(kind, 0) for kind in kinds}

    def dispose(self) -> None:
        self.engine.dispose()


def _check_kind(kind: str) -> None:
    if kind not in GENERATION_KINDS:
        raise ValueError(f"unknown generation kind {kind!r}; known: {', '.join(GENERATION_KINDS)}")


def bump_generation(session: Session, kind: str = "providers") -> int:
    """Mark one kind of data (``GENERATION_KINDS``) as changed, in the caller's transaction;
    returns the kind's new counter (the row stays locked until the transaction ends)."""
    _check_kind(kind)
    updated = session.execute(
        update(StoreState).where(StoreState.key == kind).values(value=StoreState.value + 1)
    ).rowcount  # type: ignore[attr-defined]
    if not updated:
        session.add(StoreState(key=kind, value=1))
        session.flush()
    value = session.scalar(select(StoreState.value).where(StoreState.key == kind))
    return int(value or 0)


def bulk_insert(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) through the driver's ``executemany`` (on
    PostgreSQL a ``COPY``).

    Stores exactly what ``session.execute(insert(table), rows)`` stores: each column's
    bind processor (JSON, dates) and Python-side default are taken from SQLAlchemy, but
    looked up once per call instead of once per value, which is most of the cost of a
    bulk insert through the ORM layer (several times the raw insert itself). Dates and
    booleans repeat (one import stamps every row with the same time), so each distinct
    value is converted once.
    """
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    given = list(rows[0])
    names = given + [
        c.name for c in table.columns if c.name not in rows[0] and c.default is not None
    ]
    tail: list[Any] = []
    for name in names[len(given) :]:
        default = table.columns[name].default
        arg = getattr(default, "arg", None)
        # callables (utcnow, dict) are wrapped by SQLAlchemy to take an execution context
        tail.append(arg(None) if callable(arg) else arg)
    processed: list[tuple[int, Any, dict[Any, Any] | None]] = []
    for i, name in enumerate(names):
        column_type = table.columns[name].type
        process = column_type._cached_bind_processor(dialect)
        if isinstance(column_type, JSON):
            process = functools.partial(_json_value, process or (lambda v: v))
        if process is not None:
            memo: dict[Any, Any] | None = (
                {} if isinstance(column_type, DateTime | Boolean) else None
            )
            processed.append((i, process, memo))
    get = operator.itemgetter(*given)
    params: list[tuple[Any, ...]] = []
    for row in rows:
        values = [*get(row), *tail] if len(given) > 1 else [row[given[0]], *tail]
        for i, process, memo in processed:
            value = values[i]
            if memo is None:
                values[i] = process(value)
            elif value in memo:
                values[i] = memo[value]
            else:
                values[i] = memo[value] = process(value)
        params.append(tuple(values))
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(n) for n in names)
    target = dialect.identifier_preparer.format_table(table)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        with conn.connection.dbapi_connection.cursor() as cur:  # type: ignore[union-attr]
            with cur.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
                for param in params:
                    copy.write_row(param)
        return
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {target} ({columns}) VALUES ({', '.join([marker] * len(names))})"
    conn.exec_driver_sql(sql, params)


def _json_value(process: Any, value: Any) -> Any:
    return value.text if type(value) is EncodedJSON else process(value)


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
