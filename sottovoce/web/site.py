"""Site basics every browser and monitor expects: HEAD where GET works, and a favicon.

HEAD runs the GET handler and drops the body (FastAPI routes declare GET only, so HEAD was 405).
Not for GETs that do something: a review task page issues a single-use audio ticket and is
audited, an audio fetch redeems one; a HEAD there must not count as a listen, so those stay 405.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sottovoce.web.policies import public

# An SVG mark (the brand's colour); browsers accept it at /favicon.ico with its media type.
FAVICON = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    b'<rect width="16" height="16" rx="3" fill="#1f4e79"/>'
    b'<path d="M4 10c1.5-4 2.5-4 4 0s2.5 4 4 0" stroke="#fff" stroke-width="1.6" fill="none"/></svg>'
)
NO_HEAD = ("/staff/review/tasks/", "/api/")


def head_allowed(path: str) -> bool:
    return not path.startswith(NO_HEAD)


class HeadAsGet:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or not head_allowed(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body"):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


def install(app: FastAPI) -> None:
    app.add_middleware(HeadAsGet)

    @app.get("/favicon.ico", include_in_schema=False, dependencies=[Depends(public())])
    def favicon() -> Response:
        return Response(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})
