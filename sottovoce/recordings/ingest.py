"""Ingest: the one code path behind HTTP POST /api/v1/recordings and `sottovoce ingest`.

Order matters for "nothing left behind": everything that can fail on bad input (size, decoding,
duration, metadata) is checked in memory first; then the sealed audio is written (atomically),
then one database transaction records it. If that transaction fails, the blob is removed; if the
process dies between the two, recovery.py removes the unreferenced blob on the next start.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from sottovoce.core import audio
from sottovoce.core.errors import InvalidAudio, TooLarge
from sottovoce.core.services import Services
from sottovoce.db.enums import JobKind, RecordingStatus
from sottovoce.db.models import Job, Recording
from sottovoce.db.types import new_id, utcnow
from sottovoce.recordings.metadata import IngestMetadata, check_hypothesis_fits
from sottovoce.recordings.store import AUDIO, add_hypothesis

TRANSCRIBE = JobKind.TRANSCRIBE


class Sender(Protocol):
    """Who sent a recording: a device, or an import (``id`` None: no device)."""

    @property
    def id(self) -> str | None: ...

    @property
    def account_id(self) -> str: ...


def _prepare(services: Services, db: Session, device: Sender, data: bytes, metadata: IngestMetadata,
             capture_age_days: int | None = None) -> Recording:
    """Validate, seal and store one recording; queue recognition unless a hypothesis came with it.

    The caller commits (or rolls back) the session; see ``ingest_and_commit``.
    """
    limits = services.settings
    if len(data) > limits.max_upload_bytes:
        raise TooLarge(f"the upload is {len(data)} bytes; the limit is {limits.max_upload_bytes}")
    samples = audio.decode(data, limits.max_duration_s)
    duration_s = samples.size / audio.SAMPLE_RATE
    if duration_s < limits.min_duration_s:
        raise InvalidAudio(f"the recording is {duration_s:.3f} s; the minimum is {limits.min_duration_s:g} s")
    if metadata.hypothesis is not None:
        check_hypothesis_fits(metadata.hypothesis, duration_s)
    now = utcnow()
    captured_at = metadata.capture_time(now, timedelta(days=capture_age_days or limits.max_capture_age_days))

    recording_id = new_id()
    sealed = services.keys.seal(db, device.account_id, audio.to_pcm16(samples), AUDIO, recording_id)
    recording = Recording(
        id=recording_id,
        account_id=device.account_id,
        device_id=device.id,
        captured_at=captured_at,
        received_at=now,
        duration_s=duration_s,
        audio_blob_id="",
        status=RecordingStatus.PENDING,
    )
    recording.audio_blob_id = services.blobs.put(sealed)
    return recording


def _record(services: Services, db: Session, recording: Recording, metadata: IngestMetadata) -> None:
    try:
        db.add(recording)
        if metadata.hypothesis is not None:
            add_hypothesis(services, db, recording, metadata.hypothesis.to_transcript(), source="external")
            recording.status = RecordingStatus.TRANSCRIBED
        else:
            db.add(Job(kind=TRANSCRIBE, subject_id=recording.id))
        db.flush()
    except BaseException:
        services.blobs.delete(recording.audio_blob_id)
        raise


def ingest(services: Services, db: Session, device: Sender, data: bytes, metadata: IngestMetadata,
           capture_age_days: int | None = None) -> Recording:
    """Validate, seal and store one recording; the caller commits (see ``ingest_and_commit``).

    ``capture_age_days`` widens the bound on how old a capture time may be, for an operator's
    import of history (settings.max_capture_age_days guards device clocks)."""
    recording = _prepare(services, db, device, data, metadata, capture_age_days)
    _record(services, db, recording, metadata)
    return recording


def ingest_and_commit(services: Services, db: Session, device: Sender, data: bytes, metadata: IngestMetadata) -> Recording:
    """ingest + commit_ingest on one thread: decoding and sealing first, then a short write
    transaction (INSERTs .. COMMIT) that is never held across an await or slow work."""
    recording = _prepare(services, db, device, data, metadata)
    _record(services, db, recording, metadata)
    commit_ingest(services, db, recording)
    return recording


def commit_ingest(services: Services, db: Session, recording: Recording) -> None:
    """Commit the ingest transaction; if the commit fails, the blob it wrote goes too."""
    try:
        db.commit()
    except BaseException:
        db.rollback()
        services.blobs.delete(recording.audio_blob_id)
        raise
