"""/api/v1/me: the account holder's JSON API, the same data as the /me pages, plus the audio of
their own recordings and the streamed export (which the pages link to).

Authentication is the account holder's session cookie; unsafe methods carry the session's CSRF
token in ``X-CSRF-Token`` (GET /api/v1/me returns it). Every query filters by the signed-in account.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from sottovoce.accounts import consent
from sottovoce.accounts import dashboard as view
from sottovoce.accounts.data_export import start_export
from sottovoce.accounts.deletion import delete_recordings
from sottovoce.accounts.retention import set_retention
from sottovoce.accounts.voice import set_keep_voice
from sottovoce.core.audio import to_wav
from sottovoce.core.errors import NotFound
from sottovoce.core.services import Services
from sottovoce.recordings.store import get_recording, load_audio
from sottovoce.web.api import schemas
from sottovoce.web.deps import get_db, get_services
from sottovoce.web.policies import AccountPrincipal, account_holder

router = APIRouter(prefix="/api/v1/me", tags=["account holder"])
CHANNEL = "dashboard"
NO_STORE = {"Cache-Control": "no-store"}


class SwitchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: bool


class RetentionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    retention: str


@router.get("", response_model=schemas.Me, responses=schemas.ERRORS)
def me(holder: AccountPrincipal = Depends(account_holder())) -> dict:
    return {**view.account_summary(holder.account), "csrf_token": holder.session.csrf_token}


@router.get("/recordings", response_model=schemas.RecordingsPage, responses=schemas.ERRORS)
def list_recordings(
    page: int = Query(1, ge=1, le=1_000_000),
    holder: AccountPrincipal = Depends(account_holder()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> dict:
    return view.recordings_page(services, db, holder.account.id, page).as_dict()


@router.get("/recordings/{recording_id}", response_model=schemas.RecordingDetail, responses=schemas.ERRORS)
def show_recording(
    recording_id: str,
    holder: AccountPrincipal = Depends(account_holder()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> dict:
    return view.recording_detail(services, db, holder.account.id, recording_id)


@router.get("/recordings/{recording_id}/audio", response_class=Response, responses={**schemas.ERRORS, **schemas.AUDIO_WAV})
def recording_audio(
    recording_id: str,
    holder: AccountPrincipal = Depends(account_holder()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> Response:
    recording = get_recording(db, recording_id, account_id=holder.account.id)
    if not recording.audio_kept:
        raise NotFound("audio (deleted at your request once transcribed)")
    wav = to_wav(load_audio(services, db, recording))
    return Response(wav, media_type="audio/wav", headers={**NO_STORE, "Content-Disposition": 'inline; filename="recording.wav"'})


@router.delete("/recordings/{recording_id}", response_model=schemas.Deleted, responses=schemas.ERRORS)
def delete_recording(
    recording_id: str,
    holder: AccountPrincipal = Depends(account_holder()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> dict:
    recording = get_recording(db, recording_id, account_id=holder.account.id)
    receipt = delete_recordings(services, db, holder.account.id, [recording.id], holder.actor, CHANNEL)
    assert receipt is not None  # one id given: there is a receipt
    return {"deleted": receipt["counts"].get("recordings", 0), "receipt": receipt}


@router.delete("/recordings", response_model=schemas.Deleted, responses=schemas.ERRORS)
def delete_many(
    start: str | None = Query(None, alias="from", max_length=40),
    end: str | None = Query(None, alias="to", max_length=40),
    everything: bool = Query(False, alias="all"),
    holder: AccountPrincipal = Depends(account_holder()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> dict:
    """?from=&to= (ISO-8601 dates or date-times, inclusive) deletes a range; ?all=true everything."""
    account_id = holder.account.id
    ids = view.selected_ids(db, account_id, start, end, everything)
    receipt = delete_recordings(services, db, account_id, ids, holder.actor, CHANNEL)
    return {"deleted": receipt["counts"].get("recordings", 0) if receipt else 0, "receipt": receipt}


@router.put("/consent/{purpose}", response_model=schemas.ConsentChanged, responses=schemas.ERRORS)
def change_consent(
    purpose: str,
    body: SwitchBody,
    holder: AccountPrincipal = Depends(account_holder()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> dict:
    withdrawn = consent.set_consent(services, db, holder.account, purpose, body.value, holder.actor, channel=CHANNEL)
    db.commit()
    return {**view.account_summary(holder.account)["consent"][purpose], "withdrawn_tasks": withdrawn}


@router.put("/retention", response_model=schemas.Retention, responses=schemas.ERRORS)
def change_retention(
    body: RetentionBody,
    holder: AccountPrincipal = Depends(account_holder()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> dict:
    set_retention(services, db, holder.account, body.retention, holder.actor, channel=CHANNEL)
    db.commit()
    return view.account_summary(holder.account)["retention"]


class KeepVoiceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keep_voice: str


@router.put("/keep-voice", response_model=schemas.KeepVoice, responses=schemas.ERRORS)
def change_keep_voice(
    body: KeepVoiceBody,
    holder: AccountPrincipal = Depends(account_holder()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> dict:
    """"Don't keep my voice": keep | text_only | nothing (accounts/voice.py)."""
    set_keep_voice(services, db, holder.account, body.keep_voice, holder.actor, channel=CHANNEL)
    db.commit()
    return view.account_summary(holder.account)["keep_voice"]


@router.get("/receipts", response_model=schemas.Receipts, responses=schemas.ERRORS)
def list_receipts(holder: AccountPrincipal = Depends(account_holder()), db: Session = Depends(get_db)) -> dict:
    return {"receipts": view.receipts(db, holder.account.id)}


@router.get("/receipts/{receipt_id}", response_model=schemas.Receipt, responses=schemas.ERRORS)
def show_receipt(receipt_id: str, holder: AccountPrincipal = Depends(account_holder()), db: Session = Depends(get_db)) -> dict:
    return view.receipt(db, holder.account.id, receipt_id)


@router.get("/export", response_class=StreamingResponse, responses={**schemas.ERRORS, **schemas.ZIP})
def export(
    holder: AccountPrincipal = Depends(account_holder()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> StreamingResponse:
    """A zip of all audio and a JSON of all data held, streamed (export.py)."""
    filename, chunks = start_export(services, db, holder.account.id, holder.actor, CHANNEL)
    return StreamingResponse(
        chunks, media_type="application/zip", headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'}
    )
