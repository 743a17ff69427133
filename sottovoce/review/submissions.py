"""What a reviewer sends back: a corrected transcript, a skip, or "sensitive content — stop".

A submission stores the corrected text, the word-level edits against the hypothesis
(substitutions, insertions, deletions), spans marked unintelligible, tags and time spent. Text and
edits are content: sealed with the account's key. Tags and counts stay in the clear for quality
statistics and abuse rules.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.asr.edits import word_edits
from sottovoce.core.audit import Actor
from sottovoce.core.errors import InvalidInput
from sottovoce.core.purposes import Purpose
from sottovoce.core.services import Services
from sottovoce.db.models import Annotation, Recording, ReviewTask
from sottovoce.db.types import new_id, utcnow
from sottovoce.review import drafts, sensitive
from sottovoce.review.projection import reviewer_view

ANNOTATION = Purpose.ANNOTATION
TAGS = ("accidental_activation", "not_english")


class Submission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=5000)
    unintelligible: list[int] = Field(default_factory=list, max_length=500)  # word indices in `text`
    tags: list[str] = Field(default_factory=list, max_length=len(TAGS))
    pii_misses: int = Field(0, ge=0, le=100)  # personal data the detector missed, marked by the reviewer
    time_spent_ms: int = Field(0, ge=0, le=24 * 3600 * 1000)


def _hypothesis_text(services: Services, db: Session, task: ReviewTask) -> str:
    """The hypothesis as the reviewer saw it (PII runs as placeholders), so the edits compare like
    with like and personal data never enters the stored edits or the training pairs."""
    return " ".join(word.text for word in reviewer_view(services, db, task).words)


def submit(services: Services, db: Session, task: ReviewTask, reviewer: Actor, submission: Submission) -> Annotation:
    unknown = set(submission.tags) - set(TAGS)
    if unknown:
        raise InvalidInput(f"expected tags among {', '.join(TAGS)} but got '{sorted(unknown)[0][:30]}'")
    text = " ".join(submission.text.split())
    words = text.split()
    if any(i >= len(words) for i in submission.unintelligible):
        raise InvalidInput("an unintelligible mark points past the last word")
    edits = word_edits(_hypothesis_text(services, db, task), text)
    annotation_id = new_id()
    content = {"text": text, "edits": edits, "unintelligible": sorted(set(submission.unintelligible))}
    annotation = Annotation(
        id=annotation_id,
        task_id=task.id,
        group_id=task.group_id,
        recording_id=task.recording_id,
        reviewer_id=reviewer.id,
        outcome="submitted",
        sealed_content=services.keys.seal(db, task.account_id, json.dumps(content).encode(), ANNOTATION, annotation_id),
        tags=",".join(sorted(set(submission.tags))),
        word_count=len(words),
        edit_count=len(edits),
        pii_misses=submission.pii_misses,
        time_spent_ms=submission.time_spent_ms,
    )
    db.add(annotation)
    _finish(services, task, "done")
    drafts.discard(db, [task.id])
    details = {"edits": len(edits), "tags": annotation.tags, "pii_misses": submission.pii_misses, "duration_s": _duration(db, task)}
    services.audit.append(db, reviewer, "review.submitted", task.id, details)
    return annotation


def skip(services: Services, db: Session, task: ReviewTask, reviewer: Actor, time_spent_ms: int = 0) -> None:
    """The reviewer passes; the task returns to the queue for someone else."""
    db.add(Annotation(task_id=task.id, group_id=task.group_id, recording_id=task.recording_id, reviewer_id=reviewer.id, outcome="skipped", time_spent_ms=time_spent_ms))
    task.status, task.lease_holder, task.lease_expires_at = "queued", None, None
    drafts.discard(db, [task.id])
    services.audit.append(db, reviewer, "review.skipped", task.id, {"duration_s": _duration(db, task)})


def stop_sensitive(services: Services, db: Session, task: ReviewTask, reviewer: Actor, reason: str = sensitive.OTHER) -> int:
    """"Sensitive content — stop listening", with a reason from ``sensitive.STOP_REASONS``: the
    clip leaves review at once, everywhere.

    Every open task of the recording is stopped, its rendered audio and drafts deleted; supervisors
    see only that it happened (counts by reason); privacy officers see that a "possibly someone in
    danger" stop happened (review/sensitive.py). Returns how many tasks were stopped.
    """
    reason = sensitive.check_reason(reason)
    db.add(Annotation(task_id=task.id, group_id=task.group_id, recording_id=task.recording_id, reviewer_id=reviewer.id, outcome="stopped", stop_reason=reason))
    stopped = []
    for other in db.scalars(select(ReviewTask).where(ReviewTask.recording_id == task.recording_id, ReviewTask.status.in_(("queued", "leased")))):
        _finish(services, other, "stopped")
        stopped.append(other.id)
    drafts.discard(db, stopped)
    services.audit.append(db, reviewer, "review.stopped_sensitive", task.id, {"tasks_stopped": len(stopped), "reason": reason})
    return len(stopped)


def _finish(services: Services, task: ReviewTask, status: str) -> None:
    task.status = status
    task.finished_at = utcnow()
    if task.rendered_blob_id:
        services.blobs.delete(task.rendered_blob_id)  # a finished task's audio is never served again
        task.rendered_blob_id = None


def _duration(db: Session, task: ReviewTask) -> float:
    recording = db.get(Recording, task.recording_id)
    return round(recording.duration_s, 1) if recording else 0.0


def open_annotation(services: Services, db: Session, annotation: Annotation) -> dict:
    account_id = db.get_one(ReviewTask, annotation.task_id).account_id
    assert annotation.sealed_content is not None  # only submitted annotations are opened; they carry content
    return json.loads(services.keys.open(db, account_id, annotation.sealed_content, ANNOTATION, annotation.id))
