"""Staff sign-in, server-side sessions and brute-force throttling.

A session token is 256 random bits, handed to the browser once in a ``__Host-`` cookie; the
database keeps only its SHA-256, so a copy of the database does not let anyone sign in. A new token
is issued at every sign-in (no fixation). Sessions end after 15 minutes idle or 8 hours in all
(settings), at sign-out, and when the user is disabled.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from sottovoce.core.audit import Actor
from sottovoce.core.errors import TooManyRequests, Unauthenticated
from sottovoce.core.purposes import KeyLabel
from sottovoce.core.services import Services
from sottovoce.core.session_tokens import digest, live_session
from sottovoce.db.engine import rowcount, serialize_on
from sottovoce.db.models import LoginAttempt, StaffSession, StaffUser
from sottovoce.db.types import utcnow
from sottovoce.staff import passwords, totp
from sottovoce.staff.users import totp_secret

GENERIC_FAILURE = "wrong name, password or code"
CODE_REUSED = "that code was just used to sign in; wait for the next code from your authenticator app"
ANONYMOUS = Actor("anonymous", "anonymous")


def network_tag(services: Services, client_addr: str) -> str:
    """A keyed hash of the client's network (/24 for IPv4, /48 for IPv6): the abuse rules can tell
    a new network from a known one without the audit log holding addresses."""
    import hmac
    import ipaddress

    try:
        ip = ipaddress.ip_address(client_addr)
        network = str(ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 48}", strict=False))
    except ValueError:
        network = client_addr
    return hmac.new(services.keys.derived_key(KeyLabel.NETWORK_TAG), str(network).encode(), "sha256").hexdigest()[:16]



@dataclass
class SignedIn:
    token: str
    session: StaffSession
    user: StaffUser


def _failures(db: Session, since: datetime, *conditions: ColumnElement[bool]) -> int:
    query = select(func.count()).select_from(LoginAttempt).where(*conditions, LoginAttempt.at >= since, LoginAttempt.success.is_(False))
    return db.scalar(query) or 0


def _reserve_attempt(services: Services, db: Session, name_digest: str, client_addr: str, now: datetime) -> LoginAttempt | None:
    """Record the attempt as a failure and count, in one transaction, before any password is hashed.

    In-flight attempts therefore count against the limit, so 50 concurrent guesses get at most the
    limit's worth of password checks. Limits: per (name, address), per address, and a higher
    backstop per name from anywhere (so nobody can lock a staff member out from one address).
    Returns None (and keeps nothing) when the attempt is throttled.
    """
    s = services.settings
    since = now - timedelta(minutes=s.login_window_minutes)
    serialize_on(db, "login:" + name_digest)
    attempt = LoginAttempt(name=name_digest, client_addr=client_addr, at=now, success=False)
    db.add(attempt)
    db.flush()  # the write comes first: on SQLite it takes the write lock, so the counts below are exact
    earlier = (LoginAttempt.id != attempt.id,)
    throttled = (
        _failures(db, since, LoginAttempt.name == name_digest, LoginAttempt.client_addr == client_addr, *earlier) >= s.login_max_failures_per_account
        or _failures(db, since, LoginAttempt.client_addr == client_addr, *earlier) >= s.login_max_failures_per_address
        or _failures(db, since, LoginAttempt.name == name_digest, *earlier) >= s.login_max_failures_per_name
    )
    if throttled:
        db.rollback()
        return None
    db.commit()
    return attempt


def sign_in(services: Services, db: Session, name: str, password: str, code: str, client_addr: str) -> SignedIn:
    """Check name, password and TOTP code; return a fresh session or raise (429 when throttled)."""
    now = utcnow()
    # The attempted name is stored hashed: people sometimes type a password into the name field.
    name_digest = digest(name.strip().lower())
    attempt = _reserve_attempt(services, db, name_digest, client_addr, now)
    if attempt is None:
        services.audit.record(db, ANONYMOUS, "staff.login_throttled", "", {"window_min": services.settings.login_window_minutes})
        raise TooManyRequests("too many failed sign-ins; wait a few minutes and try again")

    user = db.scalar(select(StaffUser).where(StaffUser.name == name.strip()))
    reason = None
    if user is None:
        passwords.verify_password(passwords.DUMMY_HASH, password)  # same cost as a real check
        reason = "unknown"
    elif not passwords.verify_password(user.password_hash, password):
        reason = "password"
    elif user.disabled_at is not None:
        reason = "disabled"
    else:
        secret = totp_secret(services, user)
        step = totp.matching_step(secret, code, user.last_totp_step)
        if step is None:
            # Name and password were right and the code is real but spent: say so (issue 16).
            reason = "totp_reused" if totp.was_just_used(secret, code, user.last_totp_step) else "totp"
        else:
            user.last_totp_step = step

    if reason is not None:
        services.audit.record(db, ANONYMOUS, "staff.login_failed", user.id if user else "", {"reason": reason})
        raise Unauthenticated(CODE_REUSED if reason == "totp_reused" else GENERIC_FAILURE)
    assert user is not None  # no reason to refuse means the user was found

    attempt.success = True
    db.add(attempt)
    token = secrets.token_urlsafe(32)
    session = StaffSession(
        token_hash=digest(token), staff_id=user.id, csrf_token=secrets.token_urlsafe(32),
        created_at=now, last_seen_at=now, client_addr=client_addr[:64],
    )
    db.add(session)
    services.audit.append(db, Actor(user.id, user.role), "staff.login", user.id, {"net": network_tag(services, client_addr)})
    db.commit()
    return SignedIn(token, session, user)


def resolve(services: Services, db: Session, token: str) -> tuple[StaffSession, StaffUser]:
    """The live session behind a cookie token, or Unauthenticated; ends expired sessions."""
    s = services.settings

    def active_user(session: StaffSession) -> StaffUser | None:
        user = db.get(StaffUser, session.staff_id)
        return user if user is not None and user.disabled_at is None else None

    return live_session(db, StaffSession, token, active_user, s.session_idle_minutes, s.session_absolute_hours, "")


def sign_out(services: Services, db: Session, token: str) -> None:
    session = db.get(StaffSession, digest(token)) if token else None
    if session is not None:
        user = db.get(StaffUser, session.staff_id)
        db.delete(session)
        services.audit.append(db, Actor(session.staff_id, user.role if user else "unknown"), "staff.logout", session.staff_id)
        db.commit()


def forget_old_attempts(db: Session, older_than: timedelta = timedelta(days=1)) -> int:
    """Sign-in attempts (hashed names, client addresses) are kept for the throttling window only;
    the server's housekeeping timer calls this. The caller commits."""
    return rowcount(db.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - older_than)))
