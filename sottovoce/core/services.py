"""The long-lived objects one instance needs, and the shapes of its extension points.

``Services`` is built in one place only, the composition root (``sottovoce/app_services.py``),
which fills every extension point with an explicit list: job handlers, deletion parts, audit
listeners (the abuse rules) and the recognizer factory. They have no defaults here, so a
``Services`` cannot exist half-wired. The web app, the CLI and background jobs all take one;
nothing else reads settings from the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sottovoce.core.audit import AuditLog
from sottovoce.core.blobs import BlobStore
from sottovoce.core.crypto import KeyRing
from sottovoce.core.settings import Settings

if TYPE_CHECKING:
    from sottovoce.asr.whisper import WhisperRecognizer

JobHandler = Callable[["Services", str], None]
"""Runs one job for a subject id. Idempotent: a job may run again after a crash."""

PartDeleter = Callable[["Services", Session, list[str]], "int | dict[str, int]"]
"""Removes (or flags) what one feature derived from the given recordings; returns counts."""


@dataclass(frozen=True)
class DeletionPart:
    name: str
    delete: PartDeleter


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keys: KeyRing
    blobs: BlobStore
    audit: AuditLog
    job_handlers: Mapping[str, JobHandler]
    deletion_parts: Sequence[DeletionPart]
    recognizer_factory: Callable[[Settings], Any] = field(repr=False)

    @cached_property
    def recognizer(self) -> WhisperRecognizer:
        """Loaded on first use: the web process that only ingests external hypotheses never pays for it."""
        recognizer: WhisperRecognizer = self.recognizer_factory(self.settings)
        return recognizer

    def close(self) -> None:
        # A process that appended signs the head it leaves behind (clean shutdown of a server or a CLI command).
        if self.audit.appended_since_checkpoint:
            self.audit.checkpoint_if_behind(self.sessions)
        self.engine.dispose()
