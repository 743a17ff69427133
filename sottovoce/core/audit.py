"""The hash-chained, append-only audit log, its signed checkpoints and its verification.

Each event is hashed together with the previous event's hash (domain-separated):

    hash[n] = SHA-256("sottovoce-audit-v1" || 0x00 || hash[n-1] || seq(8 bytes) || canonical_json(event))

so editing, removing, inserting or reordering any event changes every later hash. The database
refuses UPDATE and DELETE on the table (triggers, migration 0002).

Appends are serialized by the database, not by a process lock: an append first moves the one-row
chain head (``audit_head``: UPDATE ... RETURNING), which takes SQLite's write lock or a row lock on
PostgreSQL until the caller's transaction ends. The event therefore commits or rolls back with the
change it records, and two processes never read the same head. The head is the last lock an
audited transaction takes: append the event after the change it records, then commit.

Someone able to bypass the triggers and rewrite the chain is caught by checkpoints: the (seq, head
hash) pair signed with an Ed25519 key and appended to a file outside the database, written when a
commit crosses a multiple of ``checkpoint_every``, by the server's timer after
``checkpoint_minutes`` whatever the traffic (``checkpoint_if_due``), and when a process that
appended shuts down cleanly (``checkpoint_if_behind``). ``verify`` recomputes the chain and checks
every checkpoint. docs/security.md says what an attacker with database write access can still hide.

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Row, insert, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from sottovoce.core.errors import AuditUnavailable, DatabaseBusy
from sottovoce.db.models import AuditEvent, AuditHead

DOMAIN = b"sottovoce-audit-v1\x00"
GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who did something: a staff id, an account id, a device id, or a system process."""

    id: str
    role: str  # reviewer | supervisor | privacy_officer | admin | account | device | system | operator

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(name, "system")


OPERATOR = Actor("cli", "operator")  # the person at the server's shell


