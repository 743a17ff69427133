"""Administration of staff (admin role). Admins manage people and settings but read no content."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.core.errors import InvalidInput
from sottovoce.core.services import Services
from sottovoce.db.models import StaffUser
from sottovoce.staff.roles import ADMIN
from sottovoce.staff.users import disable_staff
from sottovoce.web.deps import get_db, get_services
from sottovoce.web.policies import StaffPrincipal, staff
from sottovoce.web.templating import templates

router = APIRouter(prefix="/staff/admin", tags=["admin"])


@router.get("/staff", response_class=HTMLResponse)
def list_staff(request: Request, principal: StaffPrincipal = Depends(staff(ADMIN)), db: Session = Depends(get_db)) -> HTMLResponse:
    users = db.scalars(select(StaffUser).order_by(StaffUser.name)).all()
    return templates.TemplateResponse(request, "staff/admin_staff.html", {"principal": principal, "users": users})


@router.post("/staff/{name}/disable")
def disable(
    name: str,
    principal: StaffPrincipal = Depends(staff(ADMIN)),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> RedirectResponse:
    if name == principal.user.name:
        raise InvalidInput("you cannot disable yourself")
    disable_staff(services, db, principal.actor, name)
    db.commit()
    return RedirectResponse("/staff/admin/staff", status_code=303)
