"""Accounts and their devices: creation, device tokens, and token authentication.

Device tokens are 256-bit random strings shown once; only their SHA-256 is stored (a slow hash is
unnecessary for high-entropy secrets and would cost every ingest request).
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.core.crypto import KeyRing
from sottovoce.core.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from sottovoce.core.session_tokens import digest
from sottovoce.db.models import Account, Device
from sottovoce.db.types import utcnow

RETENTION_CHOICES = ("3m", "18m", "forever")
TOKEN_PREFIX = "svd_"


def hash_token(token: str) -> str:
    return digest(token)


def create_account(db: Session, keys: KeyRing, name: str, consent_review: bool = False, consent_training: bool = False) -> Account:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("account name must be 1 to 200 characters")
    if db.scalar(select(Account.id).where(Account.name == name)):
        raise Conflict("an account with that name already exists")
    account = Account(name=name, consent_human_review=consent_review, consent_training=consent_training)
    db.add(account)
    db.flush()
    keys.create(db, account.id)
    return account


def get_account(db: Session, account_id: str) -> Account:
    account = db.get(Account, account_id)
    if account is None:
        raise NotFound("account")
    return account


def find_account(db: Session, ident: str) -> Account:
    """An account by id or by name (operators know the name)."""
    account = db.get(Account, ident) or db.scalar(select(Account).where(Account.name == ident))
    if account is None:
        raise NotFound("account")
    return account


def add_device(db: Session, account_id: str, serial: str, name: str = "") -> tuple[Device, str]:
    """Create a device and return it with its bearer token (shown once, never stored).

    A serial identifies one physical microphone: a second active device with the same serial is
    refused (a revoked one may be re-registered)."""
    get_account(db, account_id)
    serial = serial.strip()
    if not serial or len(serial) > 200:
        raise InvalidInput("device serial must be 1 to 200 characters")
    if db.scalar(select(Device.id).where(Device.serial == serial, Device.revoked_at.is_(None))):
        raise Conflict("a device with that serial is already registered (revoke it first)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    device = Device(account_id=account_id, serial=serial, name=name.strip() or "device", token_hash=hash_token(token))
    db.add(device)
    db.flush()
    return device, token


def get_device(db: Session, device_id: str) -> Device:
    device = db.get(Device, device_id)
    if device is None or device.revoked_at is not None:
        raise NotFound("device")
    return device


def authenticate_device(db: Session, token: str) -> Device:
    # One message for unknown, revoked and malformed tokens: the answer must not help guessing.
    device = db.scalar(select(Device).where(Device.token_hash == hash_token(token)))
    if device is None or device.revoked_at is not None:
        raise Unauthenticated("invalid or revoked device token")
    return device


def revoke_device(db: Session, device_id: str) -> None:
    get_device(db, device_id).revoked_at = utcnow()
