"""Render the clip a reviewer hears, ahead of the lease, and keep it sealed until served.

The pipeline turns the stored recording into what transcription needs and nothing more. Each step
is a function ``(samples, context) -> samples``. De-identification (review/deidentify.py: PII
silenced, voice transformed) is the default of ``render_task``: a process that imports only this
module renders a de-identified clip. The only way round it is to pass
``steps=UNSAFE_NO_DEIDENTIFICATION``, which tests of the raw pipeline do, by that name. The
per-reviewer watermark (forensics/) is added when the clip is served.

A render can end without a clip: when the post-render check still recovers a masked entity after
extending the silence (review/alignment.py), the task is withdrawn with that reason, the refusal
is audited (``review.render_withheld``) and nothing is sealed. The served file is the whole
de-identified clip or, by default, the listening windows cut from it (review/listening.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
from sqlalchemy.orm import Session

from sottovoce.core.audio import SAMPLE_RATE, to_wav
from sottovoce.core.audit import Actor
from sottovoce.core.errors import Conflict
from sottovoce.core.purposes import Purpose
from sottovoce.core.services import Services
from sottovoce.db.enums import TaskStatus
from sottovoce.db.models import Recording, ReviewTask
from sottovoce.db.types import utcnow
from sottovoce.recordings.store import latest_hypothesis, load_audio, open_hypothesis
from sottovoce.review.alignment import RenderWithheld
from sottovoce.review.deidentify import DEIDENTIFY, RenderContext, Step, account_identifiers

RENDERED = Purpose.RENDERED_CLIP
RENDERER = Actor.system("renderer")
WITHHELD = "review.render_withheld"


UNSAFE_NO_DEIDENTIFICATION: tuple[Step, ...] = ()  # raw voice, PII audible: tests of the pipeline only


def render_task(services: Services, db: Session, task: ReviewTask, steps: Sequence[Step] = DEIDENTIFY) -> None:
    """Render and seal the task's clip (idempotent), de-identified unless told otherwise by name.
    The caller commits."""
    if task.rendered_blob_id:
        return
    context = render_context(services, db, task)
    try:
        samples = deidentified(services, db, task, context, steps)
    except RenderWithheld as withheld:
        # Fail closed: no clip is sealed, the task leaves the queue with its reason, audited.
        task.status, task.lease_holder, task.lease_expires_at, task.finished_at = TaskStatus.WITHDRAWN, None, None, utcnow()
        task.render_params = json.dumps({**context.params, "withheld": withheld.reason}, sort_keys=True)
        services.audit.append(db, RENDERER, WITHHELD, task.id, {"recovered": withheld.recovered})
        return
    # Sealed as the finished WAV, so serving it is one decryption and nothing else.
    sealed = services.keys.seal(db, task.account_id, to_wav(samples, SAMPLE_RATE), RENDERED, task.id)
    task.rendered_blob_id = services.blobs.put(sealed)
    task.render_params = json.dumps(context.params, sort_keys=True)


def render_context(services: Services, db: Session, task: ReviewTask) -> RenderContext:
    recording = db.get_one(Recording, task.recording_id)
    hypothesis = latest_hypothesis(db, recording.id)
    words = open_hypothesis(services, db, recording, hypothesis)["words"] if hypothesis else []
    context = RenderContext(task, words, account_identifiers(db, task.account_id), transcribe=lambda clip: _words(services, clip))
    if hypothesis is not None and hypothesis.source == "local":
        context.local_words = words  # the bundled recognizer's own times on this very audio
    return context


def deidentified(services: Services, db: Session, task: ReviewTask, context: RenderContext, steps: Sequence[Step] | None = None) -> np.ndarray:
    """The task's audio through the de-identification steps (default DEIDENTIFY; RenderWithheld if
    it cannot be made safe). The one path for every listener: the reviewer's render and the
    supervisor's adjudication."""
    samples = load_audio(services, db, db.get_one(Recording, task.recording_id))
    for step in DEIDENTIFY if steps is None else steps:
        samples = step(samples, context)
    return samples


def _words(services: Services, samples: np.ndarray) -> list[dict]:
    return [{"word": w.word, "start": w.start, "end": w.end, "confidence": w.confidence} for w in services.recognizer.transcribe(samples).words]


def withheld(task: ReviewTask) -> bool:
    return "withheld" in json.loads(task.render_params or "{}")


def rendered_wav(services: Services, db: Session, task: ReviewTask) -> bytes:
    """The whole de-identified clip: a bare PCM WAV (no tags, no names), rendered now if it was not
    ready. A withheld render is never served (``Conflict``)."""
    if not task.rendered_blob_id and not withheld(task):
        render_task(services, db, task)
        db.commit()
    if task.rendered_blob_id is None:
        raise Conflict("this clip was withheld: a masked entity was still audible after de-identification")
    return services.keys.open(db, task.account_id, services.blobs.get(task.rendered_blob_id), RENDERED, task.id)
