"""Security headers on every response (ASVS V3.4): CSP without inline script, no framing, no
sniffing, no referrer, and no caching of anything dynamic (only /static may be cached).

Redirects stay on this site: a ``Location`` is sent as a path only, so a forged ``Host`` header
(reflected by Starlette's trailing-slash redirect, for one) cannot send a browser elsewhere.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


OURS = {name for name, _ in HEADERS}  # set here once, whatever a route sent


def _path_only(location: bytes) -> bytes:
    parts = urlsplit(location.decode("latin-1"))
    if not parts.scheme and not parts.netloc:
        return location
    path = "/" + parts.path.lstrip("/\\")  # never "//host": a browser reads that as another site
    return urlunsplit(("", "", path, parts.query, parts.fragment)).encode("latin-1")


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, _path_only(v) if k.lower() == b"location" else v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in OURS and (k.lower() != b"cache-control" or is_static)
                ]
                headers += HEADERS
                if not is_static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
