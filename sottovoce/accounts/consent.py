"""Consent: the two switches an account holder controls, their history, and what withdrawal does.

``human_review`` gates every human listen (DESIGN.md invariant 2): it is checked when a clip is
sampled, when a task is leased and on every audio fetch. Withdrawing it removes queued and leased
tasks at once; a reviewer's open page then shows the task as withdrawn. ``training`` gates use of
the account's corrections to adapt the recognizer (learning/).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.core.audit import Actor
from sottovoce.core.errors import InvalidInput
from sottovoce.core.services import Services
from sottovoce.db.models import Account, ConsentChange, ReviewTask
from sottovoce.review import drafts

HUMAN_REVIEW = "human_review"
TRAINING = "training"
COLUMNS = {HUMAN_REVIEW: "consent_human_review", TRAINING: "consent_training"}
EXPLANATIONS = {
    HUMAN_REVIEW: "A trained reviewer may listen to a few of your recordings, with your voice disguised and personal details silenced, to correct what the assistant heard.",
    TRAINING: "Corrected transcripts of your recordings may be used to make the speech recognizer better.",
}
OPEN_STATUSES = ("queued", "leased")


def set_consent(services: Services, db: Session, account: Account, purpose: str, value: bool, actor: Actor, channel: str) -> int:
    """Change one switch, record who/when/how, and on withdrawal pull the account's open tasks.

    Returns how many review tasks were withdrawn. The caller commits.
    """
    if purpose not in COLUMNS:
        raise InvalidInput(f"expected a consent purpose among {', '.join(COLUMNS)} but got '{purpose[:30]}'")
    setattr(account, COLUMNS[purpose], bool(value))
    db.add(ConsentChange(account_id=account.id, purpose=purpose, value=bool(value), actor_id=actor.id, actor_role=actor.role, channel=channel))
    withdrawn = withdraw_open_tasks(services, db, account.id) if purpose == HUMAN_REVIEW and not value else 0
    services.audit.append(db, actor, "consent.change", account.id, {"purpose": purpose, "value": bool(value), "channel": channel, "withdrawn_tasks": withdrawn})
    return withdrawn


def withdraw_open_tasks(services: Services, db: Session, account_id: str) -> int:
    tasks = db.scalars(select(ReviewTask).where(ReviewTask.account_id == account_id, ReviewTask.status.in_(OPEN_STATUSES))).all()
    for task in tasks:
        task.status = "withdrawn"
        if task.rendered_blob_id:
            services.blobs.delete(task.rendered_blob_id)  # the rendered clip goes at once
            task.rendered_blob_id = None
    drafts.discard(db, [task.id for task in tasks])  # and the reviewer's saved edits
    return len(tasks)


def history(db: Session, account_id: str) -> list[ConsentChange]:
    return list(db.scalars(select(ConsentChange).where(ConsentChange.account_id == account_id).order_by(ConsentChange.at, ConsentChange.id)))
