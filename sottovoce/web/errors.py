"""One JSON error shape for the whole API, and the mapping from domain errors to statuses.

    {"error": {"code": "invalid_audio", "message": "the file holds no audio stream"}}

The shape is pinned by tests/web/test_error_shape.py. Messages come from errors.py and never echo
submitted content.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sottovoce.errors import SottovoceError

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store"}


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers={**NO_STORE, **(headers or {})})


def install(app: FastAPI) -> None:
    @app.exception_handler(SottovoceError)
    async def domain_error(request: Request, exc: SottovoceError) -> JSONResponse:
        if exc.status >= 500:
            log.error("%s on %s %s", exc.code, request.method, request.url.path)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, exc.code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(422, "invalid_input", f"invalid request at '{where}': {first.get('msg')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))
