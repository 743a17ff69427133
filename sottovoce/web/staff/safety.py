"""Privacy officers: stops for "possibly someone in danger" (that a stop happened, never what was
heard), each with the way into the existing break-glass request (two privacy officers)."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from sottovoce.review import sensitive
from sottovoce.staff import breakglass
from sottovoce.staff.roles import PRIVACY_OFFICER
from sottovoce.web.deps import get_db
from sottovoce.web.policies import StaffPrincipal, staff
from sottovoce.web.templating import templates

router = APIRouter(prefix="/staff/privacy", tags=["privacy"])
officer = staff(PRIVACY_OFFICER)


@router.get("/stops", response_class=HTMLResponse)
def danger_stops(request: Request, principal: StaffPrincipal = Depends(officer), db: Session = Depends(get_db)) -> HTMLResponse:
    context = {"principal": principal, "stops": sensitive.danger_stops(db), "min_reason": breakglass.MIN_REASON}
    return templates.TemplateResponse(request, "staff/safety_stops.html", context)
