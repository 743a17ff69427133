"""The hash-chained, append-only audit log, its signed checkpoints and its verification.

Each event is hashed together with the previous event's hash (domain-separated):

    hash[n] = SHA-256("sottovoce-audit-v1" || 0x00 || hash[n-1] || seq(8 bytes) || canonical_json(event))

so editing, removing, inserting or reordering any event changes every later hash. The database
refuses UPDATE and DELETE on the table (triggers, migration 0002). Someone able to bypass those
and rewrite the whole chain is caught by checkpoints: every ``checkpoint_every`` events (or
``checkpoint_minutes``), the (seq, head hash) pair is signed with an Ed25519 key and appended to a
file outside the database. ``verify`` recomputes the chain and checks every checkpoint.

Events never hold personal data or content: actor and subject are random ids, details are small
counters and enums. Reads of content are recorded *before* the content leaves (``record`` raises
AuditUnavailable if the event cannot be written, and callers then send nothing).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from sottovoce.db.models import AuditEvent
from sottovoce.errors import AuditUnavailable

DOMAIN = b"sottovoce-audit-v1\x00"
GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who did something: a staff id, an account id, a device id, or a system process."""

    id: str
    role: str  # reviewer | supervisor | privacy_officer | admin | account | device | system | operator

    @classmethod
    def system(cls, name: str = "system") -> "Actor":
        return cls(name, "system")


OPERATOR = Actor("cli", "operator")  # the person at the server's shell


def canonical_details(details: dict | None) -> str:
    return json.dumps(details or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def event_bytes(at: str, actor: str, role: str, action: str, subject: str, details: str) -> bytes:
    return json.dumps([at, actor, role, action, subject, details], separators=(",", ":"), ensure_ascii=True).encode()


def chain_hash(prev_hash: str, seq: int, payload: bytes) -> str:
    return hashlib.sha256(DOMAIN + bytes.fromhex(prev_hash) + seq.to_bytes(8, "big") + payload).hexdigest()


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditLog:
    def __init__(self, checkpoint_file: Path, signing_key_file: Path, checkpoint_every: int = 1000, checkpoint_minutes: float = 10.0):
        self.checkpoint_file = checkpoint_file
        self.signing_key_file = signing_key_file
        self.checkpoint_every = checkpoint_every
        self.checkpoint_seconds = checkpoint_minutes * 60
        self._lock = threading.Lock()  # appends from one process queue here instead of retrying
        self._signing_key: Ed25519PrivateKey | None = None
        self._last_checkpoint: tuple[int, float] | None = None
        # Called with (session, event) after each append, in the same transaction (abuse.py).
        self.listeners: list = []

    # -- appending -------------------------------------------------------------------------------

    def append(self, db: Session, actor: Actor, action: str, subject: str = "", details: dict | None = None) -> AuditEvent:
        """Add an event to the caller's transaction; it commits (or rolls back) with the change it records.

        The session holds this process's append lock from its first event until its transaction
        ends, so two sessions of one process never read the same head. Another process racing for
        the same seq gets an IntegrityError at commit (seq is the primary key) and nothing is lost.
        """
        self._hold_lock(db)
        at = _now_iso()
        detail_text = canonical_details(details)
        payload = event_bytes(at, actor.id, actor.role, action, subject, detail_text)
        head = db.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
        seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS)
        event = AuditEvent(
            seq=seq, at=at, actor=actor.id, role=actor.role, action=action, subject=subject,
            details=detail_text, hash=chain_hash(prev, seq, payload),
        )
        db.add(event)
        db.flush()
        for listener in self.listeners:
            listener(db, event)
        return event

    def record(self, db: Session, actor: Actor, action: str, subject: str = "", details: dict | None = None) -> AuditEvent:
        """Append and commit now, retrying if another writer took the same seq; fail closed.

        Used for reads of content: the caller sends the content only after this returns.
        """
        for _attempt in range(5):
            try:
                event = self.append(db, actor, action, subject, details)
                db.commit()
                self.maybe_checkpoint(db, event.seq)
                return event
            except IntegrityError:
                db.rollback()  # another process appended the same seq first; read the new head
            except SQLAlchemyError:
                db.rollback()
                raise AuditUnavailable("the audit log is unavailable, so the content was not sent") from None
        raise AuditUnavailable("the audit log is unavailable (busy), so the content was not sent")

    def _hold_lock(self, db: Session) -> None:
        if db.info.get("audit_lock_held"):
            return
        self._lock.acquire()
        db.info["audit_lock_held"] = True
        if not db.info.get("audit_listener"):
            sa_event.listen(db, "after_transaction_end", self._release)
            db.info["audit_listener"] = True

    def _release(self, session: Session, transaction) -> None:
        if transaction.parent is None and session.info.pop("audit_lock_held", False):
            self._lock.release()

    # -- checkpoints -----------------------------------------------------------------------------

    def _key(self) -> Ed25519PrivateKey:
        if self._signing_key is None:
            path = self.signing_key_file
            if path.exists():
                self._signing_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            else:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                key = Ed25519PrivateKey.generate()
                pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(pem)
                self._signing_key = key
        return self._signing_key

    def public_key_pem(self) -> bytes:
        return self._key().public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def checkpoint(self, db: Session) -> dict | None:
        head = db.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
        if head is None:
            return None
        body = {"seq": head.seq, "head": head.hash, "at": _now_iso()}
        message = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        entry = {**body, "sig": self._key().sign(message).hex()}
        self.checkpoint_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self.checkpoint_file.open("a") as fh:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._last_checkpoint = (head.seq, time.monotonic())
        return entry

    def maybe_checkpoint(self, db: Session, head_seq: int | None = None) -> None:
        last_seq, last_time = self._last_checkpoint or (self._last_checkpointed_seq(), time.monotonic())
        self._last_checkpoint = (last_seq, last_time)
        if head_seq is None:
            head_seq = db.scalar(select(func.max(AuditEvent.seq))) or 0
        due = head_seq - last_seq >= self.checkpoint_every or (
            head_seq > last_seq and time.monotonic() - last_time >= self.checkpoint_seconds
        )
        if due:
            self.checkpoint(db)

    def _last_checkpointed_seq(self) -> int:
        checkpoints = read_checkpoints(self.checkpoint_file)
        return checkpoints[-1]["seq"] if checkpoints else 0


