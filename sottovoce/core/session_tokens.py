"""Rules shared by every bearer secret we store (staff and account-holder sessions, device tokens,
audio tickets, sign-in links): tokens kept only as their SHA-256 (``digest``), and for sessions
idle and absolute lifetimes and a throttled "last seen"."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.orm import Session

from sottovoce.core.errors import Unauthenticated
from sottovoce.db.models import AccountSession, StaffSession
from sottovoce.db.types import utcnow

S = TypeVar("S", AccountSession, StaffSession)
Owner = TypeVar("Owner")

TOUCH_EVERY = timedelta(seconds=30)  # one write per half-minute per session, not one per request


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def has_expired(session: AccountSession | StaffSession, now: datetime, idle_minutes: float, absolute_hours: float) -> bool:
    return now - session.last_seen_at > timedelta(minutes=idle_minutes) or now - session.created_at > timedelta(hours=absolute_hours)


def touch(db: Session, session: AccountSession | StaffSession, now: datetime) -> None:
    if now - session.last_seen_at > TOUCH_EVERY:
        session.last_seen_at = now
        db.commit()


def live_session(db: Session, model: type[S], token: str, owner_of: Callable[[S], Owner | None], idle_minutes: float,
                 absolute_hours: float, sign_in_hint: str) -> tuple[S, Owner]:
    """The live session behind a cookie token and its owner, or Unauthenticated.

    An expired session, or one whose owner is gone or disabled (``owner_of`` returns None), is
    deleted on the spot (committed: the refusal must stick even though the caller raises).
    """
    session = db.get(model, digest(token)) if token else None
    if session is None:
        raise Unauthenticated(f"sign in first{sign_in_hint}")
    owner = owner_of(session)
    now = utcnow()
    if owner is None or has_expired(session, now, idle_minutes, absolute_hours):
        db.delete(session)
        db.commit()
        raise Unauthenticated("the session has ended; sign in again")
    touch(db, session, now)
    return session, owner
