"""Key hierarchy: one master key wraps one data key per account; data keys seal content.

    master key (KeyProvider)  --wrap-->            account data key (row in account_keys)
                              --wrap-->            derivation root (row in system_keys)
    account data key          --AES-256-GCM seal-> audio blobs, transcript text, rendered clips
    derivation root           --HKDF-->            keys for one purpose (TOTP sealing, watermarks ...)

The master key comes from a ``KeyProvider`` (envelope encryption: it wraps and unwraps data keys and
nothing else): a local file (the default), a mounted secret, an environment variable, or a plug-in
(a KMS) named by ``module:factory``. Rotating the master key re-wraps the rows above and nothing
else (``rotate_master_key``); no blob or sealed column is re-encrypted.

Every sealed value carries associated data naming what it is (``purpose`` and the owning object's
id), so a ciphertext copied onto another row or blob fails to open instead of being served as the
wrong recording. ``shred`` deletes the wrapped data key: every copy of that account's ciphertext,
backups included, becomes unreadable (DESIGN.md invariant 5).

The database rows live in db/models.py (AccountKey); this module never writes plaintext anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from sottovoce.core.errors import IntegrityFailure, NotFound

if TYPE_CHECKING:
    from sottovoce.core.settings import Settings

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


@runtime_checkable
class KeyProvider(Protocol):
    """What a master key does, and all a KMS plug-in implements (envelope encryption).

    ``wrap`` seals a 32-byte data key for ``context`` (an account id, or ``system/NAME``);
    ``unwrap`` returns it, or raises ``IntegrityFailure`` when this key did not wrap it (or the
    context differs). The wrapped form is opaque bytes of at most a few hundred bytes; a KMS
    plug-in typically returns its ciphertext blob, whose header names the KMS key version.
    ``key_id`` names the key (never the key itself): shown by ``sottovoce keys status``.
    A plug-in is named in settings as ``KEY_PROVIDER=package.module:factory``; the factory takes
    the Settings and returns the provider. The plug-in must not cache plaintext data keys on disk.
    """

    key_id: str

    def wrap(self, data_key: bytes, context: str) -> bytes: ...
    def unwrap(self, wrapped: bytes, context: str) -> bytes: ...


class MasterKey:
    """A local 32-byte master key (from a file, a mounted secret or an environment variable)."""

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise ValueError(f"master key must be {KEY_BYTES} bytes, got {len(key)}")
        self._key = key
        # A fingerprint, not the key: a truncated hash of a random 256-bit key reveals nothing useful.
        self.key_id = "local:" + hashlib.sha256(b"sottovoce/key-id/" + key).hexdigest()[:16]

    @classmethod
    def load_or_create(cls, path: Path) -> MasterKey:
        if path.exists():
            return cls.load(path)
        return cls(write_new_key(path))

    @classmethod
    def load(cls, path: Path, allow_group: bool = False) -> MasterKey:
        """An existing key file; refuses one readable by others (a mounted secret may allow its group)."""
        mode = path.stat().st_mode & 0o777
        if mode & (0o007 if allow_group else 0o077):
            raise PermissionError(f"{path} is readable by others (mode {mode:o}); expected 600")
        return cls(path.read_bytes())

    @classmethod
    def from_base64(cls, text: str) -> MasterKey:
        try:
            return cls(base64.b64decode(text.strip(), validate=True))
        except ValueError as exc:
            raise ValueError(f"the master key must be {KEY_BYTES} bytes in base64: {exc}") from None

    def wrap(self, data_key: bytes, context: str) -> bytes:
        return seal(self._key, data_key, "data-key", context)

    def unwrap(self, wrapped: bytes, context: str) -> bytes:
        return open_sealed(self._key, wrapped, "data-key", context)

    def derive(self, label: str) -> bytes:
        """HKDF straight from this key: how derived keys were made before the derivation root existed."""
        return _derive(self._key, label)

    def legacy_root(self) -> bytes:
        return self._key


def write_new_key(path: Path) -> bytes:
    """A fresh random key in a new file (0600, fsynced). O_EXCL: two processes starting at once must
    not both create (and then disagree on) a key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    return key


def pending_rotation_file(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".next")


def key_provider_from_settings(settings: Settings) -> KeyProvider:
    """The configured master key: ``file`` (default), ``secret-file``, ``env`` or ``module:factory``."""
    kind = settings.key_provider
    if kind == "file":
        path = settings.resolved_key_file
        current = MasterKey.load_or_create(path)
        pending = pending_rotation_file(path)
        if pending.exists():  # a rotation is under way (or crashed): rows may be under either key
            return EitherKey(current, MasterKey.load(pending))
        return current
    if kind == "secret-file":  # e.g. a Kubernetes/Docker secret: never created or rewritten by us
        return MasterKey.load(settings.resolved_key_file, allow_group=True)
    if kind == "env":
        if settings.master_key is None:
            raise ValueError("KEY_PROVIDER=env needs SOTTOVOCE_MASTER_KEY (32 random bytes in base64)")
        return MasterKey.from_base64(settings.master_key.get_secret_value())
    module, _, attr = kind.partition(":")
    if not module or not attr:
        raise ValueError(f"unknown key provider {kind!r}: use file, secret-file, env or package.module:factory")
    factory: Callable[[Settings], KeyProvider] = getattr(importlib.import_module(module), attr)
    provider = factory(settings)
    if not isinstance(provider, KeyProvider):
        raise TypeError(f"{kind} did not return a KeyProvider (key_id, wrap, unwrap)")
    return provider