def canonical_details(details: dict | None) -> str:
    return json.dumps(details or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def event_bytes(at: str, actor: str, role: str, action: str, subject: str, details: str) -> bytes:
    return json.dumps([at, actor, role, action, subject, details], separators=(",", ":"), ensure_ascii=True).encode()


def chain_hash(prev_hash: str, seq: int, payload: bytes) -> str:
    return hashlib.sha256(DOMAIN + bytes.fromhex(prev_hash) + seq.to_bytes(8, "big") + payload).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditLog:
    def __init__(self, checkpoint_file: Path, signing_key_file: Path, checkpoint_every: int = 1000, checkpoint_minutes: float = 10.0,
                 clock: Callable[[], datetime] = _utc_now):
        self.clock = clock  # the time events are stamped with; tests inject a fixed one
        self.checkpoint_file = checkpoint_file
        self.signing_key_file = signing_key_file
        self.checkpoint_every = checkpoint_every
        self.checkpoint_seconds = checkpoint_minutes * 60
        self._signing_key: Ed25519PrivateKey | None = None
        # Guards this process's copy of the newest committed and checkpointed heads (memory only;
        # never held while waiting for the database).
        self._state_lock = threading.Lock()
        self._committed: tuple[int, str] | None = None  # newest (seq, hash) this process committed
        self._checkpointed_seq: int | None = None
        self._checkpointed_at = time.monotonic()
        # Called with (session, event) after each append, in the same transaction (abuse rules).
        self.listeners: list = []

    # -- appending -------------------------------------------------------------------------------

    def append(self, db: Session, actor: Actor, action: str, subject: str = "", details: dict | None = None) -> AuditEvent:
        """Add an event to the caller's transaction; it commits (or rolls back) with the change it records."""
        self._watch(db)
        at = iso(self.clock())
        detail_text = canonical_details(details)
        payload = event_bytes(at, actor.id, actor.role, action, subject, detail_text)
        db.flush()  # the change this event records is written first: the head is the last lock taken
        # Moving the head takes the database's write serialization (see the module docstring).
        seq, prev = db.execute(
            update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1).returning(AuditHead.seq, AuditHead.hash)
        ).one()
        digest = chain_hash(prev, seq, payload)
        db.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=digest))
        row = {"seq": seq, "at": at, "actor": actor.id, "role": actor.role, "action": action, "subject": subject, "details": detail_text, "hash": digest}
        # A Core INSERT: an append is on every staff request, and the ORM's unit of work costs more
        # than the statement. Listeners and callers get the same values as a (transient) object.
        db.execute(insert(AuditEvent).values(row))
        event = AuditEvent(**row)
        first = db.info.get("audit_first_seq")
        db.info["audit_first_seq"] = seq if first is None else first
        db.info["audit_last"] = (seq, digest)
        for listener in self.listeners:
            listener(db, event)
        return event

    def record(self, db: Session, actor: Actor, action: str, subject: str = "", details: dict | None = None) -> AuditEvent:
        """Append and commit now; fail closed. Used for reads of content: the caller sends the
        content only after this returns."""
        try:
            event = self.append(db, actor, action, subject, details)
            db.commit()
            return event
        except (SQLAlchemyError, DatabaseBusy, IntegrityError):
            db.rollback()
            raise AuditUnavailable("the audit log is unavailable, so the content was not sent") from None

    def _watch(self, db: Session) -> None:
        if db.info.get("audit_watched"):
            return
        db.info["audit_watched"] = True
        sa_event.listen(db, "after_commit", self._after_commit)
        sa_event.listen(db, "after_rollback", self._after_rollback)

    def _after_rollback(self, session: Session) -> None:
        session.info.pop("audit_first_seq", None)
        session.info.pop("audit_last", None)

    def _after_commit(self, session: Session) -> None:
        first = session.info.pop("audit_first_seq", None)
        last = session.info.pop("audit_last", None)
        if last is None:
            return
        with self._state_lock:
            if self._committed is None or last[0] > self._committed[0]:
                self._committed = last
        # A commit that crosses a multiple of N signs the head it committed (no SQL needed).
        n = self.checkpoint_every
        if last[0] // n > (first - 1) // n:
            self._write_checkpoint(*last)

    # -- checkpoints -----------------------------------------------------------------------------

    def _key(self) -> Ed25519PrivateKey:
        if self._signing_key is None:
            path = self.signing_key_file
            if path.exists():
                key = serialization.load_pem_private_key(path.read_bytes(), password=None)
                assert isinstance(key, Ed25519PrivateKey)
                self._signing_key = key
            else:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                key = Ed25519PrivateKey.generate()
                pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:  # another process created it first: use theirs
                    return self._key()
                with os.fdopen(fd, "wb") as fh:
                    fh.write(pem)
                self._signing_key = key
        return self._signing_key

    def public_key_pem(self) -> bytes:
        return self._key().public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def _write_checkpoint(self, seq: int, head: str) -> dict:
        body = {"seq": seq, "head": head, "at": iso(_utc_now())}
        message = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        line = json.dumps({**body, "sig": self._key().sign(message).hex()}, sort_keys=True) + "\n"
        self.checkpoint_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # One O_APPEND write per line: lines from several processes never interleave.
        fd = os.open(self.checkpoint_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        with self._state_lock:
            self._checkpointed_seq = max(seq, self._checkpointed_seq or 0)
            self._checkpointed_at = time.monotonic()
        return json.loads(line)

    def checkpoint(self, db: Session) -> dict | None:
        """Sign the committed head now (``sottovoce audit checkpoint``, timers, shutdown)."""
        head = db.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
        db.rollback()  # end the read; nothing is held while the file is written
        return self._write_checkpoint(head.seq, head.hash) if head is not None else None

    def _checkpointed(self) -> int:
        with self._state_lock:
            if self._checkpointed_seq is None:
                existing = read_checkpoints(self.checkpoint_file)
                self._checkpointed_seq = max((c["seq"] for c in existing), default=0)
            return self._checkpointed_seq

    def checkpoint_if_due(self, sessions: sessionmaker[Session]) -> dict | None:
        """The timer: sign the head if it moved and ``checkpoint_minutes`` passed since the last one
        (events from any process count: the head is read from the database)."""
        if time.monotonic() - self._checkpointed_at < self.checkpoint_seconds:
            return None
        return self.checkpoint_if_behind(sessions)

    def checkpoint_if_behind(self, sessions: sessionmaker[Session]) -> dict | None:
        """Sign the head if it is newer than the newest checkpoint (clean shutdown, timers)."""
        with sessions() as db:
            head = db.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
        if head is None or head.seq == 0 or head.seq <= self._checkpointed():
            with self._state_lock:
                self._checkpointed_at = time.monotonic()
            return None
        return self._write_checkpoint(head.seq, head.hash)

    @property
    def appended_since_checkpoint(self) -> bool:
        with self._state_lock:
            committed = self._committed[0] if self._committed else 0
        return committed > self._checkpointed()


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
    newest_checkpoint_seq: int | None = None
    newest_checkpoint_age_s: float | None = None  # how much recent history rests on the chain alone

    def as_dict(self) -> dict:
        return {
            "ok": self.ok, "events": self.events, "first_bad_seq": self.first_bad_seq, "reason": self.reason,
            "checkpoints": self.checkpoints, "newest_checkpoint_seq": self.newest_checkpoint_seq,
            "newest_checkpoint_age_s": self.newest_checkpoint_age_s,
        }


def verify(db: Session, checkpoint_file: Path, public_key_pem: bytes | None, batch: int = 50_000) -> Verification:
    """Recompute the chain from the first event and check every signed checkpoint against it, and
    that the chain is as long as its recorded head says."""
    checkpoints = read_checkpoints(checkpoint_file)
    head_seq = db.scalar(select(AuditHead.seq).where(AuditHead.id == 1)) or 0
    rows = db.execute(
        select(AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.role, AuditEvent.action, AuditEvent.subject, AuditEvent.details, AuditEvent.hash)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=batch)
    )
    try:
        result = _walk_chain(rows, checkpoints, public_key_pem)
    finally:
        rows.close()  # an early return must not leave a server-side cursor open
    if result.ok and head_seq > result.events:
        result = Verification(False, result.events, result.events + 1, "events after the recorded head were removed (truncation)", len(checkpoints))
    if checkpoints:
        newest = max(checkpoints, key=lambda c: c["seq"])
        result.newest_checkpoint_seq = newest["seq"]
        taken = datetime.strptime(newest["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        result.newest_checkpoint_age_s = round((datetime.now(UTC) - taken).total_seconds(), 1)
    return result


def _walk_chain(rows: Iterable[Row[int, str, str, str, str, str, str, str]], checkpoints: list[dict], public_key_pem: bytes | None) -> Verification:
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
