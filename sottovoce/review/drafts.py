"""The workbench's saved draft: a reload keeps the reviewer's unsaved edits.

Kept on the server, sealed with the account's key (``Purpose.REVIEW_DRAFT``, bound to the task),
not in the browser: Chromium writes ``sessionStorage`` to the profile on disk for session restore,
so a client-side draft would leave transcript text in plaintext on the reviewer's machine, beyond
the reach of consent withdrawal and deletion. Here the draft belongs to the lease holder only, is
read back only inside the audited task page, and is deleted when the task is finished (submit,
skip, stop), withdrawn or purged; deleting the account's key shreds it like everything else.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import delete
from sqlalchemy.orm import Session

from sottovoce.core.purposes import Purpose
from sottovoce.core.services import Services
from sottovoce.db.models import ReviewDraft, ReviewTask
from sottovoce.db.types import utcnow

DRAFT = Purpose.REVIEW_DRAFT


class Draft(BaseModel):
    """One value per word box of the page (in page order, the trailing "add words" box last), the
    marks on them, the tags and the missed-PII count."""

    model_config = ConfigDict(extra="forbid")

    words: list[str] = Field(max_length=600)
    unintelligible: list[int] = Field(default_factory=list, max_length=600)
    pii_miss: list[int] = Field(default_factory=list, max_length=600)
    tags: list[str] = Field(default_factory=list, max_length=4)

    @model_validator(mode="after")
    def _bounded(self) -> Draft:
        if sum(len(w) for w in self.words) > 5000 or any(len(w) > 200 for w in self.words):
            raise ValueError("the draft is too long")
        return self


def save(services: Services, db: Session, task: ReviewTask, reviewer_id: str, draft: Draft) -> None:
    sealed = services.keys.seal(db, task.account_id, draft.model_dump_json().encode(), DRAFT, task.id)
    row = db.get(ReviewDraft, task.id)
    if row is None:
        db.add(ReviewDraft(task_id=task.id, reviewer_id=reviewer_id, sealed_content=sealed, saved_at=utcnow()))
    else:
        row.reviewer_id, row.sealed_content, row.saved_at = reviewer_id, sealed, utcnow()


def load(services: Services, db: Session, task: ReviewTask, reviewer_id: str) -> Draft | None:
    """This reviewer's draft of the task; another reviewer's (an expired lease) is never shown."""
    row = db.get(ReviewDraft, task.id)
    if row is None or row.reviewer_id != reviewer_id:
        return None
    return Draft.model_validate(json.loads(services.keys.open(db, task.account_id, row.sealed_content, DRAFT, task.id)))


def discard(db: Session, task_ids: list[str]) -> None:
    if task_ids:
        db.execute(delete(ReviewDraft).where(ReviewDraft.task_id.in_(task_ids)).execution_options(synchronize_session=False))
