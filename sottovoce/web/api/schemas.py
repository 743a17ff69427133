"""Response models of the JSON API: what /api/openapi.json describes, and what clients generated
from it (e.g. openapi-python-client) parse. The routes still build plain dicts; FastAPI checks
them against these models on the way out, so a field added to a route without its model here is
dropped, not leaked (tests/interop/test_openapi.py compares the two).

Multipart upload: POST /api/v1/recordings reads its body itself (web/multipart.py, streamed with
a size cap), so its request body is described here by hand (``UPLOAD_BODY``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error of the JSON API (web/errors.py)."""

    error: ErrorDetail


Responses = dict[int | str, dict[str, Any]]
ERRORS: Responses = {status: {"model": ErrorBody} for status in (400, 401, 403, 404, 409, 413, 422, 429)}


# --- device API ---------------------------------------------------------------------------------

class RecordingAccepted(BaseModel):
    id: str
    status: str = Field(description="pending (queued for recognition) or transcribed (a hypothesis came with it)")
    duration_s: float


class Receipt(BaseModel):
    id: str
    scope: str = Field(description="recordings | account")
    channel: str
    status: str = Field(description="pending | done")
    requested_at: str
    completed_at: str | None
    counts: dict[str, int] = Field(description="what was deleted, by kind")


class Deleted(BaseModel):
    deleted: int
    receipt: Receipt | None


UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["audio"],
    "properties": {
        "audio": {"type": "string", "format": "binary", "description": "WAV, FLAC, OGG/Opus, MP3, M4A or WebM"},
        "metadata": {"type": "string", "description": 'JSON: {"captured_at": ISO-8601, "hypothesis": {"engine", "model", "model_version", "words": [{"word", "start", "end", "confidence"}]}}'},
    },
}
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {"$ref": "#/components/schemas/RecordingUpload"}}}}}


# --- account holder API -------------------------------------------------------------------------

class ConsentSwitch(BaseModel):
    value: bool
    explanation: str


class KeepVoice(BaseModel):
    """"Don't keep my voice": keep | text_only | nothing, with the choices and what each means."""

    value: str
    choices: dict[str, str]


class Retention(BaseModel):
    value: str
    label: str
    choices: dict[str, str]


class AccountSummary(BaseModel):
    id: str
    name: str
    created_at: str
    consent: dict[str, ConsentSwitch] = Field(description="by purpose: human_review, training")
    retention: Retention
    keep_voice: KeepVoice


class Me(AccountSummary):
    csrf_token: str = Field(description="send as X-CSRF-Token on PUT and DELETE")


class DeviceRef(BaseModel):
    id: str
    name: str | None


class HumanListen(BaseModel):
    at: str
    purpose: str
    kind: str
    reason: str | None = None


class Word(BaseModel):
    word: str
    start: float
    end: float
    confidence: float


class Hypothesis(BaseModel):
    source: str
    engine: str
    model: str
    model_version: str
    version_id: str | None
    created_at: str
    text: str
    words: list[Word]


class RecordingItem(BaseModel):
    id: str
    captured_at: str
    received_at: str
    duration_s: float
    device: DeviceRef | None
    status: str
    likely_accidental: bool
    transcript: str | None
    reviewed_by_a_person: bool
    human_listens: list[HumanListen]
    audio_url: str


class RecordingDetail(RecordingItem):
    hypothesis: Hypothesis | None


class RecordingsPage(BaseModel):
    recordings: list[RecordingItem]
    page: int
    pages: int
    total: int


class ConsentChanged(ConsentSwitch):
    withdrawn_tasks: int


class Receipts(BaseModel):
    receipts: list[Receipt]


AUDIO_WAV: Responses = {200: {"content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}, "description": "16 kHz mono WAV"}}
ZIP: Responses = {200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}, "description": "all audio and data held"}}


# --- the published schema -----------------------------------------------------------------------

SECURITY = {
    "device": ("deviceToken", {"type": "http", "scheme": "bearer", "description": "the device's token (svd_...), from `sottovoce devices add`"}),
    "account holder": ("accountSession", {"type": "apiKey", "in": "cookie", "name": "__Host-sv_account", "description": "the account holder's session, from a one-time sign-in link; PUT/DELETE also send X-CSRF-Token"}),
}


def api_schema(app: FastAPI) -> dict:
    """OpenAPI for the JSON API only (/api/...): HTML pages and forms are not an API."""
    from fastapi.openapi.utils import get_openapi

    from sottovoce.web.policies import api_routes

    routes = [r for r in api_routes(app) if isinstance(r, APIRoute) and r.path.startswith("/api/") and r.include_in_schema]
    schema = get_openapi(title="sottovoce", version=app.version, routes=routes,
                         description="Device and account-holder API of sottovoce. Errors: {\"error\": {\"code\", \"message\"}}.")
    schema.setdefault("components", {})["securitySchemes"] = dict(SECURITY.values())
    schema["components"].setdefault("schemas", {})["RecordingUpload"] = UPLOAD_SCHEMA
    names = {(method.lower(), r.path): r.name for r in routes for method in (r.methods or ())}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            operation["operationId"] = names[(method, path)]  # create_recording, not create_recording_api_v1_recordings_post
            tag = (operation.get("tags") or [""])[0]
            if tag in SECURITY:
                operation["security"] = [{SECURITY[tag][0]: []}]
    return schema
