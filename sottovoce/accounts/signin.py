"""Account holders sign in with one-time links, into sessions separate from staff sessions.

``sottovoce accounts login-link NAME`` (or, in a product, the companion app) issues a link holding
a 256-bit random token; the database keeps only its SHA-256. A link works once and expires after
``account_login_link_minutes``. Opening it shows a button; only the POST consumes the token, so a
mail scanner or browser pre-fetch cannot burn the link. The session follows staff/sessions.py: a new
256-bit token per sign-in, only its SHA-256 stored (``account_sessions``), idle and absolute limits.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from sottovoce.core.audit import Actor
from sottovoce.core.errors import Unauthenticated
from sottovoce.core.services import Services
from sottovoce.core.session_tokens import digest, live_session
from sottovoce.db.engine import rowcount
from sottovoce.db.models import Account, AccountLoginLink, AccountSession
from sottovoce.db.types import utcnow

LINK_PREFIX = "svl_"
LINK_PATH = "/me/login"


@dataclass
class IssuedLink:
    url: str
    token: str
    expires_at: datetime


def issue_link(services: Services, db: Session, account: Account, actor: Actor) -> IssuedLink:
    """Create a one-time sign-in link for the account; the token is returned once. The caller commits."""
    token = LINK_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    expires_at = now + timedelta(minutes=services.settings.account_login_link_minutes)
    db.add(AccountLoginLink(token_hash=digest(token), account_id=account.id, created_at=now, expires_at=expires_at))
    # Old, spent or expired links of this account are of no use to anyone: drop them.
    db.execute(delete(AccountLoginLink).where(AccountLoginLink.account_id == account.id, AccountLoginLink.expires_at < now))
    services.audit.append(db, actor, "account.login_link_issued", account.id, {"minutes": services.settings.account_login_link_minutes})
    url = f"{services.settings.resolved_public_url}{LINK_PATH}?token={quote(token)}"
    return IssuedLink(url, token, expires_at)


@dataclass
class SignedIn:
    token: str
    session: AccountSession
    account: Account


def redeem_link(services: Services, db: Session, token: str) -> SignedIn:
    """Spend a sign-in link (once) and open a fresh session; raise Unauthenticated with a clear reason."""
    now = utcnow()
    link = db.get(AccountLoginLink, digest(token)) if token else None
    anonymous = Actor("anonymous", "anonymous")
    if link is None:
        services.audit.record(db, anonymous, "account.login_failed", "", {"reason": "unknown"})
        raise Unauthenticated("this sign-in link is not valid; ask for a new one")
    if link.used_at is not None:
        services.audit.record(db, anonymous, "account.login_failed", link.account_id, {"reason": "used"})
        raise Unauthenticated("this sign-in link was already used; ask for a new one")
    if link.expires_at <= now:
        services.audit.record(db, anonymous, "account.login_failed", link.account_id, {"reason": "expired"})
        raise Unauthenticated("this sign-in link has expired; ask for a new one")
    # A conditional update spends the link: of two simultaneous redemptions only one wins.
    spent = db.execute(
        update(AccountLoginLink)
        .where(AccountLoginLink.token_hash == link.token_hash, AccountLoginLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    account = db.get(Account, link.account_id)
    if rowcount(spent) != 1 or account is None:
        db.rollback()
        raise Unauthenticated("this sign-in link was already used; ask for a new one")
    session_token = secrets.token_urlsafe(32)
    session = AccountSession(
        token_hash=digest(session_token), account_id=account.id, csrf_token=secrets.token_urlsafe(32), created_at=now, last_seen_at=now
    )
    db.add(session)
    services.audit.append(db, Actor(account.id, "account"), "account.login", account.id)
    db.commit()
    return SignedIn(session_token, session, account)


def resolve(services: Services, db: Session, token: str) -> tuple[AccountSession, Account]:
    """The live session behind a cookie token, or Unauthenticated; ends expired sessions."""
    s = services.settings
    return live_session(db, AccountSession, token, lambda session: db.get(Account, session.account_id),
                        s.account_session_idle_minutes, s.account_session_absolute_hours, ", with a sign-in link")


def sign_out(services: Services, db: Session, token: str) -> None:
    session = db.get(AccountSession, digest(token)) if token else None
    if session is not None:
        db.delete(session)
        services.audit.append(db, Actor(session.account_id, "account"), "account.logout", session.account_id)
        db.commit()


def end_all_sessions(db: Session, account_id: str) -> int:
    """Used by account closure: every session and unspent link of the account ends now."""
    db.execute(delete(AccountLoginLink).where(AccountLoginLink.account_id == account_id))
    return rowcount(db.execute(delete(AccountSession).where(AccountSession.account_id == account_id))) or 0
