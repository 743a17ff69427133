"""Gold transcripts and dataset snapshots with lineage.

A transcript is gold when
- a supervisor adjudicated its overlap group (the adjudicated text), or
- it was reviewed and passes the single-review rules: submitted (not skipped or stopped), tagged
  neither "not English" nor "accidental activation", no span marked unintelligible, no personal
  data marked as missed, and — for an overlap group — the other reviewer's transcript agrees
  (WER 0 after normalization).

A snapshot takes the gold examples whose account allows training use *now* and whose recording
still exists, and splits them train/eval **by account** (a keyed hash of the account id decides,
so an account stays on one side across snapshots and never appears on both).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.asr.scoring import error_counts
from sottovoce.core.purposes import KeyLabel
from sottovoce.core.services import Services
from sottovoce.db.models import Account, Adjudication, Annotation, DatasetItem, DatasetSnapshot, Recording, ReviewTask
from sottovoce.review.quality import ADJUDICATED
from sottovoce.review.submissions import open_annotation

if TYPE_CHECKING:
    from sottovoce.review.projection import ReviewerView

EVAL_SHARE = 0.2
BLOCKING_TAGS = {"not_english", "accidental_activation"}


@dataclass(frozen=True)
class Example:
    recording_id: str
    account_id: str
    source: str  # adjudication | review
    source_id: str
    hypothesis: str  # what the reviewer saw (PII as placeholders)
    text: str  # the gold transcript


def split_of(services: Services, account_id: str) -> str:
    digest = hmac_digest(services, account_id)
    return "eval" if int(digest[:8], 16) / 0xFFFFFFFF < EVAL_SHARE else "train"


def hmac_digest(services: Services, account_id: str) -> str:
    return hmac.new(services.keys.derived_key(KeyLabel.DATASET_SPLIT), account_id.encode(), hashlib.sha256).hexdigest()


def gold_examples(services: Services, db: Session) -> list[Example]:
    from sottovoce.review.projection import reviewer_view

    consenting = select(Account.id).where(Account.consent_training.is_(True))
    examples: dict[str, Example] = {}
    for adjudication in db.scalars(select(Adjudication).where(Adjudication.recording_id.in_(select(Recording.id).where(Recording.account_id.in_(consenting))))):
        recording = db.get_one(Recording, adjudication.recording_id)
        text = services.keys.open(db, recording.account_id, adjudication.sealed_text, ADJUDICATED, adjudication.group_id).decode()
        task = db.scalar(select(ReviewTask).where(ReviewTask.group_id == adjudication.group_id).limit(1))
        examples[recording.id] = Example(recording.id, recording.account_id, "adjudication", adjudication.group_id, _seen(services, db, task, reviewer_view), text)

    by_group: dict[str, list[Annotation]] = defaultdict(list)
    rows = db.scalars(
        select(Annotation)
        .join(Recording, Recording.id == Annotation.recording_id)
        .where(Annotation.outcome == "submitted", Recording.account_id.in_(consenting))
    )
    for annotation in rows:
        by_group[annotation.group_id].append(annotation)
    for group in by_group.values():
        first = group[0]
        if first.recording_id in examples:
            continue
        contents = [open_annotation(services, db, a) for a in group]
        if any(_blocked(a, c) for a, c in zip(group, contents)):
            continue
        if len(contents) > 1 and error_counts(contents[0]["text"], contents[1]["text"])[0] > 0:
            continue  # a disagreement waits for adjudication
        task = db.get_one(ReviewTask, first.task_id)
        examples[first.recording_id] = Example(first.recording_id, task.account_id, "review", first.id, _seen(services, db, task, reviewer_view), contents[0]["text"])
    return list(examples.values())


def _blocked(annotation: Annotation, content: dict) -> bool:
    tags = set(filter(None, annotation.tags.split(",")))
    return bool(tags & BLOCKING_TAGS) or bool(content.get("unintelligible")) or annotation.pii_misses > 0


def _seen(
    services: Services, db: Session, task: ReviewTask | None, reviewer_view: Callable[[Services, Session, ReviewTask], ReviewerView],
) -> str:
    return " ".join(w.text for w in reviewer_view(services, db, task).words) if task else ""


def snapshot(services: Services, db: Session) -> DatasetSnapshot:
    """Freeze today's gold examples with lineage; the caller commits."""
    examples = gold_examples(services, db)
    snap = DatasetSnapshot()
    db.add(snap)
    db.flush()
    for example in examples:
        db.add(DatasetItem(snapshot_id=snap.id, recording_id=example.recording_id, account_id=example.account_id, source=example.source, source_id=example.source_id, split=split_of(services, example.account_id)))
    snap.train_count = sum(split_of(services, e.account_id) == "train" for e in examples)
    snap.eval_count = len(examples) - snap.train_count
    return snap


def snapshot_examples(services: Services, db: Session, snap: DatasetSnapshot, split: str) -> list[Example]:
    """The snapshot's examples of one split that still exist and still consent (re-read at use)."""
    current = {e.recording_id: e for e in gold_examples(services, db)}
    items = db.scalars(select(DatasetItem).where(DatasetItem.snapshot_id == snap.id, DatasetItem.split == split)).all()
    return [current[i.recording_id] for i in items if i.recording_id in current]


def describe(snap: DatasetSnapshot, db: Session) -> dict:
    items = db.scalars(select(DatasetItem).where(DatasetItem.snapshot_id == snap.id)).all()
    return {
        "id": snap.id,
        "created_at": snap.created_at.isoformat(),
        "train": snap.train_count,
        "eval": snap.eval_count,
        "accounts": {"train": len({i.account_id for i in items if i.split == "train"}), "eval": len({i.account_id for i in items if i.split == "eval"})},
        "lineage": [{"recording": i.recording_id, "source": i.source, "source_id": i.source_id, "split": i.split} for i in items],
    }
