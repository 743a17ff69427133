"""Rules shared by the two kinds of server-side session (staff/sessions.py, holder/signin.py):
tokens stored only as their SHA-256, idle and absolute lifetimes, and a throttled "last seen"."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sottovoce.db.models import AccountSession, StaffSession

TOUCH_EVERY = timedelta(seconds=30)  # one write per half-minute per session, not one per request


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def has_expired(session: AccountSession | StaffSession, now: datetime, idle_minutes: float, absolute_hours: float) -> bool:
    return now - session.last_seen_at > timedelta(minutes=idle_minutes) or now - session.created_at > timedelta(hours=absolute_hours)


def touch(db: Session, session: AccountSession | StaffSession, now: datetime) -> None:
    if now - session.last_seen_at > TOUCH_EVERY:
        session.last_seen_at = now
        db.commit()
