"""The composition root: the one place that builds a ``Services`` and fills its extension points.

Every list a feature contributes to is written out here, so a reader sees in one page what runs:
- job handlers, one per ``JobKind`` (checked at start: no kind without a handler);
- the deletion cascade's parts, in order (the recording's own, then what learning derived);
- the audit log's listeners (the abuse rules);
- the recognizer, built on first use.

De-identification is not wired here on purpose: it is the default argument of
``review.render.render_task`` and of the reviewer projection, so no wiring can leave it out.
Everything that needs an instance (web app, CLI, jobs, tests, benchmarks) calls ``open_services``.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING

from sottovoce.accounts.deletion import CORE_PARTS
from sottovoce.core.audit import AuditLog
from sottovoce.core.blobs import blob_store_from_settings
from sottovoce.core.crypto import KeyRing, key_provider_from_settings
from sottovoce.core.services import DeletionPart, JobHandler, Services
from sottovoce.core.settings import Settings
from sottovoce.db.engine import make_engine, make_sessionmaker
from sottovoce.db.enums import JobKind
from sottovoce.db.migrate import upgrade_if_needed
from sottovoce.jobs import review as review_jobs
from sottovoce.jobs import transcribe
from sottovoce.learning.deletion_parts import LEARNING_PARTS
from sottovoce.staff import abuse

if TYPE_CHECKING:
    from sottovoce.asr.whisper import WhisperRecognizer

JOB_HANDLERS: dict[str, JobHandler] = {
    JobKind.TRANSCRIBE: transcribe.transcribe_recording,
    JobKind.RENDER: review_jobs.render_queued_task,
    JobKind.RETRANSCRIBE: transcribe.retranscribe_recording,
}
DELETION_PARTS: tuple[DeletionPart, ...] = (*CORE_PARTS, *LEARNING_PARTS)


def make_recognizer(settings: Settings) -> WhisperRecognizer:
    s = settings
    return _loaded_recognizer(s.resolved_asr_model_path, s.asr_compute_type, s.asr_cpu_threads, max(1, s.asr_workers), s.asr_beam_size)


@functools.lru_cache(maxsize=4)
def _loaded_recognizer(model_path: str, compute_type: str, cpu_threads: int, workers: int, beam_size: int) -> WhisperRecognizer:
    """One loaded model per configuration and process (~1.5 s of CPU to load; it holds no state
    between calls, so every Services of the process can share it). The import is deferred: ~1 s."""
    from sottovoce.asr.whisper import WhisperRecognizer

    return WhisperRecognizer(model_path, compute_type, cpu_threads, workers, beam_size)


def check_wiring(services: Services) -> None:
    """Fail at start, not at the first job: every job kind has a handler, every part a unique name."""
    missing = [kind for kind in JobKind if kind not in services.job_handlers]
    if missing:
        raise RuntimeError(f"no handler for job kinds: {', '.join(missing)}")
    names = [part.name for part in services.deletion_parts]
    if len(names) != len(set(names)):
        raise RuntimeError("two deletion parts share a name")


def open_services(settings: Settings, migrate: bool = True) -> Services:
    # Files we create (database, WAL, blobs, checkpoints) are for the service user alone.
    os.umask(0o077)
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = make_engine(settings.resolved_database_url, settings.db_pool_size, settings.db_pool_timeout_s)
    if migrate:
        upgrade_if_needed(engine)
    audit = AuditLog(settings.resolved_checkpoint_file, settings.resolved_signing_key_file,
                     settings.audit_checkpoint_every, settings.audit_checkpoint_minutes)
    sessions = make_sessionmaker(engine)
    services = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        # The master key comes from the configured provider (file, mounted secret, environment or a
        # KMS plug-in); blobs go to a local folder or an S3-compatible store, by BLOB_URL.
        keys=KeyRing(key_provider_from_settings(settings), sessions, reload=lambda: key_provider_from_settings(settings)),
        blobs=blob_store_from_settings(settings),
        audit=audit,
        job_handlers=JOB_HANDLERS,
        deletion_parts=DELETION_PARTS,
        recognizer_factory=make_recognizer,
    )
    audit.listeners.append(abuse.on_event(services, abuse.RULES))  # abuse rules see every event as it is written
    check_wiring(services)
    return services
