"""Engine and session factory for SQLite (embedded default) or PostgreSQL (scale-out).

The concurrency rules (docs/design.md, "Concurrency"):

- The database serializes writers; no code holds a process lock while it waits for the database.
  On SQLite, whose single write lock is taken by the first INSERT/UPDATE/DELETE of a transaction,
  writers queue on a gate *before* that statement (``WriterGate``: a lock between this process's
  threads, then a file lock between processes), so nobody waits for the gate while holding SQLite's
  lock (one lock order: gate, then SQLite) and waiting writers wake in turn instead of sleeping in
  SQLite's busy handler.
- Transactions are short: nothing slow (decoding, transcription, password hashing, reading a
  request body) happens between a transaction's first write and its commit.
- Pool exhaustion or no write slot in time is sqlalchemy's ``TimeoutError`` (the web layer answers
  503 with Retry-After), never a 500.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import threading
import time
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Engine, Result, create_engine, event, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor, ExecutionContext
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState

_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)


class WriterGate:
    """One SQLite writer at a time, taken before the transaction's first write and released when
    that transaction ends (commit, rollback, or the connection's return to the pool).

    Threads of this process queue on a lock; processes sharing the database file (several web
    processes, a worker, a CLI command) then meet at an advisory file lock next to it (flock),
    polled every 0.5 to 4 ms, far finer than SQLite's busy handler, which sleeps up to 100 ms at a
    time. The kernel drops a dead process's file lock, so a crash never wedges the others."""

    def __init__(self, timeout_s: float, lock_file: str | None = None):
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self.lock_file = lock_file

    def _take_file_lock(self, deadline: float) -> int | None:
        """An open descriptor holding the file lock, or None when time ran out. Opened per write
        transaction (microseconds), so an engine leaves no descriptor behind when it is dropped."""
        assert self.lock_file is not None
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        delay = 0.0005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return None
                time.sleep(delay)
                delay = min(delay * 2, 0.004)

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
        deadline = time.monotonic() + self.timeout_s
        if not self._lock.acquire(timeout=self.timeout_s):
            # The pool's own "no connection in time" error: the web layer answers both with 503.
            raise SATimeoutError("no database write slot came free in time")
        if self.lock_file is not None:
            fd = self._take_file_lock(deadline)
            if fd is None:
                self._lock.release()
                raise SATimeoutError("no database write slot came free in time (another process is writing)")
            info["writer_fd"] = fd
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
            fd = info.pop("writer_fd", None)
            if fd is not None:
                os.close(fd)  # closing the descriptor drops its file lock
            self._lock.release()


def make_engine(url: str, pool_size: int = 16, pool_timeout_s: float = 5.0, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size, max_overflow=pool_size, pool_timeout=pool_timeout_s, **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        database = make_url(url).database
        on_disk = database is not None and database not in ("", ":memory:") and not database.startswith("file:")
        gate = WriterGate(timeout_s=30, lock_file=f"{database}-writer.lock" if on_disk else None)
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
