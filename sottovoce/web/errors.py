"""One JSON error shape for the whole API, the same message as an HTML page for browsers, and the
mapping from domain errors to statuses.

    {"error": {"code": "invalid_audio", "message": "the file holds no audio stream"}}

The shape is pinned by tests/web/test_error_shape.py. Messages come from errors.py and never echo
submitted content.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from sottovoce.core.blobs import BlobStoreUnavailable
from sottovoce.core.errors import (
    AuditUnavailable,
    Conflict,
    DatabaseBusy,
    Forbidden,
    IntegrityFailure,
    InvalidInput,
    NotFound,
    SottovoceError,
    TooLarge,
    TooManyRequests,
    Unauthenticated,
)
from sottovoce.web.templating import templates
from sottovoce.web.upload_limits import RequestTimeout

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store"}
TITLES = {400: "Bad request", 401: "Sign in first", 403: "Not allowed", 404: "Not found", 409: "Conflict",
          413: "Too large", 422: "Check your input", 429: "Too many requests", 503: "Unavailable"}


# Domain errors carry no protocol; this is where they become HTTP statuses (most specific first).
STATUS: list[tuple[type[SottovoceError], int]] = [
    (InvalidInput, 422), (TooLarge, 413), (Unauthenticated, 401), (Forbidden, 403), (NotFound, 404),
    (Conflict, 409), (TooManyRequests, 429), (RequestTimeout, 408), (IntegrityFailure, 500),
    (AuditUnavailable, 503), (DatabaseBusy, 503), (BlobStoreUnavailable, 503), (SottovoceError, 400),
]


def status_of(exc: SottovoceError) -> int:
    return next(status for kind, status in STATUS if isinstance(exc, kind))


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def error_response(request: Request, status: int, code: str, message: str, headers: dict | None = None) -> Response:
    if wants_html(request):
        context = {"status": status, "title": TITLES.get(status, "Error"), "message": message}
        return templates.TemplateResponse(request, "error.html", context, status_code=status, headers=headers)
    return JSONResponse(error_body(code, message), status_code=status, headers={**NO_STORE, **(headers or {})})


def install(app: FastAPI) -> None:
    from sottovoce.web.policies import PasswordChangeRequired

    @app.exception_handler(SottovoceError)
    async def domain_error(request: Request, exc: SottovoceError) -> Response:
        if isinstance(exc, PasswordChangeRequired):
            return RedirectResponse("/staff/password", status_code=303)
        if isinstance(exc, Unauthenticated) and wants_html(request) and request.url.path.startswith("/staff"):
            return RedirectResponse("/staff/login", status_code=303)
        if isinstance(exc, Unauthenticated) and wants_html(request) and request.url.path.startswith("/me/") and request.url.path != "/me/login":
            # Still 401, with the page that says how to get a sign-in link (no form: there is no link yet).
            context = {"holder": None, "token": "", "error": None}
            return templates.TemplateResponse(request, "me/login.html", context, status_code=401, headers=NO_STORE)
        status = status_of(exc)
        if status >= 500:
            log.error("%s on %s %s", exc.code, request.method, request.url.path)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 and request.url.path.startswith("/api/") else None
        if isinstance(exc, (DatabaseBusy, BlobStoreUnavailable)) or (isinstance(exc, TooManyRequests) and exc.retry_after_s):
            headers = {"Retry-After": str(exc.retry_after_s)}
        return error_response(request, status, exc.code, exc.message, headers)

    @app.exception_handler(PoolTimeout)
    async def pool_exhausted(request: Request, exc: PoolTimeout) -> Response:
        # Every pooled connection is busy: a sick moment, not a bug. Clients retry; monitoring sees /healthz.
        log.warning("database pool exhausted on %s %s", request.method, request.url.path)
        return await domain_error(request, DatabaseBusy("the server is busy; try again in a moment"))

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> Response:
        # "database is locked" (SQLite busy timeout) or a lost PostgreSQL connection: retryable.
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc.orig).__name__)
        return await domain_error(request, DatabaseBusy("the database is unavailable; try again in a moment"))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(request, 422, "invalid_input", f"invalid request at '{where}': {first.get('msg')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        # Starlette's detail repeats the title ("Not Found"); say something a reader can act on.
        message = "There is no page at this address." if exc.status_code == 404 else str(exc.detail)
        return error_response(request, exc.status_code, code, message)
