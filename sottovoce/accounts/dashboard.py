"""What an account holder sees about their own data: recordings (date, device, transcript, audio),
every human listen (date and purpose, never who), consent, retention and deletion receipts.

Every function takes the signed-in account's id and filters by it in the query that loads the
object, so an id of another account's recording reads as "not found" (OWASP ASVS V8.2.2).

Human listens come from the audit log: each ``review.audio_served`` event's subject is a review
task id; the task's ``kind`` says why the clip was chosen (PURPOSES). Fetches of one task by one
reviewer (a reload of the task page) count as one listen. ``reid.revealed`` events
(break-glass re-identification) whose subject is one of the account's tasks or recordings are shown
too, with the written reason. The reviewer or officer (the event's actor, any approver named in
the details) is never shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sottovoce.accounts import consent, voice
from sottovoce.accounts.deletion import receipt_dict, receipts_of
from sottovoce.accounts.retention import LABELS as RETENTION_LABELS
from sottovoce.core.errors import InvalidInput, NotFound
from sottovoce.core.services import Services
from sottovoce.db.models import Account, AuditEvent, DeletionReceipt, Device, Hypothesis, Recording, ReviewTask
from sottovoce.recordings.store import get_recording, latest_hypothesis, open_hypothesis

PER_PAGE = 50
LISTEN = "review.audio_served"
REVEAL = "reid.revealed"
PURPOSES = {
    "uncertainty": "quality check of an uncertain transcript",
    "random": "random quality sample",
    "gold": "reviewer calibration",
}
REVEAL_PURPOSE = "identity revealed under break-glass (approved by two privacy officers)"


def account_summary(account: Account) -> dict:
    return {
        "id": account.id,
        "name": account.name,
        "created_at": account.created_at.isoformat(),
        "consent": {
            purpose: {"value": bool(getattr(account, column)), "explanation": consent.EXPLANATIONS[purpose]}
            for purpose, column in consent.COLUMNS.items()
        },
        "retention": {"value": account.retention, "label": RETENTION_LABELS.get(account.retention, account.retention), "choices": RETENTION_LABELS},
        "keep_voice": {"value": account.keep_voice, "choices": voice.CHOICES},
    }


def human_listens(db: Session, account_id: str, recording_ids: list[str]) -> dict[str, list[dict]]:
    """Human listens per recording, oldest first: {"at", "purpose", "kind"}. No reviewer identity."""
    found: dict[str, list[dict]] = {rid: [] for rid in recording_ids}
    if not recording_ids:
        return found
    by_task = db.execute(
        select(AuditEvent.seq, AuditEvent.at, AuditEvent.action, AuditEvent.details, ReviewTask.recording_id, ReviewTask.kind, AuditEvent.subject, AuditEvent.actor)
        .join(ReviewTask, ReviewTask.id == AuditEvent.subject)
        .where(
            ReviewTask.account_id == account_id,
            ReviewTask.recording_id.in_(recording_ids),
            AuditEvent.action.in_((LISTEN, REVEAL)),
        )
    ).all()
    by_recording = db.execute(
        select(AuditEvent.seq, AuditEvent.at, AuditEvent.action, AuditEvent.details, Recording.id)
        .join(Recording, Recording.id == AuditEvent.subject)
        .where(Recording.account_id == account_id, Recording.id.in_(recording_ids), AuditEvent.action == REVEAL)
    ).all()
    events: list[tuple[Any, ...]] = [tuple(row) for row in by_task] + [(*row, None, None, None) for row in by_recording]
    heard: set[tuple[str, str]] = set()
    for _seq, at, action, details, recording_id, kind, task_id, actor in sorted(events, key=lambda e: e[0]):
        if action == LISTEN:
            # One listen per task and reviewer: a reload of the task page fetches the clip again
            # (audited as every fetch is) but it is the same person hearing the same clip.
            if (task_id, actor) in heard:
                continue
            heard.add((task_id, actor))
        if action == REVEAL:
            # The written reason is for the account holder to read (invariant 7); approvers stay unnamed.
            reason = str(json.loads(details or "{}").get("reason", ""))
            found[recording_id].append({"at": at, "purpose": REVEAL_PURPOSE, "kind": "break-glass", "reason": reason})
        else:
            found[recording_id].append({"at": at, "purpose": PURPOSES.get(kind, "quality review"), "kind": kind})
    return found


_UNSET = object()


def _recording_item(services: Services, db: Session, recording: Recording, device_name: str | None, listens: list[dict], words: bool,
                    hypothesis: object = _UNSET) -> dict:
    found = latest_hypothesis(db, recording.id) if hypothesis is _UNSET else hypothesis
    opened = open_hypothesis(services, db, recording, found) if isinstance(found, Hypothesis) else None
    item = {
        "id": recording.id,
        "captured_at": recording.captured_at.isoformat(),
        "received_at": recording.received_at.isoformat(),
        "duration_s": round(recording.duration_s, 3),
        "device": {"id": recording.device_id, "name": device_name} if recording.device_id else None,
        "status": recording.status,
        "likely_accidental": recording.likely_accidental,
        "transcript": opened["text"] if opened else None,
        "reviewed_by_a_person": bool(listens),
        "human_listens": listens,
        "audio_url": f"/api/v1/me/recordings/{recording.id}/audio" if recording.audio_kept else None,
    }
    if words:
        item["hypothesis"] = opened
    return item


@dataclass
class Page:
    items: list[dict]
    page: int
    pages: int
    total: int

    def as_dict(self) -> dict:
        return {"recordings": self.items, "page": self.page, "pages": self.pages, "total": self.total}


def recordings_page(services: Services, db: Session, account_id: str, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """One page of the account's recordings, newest first."""
    total = db.scalar(select(func.count()).select_from(Recording).where(Recording.account_id == account_id)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = db.execute(
        select(Recording, Device.name)
        .outerjoin(Device, Device.id == Recording.device_id)
        .where(Recording.account_id == account_id)
        .order_by(Recording.captured_at.desc(), Recording.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    listens = human_listens(db, account_id, [r.id for r, _ in rows])
    # The page's latest hypotheses in one query, not one per row (benchmarks/scale_bench.py).
    latest: dict[str, Hypothesis] = {}
    for h in db.scalars(select(Hypothesis).where(Hypothesis.recording_id.in_([r.id for r, _ in rows])).order_by(Hypothesis.created_at)):
        latest[h.recording_id] = h
    items = [_recording_item(services, db, r, name, listens[r.id], words=False, hypothesis=latest.get(r.id)) for r, name in rows]
    return Page(items, page, pages, total)


def recording_detail(services: Services, db: Session, account_id: str, recording_id: str) -> dict:
    recording = get_recording(db, recording_id, account_id=account_id)
    device_name = db.scalar(select(Device.name).where(Device.id == recording.device_id)) if recording.device_id else None
    listens = human_listens(db, account_id, [recording.id])[recording.id]
    return _recording_item(services, db, recording, device_name, listens, words=True)


# What a receipt's counts mean, in the holder's words (the API keeps the internal keys).
PLAIN = {
    "recordings": ("recording", "recordings"),
    "hypotheses": ("automatic transcript", "automatic transcripts"),
    "annotations": ("reviewer correction", "reviewer corrections"),
    "adjudications": ("supervisor decision", "supervisor decisions"),
    "review_tasks": ("place in the review queue", "places in the review queue"),
    "rendered_clips": ("disguised copy prepared for review", "disguised copies prepared for review"),
    "gold_references": ("reference transcript", "reference transcripts"),
    "jobs": ("pending processing step", "pending processing steps"),
    "training_examples": ("training example", "training examples"),
    "model_versions_marked_needs_retrain": ("recognizer version to be retrained without your data", "recognizer versions to be retrained without your data"),
    "exports_containing": ("training export that will drop your data", "training exports that will drop your data"),
    "data_keys": ("encryption key destroyed", "encryption keys destroyed"),
    "sessions": ("signed-in session ended", "signed-in sessions ended"),
}


def plain_counts(counts: dict[str, int]) -> list[str]:
    """"3 recordings", "1 automatic transcript", ...: non-zero counts only, recordings first."""
    order = list(PLAIN)
    kinds = sorted((k for k, n in counts.items() if n), key=lambda k: (order.index(k) if k in PLAIN else len(order), k))
    return [f"{counts[k]} {PLAIN.get(k, (k.replace('_', ' '),) * 2)[0 if counts[k] == 1 else 1]}" for k in kinds]


def _with_plain(receipt: dict) -> dict:
    return {**receipt, "removed": plain_counts(receipt["counts"])}


def receipts(db: Session, account_id: str) -> list[dict]:
    return [_with_plain(receipt_dict(r)) for r in receipts_of(db, account_id)]


def receipt(db: Session, account_id: str, receipt_id: str) -> dict:
    row = db.scalar(select(DeletionReceipt).where(DeletionReceipt.id == receipt_id, DeletionReceipt.account_id == account_id))
    if row is None:
        raise NotFound("receipt")
    return _with_plain(receipt_dict(row))


# -- choosing recordings to delete ---------------------------------------------------------------


def parse_instant(value: str, field: str, end_of_day: bool = False) -> datetime:
    """An ISO-8601 date or date-time; a date means its start (or, with end_of_day, its end) in UTC.

    A date-time must carry a time zone ("Z" or "+01:00"): a local time would be ambiguous.
    """
    text = (value or "").strip()
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).date()
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"'{field}' must be an ISO-8601 date (2026-11-27) or date-time with a time zone (2026-11-27T10:00:00Z)") from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"'{field}' needs a time zone, e.g. 2026-11-27T10:00:00Z")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+05:00 is before year 1 in UTC
        raise InvalidInput(f"'{field}' is out of range") from None


