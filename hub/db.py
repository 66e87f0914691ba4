"""The database: one SQLAlchemy engine per app, sessions scoped to an app
context (a request, a job or a command).

SQLite (the embedded default) gets foreign keys, WAL, a busy timeout and
``BEGIN IMMEDIATE`` so that ``hub serve``, ``hub worker`` and commands can
share one file; PostgreSQL is used as is. The schema is created only by
Alembic migrations (hub/migrate.py).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, any_, bindparam, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from .sqlite_writer_lock import writer_lock


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # Let SQLAlchemy's "begin" event below issue BEGIN, not pysqlite's own logic.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


log = logging.getLogger(__name__)

WRITER_WAIT_S = 30


def _sqlite_begin(conn: Any) -> None:
    """A unit of work takes the write lock at its start (BEGIN IMMEDIATE), so
    concurrent writers queue on the busy timeout instead of failing on a lock
    upgrade; read-only sessions begin deferred and never block writers.

    Writers first queue on the writer lock of hub.sqlite_writer_lock, threads
    of a process and processes alike, which lets the next one in as soon as
    the one before it ends (SQLite's own wait sleeps up to 100 ms between tries)."""
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    if mode != "IMMEDIATE":
        conn.exec_driver_sql(f"BEGIN {mode}")
        return
    lock = writer_lock(conn.engine.url.database or "")
    if not lock.acquire(timeout=WRITER_WAIT_S):  # a lock never released: fall back on SQLite's own wait
        log.warning("waited %s s for the SQLite writer lock; going on without it", WRITER_WAIT_S)
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        return
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        lock.release()
        raise
    conn.info.setdefault("hub_writer_locks", []).append(lock)


def _sqlite_end(conn: Any) -> None:
    """The unit of work ended (committed or rolled back): let the next writer of the process in."""
    _release_writer_locks(conn.info)


def _sqlite_connection_reset(dbapi_connection: Any, record: Any, reset_state: Any) -> None:
    """A connection returned to the pool with its unit of work unfinished."""
    _release_writer_locks(record.info)


def _sqlite_connection_invalidated(dbapi_connection: Any, record: Any, exception: BaseException | None) -> None:
    _release_writer_locks(record.info)


def _release_writer_locks(info: dict[str, Any]) -> None:
    held = info.get("hub_writer_locks")
    while held:
        with contextlib.suppress(RuntimeError):  # not this thread's (a connection finished by another thread)
            held.pop().release()


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "commit", _sqlite_end)
        event.listen(engine, "rollback", _sqlite_end)
        event.listen(engine.pool, "reset", _sqlite_connection_reset)
        event.listen(engine.pool, "invalidate", _sqlite_connection_invalidated)
        return engine
    return create_engine(parsed, pool_pre_ping=True, **kwargs)


def dialect_insert(session: Session) -> Any:
    """``insert`` of the session's dialect, which has ``on_conflict_do_nothing``
    (PostgreSQL and SQLite spell it alike)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def one_of(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """``column IN values`` for a batch: one array parameter on PostgreSQL
    (``= ANY(:values)``), which keeps a statement with thousands of values
    small and its plan cached; an expanding ``IN`` elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(list(values))


class _State:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.writer = sessionmaker(engine, expire_on_commit=False)
        self.read_engine = engine.execution_options(sqlite_begin="DEFERRED")
        self.reader = sessionmaker(self.read_engine, expire_on_commit=False)


class Database:
    """The Flask extension: ``db.init_app(app)``, then ``db.session`` inside an
    app context, or ``with db.transaction() as session`` for a unit of work."""

    def init_app(self, app: Flask) -> None:
        app.extensions["hub_db"] = _State(make_engine(app.config["DATABASE_URL"]))
        app.teardown_appcontext(self._remove_session)

    @staticmethod
    def _state() -> _State:
        state: _State = current_app.extensions["hub_db"]
        return state

    @property
    def engine(self) -> Engine:
        return self._state().engine

    @property
    def sessions(self) -> sessionmaker[Session]:
        """Sessions for reading (on SQLite they never hold the write lock)."""
        return self._state().reader

    @property
    def session(self) -> Session:
        """The reading session of the current app context (created on first use)."""
        if "hub_session" not in g:
            g.hub_session = self.sessions()
        session: Session = g.hub_session
        return session

    @staticmethod
    def _remove_session(exc: BaseException | None) -> None:
        session = g.pop("hub_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A new session in one transaction: committed when the block ends, rolled back on error."""
        with self._state().writer.begin() as session:
            yield session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


db = Database()


def read_engine() -> Engine:
    """The app's engine for connections that only read (on SQLite they begin
    deferred and never take the write lock)."""
    engine: Engine = current_app.extensions["hub_db"].read_engine
    return engine
