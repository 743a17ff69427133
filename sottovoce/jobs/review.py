"""Background work for review: the periodic sampler and rendering clips ahead of their lease."""

from __future__ import annotations

from sqlalchemy import select

from sottovoce.core.services import Services
from sottovoce.db.enums import JobKind, TaskStatus
from sottovoce.db.models import Job, ReviewTask
from sottovoce.review.sampler import sample

RENDER = JobKind.RENDER


def sample_and_queue_renders(services: Services, limit: int | None = None) -> dict:
    """Run the sampler once and queue a render job for every new task (one transaction)."""
    with services.sessions() as db:
        before = set(db.scalars(select(ReviewTask.id).where(ReviewTask.status == TaskStatus.QUEUED, ReviewTask.rendered_blob_id.is_(None))))
        report = sample(services, db, limit=limit)
        db.flush()
        new = set(db.scalars(select(ReviewTask.id).where(ReviewTask.status == TaskStatus.QUEUED, ReviewTask.rendered_blob_id.is_(None)))) - before
        db.add_all(Job(kind=RENDER, subject_id=task_id) for task_id in new)
        db.commit()
    return report.as_dict()


def render_queued_task(services: Services, task_id: str) -> None:
    # Rendering's imports (audio decoding, voice transform, de-identification) load on first use,
    # so opening Services for a CLI command does not pay for them.
    from sottovoce.review.render import render_task

    with services.sessions() as db:
        task = db.get(ReviewTask, task_id)
        if task is None or task.status not in (TaskStatus.QUEUED, TaskStatus.LEASED) or task.rendered_blob_id:
            return  # withdrawn, deleted or already rendered meanwhile
        render_task(services, db, task)
        db.commit()
