"""The audit log for privacy officers: recent events and the chain's verification."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.core.audit import verify
from sottovoce.core.services import Services
from sottovoce.db.models import AuditEvent
from sottovoce.staff.roles import PRIVACY_OFFICER
from sottovoce.web.deps import get_db, get_services
from sottovoce.web.policies import StaffPrincipal, staff
from sottovoce.web.templating import templates

router = APIRouter(prefix="/staff/audit", tags=["privacy"])


@router.get("", response_class=HTMLResponse)
def audit_page(
    request: Request,
    principal: StaffPrincipal = Depends(staff(PRIVACY_OFFICER)),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> HTMLResponse:
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(200)).all()
    result = verify(db, services.audit.checkpoint_file, services.audit.public_key_pem())
    return templates.TemplateResponse(
        request, "staff/audit.html", {"principal": principal, "events": events, "verification": result.as_dict()}
    )
