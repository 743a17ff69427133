"""Render the clip a reviewer hears, ahead of the lease, and keep it sealed until served.

The pipeline turns the stored recording into what transcription needs and nothing more. Its steps
live with their subject: privacy/ (voice anonymization, PII silencing) and forensics/ (the
per-reviewer watermark, added when the task is leased). Each step is a function
``(samples, context) -> samples``; ``RENDER_STEPS`` lists them in order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.orm import Session

from sottovoce.audio import SAMPLE_RATE, to_wav
from sottovoce.db.models import Recording, ReviewTask
from sottovoce.recordings.store import latest_hypothesis, load_audio, open_hypothesis
from sottovoce.services import Services

RENDERED = "rendered-clip"


@dataclass
class RenderContext:
    task: ReviewTask
    words: list[dict]
    params: dict = field(default_factory=dict)


Step = Callable[[np.ndarray, RenderContext], np.ndarray]
RENDER_STEPS: list[Step] = []  # filled by review/deidentify.py (imported by the app and the worker)


def render_task(services: Services, db: Session, task: ReviewTask) -> None:
    """Render and seal the task's clip (idempotent). The caller commits."""
    if task.rendered_blob_id:
        return
    recording = db.get(Recording, task.recording_id)
    samples = load_audio(services, db, recording)
    hypothesis = latest_hypothesis(db, recording.id)
    words = open_hypothesis(services, db, recording, hypothesis)["words"] if hypothesis else []
    context = RenderContext(task, words)
    for step in RENDER_STEPS:
        samples = step(samples, context)
    # Sealed as the finished WAV, so serving it is one decryption and nothing else.
    sealed = services.keys.seal(db, task.account_id, to_wav(samples, SAMPLE_RATE), RENDERED, task.id)
    task.rendered_blob_id = services.blobs.put(sealed)
    task.render_params = json.dumps(context.params, sort_keys=True)


def rendered_wav(services: Services, db: Session, task: ReviewTask) -> bytes:
    """The served file: a bare PCM WAV (no tags, no names), rendered now if it was not ready."""
    if not task.rendered_blob_id:
        render_task(services, db, task)
        db.commit()
    return services.keys.open(db, task.account_id, services.blobs.get(task.rendered_blob_id), RENDERED, task.id)
