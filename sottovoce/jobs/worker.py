"""Background jobs from the ``jobs`` table: claimed under a lease, run on threads, in the server
process (embedded default) or in separate ``sottovoce worker`` processes (a fleet).

Claim: one statement, ``UPDATE jobs ... WHERE id = (SELECT id ... FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING id``. On PostgreSQL concurrent claimers skip each other's locked rows instead of queueing
on them; on SQLite the statement runs under the database's single write lock (FOR UPDATE is not
emitted). Either way no job is claimed twice.

Lease: a claimed job carries ``worker_id`` and ``lease_expires_at``; a heartbeat thread renews the
leases of the jobs its process runs. A job whose lease expired (its worker died, or hung past the
lease) goes back to the queue, done by whichever worker looks next (``requeue_expired``), never by a
process because it started. The result of a job is written only while its lease is still ours
(fencing), and every handler is idempotent, so a job run twice takes effect once.

Wake-up: on PostgreSQL an insert into ``jobs`` sends ``NOTIFY sottovoce_jobs`` at commit
(db/models.py) and an idle worker LISTENs, so it starts a new job within milliseconds without
polling; on SQLite (one machine) workers poll every ``worker_poll_s`` and the server's own ingest
wakes its threads directly (``Worker.notify``).
Handlers take ids, open their own session and stay thin (the work lives in domain modules).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import and_, or_, select, text, update

from sottovoce.core.services import Services
from sottovoce.db.engine import rowcount
from sottovoce.db.models import Job
from sottovoce.db.types import utcnow

log = logging.getLogger(__name__)

CHANNEL = "sottovoce_jobs"


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def claim_next(services: Services, kinds: list[str] | None = None, worker_id: str | None = None) -> Job | None:
    worker_id = worker_id or new_worker_id()
    now = utcnow()
    pick = select(Job.id).where(Job.status == "queued").order_by(Job.created_at).limit(1).with_for_update(skip_locked=True)
    if kinds:
        pick = pick.where(Job.kind.in_(kinds))
    claim = (
        update(Job)
        .where(Job.id == pick.scalar_subquery(), Job.status == "queued")
        .values(status="running", attempts=Job.attempts + 1, worker_id=worker_id,
                lease_expires_at=now + timedelta(seconds=services.settings.job_lease_s), updated_at=now)
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    with services.sessions() as db:
        job_id = db.scalar(claim)
        db.commit()
        return db.get(Job, job_id) if job_id else None


def renew_leases(services: Services, worker_id: str, job_ids: list[str]) -> int:
    """Extend the leases this worker still holds; returns how many it still holds."""
    if not job_ids:
        return 0
    now = utcnow()
    with services.sessions() as db:
        result = db.execute(
            update(Job)
            .where(Job.id.in_(job_ids), Job.worker_id == worker_id, Job.status == "running")
            .values(lease_expires_at=now + timedelta(seconds=services.settings.job_lease_s))
            .execution_options(synchronize_session=False)
        )
        db.commit()
        return rowcount(result)


def requeue_expired(services: Services) -> int:
    """Jobs whose lease ran out go back to the queue (or fail after ``job_max_attempts`` tries: a
    job that kills its worker every time must not take the fleet down with it)."""
    now = utcnow()
    expired = and_(Job.status == "running", or_(Job.lease_expires_at.is_(None), Job.lease_expires_at < now))
    with services.sessions() as db:
        failed = rowcount(db.execute(
            update(Job).where(expired, Job.attempts >= services.settings.job_max_attempts)
            .values(status="failed", error="LeaseExpired", worker_id=None, lease_expires_at=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )) or 0
        requeued = rowcount(db.execute(
            update(Job).where(expired)
            .values(status="queued", worker_id=None, lease_expires_at=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )) or 0
        db.commit()
    if failed or requeued:
        log.warning("expired job leases: %d requeued, %d failed after too many attempts", requeued, failed)
    return requeued


def run_job(services: Services, job: Job) -> bool:
    """Run one claimed job; returns False when its lease had been lost (the result is then not written)."""
    status, error = "done", None
    try:
        # The handlers are listed in the composition root (app_services.py) and reach us here.
        services.job_handlers[job.kind](services, job.subject_id)
    except Exception as exc:  # a failed job is recorded, never lost; the reason holds no content
        log.exception("job %s (%s) failed", job.id, job.kind)
        status, error = "failed", f"{type(exc).__name__}"
    with services.sessions() as db:
        result = db.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == "running", Job.worker_id == job.worker_id)
            .values(status=status, error=error, worker_id=None, lease_expires_at=None, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.commit()
    if not rowcount(result):
        log.warning("job %s finished after its lease was lost; another worker owns it now", job.id)
    return bool(rowcount(result))


class _Leases:
    """The jobs one process is running, renewed on a heartbeat thread."""

    def __init__(self, services: Services, worker_id: str):
        self.services, self.worker_id = services, worker_id
        self.running: set[str] = set()
        self.lock = threading.Lock()

    def add(self, job_id: str) -> None:
        with self.lock:
            self.running.add(job_id)

    def remove(self, job_id: str) -> None:
        with self.lock:
            self.running.discard(job_id)

    def beat(self) -> None:
        with self.lock:
            held = list(self.running)
        renew_leases(self.services, self.worker_id, held)
        requeue_expired(self.services)


def drain(services: Services, kinds: list[str] | None = None, on_done: Callable[[Job], None] | None = None) -> int:
    """Run queued jobs on this thread until none is left (leases renewed meanwhile); returns how many ran."""
    worker = Worker(services, threads=0, kinds=kinds)
    worker.start()
    try:
        return worker.drain(on_done)
    finally:
        worker.stop()


class Worker:
    """Runs jobs on ``threads`` threads until stopped, with a heartbeat thread renewing leases and,
    on PostgreSQL, a listener thread waking idle threads on NOTIFY."""

    def __init__(self, services: Services, threads: int = 1, poll_s: float | None = None, kinds: list[str] | None = None):
        self.services = services
        self.threads = threads
        self.poll_s = poll_s if poll_s is not None else services.settings.worker_poll_s
        self.kinds = kinds or None
        self.worker_id = new_worker_id()
        self.leases = _Leases(services, self.worker_id)
        self.postgres = services.engine.dialect.name == "postgresql"
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._generation = 0
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._spawn(self._heartbeat, "heartbeat")
        if self.postgres and self.threads:
            self._spawn(self._listen, "listen")
        for i in range(self.threads):
            self._spawn(self._loop, str(i))

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=f"sottovoce-worker-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def alive(self) -> int:
        """How many worker threads are running (for /healthz)."""
        return sum(thread.is_alive() for thread in self._threads)

    def notify(self) -> None:
        """Wake the idle threads now instead of at the next poll (called after an ingest)."""
        with self._wake:
            self._generation += 1
            self._wake.notify_all()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self.notify()
        for thread in self._threads:
            thread.join(timeout)

    def drain(self, on_done: Callable[[Job], None] | None = None) -> int:
        count = 0
        while not self._stop.is_set() and (job := claim_next(self.services, self.kinds, self.worker_id)) is not None:
            self.leases.add(job.id)
            try:
                run_job(self.services, job)
            finally:
                self.leases.remove(job.id)
            count += 1
            if on_done:
                on_done(job)
        return count

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._wake:
                seen = self._generation
            try:
                ran = self.drain()
            except Exception:
                log.exception("worker loop error")
                ran = 0
            if not ran:
                # PostgreSQL: NOTIFY wakes us; the timeout is only a safety net. SQLite: this is the poll.
                wait = max(self.poll_s, 5.0) if self.postgres else self.poll_s
                with self._wake:
                    if self._generation == seen:  # no wake-up arrived while we were draining
                        self._wake.wait(wait)

    def _heartbeat(self) -> None:
        interval = self.services.settings.job_lease_s / 3
        while not self._stop.wait(interval):
            try:
                self.leases.beat()
            except Exception:
                log.exception("job lease heartbeat failed")

    def _listen(self) -> None:
        """LISTEN on a connection of its own (outside the pool), reconnecting if it drops."""
        while not self._stop.is_set():
            try:
                import psycopg

                url = self.services.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
                conn = psycopg.connect(url, autocommit=True, connect_timeout=10)  # not from the pool: it stays in LISTEN
                try:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.notify()  # jobs queued while we were not listening
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.notify()
                finally:
                    conn.close()
            except Exception:
                if self._stop.is_set():
                    return
                log.warning("job notification listener lost its connection; reconnecting", exc_info=True)
                self._stop.wait(1.0)


def run_singleton(services: Services, name: str, fn: Callable[[], object]) -> Callable[[], object]:
    """Wrap a periodic task so that across all processes only one runs it at a time (PostgreSQL
    advisory lock; on SQLite there is one machine and the task runs as is)."""
    if services.engine.dialect.name != "postgresql":
        return fn
    key = int.from_bytes(name.encode()[:8].ljust(8, b"\0"), "big") & 0x7FFF_FFFF_FFFF_FFFF

    def guarded() -> object:
        with services.engine.connect() as conn:
            if not conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}):
                return None  # another process is running it right now
            try:
                return fn()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()

    return guarded
