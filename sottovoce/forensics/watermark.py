"""Inaudible forensic watermark that names the reviewer (and task) a clip was served to.

Purpose
-------
Every clip the server hands to a human reviewer gets a keyed spread-spectrum mark derived
from ``HMAC-SHA256(key, reviewer_id, task_id)``, shaped to sit below the clip's own masking
threshold (a simple psychoacoustic model).  If a clip leaks, ``trace`` correlates it against
the (reviewer, task) pairs the server actually served and names the one whose mark is
present, or returns ``None``.  ``docs/watermark.md`` has the design and measured figures.

What it protects against
------------------------
* Casual and careless leaks: re-encoding (MP3 32 kbit/s, Opus 16 kbit/s, GSM, AMR-NB on
  clips of about 10 s of speech or more), resampling to
  telephone rate (8 kHz), added noise, trimming, gain and polarity changes, and playing the
  clip through a loudspeaker into a microphone in an ordinary room, including the clock
  mismatch between the two devices (searched up to +-200 ppm).
* "Disguises": tempo and speed changes (+-5 %) and pitch shifts (+-125 cents), found by
  a second layer (``patchwork.py``) that marks the power spectrum on a log-frequency grid.
* Collusion by averaging or splicing copies: every reviewer whose mark is present is listed
  (``trace_all``); two colluders are named reliably, three mostly (docs/watermark.md).
* False accusation: an innocent candidate's correlation is a Rademacher sum with a known
  variance in both layers, so the detection thresholds bound the probability that *any*
  innocent candidate is named, for *any* audio, at ``FALSE_ACCUSATION`` (0.1 %, half per
  layer), without assumptions about the host signal.  The bound assumes that
  HMAC-SHA256/SHAKE-256 behave as random functions and that whoever made the audio did not
  know the key.

What it does not protect against
--------------------------------
* Collusion by subtraction: two reviewers holding differently marked copies of the same clip
  can subtract them to see ``mark_a - mark_b`` and remove both; four or more averaged copies.
* Estimation attacks: layer one repeats every ``PERIOD`` samples and layer two every 3 s, so
  someone who collects many clips marked for the same (reviewer, task) could estimate and
  subtract them.
* Low-rate speech codecs on short clips: after AMR-NB 4.75 kbit/s only layer one's low band
  survives, and its evidence grows with the length of speech (3-s clips are mostly missed,
  10 s are traced; docs/watermark.md).  Time or pitch changes beyond the searched ranges,
  very reverberant re-recording, stacked codecs, re-speaking.
* Leaks of the transcript text rather than the audio.
* Anyone who knows the key can forge or remove marks: keep it in the server's secret store.
A watermark hit is evidence for an investigation, not proof on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import uniform_filter1d
from scipy.signal import resample_poly

from sottovoce.forensics import patchwork

__all__ = [
    "FALSE_ACCUSATION",
    "Mark",
    "TraceResult",
    "detection_threshold",
    "embed",
    "trace",
    "trace_all",
]

RATE = 16_000  # all processing happens at 16 kHz; other rates are resampled
PERIOD = 4096  # the mark repeats every 256 ms, so any 256 ms stretch carries all of it
# 300 Hz - 3.4 kHz survives telephone channels and 8 kHz resampling; 3.4 - 6 kHz adds
# detection power whenever the channel keeps it and costs almost nothing when it does not
# (removed bins carry no energy, so the detector gives them no weight).
BAND_HZ = (300.0, 6000.0)
MARGIN_DB = 6.0  # the mark sits this far below the estimated masking threshold
FALSE_ACCUSATION = 1e-3  # bound on P(any innocent candidate is named)

_SHAPE_FRAME = 256  # 16 ms frames: short enough that the mark does not pre-echo onsets
_MAX_RISE_DB = 6.0  # pre-echo guard: frame-to-frame rise of the mark's level
_DETECT_FRAME = 512  # 32 ms frames: steadier power estimates for whitening
_SPREAD_BINS = 5  # the detector's power estimate is smoothed over ~150 Hz
_NOISE_PERCENTILE = 10  # quietest frames estimate the background noise for the detector
_DOMAIN = b"sottovoce/forensic-watermark/v1"
_BATCH = 256  # candidates correlated per FFT batch (bounds memory at ~8 MB)
_MAX_DRIFT = 200e-6  # clock mismatch searched: loudspeaker/microphone re-recordings drift
_DRIFT_STEP = 1.5  # samples of accumulated drift between neighbouring hypotheses
_MAX_SEGMENT = 10 * RATE  # longer recordings are searched in slices of at most 10 s


@dataclass(frozen=True)
class Mark:
    """Who a clip was served to."""

    reviewer_id: str
    task_id: str


@dataclass(frozen=True)
class TraceResult:
    """The candidate whose mark was found.

    ``score`` is the normalised correlation (standard deviations above an innocent
    candidate's); ``confidence`` is 1 minus the bound on the probability that any innocent
    candidate scores this high; ``offset_samples`` is the position within the mark's
    repetition period at which the clip starts, in the input's samples (the period is
    ``PERIOD`` samples at 16 kHz, 256 ms, so trimming is only known modulo that; 0 when the
    mark was found by layer two); ``layer`` says which layer found it ("spread" or
    "patchwork").
    """

    mark: Mark
    confidence: float
    score: float
    offset_samples: int
    layer: str = "spread"
    log_p: float = 0.0  # log of the bound on P(an innocent candidate scores this high)

    @property
    def confidence_key(self) -> float:
        # Ranks matches across layers (their scores are on different scales): smaller
        # bound, stronger evidence.
        return -self.log_p


def _band_bins(n_fft: int) -> np.ndarray:
    freqs = np.fft.rfftfreq(n_fft, 1 / RATE)
    return np.flatnonzero((freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1]))


_SEQ_BINS = _band_bins(PERIOD)  # bins of the periodic sequence that carry the mark


# --- keyed sequences -------------------------------------------------------------------------


def _field(value: str) -> bytes:
    # Length-prefixed so that ("ab", "c") and ("a", "bc") never collide.
    data = value.encode("utf-8")
    return len(data).to_bytes(4, "big") + data


def _sequence_spectrum(key: bytes, mark: Mark) -> np.ndarray:
    """The mark's spectrum: unit magnitude in band, one of four phases per bin.

    Bits come from SHAKE-256 keyed via HMAC, not from numpy's PRNG, whose streams may change
    between numpy versions: a clip marked today must still trace years from now.
    """
    seed = hmac.new(key, _DOMAIN + _field(mark.reviewer_id) + _field(mark.task_id), hashlib.sha256)
    n_bits = 2 * len(_SEQ_BINS)
    stream = hashlib.shake_256(seed.digest()).digest((n_bits + 7) // 8)
    signs = 1.0 - 2.0 * np.unpackbits(np.frombuffer(stream, dtype=np.uint8))[:n_bits]
    spectrum = np.zeros(PERIOD // 2 + 1, dtype=np.complex128)
    spectrum[_SEQ_BINS] = (signs[0::2] + 1j * signs[1::2]) / math.sqrt(2)
    return spectrum


def _period(spectrum: np.ndarray) -> np.ndarray:
    """One period of the sequence as a waveform, unit RMS."""
    return np.fft.irfft(spectrum, n=PERIOD) * (PERIOD / math.sqrt(2 * len(_SEQ_BINS)))


@lru_cache(maxsize=1024)
def _mark_period(key: bytes, mark: Mark) -> np.ndarray:
    """One period of ``mark``'s carrier, cached per process: a reviewer's clips of one task
    share it (read-only)."""
    period = _period(_sequence_spectrum(key, mark))
    period.setflags(write=False)
    return period


def _start_phase(key: bytes, samples: np.ndarray) -> int:
    # A per-clip phase (derived from the audio, so embedding stays deterministic) keeps
    # clips marked for the same pair from lining up when an attacker stacks them.
    # Every 8th sample is plenty to tell clips apart, and an eighth of the hashing.
    digest = hmac.new(key, _DOMAIN + b"phase" + np.ascontiguousarray(samples[::8]).tobytes(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % PERIOD


# --- signal plumbing -------------------------------------------------------------------------


def _as_mono_float(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError("samples must be a mono 1-D array")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError("samples must be floating point in [-1, 1]")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples must be finite")
    return x.astype(np.float64)


def _check_args(sample_rate: int, key: bytes) -> None:
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError("sample_rate must be a positive integer")
    if not isinstance(key, bytes) or len(key) < 16:
        raise ValueError("key must be at least 16 bytes")


def _resample(x: np.ndarray, rate_from: int, rate_to: int) -> np.ndarray:
    if rate_from == rate_to:
        return x
    rate_from, rate_to = int(rate_from), int(rate_to)
    g = math.gcd(rate_from, rate_to)
    return resample_poly(x, rate_to // g, rate_from // g)


def _window(frame: int) -> np.ndarray:
    # sqrt-Hann for analysis and synthesis at 50 % overlap reconstructs exactly.
    return np.sqrt(np.hanning(frame + 1)[:-1])


def _stft(x: np.ndarray, frame: int, dtype: type = np.float64) -> np.ndarray:
    hop = frame // 2
    padded: np.ndarray = np.pad(x.astype(dtype, copy=False), (hop, hop + (-len(x)) % hop))
    # scipy.fft computes float32 input in single precision: embedding uses that (it is in
    # the reviewer's hot path; the mark's shape does not need more precision).
    return scipy.fft.rfft(sliding_window_view(padded, frame)[::hop] * _window(frame).astype(dtype), axis=1)


def _istft(spec: np.ndarray, length: int) -> np.ndarray:
    frame = 2 * (spec.shape[1] - 1)
    hop = frame // 2
    frames = scipy.fft.irfft(spec, n=frame, axis=1) * _window(frame).astype(spec.real.dtype)
    # With hop = frame/2, output block i is the first half of frame i plus the second
    # half of frame i-1.
    blocks = np.zeros((len(frames) + 1, hop), dtype=frames.dtype)
    blocks[:-1] += frames[:, :hop]
    blocks[1:] += frames[:, hop:]
    return blocks.reshape(-1)[hop : hop + length]


def _smoothed_power(spec: np.ndarray) -> np.ndarray:
    return uniform_filter1d(np.abs(spec) ** 2, _SPREAD_BINS, axis=1, mode="nearest")


# --- embedding -------------------------------------------------------------------------------


def _bark(freq_hz: np.ndarray) -> np.ndarray:
    """Critical-band rate (Zwicker & Terhardt)."""
    return 13.0 * np.arctan(0.00076 * freq_hz) + 3.5 * np.arctan((freq_hz / 7500.0) ** 2)


def _spreading_matrix(n_bands: int) -> np.ndarray:
    """Schroeder's spreading function between one-Bark bands, [maskee, masker], as power."""
    dz = np.arange(n_bands)[:, None] - np.arange(n_bands)[None, :] + 0.474
    return 10 ** ((15.81 + 7.5 * dz - 17.5 * np.sqrt(1.0 + dz**2)) / 10)


