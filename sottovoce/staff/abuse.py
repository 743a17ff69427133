"""Abuse detection: rules over the audit stream, evaluated as each event is appended.

Each rule looks at the new event and the recent history of the same staff member and returns a
reason when it fires. A fired rule writes an ``Alert`` for privacy officers (their page and the
audit log) and, for the rules in ``ABUSE_SUSPEND_RULES``, suspends the reviewer: their leases are
released and no new task is leased to them until an officer resolves the alert.

Rules and their thresholds (settings ``ABUSE_*``):
- replay: one clip's audio served to the same reviewer more than N times in an hour;
- volume: audio fetches in the last hour far above the reviewer's own hourly norm;
- off_shift: review activity outside the reviewer's shift hours, in their time zone (shifts.py);
- no_lease: attempts to fetch audio without a live lease or a valid ticket;
- cherry_picking: many skips of long clips while only short ones are submitted;
- new_network: a sign-in from a network this staff member has not used before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sottovoce.core.audit import Actor
from sottovoce.core.services import Services
from sottovoce.core.settings import Settings
from sottovoce.db.models import Alert, AuditEvent, ReviewTask, StaffUser
from sottovoce.db.types import utcnow

DETECTOR = Actor.system("abuse-detector")
Rule = Callable[[Session, AuditEvent, Settings], str | None]


def _at(event: AuditEvent) -> datetime:
    return datetime.strptime(event.at, "%Y-%m-%dT%H:%M:%S.%fZ")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def resolved_floor(db: Session, staff_id: str) -> datetime | None:
    """When an officer last resolved an alert that suspended this staff member (naive UTC), or None.

    The rules' windows start there: what happened before the officer looked was judged then, so
    after a lifted suspension one more denied fetch does not count the old ones and re-suspend."""
    last = db.scalar(select(func.max(Alert.resolved_at)).where(Alert.staff_id == staff_id, Alert.suspended.is_(True)))
    return last.astimezone(UTC).replace(tzinfo=None) if last is not None else None


def _count(db: Session, actor: str, action: str, since: datetime, subject: str | None = None, from_resolution: bool = True) -> int:
    floor = resolved_floor(db, actor) if from_resolution else None
    since = max(since, floor) if floor is not None else since
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.actor == actor, AuditEvent.action == action, AuditEvent.at >= _iso(since))
    if subject is not None:
        query = query.where(AuditEvent.subject == subject)
    return db.scalar(query) or 0


def replayed_clip(db: Session, event: AuditEvent, s: Settings) -> str | None:
    if event.action != "review.audio_served":
        return None
    n = _count(db, event.actor, event.action, _at(event) - timedelta(hours=1), event.subject)
    return f"one clip served {n} times within an hour (limit {s.abuse_replay_max})" if n > s.abuse_replay_max else None


def unusual_volume(db: Session, event: AuditEvent, s: Settings) -> str | None:
    if event.action != "review.audio_served":
        return None
    now = _at(event)
    last_hour = _count(db, event.actor, event.action, now - timedelta(hours=1))
    if last_hour <= s.abuse_volume_min:
        return None
    week = _count(db, event.actor, event.action, now - timedelta(days=7), from_resolution=False) - _count(db, event.actor, event.action, now - timedelta(hours=1), from_resolution=False)
    norm = week / (7 * 24 - 1)
    if last_hour > s.abuse_volume_factor * max(norm, 1.0):
        return f"{last_hour} clips in the last hour against a norm of {norm:.1f} per hour"
    return None


def outside_shift(db: Session, event: AuditEvent, s: Settings) -> str | None:
    """Review activity outside the reviewer's own shift, in their time zone (staff/shifts.py)."""
    if event.role != "reviewer" or not event.action.startswith("review."):
        return None
    from sottovoce.staff.shifts import shift_of

    shift = shift_of(db.get(StaffUser, event.actor), s)
    moment = _at(event).replace(tzinfo=UTC)
    if shift.covers(moment):
        return None
    return f"review activity at {shift.local_hour(moment):02d}:00 {shift.time_zone}, outside the {shift} shift"


def audio_without_lease(db: Session, event: AuditEvent, s: Settings) -> str | None:
    if event.action != "review.audio_denied":
        return None
    n = _count(db, event.actor, event.action, _at(event) - timedelta(minutes=10))
    return f"{n} audio fetches without a lease or valid link in 10 minutes" if n >= s.abuse_denied_max else None


