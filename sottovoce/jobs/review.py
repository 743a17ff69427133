"""Background work for review: the periodic sampler and rendering clips ahead of their lease."""

from __future__ import annotations

from sqlalchemy import insert, text

from sottovoce.core.services import Services
from sottovoce.db.enums import JobKind, JobStatus, TaskStatus
from sottovoce.db.models import Job, ReviewTask
from sottovoce.db.types import new_id, utcnow
from sottovoce.jobs.worker import CHANNEL
from sottovoce.review.sampler import sample

RENDER = JobKind.RENDER


def sample_and_queue_renders(services: Services, limit: int | None = None) -> dict:
    """Run the sampler once and queue a render job for every new task (one transaction)."""
    with services.sessions() as db:
        report = sample(services, db, limit=limit)
        if report.task_ids:  # one multi-row INSERT, not an ORM object per job
            db.execute(insert(Job), [{"id": new_id(), "kind": RENDER, "subject_id": t, "status": JobStatus.QUEUED,
                                                "created_at": utcnow()} for t in report.task_ids])
            if db.get_bind().dialect.name == "postgresql":  # a Core insert skips the ORM hook that wakes workers
                db.execute(text(f"NOTIFY {CHANNEL}"))
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
