"""Remove every review artefact of some recordings: tasks (even leased), tickets, annotations, gold
references, adjudications and rendered clips. Called by the one deletion cascade (deletion.py)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sottovoce.core.services import Services
from sottovoce.db.engine import rowcount
from sottovoce.db.models import Adjudication, Annotation, AudioTicket, GoldReference, ReviewDraft, ReviewTask


def purge_review_data(services: Services, db: Session, recording_ids: list[str]) -> dict[str, int]:
    """Delete rows and rendered blobs; returns counts by kind (no content). The caller commits."""
    if not recording_ids:
        return {"review_tasks": 0, "annotations": 0, "rendered_clips": 0, "adjudications": 0, "gold_references": 0}
    tasks = db.execute(select(ReviewTask.id, ReviewTask.rendered_blob_id).where(ReviewTask.recording_id.in_(recording_ids))).all()
    task_ids = [t.id for t in tasks]
    rendered = [t.rendered_blob_id for t in tasks if t.rendered_blob_id]
    counts = {
        "annotations": rowcount(db.execute(delete(Annotation).where(Annotation.recording_id.in_(recording_ids)))),
        "adjudications": rowcount(db.execute(delete(Adjudication).where(Adjudication.recording_id.in_(recording_ids)))),
        "gold_references": rowcount(db.execute(delete(GoldReference).where(GoldReference.recording_id.in_(recording_ids)))),
    }
    if task_ids:
        db.execute(delete(AudioTicket).where(AudioTicket.task_id.in_(task_ids)))
        db.execute(delete(ReviewDraft).where(ReviewDraft.task_id.in_(task_ids)))
    counts["review_tasks"] = rowcount(db.execute(delete(ReviewTask).where(ReviewTask.recording_id.in_(recording_ids))))
    services.blobs.delete_many(rendered)
    counts["rendered_clips"] = len(rendered)
    return counts
