"""POST /api/v1/recordings: a device sends one utterance (multipart: audio + JSON metadata)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from sottovoce.db.models import Device
from sottovoce.errors import InvalidInput
from sottovoce.recordings.ingest import commit_ingest, ingest
from sottovoce.recordings.metadata import parse_metadata
from sottovoce.services import Services
from sottovoce.web.deps import get_db, get_services
from sottovoce.web.policies import device as device_policy
from sottovoce.web.multipart import read_multipart

router = APIRouter(prefix="/api/v1/recordings", tags=["device"])

MULTIPART_OVERHEAD = 64 * 1024  # room for boundaries, headers and the metadata part


@router.post("", status_code=202)
async def create_recording(
    request: Request,
    device: Device = Depends(device_policy()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> JSONResponse:
    parts = await read_multipart(request, services.settings.max_upload_bytes + MULTIPART_OVERHEAD)
    audio_part = parts.get("audio")
    if audio_part is None or audio_part.filename is None:
        raise InvalidInput("the 'audio' file part is missing")
    metadata_part = parts.get("metadata")
    metadata = parse_metadata(bytes(metadata_part.data) if metadata_part else None)
    # Decoding and sealing are CPU work: keep them off the event loop.
    recording = await asyncio.to_thread(ingest, services, db, device, bytes(audio_part.data), metadata)
    await asyncio.to_thread(commit_ingest, services, db, recording)
    worker = getattr(request.app.state, "worker", None)
    if worker is not None and recording.status == "pending":
        worker.notify()
    return JSONResponse(
        {"id": recording.id, "status": recording.status, "duration_s": round(recording.duration_s, 3)},
        status_code=202,
        headers={"Cache-Control": "no-store"},
    )
