"""The account holder's dashboard (server-rendered pages under /me), one module per resource:
auth (sign-in link, sign-out), home (the dashboard), recordings, consent, retention, receipts.
The matching JSON API is web/api/me.py; audio and the export download are served there only.

Handlers load, authorize, delegate: the account_holder() policy gives the signed-in account, and
every query filters by its id (holder/view.py), so another account's id reads as "not found".
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from sottovoce.web.policies import AccountPrincipal
from sottovoce.web.templating import templates


def render(request: Request, name: str, holder: AccountPrincipal | None, context: dict | None = None, status: int = 200) -> HTMLResponse:
    """Render a /me page. Templates get ``holder`` (never ``principal``, which means staff in base.html)."""
    return templates.TemplateResponse(request, f"me/{name}", {"holder": holder, **(context or {})}, status_code=status)
