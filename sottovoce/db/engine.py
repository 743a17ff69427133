"""Engine and session factory for SQLite (embedded default) or PostgreSQL (scale-out).

The concurrency rules (docs/design.md, "Concurrency"):

- The database serializes writers; no code holds a process lock while it waits for the database.
  On SQLite, whose single write lock is taken by the first INSERT/UPDATE/DELETE of a transaction,
  this process queues its own writers on one lock *before* that statement (``WriterGate``), so a
  thread never waits for the gate while it holds SQLite's lock (one lock order: gate, then SQLite)
  and waiting threads wake in turn instead of polling in SQLite's busy handler. Other processes
  (a CLI next to the server) meet at SQLite's lock with its busy timeout.
- Transactions are short: nothing slow (decoding, transcription, password hashing, reading a
  request body) happens between a transaction's first write and its commit.
- Pool exhaustion or no write slot in time is sqlalchemy's ``TimeoutError`` (the web layer answers
  503 with Retry-After), never a 500.
"""

from __future__ import annotations

import hashlib
import re
import threading
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Engine, Result, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor, ExecutionContext
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState

_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)


class WriterGate:
    """One SQLite writer per process at a time, taken before the transaction's first write and
    released when that transaction ends (commit, rollback, or the connection's return to the pool)."""

    def __init__(self, timeout_s: float):
        self.timeout_s = timeout_s
        self._lock = threading.Lock()

    def install(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before_execute)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)
        event.listen(engine.pool, "reset", self._on_reset)
        event.listen(engine.pool, "checkin", self._on_checkin)

    def _before_execute(
        self, conn: Connection, cursor: DBAPICursor, statement: str, parameters: Any, context: ExecutionContext | None, executemany: bool,
    ) -> None:
        info = conn.connection.info if conn.connection is not None else None
        if info is None or info.get("writer_gate") or not _WRITE.match(statement):
            return
        if not self._lock.acquire(timeout=self.timeout_s):
            # The pool's own "no connection in time" error: the web layer answers both with 503.
            raise SATimeoutError("no database write slot came free in time")
        info["writer_gate"] = True

    def _end(self, conn: Connection) -> None:
        if conn.connection is not None:
            self._release(conn.connection.info)

    def _on_reset(self, dbapi_connection: DBAPIConnection, connection_record: ConnectionPoolEntry | None, reset_state: PoolResetState) -> None:
        if connection_record is not None:
            self._release(connection_record.info)

    def _on_checkin(self, dbapi_connection: DBAPIConnection | None, connection_record: ConnectionPoolEntry | None) -> None:
        if connection_record is not None:
            self._release(connection_record.info)

    def _release(self, info: dict[str, Any]) -> None:
        if info.pop("writer_gate", False):
            self._lock.release()


def make_engine(url: str, pool_size: int = 16, pool_timeout_s: float = 5.0, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size, max_overflow=pool_size, pool_timeout=pool_timeout_s, **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        gate = WriterGate(timeout_s=30)
        gate.install(engine)
        engine.info = {"writer_gate": gate}  # type: ignore[attr-defined]
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size, pool_timeout=pool_timeout_s, **kwargs)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web process read while the worker writes. secure_delete overwrites freed pages
    # with zeros, so deleted rows (and shredded keys) do not linger in the file.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def pool_status(engine: Engine) -> dict[str, int]:
    """What /healthz reports about the connection pool (QueuePool on both databases)."""
    pool = engine.pool
    size = getattr(pool, "size", lambda: 0)()
    overflow = getattr(pool, "_max_overflow", 0)
    checked_out = getattr(pool, "checkedout", lambda: 0)()
    return {"size": size + max(overflow, 0), "in_use": checked_out}


def serialize_on(db: Session, key: str) -> None:
    """Serialize transactions that name the same key until they end (e.g. sign-in attempts for one
    name). PostgreSQL: a transaction-scoped advisory lock. SQLite needs nothing more, because the
    caller's next write takes the database's single write lock (count after you write)."""
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy import text

        number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        db.execute(text("SELECT pg_advisory_xact_lock(:n)"), {"n": number})


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE/DELETE matched. ``Session.execute`` is typed to return ``Result``; for DML
    statements it is a ``CursorResult``, the type that carries ``rowcount``."""
    return cast(CursorResult[Any], result).rowcount
