"""What the deletion cascade (accounts/deletion.py) removes or flags on the learning side.

- training examples (dataset items) of the deleted recordings are removed;
- model versions trained on them are marked ``needs_retrain`` (``sottovoce learn rebuild``);
- exports that contained them are counted, and their ids named in the audit log, because copies
  that left the system must be recalled by whoever holds them.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sottovoce.core.audit import Actor
from sottovoce.core.services import DeletionPart, Services
from sottovoce.db.engine import rowcount
from sottovoce.db.models import DatasetItem, ExportItem
from sottovoce.learning.registry import mark_needs_retrain


def _training_examples(services: Services, db: Session, recording_ids: list[str]) -> dict[str, int]:
    versions = mark_needs_retrain(services, db, recording_ids)
    examples = rowcount(db.execute(delete(DatasetItem).where(DatasetItem.recording_id.in_(recording_ids)))) or 0
    return {"training_examples": examples, "model_versions_marked_needs_retrain": versions}


def _exports(services: Services, db: Session, recording_ids: list[str]) -> int:
    exports = sorted(set(db.scalars(select(ExportItem.export_id).where(ExportItem.recording_id.in_(recording_ids)))))
    if exports:
        services.audit.append(db, Actor.system("deletion"), "learning.export_contained_deleted", "", {"exports": exports, "recordings": len(recording_ids)})
    return len(exports)


LEARNING_PARTS = (DeletionPart("training_examples", _training_examples), DeletionPart("exports_containing", _exports))
