"""Deletion receipts: what was deleted, when, through which channel (kinds and counts, no content)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from sottovoce.accounts import dashboard as view
from sottovoce.web.deps import get_db
from sottovoce.web.me import render
from sottovoce.web.policies import AccountPrincipal, account_holder

router = APIRouter(prefix="/me/receipts", tags=["account holder"])


@router.get("", response_class=HTMLResponse)
def list_receipts(request: Request, holder: AccountPrincipal = Depends(account_holder()), db: Session = Depends(get_db)) -> HTMLResponse:
    return render(request, "receipts.html", holder, {"receipts": view.receipts(db, holder.account.id)})


@router.get("/{receipt_id}", response_class=HTMLResponse)
def show_receipt(
    request: Request, receipt_id: str, holder: AccountPrincipal = Depends(account_holder()), db: Session = Depends(get_db)
) -> HTMLResponse:
    return render(request, "receipt.html", holder, {"receipt": view.receipt(db, holder.account.id, receipt_id)})
