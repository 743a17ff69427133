"""The retention choice: 3 months, 18 months, or until the holder deletes (retention.py enforces it)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from sottovoce.accounts.retention import set_retention
from sottovoce.accounts.voice import set_keep_voice
from sottovoce.core.services import Services
from sottovoce.web.deps import get_db, get_services
from sottovoce.web.policies import AccountPrincipal, account_holder

router = APIRouter(prefix="/me", tags=["account holder"])


@router.post("/retention")
def change(
    retention: str = Form(max_length=16),
    holder: AccountPrincipal = Depends(account_holder()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> RedirectResponse:
    set_retention(services, db, holder.account, retention, holder.actor, channel="dashboard")
    db.commit()
    return RedirectResponse("/me/#retention", status_code=303)


@router.post("/keep-voice")
def change_keep_voice(
    keep_voice: str = Form(max_length=16),
    holder: AccountPrincipal = Depends(account_holder()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> RedirectResponse:
    """"Don't keep my voice" from the dashboard (accounts/voice.py)."""
    set_keep_voice(services, db, holder.account, keep_voice, holder.actor, channel="dashboard")
    db.commit()
    return RedirectResponse("/me/#keep-voice", status_code=303)