_SHAPE_BINS = _band_bins(_SHAPE_FRAME)
_BAND_OF_BIN = np.floor(_bark(np.fft.rfftfreq(_SHAPE_FRAME, 1 / RATE))).astype(int)
_N_BANDS = int(_BAND_OF_BIN.max()) + 1
_BIN_TO_BAND = (_BAND_OF_BIN[:, None] == np.arange(_N_BANDS)[None, :]).astype(float)
_BINS_PER_BAND = _BIN_TO_BAND.sum(axis=0)
_SPREADING = _spreading_matrix(_N_BANDS)
# Bark bands are runs of neighbouring bins (the Bark scale is monotonic): band energies are
# sums over runs (np.add.reduceat), not a matrix product.  Embedding is in the reviewer's hot
# path, and a BLAS call on these small matrices can cost milliseconds when BLAS spreads it
# over the cores of a busy server (measured: 0.02 ms alone, up to 9 ms on the shared machine).
_BAND_STARTS = np.flatnonzero(np.diff(_BAND_OF_BIN, prepend=-1))
_SPREADING_T32 = np.ascontiguousarray(_SPREADING.T, dtype=np.float32)
_OFFSET_TONAL = (14.5 + np.arange(_N_BANDS)).astype(np.float32)
assert len(_BAND_STARTS) == _N_BANDS


