"""De-identification of what a reviewer receives (DESIGN.md invariants 1, 4 and 9).

These are the *default* steps of the render pipeline and the projection, imported directly by
review/render.py and review/projection.py (no registration, no import side effect):
- ``DEIDENTIFY``: align the hypothesis on the stored audio with the bundled recognizer
  (review/alignment.py: a device's word times are not trusted); silence every word the PII
  detector flags and every word that says one of the account's own identifiers
  (privacy/known_ids.py: holder's name, device serials and names, in spoken forms too), at the
  hypothesis's times and at the aligned ones, and whatever the detector finds in the local
  words, with ``PII_PAD_S`` padding; transcribe the silenced clip and, if a masked entity is
  recovered, extend the silence and check again, or withhold the clip (``RenderWithheld``); then
  transform the voice (privacy/voice.py: McAdams only, α in [0.7, 0.9] drawn per task from the
  OS's CSPRNG so nobody can re-derive it; no pitch shift, and not VoicePrivacy B2's published
  α range [0.5, 0.9]);
- ``pii_entities``: the projection shows a typed placeholder (``[PHONE]``, ``[IDENTIFIER]``…)
  instead of the words of each run; the account's identifiers are matched on every call, even
  when the detector's runs come from the render.

Silencing comes first so the word times still match the audio; the voice transform keeps the
length, so the silenced spans stay silent.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.core.audio import SAMPLE_RATE
from sottovoce.db.models import Account, Device, ReviewTask
from sottovoce.privacy.known_ids import Identifier, find_known, identifiers
from sottovoce.review.alignment import (
    EXTEND_ROUNDS,
    Run,
    Span,
    Transcribe,
    aligned_times,
    check_and_extend,
    find_entities,
    spans_of,
    targets,
)

PII_PAD_S = 0.1
# Times from the local recognizer are measured, but its word boundaries move by a tenth of a second
# or two (a digit's onset can sit inside the previous word): spans taken from it get this much more.
ALIGNED_EXTRA_S = 0.1


@dataclass
class RenderContext:
    """What a render step may read (the task, the hypothesis words) and record (``params``: word
    positions and parameters, never text)."""

    task: ReviewTask
    words: list[dict]
    known: list[Identifier]  # the account's own identifiers: no default, every caller passes them
    params: dict = field(default_factory=dict)
    # The bundled recognizer (samples -> words), for the local alignment and the post-render check;
    # a step that needs it and finds None fails (no silent fallback to the hypothesis's times).
    transcribe: Transcribe | None = None
    local_words: list[dict] | None = None  # the recognizer's words on the stored audio (align_locally)
    original: np.ndarray | None = None  # the clip before silencing, for an extended silence
    spans: list[Span] = field(default_factory=list)  # what silence_pii silenced (seconds)
    look_for: list[Identifier] = field(default_factory=list)  # what the check must not recover

    def recognizer(self) -> Transcribe:
        if self.transcribe is None:
            raise RuntimeError("this render step needs the bundled recognizer (RenderContext.transcribe)")
        return self.transcribe


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


def _detect(words: list[str]) -> list[Run]:
    from sottovoce.privacy.pii_text import pii_word_indices

    return pii_word_indices(words)


def _silence(samples: np.ndarray, spans: list[Span], pad_s: float) -> np.ndarray:
    from sottovoce.privacy.audio_redaction import silence_spans

    return silence_spans(samples, SAMPLE_RATE, spans, pad_s=pad_s) if spans else np.array(samples, dtype=np.float32, copy=True)


def align_locally(samples: np.ndarray, context: RenderContext) -> np.ndarray:
    """The recognizer's own words on the stored audio (skipped when the hypothesis is already the
    local recognizer's, whose times were measured on this audio); the clip is unchanged."""
    started = time.process_time()
    if context.local_words is None:
        context.local_words = context.recognizer()(samples)
    times = aligned_times(context.words, context.local_words)
    # Times only (no text): the listening windows use them (review/listening.py).
    context.params["word_times"] = [[round(a, 3), round(b, 3)] for a, b in times]
    context.params["aligned"] = {"local_words": len(context.local_words), "cpu_s": round(time.process_time() - started, 3)}
    return samples


def silence_pii(samples: np.ndarray, context: RenderContext) -> np.ndarray:
    texts = [w["word"] for w in context.words]
    runs = [*_detect(texts), *find_known(texts, context.known)]
    # Word positions and types only (no text): the projection reuses them instead of re-detecting.
    context.params["pii_words"] = [list(run) for run in runs]
    entities = entities_from_runs(runs, len(context.words))
    flagged = [i for i, entity in enumerate(entities) if entity]
    spans: list[Span] = [(context.words[i]["start"], context.words[i]["end"]) for i in flagged]
    look_for = [*context.known, *targets(texts, runs)]
    if context.local_words is not None:
        # Not trusting the hypothesis's times: the masked words where the recognizer heard them,
        # and whatever it heard that is personal data (the hypothesis may not contain it at all).
        times = aligned_times(context.words, context.local_words)
        local_texts = [w["word"] for w in context.local_words]
        local_runs = find_entities(local_texts, look_for, _detect)
        measured = [times[i] for i in flagged] + spans_of(context.local_words, local_runs)
        spans += [(a - ALIGNED_EXTRA_S, b + ALIGNED_EXTRA_S) for a, b in measured]
        look_for += targets(local_texts, local_runs)
        context.params["local_pii_runs"] = len(local_runs)
    context.params["pii_spans_silenced"] = len(flagged)  # hypothesis words; ``spans`` adds their aligned times
    context.params["spans"] = len(spans)
    context.original, context.spans, context.look_for = samples, spans, look_for
    return _silence(samples, spans, PII_PAD_S) if spans else samples


def make_check(rounds: int = EXTEND_ROUNDS) -> Step:
    """The post-render check as a step: transcribe the silenced clip, extend and re-check up to
    ``rounds`` times, raise ``RenderWithheld`` if a masked entity is still recovered."""

    def check_rendered(samples: np.ndarray, context: RenderContext) -> np.ndarray:
        if not context.spans or context.original is None:
            # Nothing was masked; the recognizer already heard this very audio (greedy decoding is
            # deterministic), so a second transcription would find nothing new.
            context.params["check"] = {"checks": 0}
            return samples
        clip, report = check_and_extend(
            context.original, samples, context.spans, PII_PAD_S, context.look_for, context.recognizer(), _silence, rounds
        )
        context.params["check"] = report
        return clip

    return check_rendered


check_rendered = make_check()


def transform_voice(samples: np.ndarray, context: RenderContext) -> np.ndarray:
    from sottovoce.privacy.voice import anonymize

    rng = np.random.default_rng(secrets.randbits(128))
    anonymized, params = anonymize(samples, SAMPLE_RATE, rng)
    context.params["voice"] = params
    return anonymized


# The order matters: align on the untouched audio, silence, check what is left, and transform the
# voice last (it keeps the length, so the silenced spans stay silent; the check hears the words
# the way the recognizer hears them best).
DEIDENTIFY: tuple[Step, ...] = (align_locally, silence_pii, check_rendered, transform_voice)