def read_checkpoints(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class Verification:
    ok: bool
    events: int
    first_bad_seq: int | None
    reason: str | None
    checkpoints: int

    def as_dict(self) -> dict:
        return {"ok": self.ok, "events": self.events, "first_bad_seq": self.first_bad_seq, "reason": self.reason, "checkpoints": self.checkpoints}


def verify(db: Session, checkpoint_file: Path, public_key_pem: bytes | None, batch: int = 50_000) -> Verification:
    """Recompute the chain from the first event and check every signed checkpoint against it."""
    checkpoints = read_checkpoints(checkpoint_file)
    rows = db.execute(
        select(AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.role, AuditEvent.action, AuditEvent.subject, AuditEvent.details, AuditEvent.hash)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=batch)
    )
    try:
        return _walk_chain(rows, checkpoints, public_key_pem)
    finally:
        rows.close()  # an early return must not leave a server-side cursor open


def _walk_chain(rows, checkpoints: list[dict], public_key_pem: bytes | None) -> Verification:
    heads: dict[int, str] = {}
    wanted = {c["seq"] for c in checkpoints}
    prev, expected, count = GENESIS, 1, 0
    dumps, sha, domain = json.dumps, hashlib.sha256, DOMAIN
    for seq, at, actor, role, action, subject, details, stored in rows:
        if seq != expected:
            reason = "an event is missing" if seq > expected else "events are out of order"
            return Verification(False, count, expected, reason, len(checkpoints))
        payload = dumps([at, actor, role, action, subject, details], separators=(",", ":"), ensure_ascii=True).encode()
        prev = sha(domain + bytes.fromhex(prev) + seq.to_bytes(8, "big") + payload).hexdigest()
        if prev != stored:
            return Verification(False, count, seq, "an event was altered or inserted", len(checkpoints))
        if seq in wanted:
            heads[seq] = prev
        expected += 1
        count += 1
    return _check_checkpoints(checkpoints, heads, count, public_key_pem)


def _check_checkpoints(checkpoints: list[dict], heads: dict[int, str], count: int, public_key_pem: bytes | None) -> Verification:
    public_key = serialization.load_pem_public_key(public_key_pem) if public_key_pem else None
    for entry in checkpoints:
        body = {k: entry[k] for k in ("seq", "head", "at")}
        message = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        if public_key is not None:
            try:
                assert isinstance(public_key, Ed25519PublicKey)
                public_key.verify(bytes.fromhex(entry["sig"]), message)
            except (InvalidSignature, ValueError):
                return Verification(False, count, entry["seq"], "a checkpoint signature is invalid", len(checkpoints))
        if entry["seq"] > count:
            return Verification(False, count, count + 1, "events after a checkpoint were removed (truncation)", len(checkpoints))
        if heads.get(entry["seq"]) != entry["head"]:
            return Verification(False, count, entry["seq"], "the chain was rewritten before a checkpoint", len(checkpoints))
    return Verification(True, count, None, None, len(checkpoints))