def _masking_threshold(power: np.ndarray) -> np.ndarray:
    """Per-bin power a noise-like mark may have: MARGIN_DB under the masked threshold.

    ``power`` is the host's STFT power (frames x bins).  After Johnston (1988): band
    energies are spread across critical bands; the masked threshold sits 14.5 + z dB below
    tonal maskers and 5.5 dB below noise-like ones, mixed by the frame's spectral flatness.
    Only simultaneous masking is used: temporal masking would allow more, but is easy to
    overestimate.
    """
    power = power.astype(np.float32, copy=False)
    bands = np.add.reduceat(power, _BAND_STARTS, axis=1)
    # Spreading across bands: einsum without BLAS (see _BAND_STARTS).
    spread = np.einsum("fb,bc->fc", bands, _SPREADING_T32)
    # Spectral flatness (geometric / arithmetic mean, in dB): -60 dB counts as fully tonal.
    geometric = np.log(power[:, 1:] + np.float32(1e-30)).mean(axis=1)
    arithmetic = np.log(power[:, 1:].mean(axis=1) + np.float32(1e-30))
    flatness_db = np.float32(10 / np.log(10)) * (geometric - arithmetic)
    tonality = np.clip(flatness_db / np.float32(-60.0), 0.0, 1.0)[:, None]
    offset_db = tonality * _OFFSET_TONAL + (1.0 - tonality) * np.float32(5.5)
    threshold = spread * np.exp(np.float32(-math.log(10) / 10) * (offset_db + np.float32(MARGIN_DB)))
    return (threshold / _BINS_PER_BAND.astype(np.float32))[:, _BAND_OF_BIN]


