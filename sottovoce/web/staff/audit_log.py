"""The audit log for privacy officers: events filtered, searched and paged (staff/audit_search.py),
with staff names for their ids, and the chain's verification."""

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from sottovoce.core.audit import verify
from sottovoce.core.errors import InvalidInput
from sottovoce.core.services import Services
from sottovoce.staff.audit_search import PAGE, AuditQuery, parse_day, search
from sottovoce.staff.roles import PRIVACY_OFFICER
from sottovoce.web.deps import get_db, get_services
from sottovoce.web.policies import StaffPrincipal, staff
from sottovoce.web.templating import templates

router = APIRouter(prefix="/staff/audit", tags=["privacy"])


@router.get("", response_class=HTMLResponse)
def audit_page(
    request: Request,
    action: str = Query("", max_length=64),
    actor: str = Query("", max_length=100),
    since: str = Query("", alias="from", max_length=10),
    until: str = Query("", alias="to", max_length=10),
    text: str = Query("", alias="q", max_length=200),
    before: int | None = Query(None, ge=0),
    after: int | None = Query(None, ge=0),
    principal: StaffPrincipal = Depends(staff(PRIVACY_OFFICER)),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> HTMLResponse:
    error, status = None, 200
    query = AuditQuery(action=action.strip(), actor=actor.strip(), text=text, before=before, after=after, limit=PAGE)
    try:
        query.since, query.until = parse_day(since.strip(), "From"), parse_day(until.strip(), "To")
        page = search(db, query)
    except InvalidInput as problem:
        error, status = str(problem), 422
        query.since = query.until = None
        page = search(db, AuditQuery(action=query.action, actor=query.actor, text=query.text))
    result = verify(db, services.audit.checkpoint_file, services.audit.public_key_pem())
    filters = query.filters()
    context = {
        "principal": principal, "page": page, "verification": result.as_dict(), "error": error,
        "form": {"action": action, "actor": actor, "from": since, "to": until, "q": text}, "filtered": bool(filters),
        "older_href": "?" + urlencode({**filters, "before": page.older}) if page.older is not None else None,
        "newer_href": "?" + urlencode({**filters, "after": page.newer}) if page.newer is not None else None,
    }
    return templates.TemplateResponse(request, "staff/audit.html", context, status_code=status)
