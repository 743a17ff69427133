"""The staff home page: what this role can do."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from sottovoce.web.policies import StaffPrincipal, staff
from sottovoce.web.templating import templates

router = APIRouter(prefix="/staff", tags=["staff"])


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: StaffPrincipal = Depends(staff())) -> HTMLResponse:
    return templates.TemplateResponse(request, "staff/home.html", {"principal": principal})
