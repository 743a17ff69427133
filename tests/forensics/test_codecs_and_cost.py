"""Phone codecs at low rates, and the cheaper embedding of issue 19.

AMR-NB at 4.75 kbit/s is the harshest channel in the issue: a CELP codec keeps a 10-pole
envelope, the pitch and the gains, not the waveform, so the mark's evidence after it grows
with the length of speech (docs/watermark.md, "AMR-NB"). These tests hold the figures the
benchmark reports: a longer clip is traced after AMR-NB 4.75k, a 3-s one after AMR-NB 12.2k,
and neither accuses anyone innocent. The embedding's speed-ups (no BLAS, per-process caches,
single precision, batched layer-two correlation) must not change what is embedded or found.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile

from sottovoce.forensics import patchwork
from sottovoce.forensics import watermark as wm
from sottovoce.forensics.tracing import mark_wav_bytes
from sottovoce.forensics.watermark import Mark, embed, trace_all
from tests.forensics.test_watermark import CANDIDATES, KEY, RATE, channels, speech_like

PHRASES = Path("/work/shared/corpus/speech-to-phrase-en/tests/wav/en")


def _real_speech(seconds: float) -> np.ndarray:
    # Utterances joined end to end, as the benchmark's phrase clips (real speech: the
    # numpy speech-like clips are harder for a CELP codec than speech is).
    parts, total = [], 0
    for path in sorted(PHRASES.glob("*.wav"))[3:]:
        x, rate = soundfile.read(path, dtype="float32", always_2d=True)
        assert rate == RATE
        parts.append(x.mean(axis=1))
        total += len(parts[-1])
        if total >= seconds * RATE:
            break
    return np.concatenate(parts)[: int(seconds * RATE)]


@pytest.mark.skipif(not PHRASES.is_dir(), reason="shared speech corpus not present")
def test_amr_nb_475_on_ten_seconds_of_real_speech_names_the_reviewer():
    truth = CANDIDATES[5]
    marked = embed(_real_speech(10.0), RATE, KEY, truth)
    found = trace_all(channels.amr_nb(marked, RATE, 4750), RATE, KEY, CANDIDATES)
    assert [r.mark for r in found] == [truth]
    assert found[0].layer == "spread"


def test_amr_nb_122_on_a_three_second_clip_names_the_reviewer():
    truth = CANDIDATES[9]
    marked = embed(speech_like(32), RATE, KEY, truth)
    found = trace_all(channels.amr_nb(marked, RATE, 12200), RATE, KEY, CANDIDATES)
    assert [r.mark for r in found] == [truth]


def test_amr_nb_unmarked_and_outsider_clips_accuse_nobody():
    clip = speech_like(33, seconds=6.0)
    assert trace_all(channels.amr_nb(clip, RATE, 4750), RATE, KEY, CANDIDATES) == []
    outsider = embed(clip, RATE, KEY, Mark("rev-outsider", "task-x"))
    assert trace_all(channels.amr_nb(outsider, RATE, 4750), RATE, KEY, CANDIDATES) == []


def _masking_threshold_by_matrices(power: np.ndarray) -> np.ndarray:
    # The textbook form (band sums and spreading as matrix products), in double precision.
    power = power.astype(np.float64)
    spread = (power @ wm._BIN_TO_BAND) @ wm._SPREADING.T
    geometric = np.log(power[:, 1:] + 1e-30).mean(axis=1)
    arithmetic = np.log(power[:, 1:].mean(axis=1) + 1e-30)
    tonality = np.clip(10 / np.log(10) * (geometric - arithmetic) / -60.0, 0.0, 1.0)[:, None]
    offset_db = tonality * (14.5 + np.arange(wm._N_BANDS)) + (1.0 - tonality) * 5.5
    threshold = spread * 10 ** (-(offset_db + wm.MARGIN_DB) / 10)
    return (threshold / wm._BINS_PER_BAND)[:, wm._BAND_OF_BIN]


def test_masking_threshold_without_blas_matches_the_matrix_form():
    host = speech_like(34).astype(np.float64)
    power = np.abs(wm._stft(host, wm._SHAPE_FRAME, np.float32)) ** 2
    fast = wm._masking_threshold(power)
    reference = _masking_threshold_by_matrices(power)
    assert fast.shape == reference.shape
    np.testing.assert_allclose(fast, reference, rtol=2e-4, atol=1e-30)


def _best_scores_one_group_at_a_time(resid_f, norms, spectra):
    best = np.zeros(len(spectra))
    for group, norm in zip(resid_f, norms):
        if norm == 0:
            continue
        corr = np.fft.irfft(np.einsum("ctp,tp->ct", spectra.conj(), group), n=patchwork.TILES, axis=1)
        best = np.maximum(best, np.abs(corr).max(axis=1) / norm)
    return best


def test_batched_layer_two_correlation_matches_the_plain_loop():
    marks = CANDIDATES[:12]
    received = embed(speech_like(35), RATE, KEY, marks[3]).astype(np.float64)
    resid, norms = patchwork.residuals(received)
    spectra = patchwork.pattern_spectra(KEY, [(m.reviewer_id, m.task_id) for m in marks])
    fast = patchwork.best_scores(resid, norms, spectra)
    np.testing.assert_allclose(fast, _best_scores_one_group_at_a_time(resid, norms, spectra), rtol=1e-4)
    assert int(np.argmax(fast)) == 3


def test_cached_tables_are_read_only_and_embedding_is_unchanged_by_the_cache():
    clip = speech_like(36)
    first = embed(clip, RATE, KEY, CANDIDATES[2])
    assert not wm._mark_period(KEY, CANDIDATES[2]).flags.writeable
    assert not patchwork._gain_table(KEY, CANDIDATES[2].reviewer_id, CANDIDATES[2].task_id).flags.writeable
    wm._mark_period.cache_clear()
    patchwork._gain_table.cache_clear()
    np.testing.assert_array_equal(embed(clip, RATE, KEY, CANDIDATES[2]), first)
    # The period is the sequence's waveform at unit RMS.
    assert wm._mark_period(KEY, CANDIDATES[2]).std() == pytest.approx(1.0, rel=1e-6)


def test_route_marking_keeps_the_wav_and_names_the_reviewer():
    from sottovoce.core import audio

    clip = speech_like(37)
    wav = audio.to_wav(clip, RATE)
    marked_wav = mark_wav_bytes(wav, KEY, CANDIDATES[7].reviewer_id, CANDIDATES[7].task_id)
    samples, rate = soundfile.read(io.BytesIO(marked_wav), dtype="float32")
    assert rate == RATE and len(samples) == len(clip)
    assert [r.mark for r in trace_all(samples, rate, KEY, CANDIDATES)] == [CANDIDATES[7]]


def _narrowband(x: np.ndarray) -> bool:
    return wm._is_narrowband(wm._smoothed_power(wm._stft(np.asarray(x, dtype=np.float64), wm._DETECT_FRAME)))


def test_telephone_band_audio_gets_the_low_band_profile_and_wideband_audio_does_not():
    clip = embed(speech_like(38), RATE, KEY, CANDIDATES[1])
    assert not _narrowband(clip)
    assert not _narrowband(channels.mp3_32k(clip, RATE))
    assert _narrowband(channels.resample_8k(clip, RATE))
    assert _narrowband(channels.amr_nb(clip, RATE, 4750))
    # The profile weighs the band where AMR-NB keeps the waveform, and nothing above 4 kHz.
    assert wm._NARROW_PROFILE[wm._DETECT_FREQS <= 900].min() == 1.0
    assert wm._NARROW_PROFILE[wm._DETECT_FREQS >= 4000].max() == 0.0