def _shape(carrier: np.ndarray, host: np.ndarray) -> np.ndarray:
    """Scale the carrier, bin by bin, to MARGIN_DB below the host's masking threshold.

    The gain is real and positive per bin, so the shaped mark stays positively correlated
    with the plain carrier, which is all the detector needs; the mark is loud where speech
    hides it and vanishes in silence.
    """
    # The carrier repeats every PERIOD samples, so its STFT repeats every PERIOD / hop frames:
    # transform one period (wrapped) and tile it, instead of the whole clip.
    hop = _SHAPE_FRAME // 2
    if len(carrier) >= PERIOD + hop:
        n_frames = -(-len(carrier) // hop) + 1  # as _stft frames it
        # Frame j holds carrier[(j - 1) * hop : (j + 1) * hop], wrapped periodically.
        wrapped = np.concatenate([carrier[PERIOD - hop : PERIOD], carrier[: PERIOD + hop]]).astype(np.float32)
        one = scipy.fft.rfft(
            sliding_window_view(wrapped, _SHAPE_FRAME)[::hop][: PERIOD // hop] * _window(_SHAPE_FRAME).astype(np.float32),
            axis=1,
        )
        carrier_spec = one[np.arange(n_frames) % (PERIOD // hop)]
    else:
        carrier_spec = _stft(carrier, _SHAPE_FRAME, np.float32)
    # Expected carrier power per in-band bin: the carrier is flat noise, so one number does.
    level = np.mean(np.abs(carrier_spec[:, _SHAPE_BINS]) ** 2)
    allowed = _masking_threshold(np.abs(_stft(host, _SHAPE_FRAME, np.float32)) ** 2)
    # Pre-echo guard: a frame's mark spreads over the whole 16 ms frame, so at an onset it
    # would start before the sound that masks it, and backward masking is weak.  A frame's
    # mark may therefore rise at most _MAX_RISE_DB above what the previous frame allowed.
    allowed[1:] = np.minimum(allowed[1:], allowed[:-1] * 10 ** (_MAX_RISE_DB / 10))
    gain = np.zeros(carrier_spec.shape, dtype=np.float32)
    gain[:, _SHAPE_BINS] = np.sqrt(allowed[:, _SHAPE_BINS] / level)
    return _istft(carrier_spec * gain, len(host))


def embed(samples: np.ndarray, sample_rate: int, key: bytes, mark: Mark) -> np.ndarray:
    """Return ``samples`` with an inaudible mark naming ``mark`` added.

    Same length as the input, float32, clipped to [-1, 1].  Deterministic for a given
    (audio, key, mark).
    """
    _check_args(sample_rate, key)
    x = _as_mono_float(samples)
    if len(x) == 0:
        return x.astype(np.float32)
    host = _resample(x, sample_rate, RATE)
    carrier = np.resize(np.roll(_mark_period(key, mark), -_start_phase(key, x)), len(host))
    # Layer two (patchwork.py): a keyed gain pattern on the host's own spectrum, for what
    # layer one cannot survive (tempo, speed and pitch changes).
    patch = patchwork.mark16(host, key, mark.reviewer_id, mark.task_id)
    watermark = _resample(_shape(carrier, host) + patch, RATE, sample_rate)
    watermark = np.pad(watermark, (0, max(0, len(x) - len(watermark))))[: len(x)]
    return np.clip(x + watermark, -1.0, 1.0).astype(np.float32)


# --- detection -------------------------------------------------------------------------------


_DETECT_BINS = _band_bins(_DETECT_FRAME)
_DETECT_FREQS = np.fft.rfftfreq(_DETECT_FRAME, 1 / RATE)
# Narrowband audio (nothing above 4 kHz: 8-kHz telephone audio, GSM, AMR-NB) is correlated
# with this frequency profile on top of the whitening.  A CELP codec (AMR-NB) reproduces the
# waveform, and so the mark, mostly at low frequencies: measured after AMR-NB 4.75 kbit/s,
# the mark's evidence per band falls from 300 Hz to nothing at 3.4 kHz, while the codec's
# error does not, so the matched filter weighs the low band up (docs/watermark.md, "AMR-NB").
# Choosing the weights from the audio alone leaves the false-accusation bound as it is.
_NARROW_PROFILE = np.interp(_DETECT_FREQS, [300, 900, 1600, 3000, 3400, 4000], [1.0, 1.0, 0.75, 0.45, 0.25, 0.0])
_NARROW_TEST = (_DETECT_FREQS >= 4200) & (_DETECT_FREQS <= 6000)
_SPEECH_BAND = (_DETECT_FREQS >= 300) & (_DETECT_FREQS <= 3400)
_NARROW_RATIO = 1e-3  # power above 4.2 kHz under -30 dB of the 300-3400 Hz power


def _is_narrowband(power: np.ndarray) -> bool:
    return bool(power[:, _NARROW_TEST].sum() < _NARROW_RATIO * power[:, _SPEECH_BAND].sum())


def _whiten(received: np.ndarray) -> np.ndarray:
    return _whiten_checked(received)[0]


def _whiten_checked(received: np.ndarray) -> tuple[np.ndarray, bool]:
    """Suppress the host before correlating; also says whether the audio is narrowband.

    The host is the main "noise" the mark has to beat and its spectrum is wildly uneven, so
    each time-frequency bin is weighted by (expected mark level) / (received power), the
    matched-filter weight: ~1/|host| where the host dominates (the mark follows the host's
    masking threshold, roughly a fixed fraction of the host there), ~0 in pauses, where
    there is background noise but no mark.
    """
    spec = _stft(received, _DETECT_FRAME)
    power = _smoothed_power(spec)
    noise = np.percentile(power, _NOISE_PERCENTILE, axis=0)
    host_level = np.sqrt(np.maximum(power - noise, 0.0))
    weight = np.zeros(spec.shape)
    eps = 1e-12 * max(float(power.max()), 1e-30)
    bins = _DETECT_BINS
    weight[:, bins] = host_level[:, bins] / (power[:, bins] + eps)
    narrow = _is_narrowband(power)
    if narrow:
        weight *= _NARROW_PROFILE
    return _istft(spec * weight, len(received)), narrow


def _drift_hypotheses(n_samples: int) -> np.ndarray:
    """Relative clock errors to try, within +-_MAX_DRIFT.

    Neighbouring hypotheses differ by _DRIFT_STEP samples of drift accumulated over the
    clip, so the true drift is always within ~0.75 samples of one of them: little enough
    that the mark's highest frequencies still add up coherently.
    """
    half = int(_MAX_DRIFT * n_samples / _DRIFT_STEP)
    return np.arange(-half, half + 1) * (_DRIFT_STEP / max(n_samples, 1))


def _segments(n_samples: int) -> list[tuple[int, int]]:
    """Equal slices of at most _MAX_SEGMENT samples: the drift search grows with length, so
    long recordings are searched slice by slice."""
    count = max(1, -(-n_samples // _MAX_SEGMENT))
    edges = np.linspace(0, n_samples, count + 1).astype(int)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))


def _fold(x: np.ndarray) -> np.ndarray:
    """Spectrum of one slice summed modulo PERIOD, one row per drift hypothesis.

    Summing modulo PERIOD adds up every repetition of the periodic mark, so one circular
    correlation per candidate covers all offsets (trimming, codec delay).  Under clock drift
    the k-th repetition arrives k * PERIOD * drift samples late; undoing that delay (a phase
    ramp over frequency) before summing keeps the repetitions aligned.
    """
    blocks = np.fft.rfft(np.pad(x, (0, (-len(x)) % PERIOD)).reshape(-1, PERIOD), axis=1)
    blocks = blocks[:, _SEQ_BINS]  # the other bins never carry the mark
    starts = np.arange(len(blocks)) * PERIOD
    ramp = 2j * np.pi * _SEQ_BINS / PERIOD
    drifts = _drift_hypotheses(len(x))
    folded = np.zeros((len(drifts), PERIOD // 2 + 1), dtype=np.complex128)
    for row, drift in zip(folded, drifts):
        row[_SEQ_BINS] = np.sum(blocks * np.exp(np.outer(drift * starts, ramp)), axis=0)
    return folded


def _folded_spectra(x: np.ndarray) -> np.ndarray:
    """Folded spectra of every slice and drift hypothesis, stacked (see ``_row_starts``)."""
    return np.concatenate([_fold(x[start:stop]) for start, stop in _segments(len(x))])


def _zero_drift_rows(n_samples: int) -> np.ndarray:
    """The rows of ``_folded_spectra`` that assume no clock drift (one per slice)."""
    rows, offset = [], 0
    for start, stop in _segments(n_samples):
        count = len(_drift_hypotheses(stop - start))
        rows.append(offset + count // 2)
        offset += count
    return np.array(rows, dtype=int)


def _row_starts(n_samples: int) -> np.ndarray:
    """For each row of ``_folded_spectra``, the sample at which its slice starts."""
    return np.concatenate(
        [np.full(len(_drift_hypotheses(stop - start)), start) for start, stop in _segments(n_samples)]
    )


def _n_tests(n_candidates: int, n_samples: int) -> float:
    # Every (candidate, slice, drift hypothesis, lag, sign) is one chance for a false
    # accusation.
    return 2.0 * max(n_candidates, 1) * PERIOD * len(_row_starts(n_samples))


def detection_threshold(
    n_candidates: int, duration_s: float = 3.0, false_accusation: float = FALSE_ACCUSATION
) -> float:
    """Score above which layer one (spread spectrum) names a candidate, for a clip of
    ``duration_s`` seconds (half of ``false_accusation`` is layer two's).

    For an innocent candidate, the correlation at any one lag is a sum of independent +-1
    terms (its sequence bits) with a known variance, so by Hoeffding's inequality
    P(|score| >= t) <= 2 exp(-t^2 / 2) whatever the audio is.  A union bound over all
    candidates, lags and drift hypotheses gives the threshold.
    """
    return _threshold(_n_tests(n_candidates, round(duration_s * RATE)), false_accusation / _LAYERS)


def _threshold(n_tests: float, false_accusation: float = FALSE_ACCUSATION) -> float:
    # Solves n_tests * exp(-t^2 / 2) = false_accusation.
    return math.sqrt(2.0 * math.log(n_tests / false_accusation))


def _best_match(
    folded: np.ndarray, spectra: np.ndarray, only_rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each candidate spectrum (rows of ``spectra``): the best |score| over all rows of
    ``folded`` (slices and drift hypotheses; or only ``only_rows``) and lags, and the lag and
    row it was found at."""
    if only_rows is not None:
        best, lag, row = _best_match(folded[only_rows], spectra)
        return best, lag, only_rows[row]
    best = np.zeros(len(spectra))
    best_lag = np.zeros(len(spectra), dtype=int)
    best_row = np.zeros(len(spectra), dtype=int)
    # Single precision: four times faster, and rounding is ~1e-6 of a score.
    conj = spectra.conj().astype(np.complex64)
    rows = np.arange(len(spectra))
    for index, spectrum in enumerate(folded):
        # Std of an innocent candidate's correlation at any lag: sqrt(2 sum |F_k|^2) / PERIOD.
        sigma = math.sqrt(2.0 * np.sum(np.abs(spectrum) ** 2)) / PERIOD
        if sigma == 0.0:
            continue
        corr = np.fft.irfft(spectrum.astype(np.complex64) * conj, n=PERIOD, axis=1)
        lags = np.argmax(np.abs(corr), axis=1)
        scores = np.abs(corr[rows, lags]) / sigma
        better = scores > best
        best[better], best_lag[better], best_row[better] = scores[better], lags[better], index
    return best, best_lag, best_row


def _score_all(
    folded: np.ndarray, key: bytes, pool: list[Mark], zero_rows: np.ndarray | None = None
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Best score, lag and row of every candidate in ``pool`` over all rows, and (when
    ``zero_rows`` is given) over those rows only."""
    families: list[np.ndarray | None] = [None] if zero_rows is None else [None, zero_rows]
    parts: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = [[] for _ in families]
    for start in range(0, len(pool), _BATCH):
        spectra = np.stack([_sequence_spectrum(key, m) for m in pool[start : start + _BATCH]])
        for family, rows in zip(parts, families):
            family.append(_best_match(folded, spectra, rows))
    return [
        (np.concatenate([p[0] for p in family]), np.concatenate([p[1] for p in family]),
         np.concatenate([p[2] for p in family]))
        for family in parts
    ]


def trace(
    samples: np.ndarray, sample_rate: int, key: bytes, candidates: Iterable[Mark]
) -> TraceResult | None:
    """Name the candidate whose mark is strongest in ``samples``, or ``None``.

    ``candidates`` should be every (reviewer, task) pair the clip could have been served to;
    the false-accusation bound accounts for how many there are.  A polarity-inverted copy is
    found too (scores are two-sided).  ``trace_all`` lists every candidate found (copies
    averaged or spliced by colluders carry several marks).
    """
    found = trace_all(samples, sample_rate, key, candidates)
    return found[0] if found else None


def trace_all(
    samples: np.ndarray, sample_rate: int, key: bytes, candidates: Iterable[Mark]
) -> list[TraceResult]:
    """Every candidate whose mark is in ``samples``, strongest first (empty: nobody).

    Two independent searches run, each at half the false-accusation budget: layer one (the
    spread-spectrum mark: codecs, noise, loudspeaker, clock drift) and layer two (the
    patchwork mark, ``patchwork.py``: tempo, speed and pitch changes).  A candidate either
    finds is listed once, with its better score.  The probability that *any* innocent
    candidate is listed is at most FALSE_ACCUSATION, whatever else is in the audio (other
    reviewers' marks included), so copies averaged or spliced by colluders list them all.
    Cost grows with candidates x duration: about 0.5 s of CPU per 1,000 candidates per 3 s.
    """
    _check_args(sample_rate, key)
    x = _as_mono_float(samples)
    pool = list(dict.fromkeys(candidates))  # de-duplicate, keep order
    if not pool or len(x) == 0:
        return []
    received = _resample(x, sample_rate, RATE)
    found: dict[Mark, TraceResult] = {}
    for result in _trace_spread(received, sample_rate, key, pool) + _trace_patchwork(received, key, pool):
        if result.mark not in found or result.confidence_key > found[result.mark].confidence_key:
            found[result.mark] = result
    return sorted(found.values(), key=lambda r: r.confidence_key, reverse=True)


_LAYERS = 2  # the false-accusation budget is split evenly between the two layers


def _layer_tests(layer: str, n_candidates: int, n_samples: int) -> float:
    if layer == "spread":
        return _n_tests(n_candidates, n_samples)
    return 2.0 * max(n_candidates, 1) * patchwork.n_hypotheses(n_samples)


def _confidence(tests: float, score: float) -> float:
    # 1 - (Bonferroni-adjusted bound on P(an innocent candidate scores this high)).
    return 1.0 - min(1.0, _LAYERS * tests * math.exp(-(score**2) / 2.0))


def _trace_spread(received: np.ndarray, sample_rate: int, key: bytes, pool: list[Mark]) -> list[TraceResult]:
    """Layer one.  Narrowband audio (telephone band: GSM, AMR-NB) is searched twice, each
    search at half of layer one's budget: over every drift hypothesis, as any audio, and with
    no drift only (a codec does not stretch time), whose threshold is lower because it tests
    13 times fewer hypotheses on a 3-s clip; that is where AMR-NB's weak evidence is."""
    whitened, narrow = _whiten_checked(received)
    folded = _folded_spectra(whitened)
    zero_rows = _zero_drift_rows(len(received)) if narrow else None
    families = _score_all(folded, key, pool, zero_rows)
    split = len(families)
    family_tests = [_n_tests(len(pool), len(received))]
    if zero_rows is not None:
        family_tests.append(2.0 * max(len(pool), 1) * PERIOD * len(zero_rows))
    row_starts = _row_starts(len(received))
    best: dict[int, tuple[float, float, int, int]] = {}  # candidate -> (log_p, score, lag, row)
    for (scores, lags, rows), n_tests in zip(families, family_tests):
        tests = split * n_tests  # each family at 1/split of layer one's budget
        threshold = _threshold(tests, FALSE_ACCUSATION / _LAYERS)
        for hit in np.flatnonzero(scores >= threshold).tolist():
            score = float(scores[hit])
            log_p = math.log(_LAYERS * tests) - score**2 / 2.0
            if hit not in best or log_p < best[hit][0]:
                best[hit] = (log_p, score, int(lags[hit]), int(rows[hit]))
    found = []
    for index, (log_p, score, lag, row) in best.items():
        # The slice's first sample sits (-lag) into the mark's period; step back to the clip's.
        phase = (-lag - int(row_starts[row])) % PERIOD
        found.append(TraceResult(
            mark=pool[index],
            confidence=1.0 - min(1.0, math.exp(log_p)),
            score=score,
            offset_samples=round(phase * sample_rate / RATE),
            layer="spread",
            log_p=log_p,
        ))
    return found


def _trace_patchwork(received: np.ndarray, key: bytes, pool: list[Mark]) -> list[TraceResult]:
    resid, norms = patchwork.residuals(received)
    tests = _layer_tests("patchwork", len(pool), len(received))
    threshold = _threshold(tests, FALSE_ACCUSATION / _LAYERS)
    found = []
    for start in range(0, len(pool), _BATCH):
        batch = pool[start : start + _BATCH]
        scores = patchwork.best_scores(resid, norms, patchwork.pattern_spectra(key, [(m.reviewer_id, m.task_id) for m in batch]))
        for i in np.flatnonzero(scores >= threshold):
            score = float(scores[i])
            found.append(TraceResult(
                mark=batch[i],
                confidence=_confidence(tests, score),
                score=score,
                offset_samples=0,
                layer="patchwork",
                log_p=math.log(_LAYERS * tests) - score**2 / 2.0,
            ))
    return found
