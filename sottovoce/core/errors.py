"""One hierarchy of domain errors. The web layer maps them to HTTP statuses (web/errors.py
``STATUS``); the CLI to exit code 1. A domain error names what went wrong, never a protocol.

Messages say what was expected and what was received, but never echo audio, transcript text or
metadata a caller sent: error messages end up in logs.
"""


class SottovoceError(Exception):
    code = "bad_request"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(SottovoceError):
    code = "invalid_input"


class InvalidAudio(InvalidInput):
    code = "invalid_audio"


class TooLarge(SottovoceError):
    code = "too_large"


class Unauthenticated(SottovoceError):
    code = "unauthenticated"


class Forbidden(SottovoceError):
    code = "forbidden"


class NotFound(SottovoceError):
    code = "not_found"

    def __init__(self, kind: str):
        # The id is not repeated back: "not found" must read the same for missing and forbidden.
        super().__init__(f"{kind} not found")
        self.kind = kind


class Conflict(SottovoceError):
    code = "conflict"


class TooManyRequests(SottovoceError):
    code = "too_many_requests"

    def __init__(self, message: str, retry_after_s: int | None = None):
        super().__init__(message)
        self.retry_after_s = retry_after_s  # sent as Retry-After when known


class IntegrityFailure(SottovoceError):
    """Stored data failed authentication or a chain check: never serve it."""

    code = "integrity_failure"


class DatabaseBusy(SottovoceError):
    """No database connection or write slot came free in time: try again shortly (503 + Retry-After)."""

    code = "busy"
    retry_after_s = 2


class AuditUnavailable(SottovoceError):
    """The audit log could not record an event, so the content it guards is not sent (fail closed)."""

    code = "audit_unavailable"
