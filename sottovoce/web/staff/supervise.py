"""Supervisor pages: reviewer agreement and gold accuracy, disagreements to adjudicate, and how
many clips left review as sensitive (only the count: supervisors never hear or read those)."""

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from sottovoce.core.services import Services
from sottovoce.learning import monitoring
from sottovoce.review import quality
from sottovoce.staff.roles import SUPERVISOR
from sottovoce.web.deps import get_db, get_services
from sottovoce.web.policies import StaffPrincipal, staff
from sottovoce.web.templating import templates

router = APIRouter(prefix="/staff/supervise", tags=["supervise"])
supervisor = staff(SUPERVISOR)


@router.get("", response_class=HTMLResponse)
def overview(request: Request, principal: StaffPrincipal = Depends(supervisor), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> HTMLResponse:
    points, confusions = monitoring.live_wer(services, db)
    context = {
        "principal": principal,
        "live_wer": points,
        "chart": monitoring.svg_points(points),
        "confusions": confusions,
        "versions": monitoring.version_figures(db),
        "reviewers": quality.reviewer_quality(services, db),
        "disagreements": quality.disagreements(services, db),
        "sensitive_stops": quality.sensitive_stops(db),
    }
    return templates.TemplateResponse(request, "staff/supervise.html", context)


@router.get("/disagreements/{group_id}", response_class=HTMLResponse)
def disagreement(group_id: str, request: Request, principal: StaffPrincipal = Depends(supervisor), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> HTMLResponse:
    view = quality.adjudication_view(services, db, group_id, principal.actor)
    return templates.TemplateResponse(request, "staff/adjudicate.html", {"principal": principal, "view": view})


@router.post("/disagreements/{group_id}")
def settle(group_id: str, text: str = Form(max_length=5000), principal: StaffPrincipal = Depends(supervisor), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> RedirectResponse:
    quality.adjudicate(services, db, group_id, text, principal.actor)
    db.commit()
    return RedirectResponse("/staff/supervise", status_code=303)
