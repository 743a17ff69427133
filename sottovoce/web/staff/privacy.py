"""Privacy officer pages: abuse alerts and break-glass re-identification."""

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.core.errors import InvalidInput, NotFound
from sottovoce.core.services import Services
from sottovoce.db.models import Alert, StaffUser
from sottovoce.staff import abuse, breakglass
from sottovoce.staff.roles import PRIVACY_OFFICER
from sottovoce.web.deps import get_db, get_services
from sottovoce.web.policies import StaffPrincipal, staff
from sottovoce.web.templating import templates

router = APIRouter(prefix="/staff/privacy", tags=["privacy"])
officer = staff(PRIVACY_OFFICER)


@router.get("/alerts", response_class=HTMLResponse)
def alerts(request: Request, principal: StaffPrincipal = Depends(officer), db: Session = Depends(get_db)) -> HTMLResponse:
    rows = db.execute(select(Alert, StaffUser.name).join(StaffUser, StaffUser.id == Alert.staff_id, isouter=True).order_by(Alert.at.desc()).limit(200)).all()
    return templates.TemplateResponse(request, "staff/alerts.html", {"principal": principal, "alerts": rows})


@router.post("/alerts/{alert_id}/resolve")
def resolve_alert(alert_id: str, lift: bool = Form(False), principal: StaffPrincipal = Depends(officer), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> RedirectResponse:
    abuse.resolve(services, db, alert_id, principal.actor, lift)
    db.commit()
    return RedirectResponse("/staff/privacy/alerts", status_code=303)


@router.get("/reid", response_class=HTMLResponse)
def reid_page(request: Request, principal: StaffPrincipal = Depends(officer), db: Session = Depends(get_db)) -> HTMLResponse:
    return _reid(request, principal, db)


def _reid(request: Request, principal: StaffPrincipal, db: Session, error: str | None = None, typed: dict | None = None, status: int = 200) -> HTMLResponse:
    context = {"principal": principal, "requests": breakglass.requests(db), "error": error, "typed": typed or {}}
    return templates.TemplateResponse(request, "staff/reid.html", context, status_code=status)


@router.post("/reid", response_model=None)
def reid_open(request: Request, task_id: str = Form(max_length=64), reason: str = Form(max_length=2000), principal: StaffPrincipal = Depends(officer), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> Response:
    try:
        breakglass.open_request(services, db, principal.actor, task_id.strip(), reason)
    except (NotFound, InvalidInput) as problem:
        # The form comes back with what was typed and the reason it was refused, not an error page.
        db.rollback()
        message = "No review task has this id: check it against the alert or the audit log." if isinstance(problem, NotFound) else str(problem)
        return _reid(request, principal, db, message, {"task_id": task_id, "reason": reason, "field": "task_id" if isinstance(problem, NotFound) else "reason"}, status=422)
    db.commit()
    return RedirectResponse("/staff/privacy/reid", status_code=303)


@router.post("/reid/{request_id}/approve")
def reid_approve(request_id: str, principal: StaffPrincipal = Depends(officer), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> RedirectResponse:
    breakglass.approve(services, db, principal.actor, request_id)
    db.commit()
    return RedirectResponse("/staff/privacy/reid", status_code=303)


@router.post("/reid/{request_id}/reveal", response_class=HTMLResponse)
def reid_reveal(request_id: str, request: Request, principal: StaffPrincipal = Depends(officer), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> HTMLResponse:
    revealed = breakglass.reveal(services, db, principal.actor, request_id)
    db.commit()
    return templates.TemplateResponse(request, "staff/reid_revealed.html", {"principal": principal, "revealed": revealed})
