"""The transcription job: decrypt in memory, recognize with the active model version, seal the hypothesis."""

from __future__ import annotations

from sottovoce.db.models import Recording
from sottovoce.learning.registry import active_params, recognize
from sottovoce.recordings.ingest import TRANSCRIBE
from sottovoce.recordings.store import add_hypothesis, load_audio
from sottovoce.services import Services
from sottovoce.worker import handler


@handler(TRANSCRIBE)
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
