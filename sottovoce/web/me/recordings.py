"""One recording's page, and deleting one recording, a date range, or everything."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from sottovoce.accounts import dashboard as view
from sottovoce.accounts.deletion import delete_recordings
from sottovoce.core.errors import InvalidInput
from sottovoce.core.services import Services
from sottovoce.recordings.store import get_recording
from sottovoce.web.deps import get_db, get_services
from sottovoce.web.errors import wants_html
from sottovoce.web.me import render
from sottovoce.web.me.home import dashboard_context
from sottovoce.web.policies import AccountPrincipal, account_holder

router = APIRouter(prefix="/me/recordings", tags=["account holder"])
DASHBOARD = "dashboard"


@router.get("/{recording_id}", response_class=HTMLResponse)
def show(
    request: Request,
    recording_id: str,
    holder: AccountPrincipal = Depends(account_holder()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> HTMLResponse:
    recording = view.recording_detail(services, db, holder.account.id, recording_id)
    return render(request, "recording.html", holder, {"recording": recording})


@router.post("/{recording_id}/delete")
def delete_one(
    recording_id: str,
    holder: AccountPrincipal = Depends(account_holder()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> RedirectResponse:
    recording = get_recording(db, recording_id, account_id=holder.account.id)  # "not found" for others' ids
    receipt = delete_recordings(services, db, holder.account.id, [recording.id], holder.actor, DASHBOARD)
    assert receipt is not None  # one id given: there is a receipt
    return RedirectResponse(f"/me/receipts/{receipt['id']}", status_code=303)


@router.post("/delete")
def delete_many(
    request: Request,
    scope: str = Form(max_length=10),
    start: str = Form("", max_length=40),
    end: str = Form("", max_length=40),
    confirm: str = Form("", max_length=10),
    holder: AccountPrincipal = Depends(account_holder()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> Response:
    """scope=range deletes recordings captured from ``start`` to ``end`` (dates, inclusive);
    scope=all deletes every recording and needs confirm=yes."""
    account_id = holder.account.id
    if scope not in ("range", "all"):
        raise InvalidInput("expected scope 'range' or 'all'")
    if scope == "all" and confirm != "yes":
        raise InvalidInput("tick the box to confirm that everything should be deleted")
    if scope == "all":
        ids = view.selected_ids(db, account_id, None, None, everything=True)
    else:
        try:
            ids = view.selected_ids(db, account_id, start, end, everything=False, labels=("start", "end"))
        except InvalidInput as exc:  # a form error on the dashboard, next to the dates, not a bare error page
            if not wants_html(request):
                raise
            friendly = "Choose a date to delete from, a date to delete up to (included), or both." if not (start.strip() or end.strip()) else exc.message
            context = dashboard_context(services, db, holder, range_error=friendly, range_start=start, range_end=end)
            return render(request, "dashboard.html", holder, context, status=422)
    receipt = delete_recordings(services, db, account_id, ids, holder.actor, DASHBOARD)
    if receipt is None:
        return render(request, "message.html", holder, {"title": "Nothing to delete", "message": "No recordings matched, so nothing was deleted."})
    return RedirectResponse(f"/me/receipts/{receipt['id']}", status_code=303)
