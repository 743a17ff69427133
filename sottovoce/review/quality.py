"""Review quality: agreement between blind double reviews, accuracy on gold clips, adjudication.

Disagreement for an overlap group is one number for the pair, the same for both reviewers: the
word edit distance between the two transcripts (Whisper normalizer on both sides, asr/scoring.py)
divided by the length of the longer one, so it runs from 0 (same words) to 100% (nothing in
common) whichever transcript is taken first. A reviewer's figure pools their pairs: all edits over
all longer-side words. (WER against "the other reviewer" would depend on which of the two is the
reference: 3 edits between 3 and 6 words read as 100% for one reviewer and 50% for the other.)
A group with any disagreement waits for a supervisor, whose adjudicated text becomes the group's
final transcript. Accuracy is the WER of a
reviewer's transcript against the gold reference of a gold clip mixed into the queue.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from difflib import SequenceMatcher

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sottovoce.asr.scoring import error_counts, normalize
from sottovoce.core.audit import Actor
from sottovoce.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from sottovoce.core.purposes import Purpose
from sottovoce.core.services import Services
from sottovoce.db.models import Account, Adjudication, Annotation, GoldReference, Recording, ReviewTask, StaffUser
from sottovoce.review.listening import whole_clip_counts
from sottovoce.review.sampler import create_tasks, prescreen
from sottovoce.review.submissions import open_annotation

GOLD = Purpose.GOLD_REFERENCE
ADJUDICATED = Purpose.ADJUDICATION


@dataclass
class ReviewerQuality:
    name: str
    submitted: int
    agreement_wer: float | None  # pooled pair disagreement (pair_disagreement), the same for both of a pair
    gold_wer: float | None
    gold_clips: int
    whole_clips: int = 0  # times they chose "hear the whole clip" (audited, review/listening.py)


def _submitted_by_group(db: Session) -> dict[str, list[Annotation]]:
    groups: dict[str, list[Annotation]] = defaultdict(list)
    multi = select(Annotation.group_id).where(Annotation.outcome == "submitted").group_by(Annotation.group_id).having(func.count() > 1)
    for annotation in db.scalars(select(Annotation).where(Annotation.group_id.in_(multi), Annotation.outcome == "submitted")):
        groups[annotation.group_id].append(annotation)
    return groups


def pair_disagreement(a: str, b: str) -> tuple[int, int]:
    """(word edits, words of the longer transcript) for two transcripts of one clip: symmetric,
    pair_disagreement(a, b) == pair_disagreement(b, a), and edits <= words."""
    edits, len_a = error_counts(a, b)
    return edits, max(len_a, len(normalize(b).split()))


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
        figure = pair_disagreement(ta, tb)
        agreement[a.reviewer_id].append(figure)
        agreement[b.reviewer_id].append(figure)
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

    whole = whole_clip_counts(db)
    return [
        ReviewerQuality(names.get(rid, "?"), n, rate(agreement[rid]), rate(gold[rid]), len(gold[rid]), whole.get(rid, 0))
        for rid, n in sorted(submitted.items(), key=lambda kv: names.get(kv[0], ""))
    ]


def adjudication_view(services: Services, db: Session, group_id: str, supervisor: Actor) -> dict:
    """The two transcripts of a disagreement, for a supervisor, with their word diff and whether
    the clip can be heard. Reading them is audited first."""
    annotations = _submitted_by_group(db).get(group_id)
    if not annotations:
        raise NotFound("disagreement")
    services.audit.record(db, supervisor, "review.adjudication_read", group_id)
    versions = [open_annotation(services, db, a)["text"] for a in annotations[:2]]
    return {
        "group_id": group_id, "versions": versions, "diff": word_diff(versions[0], versions[1]),
        "disagreement": pair_disagreement(versions[0], versions[1]),
        "audio": _audible(db, annotations[0]) is not None,
    }


def word_diff(a: str, b: str) -> list[dict]:
    """Where two transcripts differ, word by word: runs of ``same`` words and ``changed`` runs
    with what the first and the second reviewer wrote (either side may be empty). Words are
    compared after the scorer's normalization, so case and punctuation alone are no difference."""
    words_a, words_b = a.split(), b.split()
    key_a, key_b = [normalize(w) for w in words_a], [normalize(w) for w in words_b]
    runs = []
    for op, i1, i2, j1, j2 in SequenceMatcher(a=key_a, b=key_b, autojunk=False).get_opcodes():
        if op == "equal":
            runs.append({"op": "same", "text": " ".join(words_a[i1:i2])})
        else:
            runs.append({"op": "changed", "first": " ".join(words_a[i1:i2]), "second": " ".join(words_b[j1:j2])})
    return runs


def _audible(db: Session, annotation: Annotation) -> tuple[ReviewTask, Recording] | None:
    """The task and recording of a disagreement, if its audio may still be heard: stored, and the
    account still consents to human review."""
    task, recording = db.get(ReviewTask, annotation.task_id), db.get(Recording, annotation.recording_id)
    if task is None or recording is None or not recording.audio_blob_id or not recording.audio_kept:
        return None
    account = db.get(Account, recording.account_id)
    return (task, recording) if account is not None and account.consent_human_review else None


def adjudication_audio(services: Services, db: Session, group_id: str, supervisor: Actor) -> bytes:
    """The disagreement's clip for a supervisor, as a reviewer hears it: de-identified (PII
    silenced, voice transformed: review/deidentify.py), audited as ``review.audio_served`` before
    it leaves (the abuse rules watch it like a reviewer's listen) and watermarked with the
    supervisor's id. Rendered in memory; nothing is stored."""
    from sottovoce.core.audio import SAMPLE_RATE, to_wav
    from sottovoce.forensics.tracing import mark_wav
    from sottovoce.review.alignment import RenderWithheld
    from sottovoce.review.render import deidentified, render_context

    annotations = _submitted_by_group(db).get(group_id)
    found = _audible(db, annotations[0]) if annotations else None
    if found is None:
        raise NotFound("audio")
    task, _ = found
    try:
        samples = deidentified(services, db, task, render_context(services, db, task))
    except RenderWithheld:  # the post-render check still heard a masked entity: not served
        raise NotFound("audio") from None
    services.audit.record(db, supervisor, "review.audio_served", task.id, {"kind": "adjudication", "group": group_id})
    return mark_wav(services, to_wav(samples, SAMPLE_RATE), supervisor.id, task.id)


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
