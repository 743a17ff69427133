"""Creating, finding and disabling staff users. Every change is written to the audit log."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sottovoce.core.audit import Actor
from sottovoce.core.crypto import open_sealed, seal
from sottovoce.core.errors import Conflict, InvalidInput, NotFound
from sottovoce.core.purposes import KeyLabel, Purpose
from sottovoce.core.services import Services
from sottovoce.db.models import StaffSession, StaffUser
from sottovoce.db.types import utcnow
from sottovoce.staff import passwords, totp
from sottovoce.staff.roles import ROLES


@dataclass
class NewStaff:
    user: StaffUser
    password: str  # shown once; must be changed at first sign-in
    totp_uri: str


def _totp_key(services: Services) -> bytes:
    # TOTP secrets are sealed with a key derived from the master key, like every other secret at rest.
    return services.keys.derived_key(KeyLabel.STAFF_TOTP)


def totp_secret(services: Services, user: StaffUser) -> str:
    return open_sealed(_totp_key(services), user.sealed_totp_secret, Purpose.TOTP_SECRET, user.id).decode()


def create_staff(services: Services, db: Session, actor: Actor, name: str, role: str) -> NewStaff:
    name = name.strip()
    if role not in ROLES:
        raise InvalidInput(f"expected a role among {', '.join(ROLES)} but got '{role[:30]}'")
    if not name or len(name) > 100 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise InvalidInput("a staff name is 1 to 100 letters, digits, '-', '_' or '.'")
    if db.scalar(select(StaffUser.id).where(StaffUser.name == name)):
        raise Conflict("a staff member with that name already exists")
    password = secrets.token_urlsafe(15)  # 120 bits, 20 characters
    secret = totp.new_secret()
    user = StaffUser(name=name, role=role, password_hash=passwords.hash_password(password), must_change_password=True)
    user.sealed_totp_secret = b""
    db.add(user)
    db.flush()
    user.sealed_totp_secret = seal(_totp_key(services), secret.encode(), Purpose.TOTP_SECRET, user.id)
    services.audit.append(db, actor, "staff.create", user.id, {"role": role})
    return NewStaff(user, password, totp.provisioning_uri(secret, name))


def get_by_name(db: Session, name: str) -> StaffUser:
    user = db.scalar(select(StaffUser).where(StaffUser.name == name))
    if user is None:
        raise NotFound("staff member")
    return user


def disable_staff(services: Services, db: Session, actor: Actor, name: str) -> StaffUser:
    user = get_by_name(db, name)
    if user.disabled_at is None:
        user.disabled_at = utcnow()
    db.execute(delete(StaffSession).where(StaffSession.staff_id == user.id))  # signed out everywhere
    services.audit.append(db, actor, "staff.disable", user.id)
    return user


def change_password(services: Services, db: Session, user: StaffUser, current: str, new: str) -> None:
    if not passwords.verify_password(user.password_hash, current):
        raise InvalidInput("the current password is wrong")
    if new == current:
        raise InvalidInput("the new password must differ from the current one")
    passwords.check_policy(new, user.name)
    user.password_hash = passwords.hash_password(new)
    user.must_change_password = False
    services.audit.append(db, Actor(user.id, user.role), "staff.password_change", user.id)
