"""Key hierarchy: one master key wraps one data key per account; data keys seal content.

    master key (file, 0600)  --AES-256-GCM wrap-->  account data key (row in account_keys)
    account data key         --AES-256-GCM seal-->  audio blobs, transcript text, rendered clips

Every sealed value carries associated data naming what it is (``purpose`` and the owning object's
id), so a ciphertext copied onto another row or blob fails to open instead of being served as the
wrong recording. ``shred`` deletes the wrapped data key: every copy of that account's ciphertext,
backups included, becomes unreadable (DESIGN.md invariant 5).

The database rows live in db/models.py (AccountKey); this module never writes plaintext anywhere.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sottovoce.core.errors import IntegrityFailure, NotFound
from sottovoce.core.purposes import Purpose

KEY_BYTES = 32
NONCE_BYTES = 12
FORMAT_V1 = b"\x01"  # first byte of every sealed value, so the format can evolve


def _aad(purpose: str, owner: str) -> bytes:
    return f"sottovoce/v1/{purpose}/{owner}".encode()


def seal(key: bytes, plaintext: bytes, purpose: str, owner: str) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return FORMAT_V1 + nonce + AESGCM(key).encrypt(nonce, plaintext, _aad(purpose, owner))


def open_sealed(key: bytes, sealed: bytes, purpose: str, owner: str) -> bytes:
    if sealed[:1] != FORMAT_V1 or len(sealed) < 1 + NONCE_BYTES + 16:
        raise IntegrityFailure("sealed value has an unknown format")
    nonce, ciphertext = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, _aad(purpose, owner))
    except InvalidTag:
        raise IntegrityFailure(f"sealed {purpose} failed authentication") from None


class MasterKey:
    """The root key, read from a file that only the service user can read."""

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise ValueError(f"master key must be {KEY_BYTES} bytes, got {len(key)}")
        self._key = key

    @classmethod
    def load_or_create(cls, path: Path) -> MasterKey:
        if path.exists():
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                raise PermissionError(f"{path} is readable by others (mode {mode:o}); expected 600")
            return cls(path.read_bytes())
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_bytes(KEY_BYTES)
        # O_EXCL: two processes starting at once must not both create (and then disagree on) a key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        return cls(key)

    def wrap(self, data_key: bytes, account_id: str) -> bytes:
        return seal(self._key, data_key, Purpose.DATA_KEY, account_id)

    def unwrap(self, wrapped: bytes, account_id: str) -> bytes:
        return open_sealed(self._key, wrapped, Purpose.DATA_KEY, account_id)

    def derive(self, label: str) -> bytes:
        """A key for one purpose (HKDF), so the master key itself only ever wraps data keys."""
        return _derive(self._key, label)


class KeyRing:
    """Per-account data keys: created with the account, cached unwrapped in memory, shredded on close."""

    def __init__(self, master: MasterKey):
        self._master = master
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def derived_key(self, label: str) -> bytes:
        return self._master.derive(label)

    def create(self, db: Session, account_id: str) -> None:
        from sottovoce.db.models import AccountKey

        db.add(AccountKey(account_id=account_id, wrapped_key=self._master.wrap(secrets.token_bytes(KEY_BYTES), account_id)))

    def data_key(self, db: Session, account_id: str) -> bytes:
        from sottovoce.db.models import AccountKey

        with self._lock:
            if account_id in self._cache:
                return self._cache[account_id]
        wrapped = db.scalar(select(AccountKey.wrapped_key).where(AccountKey.account_id == account_id))
        if wrapped is None:
            raise NotFound("account key")
        key = self._master.unwrap(wrapped, account_id)
        with self._lock:
            self._cache[account_id] = key
        return key

    def seal(self, db: Session, account_id: str, plaintext: bytes, purpose: str, owner: str) -> bytes:
        return seal(self.data_key(db, account_id), plaintext, purpose, owner)

    def open(self, db: Session, account_id: str, sealed: bytes, purpose: str, owner: str) -> bytes:
        return open_sealed(self.data_key(db, account_id), sealed, purpose, owner)

    def shred(self, db: Session, account_id: str) -> None:
        from sottovoce.db.models import AccountKey

        db.execute(delete(AccountKey).where(AccountKey.account_id == account_id))
        self.forget(account_id)

    def forget(self, account_id: str) -> None:
        with self._lock:
            self._cache.pop(account_id, None)


def _derive(master: bytes, label: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=f"sottovoce/{label}".encode()).derive(master)
