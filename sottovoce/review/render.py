"""Render the clip a reviewer hears, ahead of the lease, and keep it sealed until served.

The pipeline turns the stored recording into what transcription needs and nothing more. Each step
is a function ``(samples, context) -> samples``. De-identification (review/deidentify.py: PII
silenced, voice transformed) is the default of ``render_task``: a process that imports only this
module renders a de-identified clip. The only way round it is to pass
``steps=UNSAFE_NO_DEIDENTIFICATION``, which tests of the raw pipeline do, by that name. The
per-reviewer watermark (forensics/) is added when the clip is served.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy.orm import Session

from sottovoce.core.audio import SAMPLE_RATE, to_wav
from sottovoce.core.purposes import Purpose
from sottovoce.core.services import Services
from sottovoce.db.models import Recording, ReviewTask
from sottovoce.recordings.store import latest_hypothesis, load_audio, open_hypothesis
from sottovoce.review.deidentify import DEIDENTIFY, RenderContext, Step, account_identifiers

RENDERED = Purpose.RENDERED_CLIP


UNSAFE_NO_DEIDENTIFICATION: tuple[Step, ...] = ()  # raw voice, PII audible: tests of the pipeline only


def render_task(services: Services, db: Session, task: ReviewTask, steps: Sequence[Step] = DEIDENTIFY) -> None:
    """Render and seal the task's clip (idempotent), de-identified unless told otherwise by name.
    The caller commits."""
    if task.rendered_blob_id:
        return
    recording = db.get_one(Recording, task.recording_id)
    samples = load_audio(services, db, recording)
    hypothesis = latest_hypothesis(db, recording.id)
    words = open_hypothesis(services, db, recording, hypothesis)["words"] if hypothesis else []
    context = RenderContext(task, words, account_identifiers(db, task.account_id))
    for step in steps:
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
    assert task.rendered_blob_id is not None  # render_task set it
    return services.keys.open(db, task.account_id, services.blobs.get(task.rendered_blob_id), RENDERED, task.id)
