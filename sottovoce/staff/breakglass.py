"""Break-glass re-identification: who is behind a review task, for a legal or safety reason only.

A privacy officer opens a request with a written reason; a second, different privacy officer
approves it; only then is the account revealed, to the requester, once. Every step is in the audit
log, and the account holder's dashboard shows that it happened and why (events ``reid.revealed``
whose subject is one of their tasks; the reason travels in the event's details).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.core.audit import Actor
from sottovoce.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from sottovoce.core.services import Services
from sottovoce.db.models import Account, ReidRequest, ReviewTask
from sottovoce.db.types import utcnow
from sottovoce.staff.roles import PRIVACY_OFFICER

MIN_REASON = 20


def _officer(actor: Actor) -> None:
    if actor.role != PRIVACY_OFFICER:
        raise Forbidden("only privacy officers take part in re-identification")


def open_request(services: Services, db: Session, requester: Actor, task_id: str, reason: str) -> ReidRequest:
    _officer(requester)
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON:
        raise InvalidInput(f"give the legal or safety reason in at least {MIN_REASON} characters")
    if db.get(ReviewTask, task_id) is None:
        raise NotFound("task")
    request = ReidRequest(task_id=task_id, requester_id=requester.id, reason=reason[:2000])
    db.add(request)
    db.flush()
    services.audit.append(db, requester, "reid.requested", task_id, {"request": request.id, "reason": reason[:300]})
    return request


def approve(services: Services, db: Session, approver: Actor, request_id: str) -> ReidRequest:
    _officer(approver)
    request = db.get(ReidRequest, request_id)
    if request is None:
        raise NotFound("request")
    if request.requester_id == approver.id:
        raise Forbidden("a second, different privacy officer must approve")
    if request.status != "pending":
        raise Conflict(f"the request is already {request.status}")
    request.status, request.approver_id, request.approved_at = "approved", approver.id, utcnow()
    services.audit.append(db, approver, "reid.approved", request.task_id, {"request": request.id})
    return request


def reveal(services: Services, db: Session, requester: Actor, request_id: str) -> dict:
    """The account behind the task, once, to the requester of an approved request."""
    _officer(requester)
    request = db.get(ReidRequest, request_id)
    if request is None or request.requester_id != requester.id:
        raise NotFound("request")
    if request.status != "approved":
        raise Conflict("the request is not approved" if request.status == "pending" else "the account was already revealed")
    task = db.get(ReviewTask, request.task_id)
    account = db.get(Account, task.account_id) if task else None
    if account is None:
        raise NotFound("account")  # deleted since: nothing left to reveal
    request.status, request.revealed_at = "revealed", utcnow()
    # Logged before the identity leaves; the account holder sees this event and its reason.
    services.audit.record(db, requester, "reid.revealed", request.task_id, {"request": request.id, "reason": request.reason[:300], "approver": request.approver_id})
    return {"account_id": account.id, "account_name": account.name, "task_id": request.task_id}


def requests(db: Session) -> list[ReidRequest]:
    return list(db.scalars(select(ReidRequest).order_by(ReidRequest.created_at.desc()).limit(100)))
