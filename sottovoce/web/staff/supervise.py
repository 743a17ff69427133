"""Supervisor pages: reviewer agreement and gold accuracy, disagreements to adjudicate, and how
many clips left review as sensitive (only the count: supervisors never hear or read those)."""

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
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
        "chart": monitoring.chart(points),
        "confusions": confusions,
        "versions": monitoring.version_figures(db),
        "reviewers": quality.reviewer_quality(services, db),
        "disagreements": quality.disagreements(services, db),
        "sensitive_stops": quality.sensitive_stops(db),
        "settled": request.query_params.get("settled") == "1",
    }
    return templates.TemplateResponse(request, "staff/supervise.html", context)


@router.get("/disagreements/{group_id}", response_class=HTMLResponse)
def disagreement(group_id: str, request: Request, principal: StaffPrincipal = Depends(supervisor), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> HTMLResponse:
    view = quality.adjudication_view(services, db, group_id, principal.actor)
    return templates.TemplateResponse(request, "staff/adjudicate.html", {"principal": principal, "view": view})


@router.get("/disagreements/{group_id}/audio")
def disagreement_audio(group_id: str, principal: StaffPrincipal = Depends(supervisor), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> Response:
    wav = quality.adjudication_audio(services, db, group_id, principal.actor)
    return Response(wav, media_type="audio/wav", headers={"Cache-Control": "no-store", "Content-Disposition": "inline"})


@router.post("/disagreements/{group_id}")
def settle(group_id: str, text: str = Form(max_length=5000), principal: StaffPrincipal = Depends(supervisor), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> RedirectResponse:
    quality.adjudicate(services, db, group_id, text, principal.actor)
    db.commit()
    return RedirectResponse("/staff/supervise?settled=1#settled", status_code=303)