def ids_in_range(db: Session, account_id: str, start: datetime | None, end: datetime | None) -> list[str]:
    """The account's recordings captured within [start, end] (either bound may be open)."""
    if start is not None and end is not None and start > end:
        raise InvalidInput("the start of the range is after its end")
    query = select(Recording.id).where(Recording.account_id == account_id)
    if start is not None:
        query = query.where(Recording.captured_at >= start)
    if end is not None:
        query = query.where(Recording.captured_at <= end)
    return list(db.scalars(query))


def selected_ids(db: Session, account_id: str, start: str | None, end: str | None, everything: bool,
                 labels: tuple[str, str] = ("from", "to")) -> list[str]:
    """The recordings a deletion request selects: a range of ISO-8601 dates or date-times
    (inclusive, either end open), or everything. One rule for the dashboard form and the API."""
    if everything:
        if start or end:
            raise InvalidInput("give either everything or a range, not both")
        return all_ids(db, account_id)
    if not start and not end:
        raise InvalidInput("give a start date, an end date, or both")
    first = parse_instant(start, labels[0]) if start else None
    last = parse_instant(end, labels[1], end_of_day=True) if end else None
    return ids_in_range(db, account_id, first, last)


def all_ids(db: Session, account_id: str) -> list[str]:
    return list(db.scalars(select(Recording.id).where(Recording.account_id == account_id)))
