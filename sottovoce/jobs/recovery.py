"""Start-up recovery after a crash: requeue jobs whose lease expired, finish interrupted deletions
(deletion.py), remove blobs no row points to.

Jobs are requeued by lease expiry only (worker.py): with several processes sharing one database, a
process starting up cannot tell a dead worker's job from a live one's, but an expired lease can.

A process killed between writing a sealed blob and committing its row leaves an unreferenced blob
(ciphertext, but still data we promised not to keep). ``remove_orphan_blobs`` deletes such blobs
once they are older than a grace period, so an ingest in flight in another process is never raced.
"""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.accounts.deletion import resume_pending_deletions
from sottovoce.core.services import Services
from sottovoce.db.models import Recording, ReviewTask

# Every column that holds a blob id. A later table that stores blobs adds its column here.
BLOB_COLUMNS = [Recording.audio_blob_id, ReviewTask.rendered_blob_id]


def referenced_blob_ids(db: Session) -> set[str]:
    ids: set[str] = set()
    for column in BLOB_COLUMNS:
        ids.update(x for x in db.scalars(select(column)) if x)
    return ids


def remove_orphan_blobs(services: Services, grace_s: float) -> int:
    services.blobs.remove_partial_writes()
    cutoff = time.time() - grace_s
    with services.sessions() as db:
        referenced = referenced_blob_ids(db)
    # The listing's age, not a second look at the object: works the same on a folder and on S3.
    orphans = [b.blob_id for b in services.blobs.listing() if b.blob_id not in referenced and b.modified <= cutoff]
    services.blobs.delete_many(orphans)
    return len(orphans)


def requeue_interrupted_jobs(services: Services) -> int:
    """Jobs whose worker stopped renewing their lease go back to the queue; jobs are idempotent."""
    from sottovoce.jobs.worker import requeue_expired

    return requeue_expired(services)


def recover(services: Services) -> dict:
    return {
        "requeued_jobs": requeue_interrupted_jobs(services),
        # Before the orphan sweep: a resumed deletion removes blobs its rows still point to.
        "deletions_resumed": resume_pending_deletions(services),
        "orphan_blobs_removed": remove_orphan_blobs(services, services.settings.orphan_grace_s),
    }
