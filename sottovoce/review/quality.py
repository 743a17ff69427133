"""Review quality: agreement between blind double reviews, accuracy on gold clips, adjudication.

Agreement for an overlap group is the WER between the two reviewers' transcripts (Whisper
normalizer on both sides, learning/scoring.py); a group with any disagreement waits for a
supervisor, whose adjudicated text becomes the group's final transcript. Accuracy is the WER of a
reviewer's transcript against the gold reference of a gold clip mixed into the queue.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sottovoce.asr.scoring import error_counts
from sottovoce.core.audit import Actor
from sottovoce.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from sottovoce.core.purposes import Purpose
from sottovoce.core.services import Services
from sottovoce.db.models import Account, Adjudication, Annotation, GoldReference, Recording, ReviewTask, StaffUser
from sottovoce.review.sampler import create_tasks, prescreen
from sottovoce.review.submissions import open_annotation

GOLD = Purpose.GOLD_REFERENCE
ADJUDICATED = Purpose.ADJUDICATION


@dataclass
class ReviewerQuality:
    name: str
    submitted: int
    agreement_wer: float | None  # mean WER against the other reviewer of the same clip
    gold_wer: float | None
    gold_clips: int


def _submitted_by_group(db: Session) -> dict[str, list[Annotation]]:
    groups: dict[str, list[Annotation]] = defaultdict(list)
    multi = select(Annotation.group_id).where(Annotation.outcome == "submitted").group_by(Annotation.group_id).having(func.count() > 1)
    for annotation in db.scalars(select(Annotation).where(Annotation.group_id.in_(multi), Annotation.outcome == "submitted")):
        groups[annotation.group_id].append(annotation)
    return groups


def disagreements(services: Services, db: Session) -> list[str]:
    """Overlap groups whose two transcripts differ and that no supervisor has settled yet."""
    settled = set(db.scalars(select(Adjudication.group_id)))
    pending = []
    for group_id, pair in _submitted_by_group(db).items():
        if group_id in settled:
            continue
        a, b = (open_annotation(services, db, x)["text"] for x in pair[:2])
        if error_counts(a, b)[0] > 0:
            pending.append(group_id)
    return pending


def reviewer_quality(services: Services, db: Session) -> list[ReviewerQuality]:
    names = dict(db.execute(select(StaffUser.id, StaffUser.name)).all())
    submitted = dict(db.execute(select(Annotation.reviewer_id, func.count()).where(Annotation.outcome == "submitted").group_by(Annotation.reviewer_id)).all())
    agreement: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for pair in _submitted_by_group(db).values():
        a, b = pair[:2]
        ta, tb = open_annotation(services, db, a)["text"], open_annotation(services, db, b)["text"]
        agreement[a.reviewer_id].append(error_counts(tb, ta))
        agreement[b.reviewer_id].append(error_counts(ta, tb))
    gold: dict[str, list[tuple[int, int]]] = defaultdict(list)
    gold_rows = db.execute(
        select(Annotation, GoldReference, ReviewTask.account_id)
        .join(GoldReference, GoldReference.recording_id == Annotation.recording_id)
        .join(ReviewTask, ReviewTask.id == Annotation.task_id)
        .where(Annotation.outcome == "submitted", ReviewTask.kind == "gold")
    ).all()
    for annotation, reference, account_id in gold_rows:
        text = services.keys.open(db, account_id, reference.sealed_text, GOLD, reference.recording_id).decode()
        gold[annotation.reviewer_id].append(error_counts(text, open_annotation(services, db, annotation)["text"]))

    def rate(pairs: list[tuple[int, int]]) -> float | None:
        words = sum(n for _, n in pairs)
        return round(sum(e for e, _ in pairs) / words, 3) if words else None

    return [
        ReviewerQuality(names.get(rid, "?"), n, rate(agreement[rid]), rate(gold[rid]), len(gold[rid]))
        for rid, n in sorted(submitted.items(), key=lambda kv: names.get(kv[0], ""))
    ]


def adjudication_view(services: Services, db: Session, group_id: str, supervisor: Actor) -> dict:
    """The two transcripts of a disagreement, for a supervisor. Reading them is audited first."""
    annotations = _submitted_by_group(db).get(group_id)
    if not annotations:
        raise NotFound("disagreement")
    services.audit.record(db, supervisor, "review.adjudication_read", group_id)
    return {"group_id": group_id, "versions": [open_annotation(services, db, a)["text"] for a in annotations[:2]]}


def adjudicate(services: Services, db: Session, group_id: str, text: str, supervisor: Actor) -> Adjudication:
    annotations = _submitted_by_group(db).get(group_id)
    if not annotations:
        raise NotFound("disagreement")
    if db.get(Adjudication, group_id) is not None:
        raise Conflict("this disagreement was already settled")
    text = " ".join(text.split())
    if not text or len(text) > 5000:
        raise InvalidInput("the final transcript must be 1 to 5000 characters")
    recording = db.get_one(Recording, annotations[0].recording_id)
    adjudication = Adjudication(
        group_id=group_id, recording_id=recording.id, supervisor_id=supervisor.id,
        sealed_text=services.keys.seal(db, recording.account_id, text.encode(), ADJUDICATED, group_id),
    )
    db.add(adjudication)
    services.audit.append(db, supervisor, "review.adjudicated", group_id)
    return adjudication


MIN_GOLD_CHARS = 2  # a one-character "transcript" is a typo, not a reference


def add_gold(services: Services, db: Session, recording_id: str, text: str) -> ReviewTask:
    """Make a recording a gold clip with a known transcript and queue it (its account must consent)."""
    recording = db.get(Recording, recording_id)
    if recording is None:
        raise NotFound("recording")
    account = db.get(Account, recording.account_id)
    if account is None or not account.consent_human_review:  # gold clips are listened to like any other
        raise Forbidden("the recording's account has not consented to human review")
    text = " ".join(text.split())
    if len(text) < MIN_GOLD_CHARS or not any(ch.isalpha() for ch in text):
        raise InvalidInput(f"the gold transcript must be the words spoken (at least {MIN_GOLD_CHARS} characters with letters)")
    db.add(GoldReference(recording_id=recording.id, sealed_text=services.keys.seal(db, recording.account_id, text.encode(), GOLD, recording.id)))
    return create_tasks(db, recording.id, recording.account_id, "gold", priority=0.5, sensitivity=prescreen(services, db, recording.id))[0]


def sensitive_stops(db: Session) -> int:
    """How many clips left review as sensitive: the only thing supervisors learn about them."""
    return db.scalar(select(func.count()).select_from(Annotation).where(Annotation.outcome == "stopped")) or 0
