"""Transcription jobs: decrypt in memory, recognize with a model version, seal the hypothesis.

- ``transcribe``: a new recording, with the version active when the job runs.
- ``retranscribe``: a stored recording again (``sottovoce recordings retranscribe``), with the
  active version or a named one. Consent is checked when queued and again when the job runs (a
  withdrawal or deletion in between skips it): with the active version it is the service's own
  transcription, as at ingest; with any other version (a candidate, an earlier version: measuring
  the recognizer) the account must consent to training use. The new hypothesis is added after the
  earlier ones (kept) and records the version that produced it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.accounts.voice import apply_after_transcription
from sottovoce.core.errors import Conflict
from sottovoce.core.services import Services
from sottovoce.db.enums import JobKind
from sottovoce.db.models import Account, Job, ModelVersion, Recording, Retranscription
from sottovoce.learning import registry
from sottovoce.learning.registry import active_params, recognize
from sottovoce.recordings.store import add_hypothesis, load_audio

RETRANSCRIBE = JobKind.RETRANSCRIBE
DONE_STATUSES = ("transcribed", "failed")


def transcribe_recording(services: Services, recording_id: str) -> None:
    with services.sessions() as db:
        recording = db.get(Recording, recording_id)
        if recording is None or recording.status != "pending":
            return  # deleted meanwhile, or already done by an earlier attempt
        samples = load_audio(services, db, recording)
    version_id, params = active_params(services)
    try:
        transcript = recognize(services.recognizer, samples, params)
    except Exception as exc:
        with services.sessions() as db:
            recording = db.get(Recording, recording_id)
            if recording is not None:
                recording.status = "failed"
                recording.failure_reason = f"recognizer error: {type(exc).__name__}"
                db.commit()
        raise
    with services.sessions() as db:
        # Locked (PostgreSQL): a second run of this job after a lost lease waits here, then sees
        # 'transcribed' and adds nothing; one hypothesis, whichever worker finishes first.
        recording = db.get(Recording, recording_id, with_for_update=True)
        if recording is None or recording.status != "pending":
            return
        add_hypothesis(services, db, recording, transcript, source="local", version_id=version_id)
        recording.status = "transcribed"
        db.commit()
        apply_after_transcription(services, db, recording_id)  # "don't keep my voice"


def _allowed(db: Session, recording: Recording, version_id: str | None) -> bool:
    if version_id is None:
        return True
    active = db.scalar(select(ModelVersion.id).where(ModelVersion.status.in_((registry.ACTIVE, registry.NEEDS_RETRAIN))).order_by(ModelVersion.activated_at.desc().nullslast()).limit(1))
    return version_id == active or bool(db.scalar(select(Account.consent_training).where(Account.id == recording.account_id)))


def queue_retranscriptions(
    services: Services, db: Session, since: datetime | None = None, account_id: str | None = None, version: ModelVersion | None = None
) -> dict:
    """Queues one ``retranscribe`` job per stored, already transcribed recording that matches and
    may be used; the caller commits. Returns the job ids and how many were skipped for consent."""
    if version is not None and registry.params_of(services, version).get("stripped_by_deletion") and version.status != registry.NEEDS_RETRAIN:
        raise Conflict(f"{version.name} was stripped by a deletion; rebuild it first")
    query = select(Recording).where(Recording.status.in_(DONE_STATUSES)).order_by(Recording.captured_at)
    if since is not None:
        query = query.where(Recording.captured_at >= since)
    if account_id is not None:
        query = query.where(Recording.account_id == account_id)
    jobs, skipped = [], 0
    version_id = version.id if version is not None else None
    for recording in db.scalars(query):
        if not _allowed(db, recording, version_id):
            skipped += 1
            continue
        request = Retranscription(recording_id=recording.id, version_id=version_id)
        db.add(request)
        db.flush()
        job = Job(kind=RETRANSCRIBE, subject_id=request.id)
        db.add(job)
        db.flush()
        jobs.append(job.id)
    return {"queued": len(jobs), "skipped_without_training_consent": skipped, "jobs": jobs, "version": version.name if version else "active"}


def retranscribe_recording(services: Services, request_id: str) -> None:
    with services.sessions() as db:
        request = db.get(Retranscription, request_id)
        if request is None:
            return  # the recording was deleted meanwhile (the request went with it) or done
        recording = db.get(Recording, request.recording_id)
        if recording is None or not _allowed(db, recording, request.version_id):
            db.delete(request)  # consent withdrawn since it was queued
            db.commit()
            return
        samples = load_audio(services, db, recording)
        if request.version_id is None:
            version_id, params = active_params(services)
        else:
            version_id, params = request.version_id, registry.params_of(services, db.get_one(ModelVersion, request.version_id))
    transcript = recognize(services.recognizer, samples, params)
    with services.sessions() as db:
        request = db.get(Retranscription, request_id)
        recording = db.get(Recording, request.recording_id) if request is not None else None
        if request is None or recording is None or not _allowed(db, recording, request.version_id):
            return
        add_hypothesis(services, db, recording, transcript, source="local", version_id=version_id)
        recording.status, recording.failure_reason = "transcribed", None
        db.delete(request)
        db.commit()
        apply_after_transcription(services, db, recording.id)  # "don't keep my voice"