class EitherKey:
    """During a rotation: wraps with the current key, unwraps with whichever of the two fits."""

    def __init__(self, current: KeyProvider, other: KeyProvider):
        self.current, self.other = current, other
        self.key_id = current.key_id

    def wrap(self, data_key: bytes, context: str) -> bytes:
        return self.current.wrap(data_key, context)

    def unwrap(self, wrapped: bytes, context: str) -> bytes:
        try:
            return self.current.unwrap(wrapped, context)
        except IntegrityFailure:
            return self.other.unwrap(wrapped, context)


DERIVATION_ROOT = "derivation-root"


def _system_context(name: str) -> str:
    return f"system/{name}"


class KeyRing:
    """Per-account data keys: created with the account, cached unwrapped in memory, shredded on close.

    With ``sessions`` it also serves derived keys from the derivation root in ``system_keys`` (read,
    or made, when the ring is built).
    """

    RELOAD_EVERY_S = 5.0

    def __init__(self, master: KeyProvider, sessions: sessionmaker[Session] | None = None,
                 reload: Callable[[], KeyProvider] | None = None):
        self._master = master
        self._sessions = sessions
        # After `keys rotate` in another process, rows are wrapped by a key we have not loaded yet:
        # on a failed unwrap, load the provider again (at most every few seconds) and retry once.
        self._reload = reload
        self._reloaded_at = 0.0
        self._root: bytes | None = None
        if sessions is not None:
            # Now, in a session of its own: made lazily, it could wait on a caller's open write
            # transaction (SQLite has one writer).
            self._root = load_or_create_root(sessions, master)
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @property
    def provider(self) -> KeyProvider:
        return self._master

    def derived_key(self, label: str) -> bytes:
        return _derive(self._derivation_root(), label)

    def _derivation_root(self) -> bytes:
        if self._root is None:
            if self._sessions is None:
                raise RuntimeError("this KeyRing has no database to read the derivation root from")
            self._root = load_or_create_root(self._sessions, self._master)
        return self._root

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
        key = self._unwrap(wrapped, account_id)
        with self._lock:
            self._cache[account_id] = key
        return key

    def _unwrap(self, wrapped: bytes, context: str) -> bytes:
        try:
            return self._master.unwrap(wrapped, context)
        except IntegrityFailure:
            now = time.monotonic()
            if self._reload is None or now - self._reloaded_at < self.RELOAD_EVERY_S:
                raise
            self._reloaded_at = now
            self._master = self._reload()
            return self._master.unwrap(wrapped, context)

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


def load_or_create_root(sessions: sessionmaker[Session], master: KeyProvider) -> bytes:
    """The derivation root: unwrapped from ``system_keys``, or made on first use.

    An instance that already holds data (made before this row existed) derived its keys from the
    local master key itself, so that key becomes its root (wrapped, it survives rotation and the
    derived keys do not change). A new instance, or one on a KMS, gets a random root.
    """
    from sottovoce.db.models import Account, ModelVersion, StaffUser, SystemKey

    context = _system_context(DERIVATION_ROOT)
    with sessions() as db:
        wrapped = db.scalar(select(SystemKey.wrapped_key).where(SystemKey.name == DERIVATION_ROOT))
        if wrapped is not None:
            return master.unwrap(wrapped, context)
        has_data = any(db.scalar(select(model).limit(1)) is not None for model in (Account, StaffUser, ModelVersion))
        legacy = getattr(master, "legacy_root", None)
        root = legacy() if has_data and legacy is not None else secrets.token_bytes(KEY_BYTES)
        db.add(SystemKey(name=DERIVATION_ROOT, wrapped_key=master.wrap(root, context)))
        try:
            db.commit()
            return root
        except IntegrityError:  # another process made it first: use theirs
            db.rollback()
            return master.unwrap(db.scalars(select(SystemKey.wrapped_key).where(SystemKey.name == DERIVATION_ROOT)).one(), context)


def rotate_master_key(db: Session, old: KeyProvider, new: KeyProvider, batch: int = 1000) -> dict[str, int]:
    """Re-wrap every account key and system key from ``old`` to ``new`` in the caller's transaction.

    Blobs and sealed columns are untouched: they are sealed by data keys, which do not change.
    Rows that ``new`` already opens (a rotation resumed after a crash) are left as they are.
    The caller commits once, so readers see all rows under one key or all under the other.
    """
    from sottovoce.db.models import AccountKey, SystemKey

    counts = {"account_keys": 0, "system_keys": 0, "already_rotated": 0}
    for model, pk, context_of, name in (
        (AccountKey, AccountKey.account_id, lambda k: k, "account_keys"),
        (SystemKey, SystemKey.name, _system_context, "system_keys"),
    ):
        after = ""
        while True:
            rows = db.execute(select(pk, model.wrapped_key).where(pk > after).order_by(pk).limit(batch)).all()
            if not rows:
                break
            for ident, wrapped in rows:
                try:
                    data_key = old.unwrap(wrapped, context_of(ident))
                except IntegrityFailure:
                    new.unwrap(wrapped, context_of(ident))  # raises unless a resumed rotation already did it
                    counts["already_rotated"] += 1
                    continue
                db.execute(update(model).where(pk == ident).values(wrapped_key=new.wrap(data_key, context_of(ident))))
                counts[name] += 1
            after = rows[-1][0]
    return counts


def _derive(master: bytes, label: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=f"sottovoce/{label}".encode()).derive(master)
