"""silence_spans: PII stretches become digital silence, nothing else changes."""

import numpy as np
import pytest

from sottovoce.privacy.audio_redaction import FADE_S, silence_spans

SR = 16000


def _speechlike(seconds: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SR)) / SR
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 1250 * t)
    return (tone + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def _dbfs(x: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return -np.inf if rms == 0 else 20 * np.log10(rms)


def test_padded_span_is_silent_and_rest_untouched():
    x = _speechlike()
    original = x.copy()
    out = silence_spans(x, SR, [(1.0, 1.5)], pad_s=0.1)
    lo, hi = int(0.9 * SR), int(1.6 * SR)
    assert _dbfs(out[lo:hi]) <= -60
    assert np.all(out[lo:hi] == 0)
    fade = int(FADE_S * SR)
    assert np.array_equal(out[: lo - fade], x[: lo - fade])
    assert np.array_equal(out[hi + fade :], x[hi + fade :])
    # input not mutated, output a new float32 array of the same length
    assert np.array_equal(x, original)
    assert out is not x
    assert out.dtype == np.float32
    assert out.shape == x.shape


def test_fades_sit_outside_the_span_and_are_smooth():
    x = np.full(SR, 0.5, dtype=np.float32)
    out = silence_spans(x, SR, [(0.5, 0.6)], pad_s=0.0)
    start, end = int(0.5 * SR), int(np.ceil(0.6 * SR))
    fade = int(FADE_S * SR)
    before, after = out[start - fade : start], out[end : end + fade]
    assert np.all(np.diff(before) <= 0)
    assert np.all(np.diff(after) >= 0)
    assert 0 < before[-1] < 0.05
    assert 0 < after[0] < 0.05
    assert np.max(np.abs(np.diff(out))) < 0.01  # no click


def test_spans_are_clipped_merged_and_unordered_ok():
    x = _speechlike(2.0)
    out = silence_spans(x, SR, [(1.9, 5.0), (-1.0, 0.05), (0.6, 0.5), (0.55, 0.7)], pad_s=0.05)
    assert np.all(out[: int(0.1 * SR)] == 0)
    assert np.all(out[int(1.85 * SR) :] == 0)
    assert np.all(out[int(0.45 * SR) : int(0.75 * SR)] == 0)
    assert np.array_equal(out[int(1.0 * SR) : int(1.5 * SR)], x[int(1.0 * SR) : int(1.5 * SR)])


def test_no_spans_returns_equal_copy():
    x = _speechlike(0.5)
    out = silence_spans(x, SR, [])
    assert np.array_equal(out, x)
    assert out is not x


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        silence_spans(np.zeros((2, 10), dtype=np.float32), SR, [])
    with pytest.raises(ValueError):
        silence_spans(np.zeros(10, dtype=np.float32), SR, [], pad_s=-1)
