"""Task leases: a reviewer holds one task at a time; only the lease holder may fetch or submit.

Consent is re-checked when a task is leased and on every audio fetch (DESIGN.md invariant 2); a
task whose account withdrew consent is ``withdrawn`` and never served again. Leases expire after
``review_lease_minutes`` without activity; an expired lease goes back to the queue lazily (the
next lease query treats it as queued), so no sweeper is needed.

Audio leaves only through single-use tickets: a random token (stored hashed) bound to the task,
the reviewer's session and a short lifetime.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, CompoundSelect, and_, func, or_, select, update
from sqlalchemy.orm import Session

from sottovoce.core.errors import Conflict, Forbidden, NotFound
from sottovoce.core.services import Services
from sottovoce.core.session_tokens import digest
from sottovoce.db.enums import TaskStatus
from sottovoce.db.models import Account, Annotation, AudioTicket, ReviewTask, StaffUser
from sottovoce.db.types import utcnow
from sottovoce.review import sensitive

OPEN = (TaskStatus.QUEUED, TaskStatus.LEASED)


def _available(now: datetime) -> ColumnElement[bool]:
    """Queued, or leased but expired."""
    return or_(ReviewTask.status == TaskStatus.QUEUED, and_(ReviewTask.status == TaskStatus.LEASED, ReviewTask.lease_expires_at < now))


def requeue_expired(db: Session, now: datetime) -> None:
    """Expired leases go back to the queue (checked lazily, at the next lease; no sweeper needed)."""
    db.execute(
        update(ReviewTask)
        .where(ReviewTask.status == TaskStatus.LEASED, ReviewTask.lease_expires_at < now)
        .values(status=TaskStatus.QUEUED, lease_holder=None, lease_expires_at=None)
    )


def current_lease(db: Session, reviewer_id: str) -> ReviewTask | None:
    now = utcnow()
    return db.scalar(
        select(ReviewTask).where(ReviewTask.lease_holder == reviewer_id, ReviewTask.status == TaskStatus.LEASED, ReviewTask.lease_expires_at >= now).limit(1)
    )


def lease_next(services: Services, db: Session, reviewer_id: str) -> ReviewTask | None:
    """The reviewer's current task, or the highest-priority available one (None if the queue is empty).

    A reviewer never gets a second task of an overlap group (the two reviews must be blind), never
    a task whose account no longer consents, and nothing while suspended. The claim is one
    statement: UPDATE ... WHERE id = (the best candidate ... FOR UPDATE SKIP LOCKED) RETURNING, so
    concurrent reviewers on PostgreSQL each lock a different row instead of racing for the same
    one (SQLite serializes writers anyway). The caller commits.
    """
    held = current_lease(db, reviewer_id)
    if held is not None:
        return held
    now = utcnow()
    suspended_now, may_take = _reviewer_rules(db, reviewer_id, now)
    if suspended_now:
        raise Forbidden("your review access is suspended pending a privacy officer's check")
    lease_until = now + timedelta(minutes=services.settings.review_lease_minutes)
    requeue_expired(db, now)
    # Groups this reviewer already holds or handled (even skipped): the two reviews stay blind.
    already_seen = _already_seen(reviewer_id)
    # A suspension that lands between the check above and this claim still stops it (atomic).
    suspended = select(StaffUser.id).where(StaffUser.id == reviewer_id, StaffUser.review_suspended.is_(True))
    best = (
        select(ReviewTask.id)
        .join(Account, Account.id == ReviewTask.account_id)
        .where(ReviewTask.status == TaskStatus.QUEUED, Account.consent_human_review.is_(True), ReviewTask.group_id.not_in(already_seen),
               ~suspended.exists(), *may_take)
        .order_by(ReviewTask.priority.desc())  # walks ix_review_tasks_queue (status, priority) backwards
        .limit(1)
        .with_for_update(skip_locked=True, of=ReviewTask)  # PostgreSQL; SQLite leaves it out
        .scalar_subquery()
    )
    return db.scalars(
        update(ReviewTask)
        .where(ReviewTask.id == best, ReviewTask.status == TaskStatus.QUEUED)
        .values(status=TaskStatus.LEASED, lease_holder=reviewer_id, lease_expires_at=lease_until)
        .returning(ReviewTask)
        .execution_options(synchronize_session=False)
    ).first()


def leased_task(db: Session, task_id: str, reviewer_id: str) -> ReviewTask:
    """The task, if this reviewer holds a live lease on it; otherwise "not found" (or withdrawn).

    Not found covers other reviewers' tasks, expired leases and unknown ids alike, so a task id
    reveals nothing to anyone but its lease holder.
    """
    task = db.get(ReviewTask, task_id)
    if task is None or task.lease_holder != reviewer_id:
        raise NotFound("task")
    if task.status in (TaskStatus.WITHDRAWN, TaskStatus.STOPPED):
        raise Conflict("this task was withdrawn")
    if task.status != TaskStatus.LEASED or task.lease_expires_at is None or task.lease_expires_at < utcnow():
        raise NotFound("task")
    account = db.get(Account, task.account_id)
    if account is None or not account.consent_human_review:
        task.status = TaskStatus.WITHDRAWN  # consent went away between lease and now
        db.commit()
        raise Conflict("this task was withdrawn")
    return task


def renew(services: Services, task: ReviewTask) -> None:
    task.lease_expires_at = utcnow() + timedelta(minutes=services.settings.review_lease_minutes)


def release(task: ReviewTask) -> None:
    """Give a leased task back to the queue (e.g. the reviewer signs out)."""
    task.status, task.lease_holder, task.lease_expires_at = TaskStatus.QUEUED, None, None


def issue_ticket(services: Services, db: Session, task: ReviewTask, session_hash: str) -> str:
    token = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(seconds=services.settings.review_ticket_seconds)
    db.add(AudioTicket(token_hash=digest(token), task_id=task.id, session_hash=session_hash, expires_at=expires))
    return token


def redeem_ticket(db: Session, task_id: str, token: str, session_hash: str) -> None:
    """Use a ticket once; a replayed, expired, foreign-session or wrong-task ticket is refused."""
    ticket = db.get(AudioTicket, digest(token)) if token else None
    if ticket is None or ticket.task_id != task_id or ticket.session_hash != session_hash:
        raise Forbidden("this audio link is not valid for you")
    if ticket.used_at is not None or ticket.expires_at < utcnow():
        raise Forbidden("this audio link was already used or has expired; reload the task")
    ticket.used_at = utcnow()


def _reviewer_rules(db: Session, reviewer_id: str, now: datetime) -> tuple[bool, list[ColumnElement[bool]]]:
    """Whether the reviewer is suspended, and the conditions on what they may take: the
    pre-screened categories they accept and the exposure cool-down (review/sensitive.py). One
    primary-key read, shared by the claim and the count so the two never disagree."""
    row = db.execute(
        select(StaffUser.review_suspended, StaffUser.review_opt_ins, StaffUser.review_cooldown_until).where(StaffUser.id == reviewer_id)
    ).one_or_none()
    if row is None:
        return False, sensitive.queue_filters("", None, now)
    return bool(row.review_suspended), sensitive.queue_filters(row.review_opt_ins, row.review_cooldown_until, now)


def _already_seen(reviewer_id: str) -> CompoundSelect:
    """Groups this reviewer already holds or handled (even skipped): the two reviews stay blind."""
    return select(ReviewTask.group_id).where(ReviewTask.lease_holder == reviewer_id).union(
        select(Annotation.group_id).where(Annotation.reviewer_id == reviewer_id)
    )


COUNT_CAP = 1000  # "1000+ waiting": a count never reads more of the queue than this


def queue_counts(db: Session, reviewer_id: str, since: datetime | None = None, cap: int = COUNT_CAP) -> dict[str, int]:
    """What this reviewer may take now (the same rules as ``lease_next``: consent, blind overlap
    groups, opt-ins, cool-down; their own current task left out), at most ``cap`` (the page says
    "cap+"), how many they handled in all, and how many since ``since`` (their sign-in)."""
    now = utcnow()
    _, may_take = _reviewer_rules(db, reviewer_id, now)
    waiting = (
        select(ReviewTask.id)
        .join(Account, Account.id == ReviewTask.account_id)
        .where(_available(now), Account.consent_human_review.is_(True), ReviewTask.group_id.not_in(_already_seen(reviewer_id)), *may_take)
        .limit(cap)
        .subquery()
    )
    available = db.scalar(select(func.count()).select_from(waiting)) or 0
    handled = select(func.count()).select_from(Annotation).where(Annotation.reviewer_id == reviewer_id)
    done = db.scalar(handled) or 0
    done_since = (db.scalar(handled.where(Annotation.submitted_at >= since)) or 0) if since is not None else done
    return {"available": available, "capped": int(available >= cap), "done_by_you": done, "done_this_session": done_since}
