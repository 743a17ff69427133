"""De-identification of what a reviewer receives (DESIGN.md invariants 1, 4 and 9).

These are the *default* steps of the render pipeline and the projection, imported directly by
review/render.py and review/projection.py (no registration, no import side effect):
- ``DEIDENTIFY``: silence every word the PII detector flags and every word that says one of the
  account's own identifiers (privacy/known_ids.py: holder's name, device serials and names, in
  spoken forms too), with ``PII_PAD_S`` padding, then
  transform the voice (privacy/voice.py: McAdams only, α in [0.7, 0.9] drawn per task from the
  OS's CSPRNG so nobody can re-derive it; no pitch shift, and not VoicePrivacy B2's published
  α range [0.5, 0.9]);
- ``pii_entities``: the projection shows a typed placeholder (``[PHONE]``, ``[IDENTIFIER]``…)
  instead of the words of each run; the account's identifiers are matched on every call, even
  when the detector's runs come from the render.

Silencing comes first so the detector's word times still match the audio; the voice transform
keeps the length, so the silenced spans stay silent.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.core.audio import SAMPLE_RATE
from sottovoce.db.models import Account, Device, ReviewTask
from sottovoce.privacy.known_ids import Identifier, find_known, identifiers

PII_PAD_S = 0.1


@dataclass
class RenderContext:
    """What a render step may read (the task, the hypothesis words) and record (``params``: word
    positions and parameters, never text)."""

    task: ReviewTask
    words: list[dict]
    known: list[Identifier]  # the account's own identifiers: no default, every caller passes them
    params: dict = field(default_factory=dict)


Step = Callable[[np.ndarray, RenderContext], np.ndarray]


def entities_from_runs(runs: list, n_words: int) -> list[str | None]:
    """Per-word entity types from (first, last, entity) runs of personal data."""
    entities: list[str | None] = [None] * n_words
    for first, last, entity in runs:
        for i in range(first, min(last, n_words - 1) + 1):
            entities[i] = entity
    return entities


def account_identifiers(db: Session, account_id: str) -> list[Identifier]:
    """Everything the system knows that names this account: the holder's name (whole and each
    part), every device's serial (revoked ones too: the device may still be mentioned) and name.
    Accounts hold no e-mail address today; ``identifiers(codes=...)`` takes one when they do."""
    account = db.get(Account, account_id)
    devices = db.scalars(select(Device).where(Device.account_id == account_id)).all()
    names = [account.name] if account else []
    return identifiers(names=names, codes=[*names, *(d.serial for d in devices)], phrases=[d.name for d in devices if d.name])


# Presidio and spaCy cost ~300 MB and seconds to load: imported on first use, so a process that
# only ingests and transcribes never pays for them.


def pii_entities(words: list[str], known: list[Identifier]) -> list[str | None]:
    """The entity type of each word, or None, for a list of hypothesis words: the detector's runs,
    then the account's identifiers over them (they win a shared word)."""
    from sottovoce.privacy.pii_text import pii_word_indices

    return entities_from_runs([*pii_word_indices(words), *find_known(words, known)], len(words))


def silence_pii(samples: np.ndarray, context: RenderContext) -> np.ndarray:
    from sottovoce.privacy.audio_redaction import silence_spans
    from sottovoce.privacy.pii_text import pii_word_indices

    texts = [w["word"] for w in context.words]
    runs = [*pii_word_indices(texts), *find_known(texts, context.known)]
    # Word positions and types only (no text): the projection reuses them instead of re-detecting.
    context.params["pii_words"] = [list(run) for run in runs]
    entities = entities_from_runs(runs, len(context.words))
    spans = [(w["start"], w["end"]) for w, entity in zip(context.words, entities) if entity]
    context.params["pii_spans_silenced"] = len(spans)
    return silence_spans(samples, SAMPLE_RATE, spans, pad_s=PII_PAD_S) if spans else samples


def transform_voice(samples: np.ndarray, context: RenderContext) -> np.ndarray:
    from sottovoce.privacy.voice import anonymize

    rng = np.random.default_rng(secrets.randbits(128))
    anonymized, params = anonymize(samples, SAMPLE_RATE, rng)
    context.params["voice"] = params
    return anonymized


# The order matters: silencing first, so the detector's word times still match the audio; the
# voice transform keeps the length, so the silenced spans stay silent.
DEIDENTIFY: tuple[Step, ...] = (silence_pii, transform_voice)
