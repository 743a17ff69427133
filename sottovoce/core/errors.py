"""One hierarchy of domain errors. web/errors.py maps them to HTTP statuses; cli.py to exit codes.

Messages say what was expected and what was received, but never echo audio, transcript text or
metadata a caller sent: error messages end up in logs.
"""


class SottovoceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(SottovoceError):
    status = 422
    code = "invalid_input"


class InvalidAudio(InvalidInput):
    code = "invalid_audio"


class TooLarge(SottovoceError):
    status = 413
    code = "too_large"


class Unauthenticated(SottovoceError):
    status = 401
    code = "unauthenticated"


class Forbidden(SottovoceError):
    status = 403
    code = "forbidden"


class NotFound(SottovoceError):
    status = 404
    code = "not_found"

    def __init__(self, kind: str, ident: str | None = None):
        # The id is not repeated back: "not found" must read the same for missing and forbidden.
        super().__init__(f"{kind} not found")
        self.kind = kind


class Conflict(SottovoceError):
    status = 409
    code = "conflict"


class TooManyRequests(SottovoceError):
    status = 429
    code = "too_many_requests"


class IntegrityFailure(SottovoceError):
    """Stored data failed authentication or a chain check: never serve it."""

    status = 500
    code = "integrity_failure"


class DatabaseBusy(SottovoceError):
    """No database connection or write slot came free in time: try again shortly (503 + Retry-After)."""

    status = 503
    code = "busy"
    retry_after_s = 2


class AuditUnavailable(SottovoceError):
    """The audit log could not record an event, so the content it guards is not sent (fail closed)."""

    status = 503
    code = "audit_unavailable"