def skips_long_clips(db: Session, event: AuditEvent, s: Settings) -> str | None:
    if event.action not in ("review.skipped", "review.submitted"):
        return None
    floor = resolved_floor(db, event.actor)
    since = [AuditEvent.at >= _iso(floor)] if floor is not None else []
    recent = db.execute(
        select(AuditEvent.action, AuditEvent.details)
        .where(AuditEvent.actor == event.actor, AuditEvent.action.in_(("review.skipped", "review.submitted")), *since)
        .order_by(AuditEvent.seq.desc())
        .limit(20)
    ).all()
    skipped = [json.loads(d).get("duration_s", 0.0) for a, d in recent if a == "review.skipped"]
    kept = [json.loads(d).get("duration_s", 0.0) for a, d in recent if a == "review.submitted"]
    if len(skipped) < s.abuse_skip_min or not kept:
        return None
    mean_skipped, mean_kept = sum(skipped) / len(skipped), sum(kept) / len(kept)
    if mean_skipped >= 2 * max(mean_kept, 0.1):
        return f"{len(skipped)} skips of clips averaging {mean_skipped:.1f} s while submitting clips of {mean_kept:.1f} s"
    return None


def new_network(db: Session, event: AuditEvent, s: Settings) -> str | None:
    if event.action != "staff.login":
        return None
    network = json.loads(event.details).get("net")
    if not network:
        return None
    earlier = db.scalars(
        select(AuditEvent.details).where(AuditEvent.actor == event.actor, AuditEvent.action == "staff.login", AuditEvent.seq < event.seq)
    ).all()
    if not earlier:
        return None  # the first sign-in has nothing to compare with
    seen = {json.loads(d).get("net") for d in earlier}
    return None if network in seen else "sign-in from a network not used before"


# Every rule, by the name its alerts carry. The composition root (app_services.py) hands this
# list to the audit log; a rule not listed here does not run.
RULES: dict[str, Rule] = {
    "replay": replayed_clip,
    "volume": unusual_volume,
    "off_shift": outside_shift,
    "no_lease": audio_without_lease,
    "cherry_picking": skips_long_clips,
    "new_network": new_network,
}


def on_event(services: Services, rules: dict[str, Rule] = RULES) -> Callable[[Session, AuditEvent], None]:
    """The audit log listener: run every rule on each new event, in the same transaction."""

    def listen(db: Session, event: AuditEvent) -> None:
        if event.action.startswith("abuse.") or event.role in ("system", "operator", "anonymous", "account"):
            return
        for name, check in rules.items():
            reason = check(db, event, services.settings)
            if reason and not _recently_alerted(db, name, event.actor):
                raise_alert(services, db, name, event.actor, reason)

    return listen


def _recently_alerted(db: Session, name: str, staff_id: str) -> bool:
    since = utcnow() - timedelta(hours=1)
    return (db.scalar(select(func.count()).select_from(Alert).where(Alert.rule == name, Alert.staff_id == staff_id, Alert.at >= since, Alert.resolved_at.is_(None))) or 0) > 0


def raise_alert(services: Services, db: Session, name: str, staff_id: str, reason: str) -> Alert:
    suspend = name in {r.strip() for r in services.settings.abuse_suspend_rules.split(",") if r.strip()}
    alert = Alert(rule=name, staff_id=staff_id, details=json.dumps({"reason": reason}), suspended=suspend)
    db.add(alert)
    if suspend:
        suspend_reviewer(db, staff_id)
    db.flush()
    services.audit.append(db, DETECTOR, "abuse.alert", staff_id, {"rule": name, "alert": alert.id, "suspended": suspend})
    return alert


def suspend_reviewer(db: Session, staff_id: str) -> None:
    db.execute(update(StaffUser).where(StaffUser.id == staff_id).values(review_suspended=True))
    db.execute(
        update(ReviewTask)
        .where(ReviewTask.lease_holder == staff_id, ReviewTask.status == "leased")
        .values(status="queued", lease_holder=None, lease_expires_at=None)
    )


def resolve(services: Services, db: Session, alert_id: str, officer: Actor, lift_suspension: bool) -> Alert:
    from sottovoce.core.errors import NotFound

    alert = db.get(Alert, alert_id)
    if alert is None:
        raise NotFound("alert")
    # The audit clock, so the rules' windows (resolved_floor) and the events compare on one clock.
    alert.resolved_at, alert.resolved_by = services.audit.clock(), officer.id
    if lift_suspension:
        db.execute(update(StaffUser).where(StaffUser.id == alert.staff_id).values(review_suspended=False))
    services.audit.append(db, officer, "abuse.resolved", alert.id, {"lifted": lift_suspension})
    return alert


def audio_fetches_last_minute(db: Session, staff_id: str) -> int:
    return _count(db, staff_id, "review.audio_served", utcnow().replace(tzinfo=None) - timedelta(minutes=1))
