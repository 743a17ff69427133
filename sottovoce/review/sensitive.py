"""Sensitive and distressing content: stop reasons, exposure limits, category opt-ins.

- A reviewer stops a clip with one reason from a closed list (``STOP_REASONS``); no free text, so a
  stop never carries content. The reason is stored on the stopped annotation and in the audit event.
- Exposure: ``review_stop_limit`` stops within ``review_exposure_window_hours`` offer a break and
  start a cool-down of ``review_cooldown_minutes`` (``StaffUser.review_cooldown_until``) in which
  the next-task query gives no uncertainty-sampled and no pre-screened clip (random and gold only).
- Opt-ins: clips the pre-screen flagged (review/prescreen.py) go only to reviewers who accept that
  category (``StaffUser.review_opt_ins``, empty by default: the general queue has none). A reviewer
  opts out again at any time.
- "possibly someone in danger": privacy officers see that such a stop happened (when, which task,
  which reviewer; never the content) and can open the break-glass request (staff/breakglass.py,
  two privacy officers) from /staff/privacy/stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from sottovoce.core.audit import Actor
from sottovoce.core.errors import InvalidInput
from sottovoce.core.services import Services
from sottovoce.db.models import Annotation, ReidRequest, ReviewTask, StaffUser
from sottovoce.db.types import utcnow
from sottovoce.review.prescreen import CATEGORIES, DANGER, DISTRESSING, INTIMATE

OTHER = "other"
STOP_REASONS = {
    DISTRESSING: "distressing",
    DANGER: "possibly someone in danger",
    INTIMATE: "private or intimate",
    OTHER: "other",
}
CATEGORY_LABELS = {DANGER: "possibly someone in danger", DISTRESSING: "distressing", INTIMATE: "private or intimate"}


@dataclass(frozen=True)
class Exposure:
    stops_in_window: int
    limit: int
    cooldown_until: datetime | None

    @property
    def cooling_down(self) -> bool:
        return self.cooldown_until is not None and self.cooldown_until > utcnow()

    @property
    def break_offered(self) -> bool:
        return self.stops_in_window >= self.limit


def parse_opt_ins(value: str | None) -> tuple[str, ...]:
    return tuple(c for c in (value or "").split(",") if c in CATEGORIES)


def queue_filters(opt_ins: str | None, cooldown_until: datetime | None, now: datetime) -> list[ColumnElement[bool]]:
    """What this reviewer may take, as conditions for the next-task and count queries: unflagged
    tasks and the categories they accept; during a cool-down, neither flagged nor uncertainty-sampled
    tasks. Plain column tests on the row the queue index walk already reads (no join, no subquery)."""
    cooling = cooldown_until is not None and cooldown_until > now
    allowed = ("",) if cooling else ("", *parse_opt_ins(opt_ins))
    filters: list[ColumnElement[bool]] = [ReviewTask.sensitivity.in_(allowed)]
    if cooling:
        filters.append(ReviewTask.kind != "uncertainty")
    return filters


def exposure(services: Services, db: Session, reviewer_id: str) -> Exposure:
    since = utcnow() - timedelta(hours=services.settings.review_exposure_window_hours)
    stops = db.scalar(
        select(func.count()).select_from(Annotation).where(Annotation.reviewer_id == reviewer_id, Annotation.outcome == "stopped", Annotation.submitted_at >= since)
    )
    until = db.scalar(select(StaffUser.review_cooldown_until).where(StaffUser.id == reviewer_id))
    return Exposure(stops or 0, services.settings.review_stop_limit, until)


def check_reason(reason: str) -> str:
    if reason not in STOP_REASONS:
        raise InvalidInput(f"expected a reason among {', '.join(STOP_REASONS)}")
    return reason


def after_stop(services: Services, db: Session, reviewer: Actor) -> Exposure:
    """Count the reviewer's stops in the window (this one included, flushed by the caller); at the
    limit, start the cool-down (audited). The caller commits."""
    db.flush()
    found = exposure(services, db, reviewer.id)
    if found.break_offered:
        until = utcnow() + timedelta(minutes=services.settings.review_cooldown_minutes)
        user = db.get_one(StaffUser, reviewer.id)
        user.review_cooldown_until = until
        services.audit.append(db, reviewer, "review.exposure_cooldown", reviewer.id, {"stops": found.stops_in_window, "minutes": services.settings.review_cooldown_minutes})
        found = Exposure(found.stops_in_window, found.limit, until)
    return found


def set_opt_ins(services: Services, db: Session, reviewer: Actor, categories: list[str]) -> tuple[str, ...]:
    """The reviewer's own choice of pre-screened categories they accept (audited). The caller commits."""
    unknown = set(categories) - set(CATEGORIES)
    if unknown:
        raise InvalidInput(f"expected categories among {', '.join(CATEGORIES)}")
    chosen = tuple(c for c in CATEGORIES if c in categories)
    user = db.get_one(StaffUser, reviewer.id)
    before = parse_opt_ins(user.review_opt_ins)
    if chosen != before:
        user.review_opt_ins = ",".join(chosen)
        services.audit.append(db, reviewer, "review.opt_ins_changed", reviewer.id, {"accepts": ",".join(chosen) or "none"})
    return chosen


@dataclass(frozen=True)
class DangerStop:
    task_id: str
    at: datetime
    reviewer_name: str
    reid_status: str | None


def danger_stops(db: Session, limit: int = 100) -> list[DangerStop]:
    """Stops for "possibly someone in danger", newest first, with any break-glass request's state:
    that a stop happened, never what was heard."""
    rows = db.execute(
        select(Annotation.task_id, Annotation.submitted_at, StaffUser.name)
        .join(StaffUser, StaffUser.id == Annotation.reviewer_id, isouter=True)
        .where(Annotation.outcome == "stopped", Annotation.stop_reason == DANGER)
        .order_by(Annotation.submitted_at.desc())
        .limit(limit)
    ).all()
    task_ids = [r.task_id for r in rows]
    requests = {r.task_id: r.status for r in db.scalars(select(ReidRequest).where(ReidRequest.task_id.in_(task_ids)).order_by(ReidRequest.created_at))} if task_ids else {}
    return [DangerStop(r.task_id, r.submitted_at, r.name or "?", requests.get(r.task_id)) for r in rows]
