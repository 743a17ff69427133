"""The two consent switches (human review, training use), changed through consent.set_consent."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from sottovoce.accounts import consent
from sottovoce.core.errors import InvalidInput
from sottovoce.core.services import Services
from sottovoce.web.deps import get_db, get_services
from sottovoce.web.policies import AccountPrincipal, account_holder

router = APIRouter(prefix="/me", tags=["account holder"])
CHANNEL = "dashboard"


def parse_switch(value: str) -> bool:
    if value not in ("on", "off"):
        raise InvalidInput("expected value 'on' or 'off'")
    return value == "on"


@router.post("/consent")
def change(
    purpose: str = Form(max_length=32),
    value: str = Form(max_length=3),
    holder: AccountPrincipal = Depends(account_holder()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> RedirectResponse:
    consent.set_consent(services, db, holder.account, purpose, parse_switch(value), holder.actor, channel=CHANNEL)
    db.commit()
    return RedirectResponse("/me/#consent", status_code=303)
