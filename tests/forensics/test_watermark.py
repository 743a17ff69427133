"""Forensic watermark: it survives leak channels, names the right reviewer and task, and
accuses nobody when the mark is absent.

The clips are numpy-generated speech-like signals (harmonic syllables through formant
resonators, fricative noise bursts, pauses) so the tests run anywhere; one test also uses
a real recording when /work/shared is present.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import lfilter, resample_poly

from sottovoce.forensics import watermark as wm
from sottovoce.forensics.watermark import (
    PERIOD,
    Mark,
    detection_threshold,
    embed,
    trace,
)

RATE = 16_000
KEY = b"test-key-0123456789abcdef"
REAL_CLIP = Path(
    "/work/shared/corpus/picovoice-speech-to-intent/data/speech/clean/"
    "0075d273-51bb-47cb-b323-4437bd0de029.wav"
)


def _load_channels():
    # The attack simulations live with the benchmark; load them by path (benchmarks/ is not
    # a package) so the tests and the benchmark exercise the same channels.
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "channels.py"
    spec = importlib.util.spec_from_file_location("watermark_channels", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


channels = _load_channels()


def _resonator(freq: float, bandwidth: float) -> tuple[np.ndarray, np.ndarray]:
    r = np.exp(-np.pi * bandwidth / RATE)
    return np.array([1 - r]), np.array([1, -2 * r * np.cos(2 * np.pi * freq / RATE), r * r])


def speech_like(seed: int, seconds: float = 3.0) -> np.ndarray:
    """Syllables of voiced harmonics shaped by random formants, fricative noise and pauses."""
    rng = np.random.default_rng(seed)
    pieces = []
    while sum(map(len, pieces)) < seconds * RATE:
        n = int(rng.uniform(0.12, 0.3) * RATE)
        kind = rng.choice(["voiced", "voiced", "fricative", "pause"], p=[0.35, 0.35, 0.15, 0.15])
        t = np.arange(n) / RATE
        if kind == "voiced":
            f0 = rng.uniform(95, 220) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(2, 5) * t))
            phase = 2 * np.pi * np.cumsum(f0) / RATE
            x = sum(np.sin(h * phase) / h for h in range(1, 30))
            x = x + 0.1 * rng.standard_normal(n)  # aspiration: real voicing is never purely periodic
            for formant, bw in zip(rng.uniform([300, 900, 2200], [900, 2200, 3400]), (80, 120, 200)):
                b, a = _resonator(formant, bw)
                x = x + 3 * lfilter(b, a, x)
        elif kind == "fricative":
            x = lfilter([1, -0.95], [1], rng.standard_normal(n)) * 0.3
        else:
            x = 0.001 * rng.standard_normal(n)
        envelope = np.sin(np.pi * np.arange(n) / n) ** 0.5  # smooth syllable on/offsets
        pieces.append(x * envelope * rng.uniform(0.3, 1.0))
    x = np.concatenate(pieces)[: int(seconds * RATE)]
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def pool(n_reviewers: int = 10, tasks_each: int = 4) -> list[Mark]:
    return [Mark(f"rev-{r}", f"task-{r}-{t}") for r in range(n_reviewers) for t in range(tasks_each)]


CANDIDATES = pool()


@pytest.mark.parametrize("attack", list(channels.ATTACKS))
@pytest.mark.parametrize("seed", [1, 2])
def test_trace_names_the_reviewer_after_each_channel(attack, seed):
    rng = np.random.default_rng(seed)
    truth = CANDIDATES[(7 * seed) % len(CANDIDATES)]
    marked = embed(speech_like(seed), RATE, KEY, truth)
    received = channels.ATTACKS[attack](marked, RATE, rng)
    found = trace(received, RATE, KEY, CANDIDATES)
    assert found is not None, attack
    assert found.mark == truth
    assert found.score >= detection_threshold(len(CANDIDATES))
    assert 0.999 < found.confidence <= 1.0


def test_unmarked_audio_accuses_nobody():
    rng = np.random.default_rng(3)
    many = pool(50, 4)
    t = np.arange(3 * RATE) / RATE
    innocent = [speech_like(100 + i) for i in range(8)] + [
        np.zeros(3 * RATE, dtype=np.float32),
        (0.1 * rng.standard_normal(3 * RATE)).astype(np.float32),
        (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),  # periodic host
        channels.mp3_32k(speech_like(200), RATE),
    ]
    for clip in innocent:
        assert trace(clip, RATE, KEY, many) is None


def test_innocent_scores_match_the_null_model():
    # An innocent candidate's score at one lag and drift is ~N(0, 1); the best over PERIOD
    # lags and 13 drift hypotheses is then around 4.5, nowhere near the threshold.
    folded = wm._folded_spectra(wm._whiten(speech_like(5).astype(np.float64)))
    spectra = np.stack([wm._sequence_spectrum(KEY, m) for m in pool(50, 4)])
    scores = wm._best_match(folded, spectra)[0]
    assert 3.8 < np.median(scores) < 5.2
    assert scores.max() < detection_threshold(len(spectra))


def test_wrong_key_finds_nothing():
    marked = embed(speech_like(4), RATE, KEY, CANDIDATES[3])
    assert trace(marked, RATE, b"another-key-0123456789", CANDIDATES) is None


def test_mark_outside_candidates_is_not_attributed():
    outsider = Mark("rev-outsider", "task-x")
    marked = embed(speech_like(6), RATE, KEY, outsider)
    assert trace(marked, RATE, KEY, CANDIDATES) is None
    assert trace(marked, RATE, KEY, CANDIDATES + [outsider]).mark == outsider


def test_right_task_among_the_same_reviewers_tasks():
    tasks = [Mark("rev-7", f"task-{i}") for i in range(30)]
    marked = embed(speech_like(7), RATE, KEY, tasks[17])
    received = channels.opus_16k(marked, RATE)
    assert trace(received, RATE, KEY, tasks).mark == tasks[17]


def test_polarity_inversion_and_gain_change_are_traced():
    marked = embed(speech_like(8), RATE, KEY, CANDIDATES[5])
    assert trace(-0.3 * marked, RATE, KEY, CANDIDATES).mark == CANDIDATES[5]


def test_offset_tracks_trimming():
    marked = embed(speech_like(9), RATE, KEY, CANDIDATES[2])
    whole = trace(marked, RATE, KEY, CANDIDATES)
    trimmed = trace(marked[RATE // 2 :], RATE, KEY, CANDIDATES)
    assert trimmed.offset_samples == (whole.offset_samples + RATE // 2) % PERIOD


@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 48_000])
def test_other_sample_rates(rate):
    clip = resample_poly(speech_like(10), rate, RATE).astype(np.float32)
    marked = embed(clip, rate, KEY, CANDIDATES[9])
    assert len(marked) == len(clip)
    assert trace(marked, rate, KEY, CANDIDATES).mark == CANDIDATES[9]
    if rate != RATE:  # and after conversion to the internal rate
        back = resample_poly(marked, RATE, rate).astype(np.float32)
        assert trace(back, RATE, KEY, CANDIDATES).mark == CANDIDATES[9]


def test_embed_keeps_length_dtype_and_peak():
    loud = speech_like(11)
    loud = (0.999 * loud / np.max(np.abs(loud))).astype(np.float32)
    for clip in (loud, loud[:12345], loud[:100]):
        marked = embed(clip, RATE, KEY, CANDIDATES[0])
        assert marked.shape == clip.shape
        assert marked.dtype == np.float32
        assert np.max(np.abs(marked)) <= 1.0
    assert embed(np.zeros(0, dtype=np.float32), RATE, KEY, CANDIDATES[0]).shape == (0,)


def test_mark_is_quiet_and_vanishes_in_silence():
    clip = speech_like(12)
    clip[RATE : 2 * RATE] = 0.0  # a second of digital silence
    mark = embed(clip, RATE, KEY, CANDIDATES[1]).astype(np.float64) - clip
    snr = 10 * np.log10(np.sum(clip.astype(np.float64) ** 2) / np.sum(mark**2))
    assert snr > 12
    # Deep inside the silence (away from the frames that overlap sound: 64 ms for layer
    # two's gain pattern) there is no mark.
    assert np.max(np.abs(mark[RATE + 1100 : 2 * RATE - 1100])) < 1e-6


def test_embed_is_deterministic_and_mark_specific():
    clip = speech_like(13)
    a = embed(clip, RATE, KEY, CANDIDATES[0])
    assert np.array_equal(a, embed(clip, RATE, KEY, CANDIDATES[0]))
    assert not np.array_equal(a, embed(clip, RATE, KEY, CANDIDATES[1]))


def test_sequence_derivation_is_frozen():
    # Clips leaked years from now must still trace: the key -> sequence derivation must not
    # change silently.  Update this digest only together with a new _DOMAIN version.
    spectrum = wm._sequence_spectrum(b"k" * 32, Mark("alice", "task-1"))
    signs = np.sign(np.concatenate([spectrum.real, spectrum.imag])).astype(np.int8)
    digest = hashlib.sha256(signs.tobytes()).hexdigest()
    assert digest == "df58f804fec54d45165ffe59cb21f924b8ad7758ebc715c1e8aab45a19f0ebac"
    # Field boundaries are unambiguous.
    assert not np.array_equal(
        wm._sequence_spectrum(KEY, Mark("ab", "c")), wm._sequence_spectrum(KEY, Mark("a", "bc"))
    )


def test_long_recording_is_searched_in_slices():
    # A leaked 25-s recording with the marked clip somewhere inside it, after MP3.
    rng = np.random.default_rng(17)
    marked = embed(speech_like(17, seconds=8.0), RATE, KEY, CANDIDATES[6])
    other = [speech_like(18, seconds=9.0), speech_like(19, seconds=8.0)]
    recording = np.concatenate([other[0], marked, other[1]])
    found = trace(recording, RATE, KEY, CANDIDATES)
    assert found.mark == CANDIDATES[6]
    # The clip starts 9 s in, so the recording starts 9 s earlier in the mark's period.
    expected = (trace(marked, RATE, KEY, CANDIDATES).offset_samples - 9 * RATE) % PERIOD
    assert found.offset_samples == expected
    assert trace(channels.mp3_32k(recording, RATE, rng), RATE, KEY, CANDIDATES).mark == CANDIDATES[6]
    assert trace(np.concatenate(other), RATE, KEY, CANDIDATES) is None


def test_threshold_grows_slowly_with_candidates_and_duration():
    assert 6.0 < detection_threshold(100) < detection_threshold(5000) < 7.5
    assert detection_threshold(500, 3.0) < detection_threshold(500, 30.0) < 7.5
    assert detection_threshold(500, 3.0, 0.01) < detection_threshold(500, 3.0)


@pytest.mark.parametrize("ppm", [-150, 120])
def test_clock_drift_is_searched(ppm):
    # A loudspeaker and a microphone never share a clock: the copy is slightly stretched.
    marked = embed(speech_like(16), RATE, KEY, CANDIDATES[4])
    up = 1_000_000 + ppm
    stretched = resample_poly(marked, up // 10, 100_000).astype(np.float32)
    found = trace(stretched, RATE, KEY, CANDIDATES)
    assert found.mark == CANDIDATES[4]
    # Without the drift search the score would fall to about a third.
    assert found.score > 0.7 * trace(marked, RATE, KEY, CANDIDATES).score


def test_no_candidates_and_bad_input():
    clip = speech_like(14)
    assert trace(clip, RATE, KEY, []) is None
    with pytest.raises(ValueError):
        embed(np.stack([clip, clip]), RATE, KEY, CANDIDATES[0])
    with pytest.raises(ValueError):
        embed((clip * 32767).astype(np.int16), RATE, KEY, CANDIDATES[0])
    with pytest.raises(ValueError):
        embed(clip, RATE, b"short", CANDIDATES[0])
    with pytest.raises(ValueError):
        trace(np.full(100, np.nan, dtype=np.float32), RATE, KEY, CANDIDATES)


@pytest.mark.skipif(not REAL_CLIP.exists(), reason="shared speech corpus not present")
def test_real_speech_through_loudspeaker_and_opus():
    import soundfile as sf

    x, rate = sf.read(REAL_CLIP, dtype="float32")
    clip = x[len(x) // 2 - 3 * rate // 2 :][: 3 * rate]
    marked = embed(clip, rate, KEY, CANDIDATES[11])
    rng = np.random.default_rng(15)
    for attack in (channels.speaker_to_mic, channels.opus_16k):
        received = attack(marked, rate, rng)
        assert trace(received, rate, KEY, CANDIDATES).mark == CANDIDATES[11]
