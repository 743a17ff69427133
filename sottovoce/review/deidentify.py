"""De-identification of what a reviewer receives (DESIGN.md invariants 1 and 4).

Two hooks, installed at import:
- the render pipeline (review/render.py) silences every word the PII detector flags (with
  ``PII_PAD_S`` padding) and then transforms the voice (privacy/voice.py: random pitch shift and
  McAdams coefficient per task, drawn from the OS's CSPRNG so nobody can re-derive them);
- the projection (review/projection.py) shows a typed placeholder (``[PHONE]``…) instead of the
  words of each PII run.

Silencing comes first so the detector's word times still match the audio; the voice transform
keeps the length, so the silenced spans stay silent.
"""

from __future__ import annotations

import secrets

import numpy as np

from sottovoce.audio import SAMPLE_RATE
from sottovoce.review import projection, render
from sottovoce.review.projection import entities_from_runs

PII_PAD_S = 0.1


# Presidio and spaCy cost ~300 MB and seconds to load: imported on first use, so a process that
# only ingests and transcribes never pays for them.


def pii_entities(words: list[str]) -> list[str | None]:
    """The entity type of each word, or None, for a list of hypothesis words."""
    from sottovoce.privacy.pii_text import pii_word_indices

    return entities_from_runs(pii_word_indices(words), len(words))


def silence_pii(samples: np.ndarray, context: render.RenderContext) -> np.ndarray:
    from sottovoce.privacy.audio_redaction import silence_spans
    from sottovoce.privacy.pii_text import pii_word_indices

    runs = pii_word_indices([w["word"] for w in context.words])
    # Word positions and types only (no text): the projection reuses them instead of re-detecting.
    context.params["pii_words"] = [list(run) for run in runs]
    entities = entities_from_runs(runs, len(context.words))
    spans = [(w["start"], w["end"]) for w, entity in zip(context.words, entities) if entity]
    context.params["pii_spans_silenced"] = len(spans)
    return silence_spans(samples, SAMPLE_RATE, spans, pad_s=PII_PAD_S) if spans else samples


def transform_voice(samples: np.ndarray, context: render.RenderContext) -> np.ndarray:
    from sottovoce.privacy.voice import anonymize

    rng = np.random.default_rng(secrets.randbits(128))
    anonymized, params = anonymize(samples, SAMPLE_RATE, rng)
    context.params["voice"] = params
    return anonymized


def install() -> None:
    if silence_pii not in render.RENDER_STEPS:
        render.RENDER_STEPS[:] = [silence_pii, transform_voice]
    projection.PII_TAGGER[0] = pii_entities


install()
