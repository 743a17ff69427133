"""Worker processes: SKIP LOCKED claims, leases renewed by a heartbeat, requeue by lease expiry only,
LISTEN/NOTIFY wake-ups, and kill -9 of one of two workers mid-job."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import func, select, update

from sottovoce.db.models import Hypothesis, Job, Recording
from sottovoce.db.types import utcnow
from sottovoce.jobs.worker import claim_next, renew_leases, requeue_expired, run_job
from sottovoce.recordings.ingest import commit_ingest, ingest
from sottovoce.recordings.metadata import IngestMetadata
from tests.factories import DEMO_CLIPS, wav_bytes
from tests.holders import new_holder


def env_of(settings, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOTTOVOCE_")}
    env.update(
        SOTTOVOCE_HOME=str(settings.home), SOTTOVOCE_DATABASE_URL=settings.database_url,
        SOTTOVOCE_BLOB_URL=settings.blob_url, SOTTOVOCE_S3_ENDPOINT_URL=settings.s3_endpoint_url,
        SOTTOVOCE_S3_REGION=settings.s3_region, SOTTOVOCE_S3_ACCESS_KEY_ID="test", SOTTOVOCE_S3_SECRET_ACCESS_KEY="test",
        SOTTOVOCE_ORPHAN_GRACE_S="3600", SOTTOVOCE_SAMPLER_INTERVAL_MINUTES="600", SOTTOVOCE_RETENTION_SWEEP_MINUTES="0",
    )
    env.update({f"SOTTOVOCE_{k.upper()}": str(v) for k, v in extra.items()})
    return env


class WorkerProcess:
    def __init__(self, settings, *args: str, **extra):
        self.proc = subprocess.Popen([sys.executable, "-m", "sottovoce", "worker", *args], env=env_of(settings, **extra),
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        assert "ready" in line, f"worker did not start: {line!r}"
        self.worker_id = line.split()[1]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


@pytest.fixture
def workers():
    started: list[WorkerProcess] = []

    def start(settings, *args, **extra) -> WorkerProcess:
        started.append(WorkerProcess(settings, *args, **extra))
        return started[-1]

    yield start
    for w in started:
        w.stop()


def queue_jobs(services, n: int, kind: str = "render_task") -> list[str]:
    """Jobs whose subject does not exist: their handlers return at once (fast, real handlers)."""
    with services.sessions() as db:
        jobs = [Job(kind=kind, subject_id=f"{i:032x}") for i in range(n)]
        db.add_all(jobs)
        db.commit()
        return [j.id for j in jobs]


def job(services, job_id: str) -> Job:
    with services.sessions() as db:
        return db.get(Job, job_id)


def test_concurrent_claims_never_share_a_job(services):
    ids = queue_jobs(services, 40)
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer(n: int) -> None:
        while (j := claim_next(services, worker_id=f"w{n}")) is not None:
            with lock:
                claimed.append(j.id)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids)  # every job once, none twice


def test_an_expired_lease_requeues_and_a_live_one_does_not(services):
    queue_jobs(services, 2)
    a, b = claim_next(services, worker_id="alive"), claim_next(services, worker_id="dead")
    with services.sessions() as db:  # the dead worker stopped renewing a while ago
        db.execute(update(Job).where(Job.id == b.id).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    assert renew_leases(services, "alive", [a.id]) == 1
    assert requeue_expired(services) == 1
    assert job(services, a.id).status == 'running'
    assert job(services, a.id).worker_id == 'alive'
    assert job(services, b.id).status == 'queued'
    assert job(services, b.id).worker_id is None


def test_a_job_that_keeps_killing_its_worker_fails_after_max_attempts(services):
    (job_id,) = queue_jobs(services, 1)
    for _ in range(services.settings.job_max_attempts):
        claimed = claim_next(services, worker_id="doomed")
        with services.sessions() as db:
            db.execute(update(Job).where(Job.id == claimed.id).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
            db.commit()
        requeue_expired(services)
    final = job(services, job_id)
    assert final.status == 'failed'
    assert final.error == 'LeaseExpired'


def test_a_worker_that_lost_its_lease_does_not_write_the_result(services):
    (job_id,) = queue_jobs(services, 1)
    stale = claim_next(services, worker_id="slow")
    with services.sessions() as db:  # expired and taken over by another worker
        db.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    requeue_expired(services)
    fresh = claim_next(services, worker_id="fast")
    assert run_job(services, stale) is False  # fenced: the slow worker's result is discarded
    assert job(services, job_id).status == 'running'
    assert job(services, job_id).worker_id == 'fast'
    assert run_job(services, fresh) is True
    assert job(services, job_id).status == "done"


def test_start_up_recovery_leaves_a_live_workers_job_alone(services, settings, workers):
    (job_id,) = queue_jobs(services, 1)
    held = claim_next(services, worker_id="another-live-process")  # lease: job_lease_s from now
    result = subprocess.run([sys.executable, "-m", "sottovoce", "init", "--json"], env=env_of(settings),
                            capture_output=True, text=True, check=True)
    assert '"requeued_jobs": 0' in result.stdout
    after = job(services, job_id)
    assert after.status == 'running'
    assert after.worker_id == held.worker_id


def test_idle_worker_picks_a_new_job_quickly(services, settings, workers):
    worker = workers(settings, "--kinds", "render_task", "--no-periodic", job_lease_s=30)
    delays = []
    for _ in range(7):
        committed = utcnow()  # just before the commit: the delay measured includes the commit itself
        (job_id,) = queue_jobs(services, 1)
        deadline = time.monotonic() + 10
        while (j := job(services, job_id)).status == "queued" and time.monotonic() < deadline:
            time.sleep(0.005)
        assert j.attempts == 1
        assert j.status in ('running', 'done')
        # updated_at is the claim's clock reading, taken just before its UPDATE runs: it may precede the
        # commit by a few ms when the worker was already awake, hence the floor at 0.
        delays.append(max(0.0, (j.updated_at - committed).total_seconds()))
        time.sleep(0.3)  # let the worker go idle again
    median = statistics.median(delays)
    print(f"claim delay after commit: median {median * 1000:.1f} ms, max {max(delays) * 1000:.1f} ms ({settings.resolved_database_url.split(':')[0]})")
    if services.engine.dialect.name == "postgresql":
        assert median < 0.1  # LISTEN/NOTIFY; the worker's fallback wait is 5 s, so polling could not do this
    else:
        assert median < services.settings.worker_poll_s + 0.1
    assert worker.proc.poll() is None


def long_clip(seconds: float = 24.0) -> bytes:
    from sottovoce.core.audio import decode

    clips = [decode((DEMO_CLIPS / name).read_bytes(), 60.0) for name in sorted(os.listdir(DEMO_CLIPS)) if name.endswith(".wav")]
    joined = np.concatenate(clips)
    reps = int(np.ceil(seconds * 16_000 / joined.size))
    return wav_bytes(np.tile(joined, reps)[: int(seconds * 16_000)])


@pytest.mark.slow
def test_kill_9_one_of_two_workers_mid_job_and_the_other_finishes_it_once(services, settings, workers):
    from sottovoce.accounts.registry import get_device

    holder = new_holder(services)
    lease = {"job_lease_s": 3, "asr_workers": 1}
    first = workers(settings, "--kinds", "transcribe", "--no-periodic", **lease)
    second = workers(settings, "--kinds", "transcribe", "--no-periodic", **lease)  # both idle, model loaded
    with services.sessions() as db:
        recording = ingest(services, db, get_device(db, holder.device.id), long_clip(), IngestMetadata())
        commit_ingest(services, db, recording)
    deadline = time.monotonic() + 60
    while (j := _transcribe_job(services, recording.id)).status != "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    with services.sessions() as db:
        r = db.get(Recording, recording.id)
    assert j.status == "running", f"no worker claimed the job: {j.status} {j.attempts} {j.error} {r.status} {r.failure_reason}"
    victim, survivor = (first, second) if j.worker_id == first.worker_id else (second, first)
    assert j.worker_id == victim.worker_id
    time.sleep(0.5)  # mid-job: decoding 24 s of audio takes seconds on this machine
    assert _transcribe_job(services, recording.id).status == "running"
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait()
    deadline = time.monotonic() + 120
    while (j := _transcribe_job(services, recording.id)).status != "done" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert j.status == 'done'
    assert j.attempts == 2
    assert j.worker_id is None
    with services.sessions() as db:
        assert db.get(Recording, recording.id).status == "transcribed"
        assert db.scalar(select(func.count()).select_from(Hypothesis).where(Hypothesis.recording_id == recording.id)) == 1
    assert survivor.proc.poll() is None


def _transcribe_job(services, recording_id: str) -> Job:
    with services.sessions() as db:
        return db.scalars(select(Job).where(Job.subject_id == recording_id, Job.kind == "transcribe")).one()
