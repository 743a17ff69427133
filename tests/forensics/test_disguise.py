"""What a leaker does first to "disguise" a clip: tempo, speed and pitch changes are traced
(layer two, patchwork.py), and they still accuse nobody innocent."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from sottovoce.forensics import patchwork
from sottovoce.forensics.watermark import Mark, embed, trace_all
from tests.forensics.test_watermark import (
    CANDIDATES,
    KEY,
    RATE,
    REAL_CLIP,
    channels,
    speech_like,
)

pytestmark = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")

DISGUISES = ["tempo +4%", "tempo -4%", "speed +4%", "speed -4%", "pitch +100 cents", "pitch -100 cents"]


@pytest.mark.parametrize("disguise", DISGUISES)
def test_disguised_clip_names_the_reviewer(disguise):
    truth = CANDIDATES[13]
    marked = embed(speech_like(21, seconds=4.0), RATE, KEY, truth)
    found = trace_all(channels.DISGUISE[disguise](marked, RATE, None), RATE, KEY, CANDIDATES)
    assert [r.mark for r in found] == [truth]
    assert found[0].layer == "patchwork" and found[0].confidence > 0.999


@pytest.mark.parametrize("disguise", ["tempo +4%", "pitch -100 cents"])
def test_disguised_unmarked_and_outsider_clips_accuse_nobody(disguise):
    clip = speech_like(22, seconds=4.0)
    attack = channels.DISGUISE[disguise]
    assert trace_all(attack(clip, RATE, None), RATE, KEY, CANDIDATES) == []
    outsider = embed(clip, RATE, KEY, Mark("rev-outsider", "task-x"))
    assert trace_all(attack(outsider, RATE, None), RATE, KEY, CANDIDATES) == []


def test_layer_two_innocent_scores_follow_the_null_model():
    # Innocent candidates' best scores over every hypothesis stay near the expected maximum
    # of ~23,000 standard normals (about 4.5), far under the threshold.
    resid, norms = patchwork.residuals(speech_like(23).astype(np.float64))
    spectra = patchwork.pattern_spectra(KEY, [(m.reviewer_id, m.task_id) for m in CANDIDATES])
    scores = patchwork.best_scores(resid, norms, spectra)
    assert 3.5 < np.median(scores) < 5.5
    assert scores.max() < 6.5


def test_pattern_derivation_is_frozen_and_balanced():
    import hashlib

    p = patchwork.pattern(b"k" * 32, "alice", "task-1")
    assert p.shape == (patchwork.TILES, patchwork.N_PAIRS)
    assert hashlib.sha256(p.astype(np.int8).tobytes()).hexdigest()[:16] == GOLDEN
    assert not np.array_equal(p, patchwork.pattern(b"k" * 32, "alic", "etask-1"))


# Update only together with a new _DOMAIN version: leaked clips must trace for years.
GOLDEN = "7051adda768c3ef5"


@pytest.mark.skipif(not REAL_CLIP.exists(), reason="shared speech corpus not present")
def test_real_speech_tempo_and_pitch():
    import soundfile as sf

    # The whole recording (6.8 s, 43 % of it silence), as a review task serves it.
    clip, rate = sf.read(REAL_CLIP, dtype="float32")
    marked = embed(clip, rate, KEY, CANDIDATES[17])
    for disguise in ("tempo -4%", "pitch +100 cents", "speed -4%"):
        found = trace_all(channels.DISGUISE[disguise](marked, rate, None), rate, KEY, CANDIDATES)
        assert [r.mark for r in found] == [CANDIDATES[17]], disguise
