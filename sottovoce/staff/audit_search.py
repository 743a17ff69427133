"""The privacy officer's view of the audit log: filter, search and keyset pagination on ``seq``.

Filters combine (AND): an action (exact, or a family such as ``review.`` ending in a dot), an
actor (a staff member's name, or an actor id as stored: ``operator``, ``system:abuse-detector``,
a staff or account id), a date range (UTC days, both ends included) and a free-text search over
action, subject and details. Pages are ``limit`` events, newest first; ``before`` gives the page
of events older than that ``seq``, ``after`` the page of events newer than it. A page is found by
an index range on the primary key, however deep it is (no OFFSET).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from sottovoce.core.errors import InvalidInput
from sottovoce.db.models import AuditEvent, StaffUser

PAGE = 50
MAX_PAGE = 200


@dataclass
class AuditQuery:
    action: str = ""
    actor: str = ""
    since: date | None = None
    until: date | None = None
    text: str = ""
    before: int | None = None
    after: int | None = None
    limit: int = PAGE

    def filters(self) -> dict[str, str]:
        """The filter part as query parameters (for links to other pages), without the cursor."""
        out = {"action": self.action, "actor": self.actor, "q": self.text,
               "from": self.since.isoformat() if self.since else "", "to": self.until.isoformat() if self.until else ""}
        return {k: v for k, v in out.items() if v}


@dataclass
class AuditPage:
    events: list[AuditEvent]
    names: dict[str, str]  # staff id -> name, for the ids on this page
    older: int | None  # pass as ``before`` for the next page back in time
    newer: int | None  # pass as ``after`` for the page forward in time
    actions: list[str] = field(default_factory=list)


def parse_day(value: str, what: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what}: a date as YYYY-MM-DD") from None


def _like(text: str) -> str:
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _conditions(db: Session, q: AuditQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if q.action:
        where.append(AuditEvent.action.startswith(q.action, autoescape=True) if q.action.endswith(".") else AuditEvent.action == q.action)
    if q.actor:
        staff_id = db.scalar(select(StaffUser.id).where(StaffUser.name == q.actor.strip()))
        where.append(AuditEvent.actor == (staff_id or q.actor.strip()))
    if q.since:
        where.append(AuditEvent.at >= q.since.isoformat())
    if q.until:
        where.append(AuditEvent.at < (q.until + timedelta(days=1)).isoformat())  # 'at' is ISO text: the day included
    if q.text.strip():
        pattern = _like(q.text.strip())
        where.append(or_(*(func.lower(column).like(pattern, escape="\\") for column in (AuditEvent.action, AuditEvent.subject, AuditEvent.details))))
    return where


def search(db: Session, q: AuditQuery) -> AuditPage:
    if q.since and q.until and q.since > q.until:
        raise InvalidInput("the date range ends before it starts")
    limit = max(1, min(q.limit, MAX_PAGE))
    where = _conditions(db, q)
    if q.after is not None:
        rows = list(db.scalars(select(AuditEvent).where(*where, AuditEvent.seq > q.after).order_by(AuditEvent.seq).limit(limit + 1)))
        more_newer = len(rows) > limit
        events = list(reversed(rows[:limit]))
        more_older = bool(events) and _exists(db, where, AuditEvent.seq < events[-1].seq)
    else:
        cursor = [AuditEvent.seq < q.before] if q.before is not None else []
        rows = list(db.scalars(select(AuditEvent).where(*where, *cursor).order_by(AuditEvent.seq.desc()).limit(limit + 1)))
        more_older = len(rows) > limit
        events = rows[:limit]
        more_newer = q.before is not None and bool(events) and _exists(db, where, AuditEvent.seq > events[0].seq)
    ids = {e.actor for e in events} | {e.subject for e in events}
    names = dict(db.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(ids))).all()) if ids else {}
    return AuditPage(
        events, names,
        older=events[-1].seq if events and more_older else None,
        newer=events[0].seq if events and more_newer else None,
        actions=list(db.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))),
    )


def _exists(db: Session, where: list[ColumnElement[bool]], extra: ColumnElement[bool]) -> bool:
    return db.scalar(select(AuditEvent.seq).where(*where, extra).limit(1)) is not None
