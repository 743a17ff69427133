"""The device API: POST /api/v1/recordings sends one utterance (multipart: audio + JSON metadata);
DELETE /api/v1/recordings/last and DELETE /api/v1/recordings?since=ISO8601 delete what this device
just sent ("delete what I just said"), through the one deletion cascade."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.accounts.dashboard import parse_instant
from sottovoce.accounts.deletion import delete_recordings
from sottovoce.accounts.voice import apply_after_transcription
from sottovoce.core.audit import Actor
from sottovoce.core.errors import InvalidInput, NotFound
from sottovoce.core.services import Services
from sottovoce.core.session_tokens import digest
from sottovoce.db.models import Device, Recording
from sottovoce.recordings.ingest import ingest_and_commit
from sottovoce.recordings.metadata import IngestMetadata, parse_metadata
from sottovoce.web.api.schemas import ERRORS, UPLOAD_BODY, Deleted, RecordingAccepted
from sottovoce.web.deps import get_db, get_services
from sottovoce.web.multipart import read_multipart
from sottovoce.web.policies import device as device_policy
from sottovoce.web.upload_limits import DeviceSlots

router = APIRouter(prefix="/api/v1/recordings", tags=["device"])

MULTIPART_OVERHEAD = 64 * 1024  # room for boundaries, headers and the metadata part


SLOTS = DeviceSlots()


def _ingest(services: Services, device: Device, data: bytes, metadata: IngestMetadata) -> dict:
    # Its own session, opened after the body is in memory and closed at once: the connection is
    # held only for the short write transaction, never while the body arrives or audio decodes.
    with services.sessions() as db:
        recording = ingest_and_commit(services, db, device, data, metadata)
        answer = {"id": recording.id, "status": recording.status, "duration_s": round(recording.duration_s, 3)}
        if recording.status == "transcribed":  # the device sent its hypothesis: it has its answer now
            apply_after_transcription(services, db, recording.id)  # "don't keep my voice"
        return answer


async def upload_slot(request: Request, services: Services = Depends(get_services)) -> AsyncIterator[None]:
    """The per-device cap, keyed by the bearer token's digest (one token per device) and taken
    before the token is looked up: a device over its cap is refused without a database query.
    A request without a token shares no bucket with others: the device policy answers it 401."""
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    if not token:
        yield
        return
    with SLOTS.hold(digest(token), services.settings.upload_concurrency_per_device):
        yield


@router.post("", status_code=202, response_model=RecordingAccepted, responses=ERRORS, openapi_extra=UPLOAD_BODY)
async def create_recording(
    request: Request,
    _slot: None = Depends(upload_slot),  # first: before the device lookup
    device: Device = Depends(device_policy()),
    services: Services = Depends(get_services),
) -> JSONResponse:
    limits = services.settings
    parts = await read_multipart(request, limits.max_upload_bytes + MULTIPART_OVERHEAD, deadline_s=limits.upload_body_timeout_s)
    audio_part = parts.get("audio")
    if audio_part is None or audio_part.filename is None:
        raise InvalidInput("the 'audio' file part is missing")
    metadata_part = parts.get("metadata")
    metadata = parse_metadata(bytes(metadata_part.data) if metadata_part else None)
    # Decoding and sealing are CPU work: keep them off the event loop.
    answer = await asyncio.to_thread(_ingest, services, device, bytes(audio_part.data), metadata)
    worker = getattr(request.app.state, "worker", None)
    if worker is not None and answer["status"] == "pending":
        worker.notify()
    return JSONResponse(
        answer,
        status_code=202,
        headers={"Cache-Control": "no-store"},
    )


# --- "delete what I just said" (issue 5): a device deletes its own recent recordings -------------


def _device_delete(services: Services, db: Session, device: Device, ids: list[str]) -> JSONResponse:
    receipt = delete_recordings(services, db, device.account_id, ids, Actor(device.id, "device"), "device-api")
    deleted = receipt["counts"].get("recordings", 0) if receipt else 0
    return JSONResponse({"deleted": deleted, "receipt": receipt}, headers={"Cache-Control": "no-store"})


@router.delete("/last", response_model=Deleted, responses=ERRORS)
def delete_last(
    device: Device = Depends(device_policy()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> JSONResponse:
    """This device's most recently received recording, and everything derived from it."""
    latest = db.scalar(
        select(Recording.id)
        .where(Recording.device_id == device.id, Recording.account_id == device.account_id)
        .order_by(Recording.received_at.desc(), Recording.id.desc())
        .limit(1)
    )
    if latest is None:
        raise NotFound("recording")
    return _device_delete(services, db, device, [latest])


@router.delete("", response_model=Deleted, responses=ERRORS)
def delete_since(
    since: str = Query(max_length=40),
    device: Device = Depends(device_policy()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> JSONResponse:
    """This device's recordings captured at or after ``since`` (ISO-8601 with a time zone)."""
    start = parse_instant(since, "since")
    ids = list(
        db.scalars(
            select(Recording.id).where(
                Recording.device_id == device.id, Recording.account_id == device.account_id, Recording.captured_at >= start
            )
        )
    )
    return _device_delete(services, db, device, ids)
