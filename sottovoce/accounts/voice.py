""""Don't keep my voice": the holder's choice of what is kept after a recording is transcribed.

- ``keep``: audio and text are kept (retention applies);
- ``text_only``: the audio is deleted as soon as the transcript exists; the text is kept;
- ``nothing``: the recording is deleted through the one cascade once the device has its answer
  (the transcript), leaving a receipt.

Recordings of a ``text_only`` or ``nothing`` account are never sampled for human review (the
sampler's candidates require ``keep``). A change is recorded like every consent change: a
``ConsentChange`` row (purpose ``keep_voice``, value true only for ``keep``) and a
``consent.change`` audit event naming the choice and the channel.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sottovoce.accounts.deletion import delete_recordings
from sottovoce.core.audit import Actor
from sottovoce.core.errors import InvalidInput
from sottovoce.core.services import Services
from sottovoce.db.models import Account, ConsentChange, Recording

KEEP, TEXT_ONLY, NOTHING = "keep", "text_only", "nothing"
CHOICES = {
    KEEP: "Keep my recordings (audio and text)",
    TEXT_ONLY: "Keep only the text: delete the audio as soon as it is transcribed",
    NOTHING: "Keep nothing: delete each recording once my device has its answer",
}
PURPOSE = "keep_voice"
POLICY = Actor.system("voice-choice")


def set_keep_voice(services: Services, db: Session, account: Account, value: str, actor: Actor, channel: str) -> None:
    """Record the holder's choice; it applies to recordings transcribed from now on. The caller commits."""
    if value not in CHOICES:
        raise InvalidInput(f"expected a choice among {', '.join(CHOICES)} but got '{str(value)[:20]}'")
    previous = account.keep_voice
    account.keep_voice = value
    db.add(ConsentChange(account_id=account.id, purpose=PURPOSE, value=value == KEEP, actor_id=actor.id, actor_role=actor.role, channel=channel))
    services.audit.append(db, actor, "consent.change", account.id, {"purpose": PURPOSE, "from": previous, "to": value, "channel": channel})


def apply_after_transcription(services: Services, db: Session, recording_id: str) -> str:
    """Enforce the account's choice on a just-transcribed recording; returns what was done. Commits."""
    recording = db.get(Recording, recording_id)
    if recording is None or recording.status != "transcribed":
        return "nothing to do"
    account = db.get(Account, recording.account_id)
    choice = account.keep_voice if account is not None else KEEP
    if choice == TEXT_ONLY and recording.audio_kept:
        services.blobs.delete(recording.audio_blob_id)
        recording.audio_kept = False
        services.audit.append(db, POLICY, "recording.audio_deleted", recording.id, {"reason": TEXT_ONLY})
        db.commit()
        return "audio deleted"
    if choice == NOTHING:
        delete_recordings(services, db, recording.account_id, [recording.id], POLICY, "voice-choice")
        return "deleted"
    return "kept"
