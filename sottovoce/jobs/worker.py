"""The in-process background worker: durable jobs from the ``jobs`` table, run on threads.

A job is claimed with a conditional UPDATE (queued -> running), which is atomic on SQLite and
PostgreSQL alike, so several workers (threads or processes) never run one job twice at once. After
a crash, recovery.py puts 'running' jobs back in the queue; every handler is idempotent.
Handlers are plain functions listed in the composition root (app_services.py) and reach the
worker through ``services.job_handlers``; they take ids, open their own session and stay thin.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import select, update

from sottovoce.core.services import Services
from sottovoce.db.engine import rowcount
from sottovoce.db.enums import JobStatus
from sottovoce.db.models import Job
from sottovoce.db.types import utcnow

log = logging.getLogger(__name__)


def claim_next(services: Services, kinds: list[str] | None = None) -> Job | None:
    with services.sessions() as db:
        query = select(Job.id).where(Job.status == JobStatus.QUEUED).order_by(Job.created_at).limit(5)
        if kinds:
            query = query.where(Job.kind.in_(kinds))
        for job_id in db.scalars(query).all():
            claimed = db.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
                .values(status=JobStatus.RUNNING, attempts=Job.attempts + 1, updated_at=utcnow())
            )
            db.commit()
            if rowcount(claimed) == 1:
                return db.get(Job, job_id)
    return None


def run_job(services: Services, job: Job) -> None:
    status, error = JobStatus.DONE, None
    try:
        services.job_handlers[job.kind](services, job.subject_id)
    except Exception as exc:  # a failed job is recorded, never lost; the reason holds no content
        log.exception("job %s (%s) failed", job.id, job.kind)
        status, error = JobStatus.FAILED, f"{type(exc).__name__}"
    with services.sessions() as db:
        db.execute(update(Job).where(Job.id == job.id).values(status=status, error=error, updated_at=utcnow()))
        db.commit()


def drain(services: Services, kinds: list[str] | None = None, on_done: Callable[[Job], None] | None = None) -> int:
    """Run queued jobs on this thread until none is left; returns how many ran."""
    count = 0
    while (job := claim_next(services, kinds)) is not None:
        run_job(services, job)
        count += 1
        if on_done:
            on_done(job)
    return count


class Worker:
    """Polls the job table on background threads until stopped."""

    def __init__(self, services: Services, threads: int = 1, poll_s: float = 0.2):
        self.services = services
        self.threads = threads
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for i in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"sottovoce-worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def alive(self) -> int:
        """How many worker threads are running (for /healthz)."""
        return sum(thread.is_alive() for thread in self._threads)

    def notify(self) -> None:
        """Wake the workers now instead of at the next poll (called after an ingest)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = drain(self.services)
            except Exception:
                log.exception("worker loop error")
                ran = 0
            if not ran:
                self._wake.wait(self.poll_s)
                self._wake.clear()
