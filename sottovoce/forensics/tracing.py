"""Marking served clips and tracing leaked ones back to the reviewer who received them.

Every clip a reviewer fetches carries a watermark for (reviewer id, task id) made with a key
derived from the master key (forensics/watermark.py has the scheme). ``trace_file`` decodes a
leaked file in memory (leniently: forensics/decode.py), correlates it against every (reviewer,
task) pair the audit log says was served, and names every reviewer whose mark is present (several
when copies were averaged or spliced), or nobody.
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
from sottovoce.forensics.decode import Undecodable, decode_lenient
from sottovoce.forensics.watermark import Mark, embed, trace_all

SERVED = "review.audio_served"


def watermark_key(services: Services) -> bytes:
    return services.keys.derived_key(KeyLabel.FORENSIC_WATERMARK)


def mark_wav(services: Services, wav: bytes, reviewer_id: str, task_id: str) -> bytes:
    """The rendered clip with this reviewer's and task's mark (in memory only)."""
    return mark_wav_bytes(wav, watermark_key(services), reviewer_id, task_id)


def mark_wav_bytes(wav: bytes, key: bytes, reviewer_id: str, task_id: str) -> bytes:
    """What the review audio route does per served clip: WAV in, marked WAV out (the
    benchmark times this)."""
    samples, rate = soundfile.read(io.BytesIO(wav), dtype="float32")
    marked = embed(samples, rate, key, Mark(reviewer_id, task_id))
    return audio.to_wav(np.clip(marked, -1.0, 1.0), rate)


def served_marks(db: Session) -> list[Mark]:
    rows = db.execute(select(AuditEvent.actor, AuditEvent.subject).where(AuditEvent.action == SERVED).distinct())
    return [Mark(actor, subject) for actor, subject in rows]


def trace_file(services: Services, db: Session, data: bytes, investigator: Actor, filename: str = "") -> dict:
    """Who received this clip? The lookup itself is audited (it is an investigation).

    Returns the best match under the top-level keys ``reviewer``, ``reviewer_id``, ``task``,
    ``confidence`` and ``score`` (``reviewer`` None when nothing was found), every match in
    ``matches`` (strongest first), and what the decoder did in ``decoding``.
    """
    try:
        decoded = decode_lenient(data, filename, max_duration_s=600)
    except Undecodable as exc:
        raise InvalidAudio(f"the file is not readable audio: {exc}") from None
    samples = decoded.samples
    if samples.size < audio.SAMPLE_RATE // 2:
        raise InvalidAudio("the clip is shorter than 0.5 s; too short to trace")
    candidates = served_marks(db)
    results = trace_all(samples, audio.SAMPLE_RATE, watermark_key(services), candidates)
    matches: list[dict[str, Any]] = []
    for result in results:
        user = db.get(StaffUser, result.mark.reviewer_id)
        matches.append({
            "reviewer": user.name if user else result.mark.reviewer_id,
            "reviewer_id": result.mark.reviewer_id,
            "task": result.mark.task_id,
            "confidence": round(result.confidence, 6),
            "score": round(result.score, 2),
            "layer": result.layer,
        })
    best = matches[0] if matches else {"reviewer": None, "reviewer_id": None, "task": None, "confidence": 0.0, "score": None}
    found = {key: best[key] for key in ("reviewer", "reviewer_id", "task", "confidence", "score")}
    found.update(matches=matches, candidates=len(candidates), decoding=decoded.report())
    services.audit.record(
        db, investigator, "forensics.trace", matches[0]["task"] if matches else "",
        {"candidates": len(candidates), "matched": len(matches)},
    )
    return found
