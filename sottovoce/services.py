"""The long-lived objects one instance needs, built once from Settings.

The web app (web/app.py), the CLI (cli.py) and background jobs (worker.py) all take a ``Services``;
nothing else reads settings from the environment.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sottovoce.audit import AuditLog
from sottovoce.blobs import BlobStore, blob_store_from_settings
from sottovoce.crypto import KeyRing, key_provider_from_settings
from sottovoce.db.engine import make_engine, make_sessionmaker
from sottovoce.db.migrate import upgrade
from sottovoce.settings import Settings


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keys: KeyRing
    blobs: BlobStore
    audit: AuditLog
    _recognizer: object | None = field(default=None, repr=False)
    # SQLite allows one writer at a time. Threads queued on this lock wake as soon as it is free;
    # threads left to SQLite's busy handler sleep 1, 2, 5, 10 ... 100 ms between retries.
    write_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(cls, settings: Settings, migrate: bool = True) -> "Services":
        # Files we create (database, WAL, blobs, checkpoints) are for the service user alone.
        os.umask(0o077)
        settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        engine = make_engine(settings.resolved_database_url)
        if migrate:
            upgrade(engine)
        sessions = make_sessionmaker(engine)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            keys=KeyRing(key_provider_from_settings(settings), sessions, reload=lambda: key_provider_from_settings(settings)),
            blobs=blob_store_from_settings(settings),
            audit=AuditLog(
                settings.resolved_checkpoint_file,
                settings.resolved_signing_key_file,
                settings.audit_checkpoint_every,
                settings.audit_checkpoint_minutes,
            ),
        )

    def __post_init__(self) -> None:
        from sottovoce.abuse import on_event

        self.audit.listeners.append(on_event(self))  # abuse rules see every event as it is written

    @cached_property
    def recognizer(self):
        """Loaded on first use: the web process that only ingests external hypotheses never pays for it."""
        from sottovoce.asr.whisper import WhisperRecognizer

        s = self.settings
        return WhisperRecognizer(
            s.resolved_asr_model_path, s.asr_compute_type, s.asr_cpu_threads, max(1, s.asr_workers), s.asr_beam_size
        )

    def close(self) -> None:
        self.engine.dispose()
