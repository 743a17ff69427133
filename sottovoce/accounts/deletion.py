"""The one deletion cascade: every path that deletes recordings or closes an account goes through here.

Callers: the dashboard and its JSON API (web/me, web/api/me.py), the device API ("delete what I
just said", web/api/recordings.py), the CLI (`recordings delete`, `accounts close`), the retention
sweep and the accidental-activation policy (retention.py). DESIGN.md invariant 5: "delete means gone".

Durable and resumable, in three steps:

1. commit a *pending* ``DeletionReceipt`` naming what to delete (recording ids, or a whole account);
2. delete, in batches of ``BATCH`` recordings, one transaction per batch: every registered part
   (below), then the sealed audio blobs and the recording rows; the running counts are saved in the
   receipt with each batch;
3. mark the receipt done (kinds and counts, requested_at, completed_at, never content), append the
   audit event (``recording.deleted`` or ``account.closed``) in the same transaction.

A crash anywhere leaves the receipt pending; ``resume_pending_deletions`` (called by
recovery.recover at every start) runs it again. Every step is idempotent: rows already gone delete
zero rows, blob deletes ignore missing files, and a batch only selects what still exists.

Part deleters
-------------
A part is ``(name, fn(services, db, recording_ids) -> int | dict[str, int])``: it deletes (or marks)
one kind of derived data of those recordings inside the caller's transaction and returns how many it
removed (an int, counted under ``name``; or a dict of kinds for a part that removes several). Parts
run in the order of ``services.deletion_parts``, before the recordings' own rows and blobs go. The
composition root (app_services.py) lists them: this module's ``CORE_PARTS`` (``jobs``,
``review_data`` from review/purge.py, ``hypotheses``), then what other features derived:

- ``training_examples``: dataset rows built from the recordings' corrections, and model versions
  trained on them *marked* ``needs_retrain`` (counted as marked, not deleted) — learning/deletion_parts.py;
- ``exports_containing``: training exports that held the recordings, named in the audit log — same module;
- ``cached_features`` (none yet): any features or embeddings computed from the audio.

SQLite files: the engine runs with ``secure_delete=ON`` (freed pages are zeroed), but WAL frames
written before the deletion still hold the old page images until a checkpoint copies the WAL back
and truncates it. ``flush_deleted_pages`` runs ``PRAGMA wal_checkpoint(TRUNCATE)``: on a scrub
thread ``SCRUB_DELAY_S`` after every cascade (off the request's path: the checkpoint's fsyncs cost
more than the deletion itself), retried while a reader holds an older snapshot, and again by every
retention sweep; CLI commands and recovery call ``scrub_now``. So deleted content leaves the
database files within a few seconds of the deletion.
See docs/account-holders.md.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from sottovoce.accounts.signin import end_all_sessions
from sottovoce.core.audit import Actor
from sottovoce.core.errors import NotFound
from sottovoce.core.services import DeletionPart, Services
from sottovoce.db.engine import rowcount
from sottovoce.db.models import (
    Account,
    AccountKey,
    Adjudication,
    ConsentChange,
    DeletionReceipt,
    Device,
    GoldReference,
    Hypothesis,
    Job,
    Recording,
    ReviewTask,
)
from sottovoce.db.types import utcnow
from sottovoce.review.purge import purge_review_data

log = logging.getLogger(__name__)

BATCH = 1000  # recordings per transaction: bounded memory and lock time, well under SQL parameter limits; one DeleteObjects' worth
# Blob deletes run here while the batch's SQL runs on the caller's thread (see _delete_batch).
_BLOB_DELETES = ThreadPoolExecutor(4, thread_name_prefix="sottovoce-blob-delete")
RECORDINGS, ACCOUNT = "recordings", "account"
PENDING, DONE = "pending", "done"

# -- the parts that exist today ------------------------------------------------------------------


def _jobs(services: Services, db: Session, recording_ids: list[str]) -> int:
    # Before review_data: render jobs name task ids, which are only known while the tasks exist.
    task_ids = select(ReviewTask.id).where(ReviewTask.recording_id.in_(recording_ids))
    return rowcount(db.execute(delete(Job).where(Job.subject_id.in_(recording_ids) | Job.subject_id.in_(task_ids)))) or 0


def _review_data(services: Services, db: Session, recording_ids: list[str]) -> dict[str, int]:
    # Most recordings are never reviewed: one existence check spares purge's six statements.
    # (Annotations and audio tickets hang off tasks; gold references and adjudications are checked.)
    reviewed = db.scalar(
        select(
            exists().where(ReviewTask.recording_id.in_(recording_ids))
            | exists().where(GoldReference.recording_id.in_(recording_ids))
            | exists().where(Adjudication.recording_id.in_(recording_ids))
        )
    )
    return purge_review_data(services, db, recording_ids if reviewed else [])  # [] gives the zero counts


def _hypotheses(services: Services, db: Session, recording_ids: list[str]) -> int:
    return rowcount(db.execute(delete(Hypothesis).where(Hypothesis.recording_id.in_(recording_ids)))) or 0


# The recording's own parts, in the order they must run. Other features (learning/) add theirs in
# the composition root (app_services.py), which hands the whole list to Services.
CORE_PARTS = (DeletionPart("jobs", _jobs), DeletionPart("review_data", _review_data), DeletionPart("hypotheses", _hypotheses))


# -- requesting a deletion -------------------------------------------------------------------------


def delete_recordings(
    services: Services, db: Session, account_id: str, recording_ids: list[str], actor: Actor, channel: str
) -> dict | None:
    """Delete these recordings of ``account_id`` and everything derived from them; return the receipt.

    Ids of other accounts are ignored (the batches select within the account), so a caller's
    mistake cannot reach across accounts. Returns None when there was nothing to delete.
    Unlike most service functions this one COMMITS, several times: durability needs the pending
    receipt committed before anything is deleted. Commit or roll back your own changes first.
    """
    ids = sorted(set(recording_ids))
    if not ids:
        return None
    receipt = DeletionReceipt(
        account_id=account_id, scope=RECORDINGS, channel=channel, actor_id=actor.id, actor_role=actor.role,
        status=PENDING, recording_ids=json.dumps(ids), counts="{}", requested_at=utcnow(),
    )
    db.add(receipt)
    db.commit()
    return run(services, db, receipt)


def close_account(services: Services, db: Session, account_id: str, actor: Actor, channel: str) -> dict:
    """Close an account: shred its data key at once, then delete every recording and every row of it.

    The key is destroyed in the same transaction that records the pending closure, so from that
    commit on every copy of the account's ciphertext (backups included) is unreadable, even if the
    process dies before the rows and blobs are gone. Commits, like ``delete_recordings``.
    """
    if db.get(Account, account_id) is None:
        raise NotFound("account")
    receipt = DeletionReceipt(
        account_id=account_id, scope=ACCOUNT, channel=channel, actor_id=actor.id, actor_role=actor.role,
        status=PENDING, recording_ids="[]", counts="{}", requested_at=utcnow(),
    )
    db.add(receipt)
    _close_first(services, db, receipt)
    db.commit()
    return run(services, db, receipt)


def _close_first(services: Services, db: Session, receipt: DeletionReceipt) -> None:
    """The part of a closure that must not wait: no key, no sessions, no more uploads."""
    account_id = receipt.account_id
    counts = json.loads(receipt.counts)
    shredded = rowcount(db.execute(delete(AccountKey).where(AccountKey.account_id == account_id))) or 0
    services.keys.forget(account_id)
    counts["data_keys"] = counts.get("data_keys", 0) + shredded
    counts["sessions"] = counts.get("sessions", 0) + end_all_sessions(db, account_id)
    db.execute(update(Device).where(Device.account_id == account_id, Device.revoked_at.is_(None)).values(revoked_at=utcnow()))
    receipt.counts = json.dumps(counts, sort_keys=True)


# -- running one (new or resumed) ------------------------------------------------------------------


def run(services: Services, db: Session, receipt: DeletionReceipt) -> dict:
    """Carry out a pending receipt to the end (idempotent); returns it as a dict."""
    if receipt.status == DONE:
        return receipt_dict(receipt)
    if receipt.scope == ACCOUNT:
        _close_first(services, db, receipt)  # again: a resumed closure may predate a racing upload
        db.commit()
        while _delete_batch(services, db, receipt, None):
            pass
    else:
        todo = json.loads(receipt.recording_ids)
        for start in range(0, len(todo), BATCH):
            # The last batch commits together with the receipt's completion: one commit fewer.
            _delete_batch(services, db, receipt, todo[start : start + BATCH], commit=start + BATCH < len(todo))
    return _finish(services, db, receipt)


def _delete_batch(services: Services, db: Session, receipt: DeletionReceipt, chunk: list[str] | None, commit: bool = True) -> bool:
    """Delete one batch in one transaction; False when nothing (more) was found."""
    query = select(Recording.id, Recording.audio_blob_id).where(Recording.account_id == receipt.account_id)
    query = query.where(Recording.id.in_(chunk)) if chunk is not None else query.limit(BATCH)
    rows = db.execute(query).all()
    if not rows:
        return False
    ids = [r.id for r in rows]
    counts = json.loads(receipt.counts)
    # The blobs go while this transaction deletes the rows, and before it commits: if either fails the
    # transaction rolls back, the rows come back (perhaps pointing at missing blobs) and the
    # still-pending receipt finishes the job on the next run. Deleting blobs only after the commit
    # could leave blobs no row points to. The object store's round trips (DeleteObjects, 1,000 keys
    # per request, several requests at once) overlap the database's statements.
    blobs = _BLOB_DELETES.submit(services.blobs.delete_many, [r.audio_blob_id for r in rows])
    try:
        for part in services.deletion_parts:
            _add(counts, part.name, part.delete(services, db, ids))
        _add(counts, "recordings", rowcount(db.execute(delete(Recording).where(Recording.id.in_(ids)))) or 0)
    finally:
        blob_error = blobs.exception()  # always wait: never commit while a delete may still be in flight
    if blob_error is not None:
        raise blob_error
    _add(counts, "audio_blobs", len(rows))
    receipt.counts = json.dumps(counts, sort_keys=True)
    if commit:
        db.commit()
    return True


def _finish(services: Services, db: Session, receipt: DeletionReceipt) -> dict:
    counts = {"recordings": 0, **json.loads(receipt.counts)}
    if receipt.scope == ACCOUNT:
        account_id = receipt.account_id
        _add(counts, "consent_changes", rowcount(db.execute(delete(ConsentChange).where(ConsentChange.account_id == account_id))) or 0)
        _add(counts, "devices", rowcount(db.execute(delete(Device).where(Device.account_id == account_id))) or 0)
        db.execute(delete(DeletionReceipt).where(DeletionReceipt.account_id == account_id, DeletionReceipt.id != receipt.id))
        db.execute(delete(AccountKey).where(AccountKey.account_id == account_id))
        _add(counts, "accounts", rowcount(db.execute(delete(Account).where(Account.id == account_id))) or 0)
    now = utcnow()
    done = db.execute(
        update(DeletionReceipt)
        .where(DeletionReceipt.id == receipt.id, DeletionReceipt.status == PENDING)
        .values(status=DONE, completed_at=now, recording_ids="[]", counts=json.dumps(counts, sort_keys=True))
        .execution_options(synchronize_session=False)
    )
    if (rowcount(done) or 0) != 1:
        db.rollback()  # another process finished this receipt first; its audit event stands
        db.refresh(receipt)
        return receipt_dict(receipt)
    receipt.status, receipt.completed_at, receipt.recording_ids, receipt.counts = DONE, now, "[]", json.dumps(counts, sort_keys=True)
    action = "account.closed" if receipt.scope == ACCOUNT else "recording.deleted"
    details = {
        "receipt": receipt.id, "channel": receipt.channel, "counts": counts,
        "requested_at": receipt.requested_at.isoformat(), "completed_at": now.isoformat(),
    }
    services.audit.append(db, Actor(receipt.actor_id, receipt.actor_role), action, receipt.account_id, details)
    db.commit()
    request_scrub(services)
    return receipt_dict(receipt)


def _add(counts: dict[str, int], name: str, result: int | dict[str, int]) -> None:
    if isinstance(result, dict):
        for kind, n in result.items():
            counts[kind] = counts.get(kind, 0) + int(n)
    else:
        counts[name] = counts.get(name, 0) + int(result)


def receipt_dict(receipt: DeletionReceipt) -> dict:
    return {
        "id": receipt.id,
        "scope": receipt.scope,
        "channel": receipt.channel,
        "status": receipt.status,
        "requested_at": receipt.requested_at.isoformat(),
        "completed_at": receipt.completed_at.isoformat() if receipt.completed_at else None,
        "counts": json.loads(receipt.counts),
    }


def receipts_of(db: Session, account_id: str) -> list[DeletionReceipt]:
    return list(
        db.scalars(
            select(DeletionReceipt)
            .where(DeletionReceipt.account_id == account_id)
            .order_by(DeletionReceipt.requested_at.desc(), DeletionReceipt.id)
        )
    )


# -- after a crash ---------------------------------------------------------------------------------


def resume_pending_deletions(services: Services) -> int:
    """Finish every deletion a dead process left pending (start-up recovery); returns how many."""
    with services.sessions() as db:
        pending = list(db.scalars(select(DeletionReceipt).where(DeletionReceipt.status == PENDING).order_by(DeletionReceipt.requested_at)))
        for receipt in pending:
            run(services, db, receipt)
    if pending:
        scrub_now(services)
    return len(pending)


SCRUB_DELAY_S = 2.0
_scrub_lock = threading.Lock()
_scrubbers: dict[int, tuple[threading.Thread, threading.Event]] = {}
_dirty: set[int] = set()


def request_scrub(services: Services) -> None:
    """Truncate the SQLite WAL shortly after a deletion, off the caller's path.

    One thread per engine, started on demand; deletions arriving while it waits are coalesced into
    one checkpoint. The thread is not a daemon: a CLI process finishes its scrub before exiting.
    """
    if services.engine.dialect.name != "sqlite":
        return
    key = id(services.engine)
    with _scrub_lock:
        _dirty.add(key)
        if key in _scrubbers:
            return  # the running thread checks _dirty again before it leaves (under this lock)
        wake = threading.Event()
        thread = threading.Thread(target=_scrub_loop, args=(services, key, wake), name="sottovoce-scrub")
        _scrubbers[key] = (thread, wake)
    thread.start()


def scrub_now(services: Services) -> bool:
    """Truncate the WAL now, on this thread (CLI commands, sweeps, recovery: no latency to protect)."""
    key = id(services.engine)
    with _scrub_lock:
        _dirty.discard(key)
        running = _scrubbers.get(key)
    done = flush_deleted_pages(services)
    if running is not None:
        running[1].set()  # nothing left for it: let it leave now rather than after its delay
    return done


def _scrub_loop(services: Services, key: int, wake: threading.Event) -> None:
    while True:
        wake.wait(SCRUB_DELAY_S)
        wake.clear()
        with _scrub_lock:
            if key not in _dirty:
                del _scrubbers[key]
                return
            _dirty.discard(key)
        try:
            if not flush_deleted_pages(services):
                with _scrub_lock:
                    _dirty.add(key)  # a reader was in the way: try again after the delay
        except Exception as exc:  # never take the process down; the next deletion or sweep retries
            log.error("WAL truncation failed: %s", type(exc).__name__)


def wait_for_scrub(services: Services, timeout: float = 10.0) -> None:
    """Block until no scrub is pending for this instance (tests, benchmarks, shutdown)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _scrub_lock:
            running = _scrubbers.get(id(services.engine))
        if running is None:
            return
        running[0].join(max(0.0, deadline - time.monotonic()))


def flush_deleted_pages(services: Services) -> bool:
    """SQLite: copy the WAL back into the database file and truncate it, so the pre-deletion page
    images it holds are gone too (secure_delete has zeroed the freed content). Returns False when a
    reader still held an older snapshot; the next cascade or retention sweep tries again.

    A short busy timeout: a deletion must not wait 30 s behind a long reader (an export stream).
    """
    if services.engine.dialect.name != "sqlite":
        return True  # PostgreSQL: dead tuples are reclaimed by (auto)vacuum; see docs/account-holders.md
    with services.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA busy_timeout=200")
        try:
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()[0]
        finally:
            conn.exec_driver_sql("PRAGMA busy_timeout=30000")
    if busy:
        log.info("WAL checkpoint postponed: a reader holds an older snapshot")
    return not busy
