"""Writing and reading the stored form of a recording: sealed audio blob, sealed hypothesis.

Associated data binds each ciphertext to its recording id (crypto.py), so a blob or a hypothesis
moved onto another recording does not open.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.asr.hypothesis import Transcript
from sottovoce.core.errors import NotFound
from sottovoce.core.purposes import Purpose
from sottovoce.core.services import Services
from sottovoce.db.models import Hypothesis, Recording

if TYPE_CHECKING:  # numpy and PyAV load only when audio is decoded: `recordings show` needs neither
    import numpy as np

AUDIO = Purpose.AUDIO
HYPOTHESIS = Purpose.HYPOTHESIS


def get_recording(db: Session, recording_id: str, account_id: str | None = None) -> Recording:
    """Load a recording, optionally only within one account ("not found" either way)."""
    query = select(Recording).where(Recording.id == recording_id)
    if account_id is not None:
        query = query.where(Recording.account_id == account_id)
    recording = db.scalar(query)
    if recording is None:
        raise NotFound("recording")
    return recording


def load_audio(services: Services, db: Session, recording: Recording) -> np.ndarray:
    from sottovoce.core.audio import from_pcm16

    sealed = services.blobs.get(recording.audio_blob_id)
    return from_pcm16(services.keys.open(db, recording.account_id, sealed, AUDIO, recording.id))


EXTERNAL_LABEL = "external"


def add_hypothesis(services: Services, db: Session, recording: Recording, transcript: Transcript, source: str, version_id: str | None = None) -> Hypothesis:
    content = transcript.content_json()
    labels = {"engine": transcript.engine, "model": transcript.model, "model_version": transcript.model_version}
    if source == "external":
        # A device names its own engine and model: free text we cannot vouch for (a phone number
        # could be put there), so it is sealed with the transcript and the columns say only "external".
        content = json.dumps({**json.loads(content), "labels": labels}, separators=(",", ":")).encode()
        labels = {"engine": EXTERNAL_LABEL, "model": EXTERNAL_LABEL, "model_version": EXTERNAL_LABEL}
    hypothesis = Hypothesis(
        recording_id=recording.id,
        source=source,
        **labels,
        sealed_content=services.keys.seal(db, recording.account_id, content, HYPOTHESIS, recording.id),
        word_count=len(transcript.words),
        min_confidence=transcript.min_confidence,
        mean_confidence=transcript.mean_confidence,
        version_id=version_id,
    )
    db.add(hypothesis)
    return hypothesis


def latest_hypothesis(db: Session, recording_id: str) -> Hypothesis | None:
    return db.scalar(
        select(Hypothesis).where(Hypothesis.recording_id == recording_id).order_by(Hypothesis.created_at.desc()).limit(1)
    )


def open_hypothesis(services: Services, db: Session, recording: Recording, hypothesis: Hypothesis) -> dict:
    content = json.loads(services.keys.open(db, recording.account_id, hypothesis.sealed_content, HYPOTHESIS, recording.id))
    return {
        "source": hypothesis.source,
        **hypothesis_labels(hypothesis, content),
        "version_id": hypothesis.version_id,
        "created_at": hypothesis.created_at.isoformat(),
        "text": content["text"],
        "words": content["words"],
    }


def hypothesis_labels(hypothesis: Hypothesis, content: dict) -> dict:
    """Engine, model and model version: sealed in the content for external hypotheses."""
    return content.get("labels") or {"engine": hypothesis.engine, "model": hypothesis.model, "model_version": hypothesis.model_version}


def describe(services: Services, db: Session, recording: Recording) -> dict:
    """Everything the owner (or an operator CLI) may see about one recording."""
    hypothesis = latest_hypothesis(db, recording.id)
    return {
        "id": recording.id,
        "device_id": recording.device_id,
        "captured_at": recording.captured_at.isoformat(),
        "received_at": recording.received_at.isoformat(),
        "duration_s": round(recording.duration_s, 3),
        "status": recording.status,
        "failure_reason": recording.failure_reason,
        "hypothesis": open_hypothesis(services, db, recording, hypothesis) if hypothesis else None,
    }
