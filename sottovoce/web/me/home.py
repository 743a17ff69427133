"""The dashboard: consent switches, retention, recordings (paged, newest first), recent receipts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from sottovoce.accounts import dashboard as view
from sottovoce.core.services import Services
from sottovoce.web.deps import get_db, get_services
from sottovoce.web.me import render
from sottovoce.web.policies import AccountPrincipal, account_holder

router = APIRouter(prefix="/me", tags=["account holder"])
RECENT_RECEIPTS = 5


@router.get("/", response_class=HTMLResponse)
def dashboard(
    request: Request,
    page: int = Query(1, ge=1, le=1_000_000),
    holder: AccountPrincipal = Depends(account_holder()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> HTMLResponse:
    return render(request, "dashboard.html", holder, dashboard_context(services, db, holder, page))


def dashboard_context(services: Services, db: Session, holder: AccountPrincipal, page: int = 1, **extra: object) -> dict:
    """What the dashboard shows; ``extra`` carries a form's error and typed values back to it."""
    account_id = holder.account.id
    return {
        "summary": view.account_summary(holder.account),
        "listing": view.recordings_page(services, db, account_id, page),
        "receipts": view.receipts(db, account_id)[:RECENT_RECEIPTS],
        **extra,
    }
