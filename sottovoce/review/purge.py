"""Remove every review artefact of some recordings: tasks (even leased), tickets, annotations, gold
references, adjudications and rendered clips. Called by the one deletion cascade (deletion.py)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sottovoce.db.models import Adjudication, Annotation, AudioTicket, GoldReference, ReviewTask
from sottovoce.services import Services


def purge_review_data(services: Services, db: Session, recording_ids: list[str]) -> dict[str, int]:
    """Delete rows and rendered blobs; returns counts by kind (no content). The caller commits."""
    if not recording_ids:
        return {"review_tasks": 0, "annotations": 0, "rendered_clips": 0, "adjudications": 0, "gold_references": 0}
    tasks = db.execute(select(ReviewTask.id, ReviewTask.rendered_blob_id).where(ReviewTask.recording_id.in_(recording_ids))).all()
    task_ids = [t.id for t in tasks]
    rendered = [t.rendered_blob_id for t in tasks if t.rendered_blob_id]
    counts = {
        "annotations": db.execute(delete(Annotation).where(Annotation.recording_id.in_(recording_ids))).rowcount,
        "adjudications": db.execute(delete(Adjudication).where(Adjudication.recording_id.in_(recording_ids))).rowcount,
        "gold_references": db.execute(delete(GoldReference).where(GoldReference.recording_id.in_(recording_ids))).rowcount,
    }
    if task_ids:
        db.execute(delete(AudioTicket).where(AudioTicket.task_id.in_(task_ids)))
    counts["review_tasks"] = db.execute(delete(ReviewTask).where(ReviewTask.recording_id.in_(recording_ids))).rowcount
    services.blobs.delete_many(rendered)
    counts["rendered_clips"] = len(rendered)
    return counts
