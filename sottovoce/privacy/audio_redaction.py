"""Silence stretches of a clip that carry personal data.

The reviewer hears the clip after PII words were found in the transcript
(see :mod:`sottovoce.privacy.pii_text`); the times of those words are
silenced here. Inside each padded span the samples are exactly zero, so
nothing of the spoken identifier survives at any level. Short raised-cosine
fades sit *outside* the padded span so the cut does not click, and never eat
into the silenced part.
"""

from __future__ import annotations

import numpy as np

FADE_S = 0.01  # 10 ms: long enough to avoid a click, short enough to keep words audible


def _merged_sample_ranges(
    spans_s: list[tuple[float, float]], sample_rate: int, pad_s: float, n: int
) -> list[tuple[int, int]]:
    """Padded spans as sample ranges [start, end), clipped to the clip and merged."""
    ranges = []
    for start_s, end_s in spans_s:
        if end_s < start_s:
            start_s, end_s = end_s, start_s
        # floor/ceil so rounding can only make the silenced part larger
        start = max(0, int(np.floor((start_s - pad_s) * sample_rate)))
        end = min(n, int(np.ceil((end_s + pad_s) * sample_rate)))
        if end > start:
            ranges.append((start, end))
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def silence_spans(
    samples: np.ndarray,
    sample_rate: int,
    spans_s: list[tuple[float, float]],
    pad_s: float = 0.1,
) -> np.ndarray:
    """Return a copy of ``samples`` with every span (seconds) zeroed.

    Each span is widened by ``pad_s`` on both sides (recognizer word times are
    approximate) and clipped to the clip. The input array is not modified.
    """
    if samples.ndim != 1:
        raise ValueError("silence_spans expects mono audio (a 1-D array)")
    if sample_rate <= 0:
        raise ValueError("sample_rate must be positive")
    if pad_s < 0:
        raise ValueError("pad_s must not be negative")
    out = np.array(samples, dtype=np.float32, copy=True)
    n = out.shape[0]
    fade_len = int(round(FADE_S * sample_rate))
    # raised cosine from 1 down to 0 (exclusive of both ends' repeats)
    ramp_down = 0.5 * (1.0 + np.cos(np.pi * np.arange(1, fade_len + 1) / (fade_len + 1)))
    for start, end in _merged_sample_ranges(spans_s, sample_rate, pad_s, n):
        out[start:end] = 0.0
        # fade out just before the silence ...
        lo = max(0, start - fade_len)
        if start > lo:
            out[lo:start] *= ramp_down[fade_len - (start - lo):].astype(np.float32)
        # ... and fade back in just after it
        hi = min(n, end + fade_len)
        if hi > end:
            out[end:hi] *= ramp_down[::-1][: hi - end].astype(np.float32)
    return out
