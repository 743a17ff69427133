"""`sottovoce worker`: a process that runs jobs (and, optionally, the periodic duties) without the
web server, until SIGTERM or SIGINT. Start-up runs crash recovery, which is safe in any process at
any time: jobs go back to the queue only when their lease expired, never because a process started.
"""

from __future__ import annotations

import logging
import signal
import threading

from sottovoce.accounts.retention import sweep as retention_sweep
from sottovoce.core.services import Services
from sottovoce.jobs.periodic import Periodic
from sottovoce.jobs.recovery import recover
from sottovoce.jobs.review import sample_and_queue_renders
from sottovoce.jobs.worker import Worker, run_singleton

log = logging.getLogger(__name__)


def run_worker_process(services: Services, kinds: list[str], concurrency: int, periodic: bool = True) -> None:
    """`sottovoce worker`: jobs (and optionally the periodic tasks) until SIGTERM/SIGINT."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    recover(services)  # expired leases, interrupted deletions, orphan blobs: all safe to run anywhere, any time
    if services.settings.asr_workers and (not kinds or "transcribe" in kinds):
        services.recognizer  # noqa: B018  (load the model before taking jobs, not inside the first one)
    worker = Worker(services, threads=concurrency, kinds=kinds)
    worker.start()
    schedules: list[Periodic] = []
    if periodic:
        s = services.settings
        schedules.append(Periodic("sampler", s.sampler_interval_minutes * 60,
                                  run_singleton(services, "sampler", lambda: sample_and_queue_renders(services))).start())
        if s.retention_sweep_minutes > 0:
            schedules.append(Periodic("retention", s.retention_sweep_minutes * 60,
                                      run_singleton(services, "retention", lambda: retention_sweep(services))).start())
    log.info("worker %s started: kinds=%s concurrency=%d", worker.worker_id, ",".join(kinds) or "all", concurrency)
    print(f"worker {worker.worker_id} ready", flush=True)  # the tests and supervisors wait for this line
    stop.wait()
    for schedule in schedules:
        schedule.stop()
    worker.stop()
