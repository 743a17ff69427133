"""The transcription job: decrypt in memory, recognize with the active model version, seal the hypothesis."""

from __future__ import annotations

from sottovoce.accounts.voice import apply_after_transcription
from sottovoce.core.services import Services
from sottovoce.db.enums import RecordingStatus
from sottovoce.db.models import Recording
from sottovoce.learning.registry import active_params, recognize
from sottovoce.recordings.store import add_hypothesis, load_audio


def transcribe_recording(services: Services, recording_id: str) -> None:
    with services.sessions() as db:
        recording = db.get(Recording, recording_id)
        if recording is None or recording.status != RecordingStatus.PENDING:
            return  # deleted meanwhile, or already done by an earlier attempt
        samples = load_audio(services, db, recording)
    version_id, params = active_params(services)
    try:
        transcript = recognize(services.recognizer, samples, params)
    except Exception as exc:
        with services.sessions() as db:
            recording = db.get(Recording, recording_id)
            if recording is not None:
                recording.status = RecordingStatus.FAILED
                recording.failure_reason = f"recognizer error: {type(exc).__name__}"
                db.commit()
        raise
    with services.sessions() as db:
        recording = db.get(Recording, recording_id)
        if recording is None or recording.status != RecordingStatus.PENDING:
            return
        add_hypothesis(services, db, recording, transcript, source="local", version_id=version_id)
        recording.status = RecordingStatus.TRANSCRIBED
        db.commit()
        apply_after_transcription(services, db, recording_id)  # "don't keep my voice"
