"""Marking served clips and tracing leaked ones back to the reviewer who received them.

Every clip a reviewer fetches carries a watermark for (reviewer id, task id) made with a key
derived from the master key (forensics/watermark.py has the scheme). ``trace_file`` decodes a
leaked file in memory, correlates it against every (reviewer, task) pair the audit log says was
served, and names the reviewer, or nobody.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import soundfile
from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.core import audio
from sottovoce.core.audit import Actor
from sottovoce.core.errors import InvalidAudio
from sottovoce.core.purposes import KeyLabel
from sottovoce.core.services import Services
from sottovoce.db.models import AuditEvent, StaffUser
from sottovoce.forensics.watermark import Mark, embed, trace

SERVED = "review.audio_served"


def watermark_key(services: Services) -> bytes:
    return services.keys.derived_key(KeyLabel.FORENSIC_WATERMARK)


def mark_wav(services: Services, wav: bytes, reviewer_id: str, task_id: str) -> bytes:
    """The rendered clip with this reviewer's and task's mark (in memory only)."""
    samples, rate = soundfile.read(io.BytesIO(wav), dtype="float32")
    marked = embed(samples, rate, watermark_key(services), Mark(reviewer_id, task_id))
    return audio.to_wav(np.clip(marked, -1.0, 1.0), rate)


def served_marks(db: Session) -> list[Mark]:
    rows = db.execute(select(AuditEvent.actor, AuditEvent.subject).where(AuditEvent.action == SERVED).distinct())
    return [Mark(actor, subject) for actor, subject in rows]


def trace_file(services: Services, db: Session, data: bytes, investigator: Actor) -> dict | None:
    """Who received this clip? The lookup itself is audited (it is an investigation)."""
    samples = audio.decode(data, max_duration_s=600)
    if samples.size < audio.SAMPLE_RATE // 2:
        raise InvalidAudio("the clip is shorter than 0.5 s; too short to trace")
    candidates = served_marks(db)
    result = trace(samples, audio.SAMPLE_RATE, watermark_key(services), candidates)
    found: dict[str, Any] | None = None
    if result is not None:
        user = db.get(StaffUser, result.mark.reviewer_id)
        found = {
            "reviewer": user.name if user else result.mark.reviewer_id,
            "reviewer_id": result.mark.reviewer_id,
            "task": result.mark.task_id,
            "confidence": round(result.confidence, 6),
            "score": round(result.score, 2),
        }
    services.audit.record(db, investigator, "forensics.trace", found["task"] if found else "", {"candidates": len(candidates), "matched": found is not None})
    return found
