"""The closed vocabularies stored in status and kind columns. StrEnum members compare equal to
their string values, so rows read back as plain strings still match."""

from __future__ import annotations

from enum import StrEnum


class JobKind(StrEnum):
    TRANSCRIBE = "transcribe"
    RENDER = "render_task"
    RETRANSCRIBE = "retranscribe"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RecordingStatus(StrEnum):
    PENDING = "pending"
    TRANSCRIBED = "transcribed"
    FAILED = "failed"


class TaskStatus(StrEnum):
    QUEUED = "queued"
    LEASED = "leased"
    DONE = "done"
    SKIPPED = "skipped"
    WITHDRAWN = "withdrawn"
    STOPPED = "stopped"


class VersionStatus(StrEnum):
    ACTIVE = "active"
    CANDIDATE = "candidate"
    RETIRED = "retired"
    NEEDS_RETRAIN = "needs_retrain"


class BreakGlassStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REVEALED = "revealed"
    REFUSED = "refused"


class ReceiptStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
