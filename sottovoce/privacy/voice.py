"""Voice anonymization: make a clip sound like somebody else, keep the words.

The core is the McAdams-coefficient transform of the VoicePrivacy Challenge
2020/2022 baseline B2 (Patino et al., "Speaker anonymisation using the McAdams
coefficient", Interspeech 2021): per 20 ms frame (10 ms hop, Hann window,
overlap-add) an order-20 LPC model is fitted; the angle φ of every complex
pole is moved to φ**α, which shifts and squeezes the formants (vocal-tract
resonances) that speaker-verification systems rely on, and the LPC residual
(pitch, voicing, timing) is re-filtered through the new all-pole filter.

Everything is vectorized over frames (batched Levinson-Durbin, batched
companion-matrix eigenvalues, batched FIR residual) so a one-core render runs
far faster than real time; only the short all-pole re-synthesis filter runs per
frame. Length is preserved, so word times from the recognizer still line up
with the anonymized audio (see :mod:`sottovoce.privacy.audio_redaction`).

The product default is *not* B2 as published: B2 draws α from [0.5, 0.9]
(``VOICEPRIVACY_B2_ALPHA``), the default here from [0.7, 0.9], which keeps
more of the words and hides the speaker less. McAdams alone leaves pitch
untouched, and pitch is a strong speaker cue, so
:func:`anonymize` can first shift pitch and formants by a random ratio
(opt-in; the review render applies no pitch shift)
(WSOLA time-stretch + resampling, duration preserved). The measured privacy
and recognizer cost of both settings are in ``docs/privacy-eval.md``.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.signal import get_window, lfilter, resample_poly

LPC_ORDER = 20
FRAME_S = 0.020
HOP_S = 0.010
# Real poles sit at angle 0 or π; moving them would break conjugate symmetry.
_REAL_POLE_TOL = 1e-7
_PEAK_LIMIT = 0.99


def _frames(x: np.ndarray, win_len: int, hop: int) -> np.ndarray:
    """Overlapping frames (n_frames, win_len) of ``x``, which is already padded."""
    n_frames = 1 + (len(x) - win_len) // hop
    idx = np.arange(win_len)[None, :] + hop * np.arange(n_frames)[:, None]
    return x[idx]


def _lpc_batch(frames: np.ndarray, order: int) -> np.ndarray:
    """LPC polynomials a (n_frames, order+1), a[:, 0] == 1, autocorrelation method.

    Levinson-Durbin, vectorized across frames. The autocorrelation method
    guarantees minimum-phase (stable) polynomials.
    """
    n_fft = 1 << int(np.ceil(np.log2(2 * frames.shape[1])))
    spec = np.fft.rfft(frames, n_fft, axis=1)
    r = np.fft.irfft(spec.real**2 + spec.imag**2, n_fft, axis=1)[:, : order + 1]
    # A tiny white-noise floor (lag-0 lift) keeps silent frames well-conditioned.
    r[:, 0] = r[:, 0] * (1.0 + 1e-9) + 1e-12
    n = frames.shape[0]
    a = np.zeros((n, order + 1))
    a[:, 0] = 1.0
    err = r[:, 0].copy()
    for i in range(1, order + 1):
        acc = r[:, i] + np.einsum("nj,nj->n", a[:, 1:i], r[:, i - 1 : 0 : -1])
        k = -acc / err
        a_prev = a[:, 1:i].copy()
        a[:, 1:i] = a_prev + k[:, None] * a_prev[:, ::-1]
        a[:, i] = k
        err = err * (1.0 - k * k)
    return a


def _roots_batch(a: np.ndarray) -> np.ndarray:
    """Roots of each monic polynomial row via batched companion-matrix eigenvalues."""
    n, p1 = a.shape
    order = p1 - 1
    comp = np.zeros((n, order, order))
    comp[:, 0, :] = -a[:, 1:]
    comp[:, np.arange(1, order), np.arange(order - 1)] = 1.0
    return np.linalg.eigvals(comp)


def _poly_batch(roots: np.ndarray) -> np.ndarray:
    """Monic polynomial coefficients (n, order+1) from roots (n, order), real part."""
    n, order = roots.shape
    c = np.zeros((n, order + 1), dtype=complex)
    c[:, 0] = 1.0
    for j in range(order):
        # multiply by (z - r_j): shift-and-subtract, all frames at once
        c[:, 1 : j + 2] = c[:, 1 : j + 2] - roots[:, j : j + 1] * c[:, : j + 1]
    return c.real


def _warp_pole_angles(roots: np.ndarray, alpha: float) -> np.ndarray:
    """φ → sign(φ)·|φ|**α for complex poles; magnitudes (and so stability) kept."""
    ang = np.angle(roots)
    mag = np.abs(roots)
    complex_pole = (np.abs(ang) > _REAL_POLE_TOL) & (np.abs(ang) < np.pi - _REAL_POLE_TOL)
    new_ang = np.where(complex_pole, np.sign(ang) * np.abs(ang) ** alpha, ang)
    return mag * np.exp(1j * new_ang)


def _fir_batch(frames: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Residual e[n] = sum_k a[k] x[n-k] per frame (zero initial state), batched."""
    n_frames, length = frames.shape
    res = frames * a[:, :1]
    for k in range(1, a.shape[1]):
        res[:, k:] += a[:, k : k + 1] * frames[:, : length - k]
    return res


def _match_peak(y: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Scale ``y`` to the reference's peak level, never above _PEAK_LIMIT."""
    peak_y = float(np.max(np.abs(y))) if y.size else 0.0
    if peak_y == 0.0:
        return y
    target = min(float(np.max(np.abs(reference))), _PEAK_LIMIT)
    return y * (target / peak_y)


def mcadams(samples: np.ndarray, sample_rate: int, alpha: float) -> np.ndarray:
    """McAdams-coefficient anonymization of mono ``samples`` (any float dtype).

    Returns float32 audio of the same length, peak-normalized to the input's
    peak (at most 0.99). ``alpha`` = 1 reconstructs the input almost exactly;
    the challenge baseline uses 0.8, lower values move formants further.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError("mcadams expects mono audio (a 1-D array)")
    if not 0.0 < alpha <= 2.0:
        raise ValueError("alpha must be in (0, 2]")
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    win_len = int(round(FRAME_S * sample_rate))
    hop = int(round(HOP_S * sample_rate))
    # Periodic Hann at 50 % overlap sums to exactly 1, so sqrt-Hann analysis
    # times sqrt-Hann synthesis overlap-adds back to the input when α = 1.
    window = np.sqrt(get_window("hann", win_len, fftbins=True))
    # Pad so the first and last samples are covered by full frames (the
    # reference implementation drops the first frame; we do not).
    n_frames = int(np.ceil((n + win_len) / hop)) + 1
    padded = np.zeros((n_frames - 1) * hop + win_len)
    padded[win_len : win_len + n] = x
    frames = _frames(padded, win_len, hop) * window

    a = _lpc_batch(frames, LPC_ORDER)
    a_new = _poly_batch(_warp_pole_angles(_roots_batch(a), alpha))
    residual = _fir_batch(frames, a)

    out = np.zeros_like(padded)
    for m in range(frames.shape[0]):
        rec = lfilter([1.0], a_new[m], residual[m])
        out[m * hop : m * hop + win_len] += rec * window
    y = out[win_len : win_len + n]
    y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
    return _match_peak(y, x).astype(np.float32)


# Pitch/formant ratio range that anonymize() can add on top of McAdams.
# Off by default: it raises speaker-verification EER a lot but, measured with
# whisper tiny.en, costs far more recognizer accuracy than McAdams alone
# (docs/privacy-eval.md). Pass pitch_range=STRONG_PITCH_RANGE to opt in.
STRONG_PITCH_RANGE: tuple[float, float] = (1.15, 1.3)
PITCH_RANGE: tuple[float, float] | None = None
# The α range of VoicePrivacy 2020/2022 baseline B2 as published, offered next to the default.
VOICEPRIVACY_B2_ALPHA: tuple[float, float] = (0.5, 0.9)
WSOLA_FRAME_S = 0.030
WSOLA_HOP_S = 0.010
WSOLA_TOLERANCE_S = 0.008


def _wsola_stretch(x: np.ndarray, sample_rate: int, factor: float) -> np.ndarray:
    """Time-stretch ``x`` to about ``factor`` times its length, pitch unchanged.

    WSOLA (Verhelst & Roelands 1993): output frames are laid at a fixed hop;
    each input frame is taken near its nominal position, shifted within a
    small tolerance to best continue the previous frame (cross-correlation),
    which keeps pitch periods aligned and avoids phasiness.
    """
    win = int(round(WSOLA_FRAME_S * sample_rate))
    hop = int(round(WSOLA_HOP_S * sample_rate))
    tol = int(round(WSOLA_TOLERANCE_S * sample_rate))
    n_out = int(round(len(x) * factor))
    n_frames = n_out // hop + 2
    src = np.pad(x, (tol + win, tol + 2 * win + int(n_frames * hop / factor)))
    offset = tol + win  # index of x[0] inside src
    window = get_window("hann", win, fftbins=True)  # 3 frames per window: sums to 1.5
    out = np.zeros(n_frames * hop + win)
    prev = offset  # start of the previously copied input frame
    for m in range(n_frames):
        nominal = offset + int(round(m * hop / factor))
        if m == 0:
            pos = nominal
        else:
            # the input that would naturally follow the previous frame
            target = src[prev + hop : prev + hop + win]
            region = src[nominal - tol : nominal + tol + win]
            corr = np.correlate(region, target, mode="valid")
            # normalize by the candidate's energy so loud stretches don't win
            energy = np.concatenate(([0.0], np.cumsum(region * region)))
            norm = np.sqrt(energy[win:] - energy[:-win] + 1e-12)
            pos = nominal - tol + int(np.argmax(corr / norm))
        out[m * hop : m * hop + win] += src[pos : pos + win] * window
        prev = pos
    return out[:n_out] * (hop / window.sum())


def pitch_shift(samples: np.ndarray, sample_rate: int, ratio: float) -> np.ndarray:
    """Scale pitch and formants by ``ratio`` while keeping the length.

    Stretch in time by ``ratio`` (WSOLA), then resample back to the original
    number of samples: playback is ``ratio`` times faster, so every frequency
    moves by ``ratio`` and the duration (and word timing) is unchanged.
    """
    x = np.asarray(samples, dtype=np.float64)
    n = len(x)
    if n == 0 or ratio == 1.0:
        return x.astype(np.float32)
    stretched = _wsola_stretch(x, sample_rate, ratio)
    # linear-phase resampling of the stretched signal back to n points
    up, down = _rational(1.0 / ratio)
    y = resample_poly(stretched, up, down)
    if len(y) < n:
        y = np.pad(y, (0, n - len(y)))
    return y[:n].astype(np.float32)


def _rational(value: float, max_den: int = 100) -> tuple[int, int]:
    f = Fraction(value).limit_denominator(max_den)
    return f.numerator, f.denominator


def anonymize(
    samples: np.ndarray,
    sample_rate: int,
    rng: np.random.Generator,
    alpha_range: tuple[float, float] = (0.7, 0.9),
    pitch_range: tuple[float, float] | None = PITCH_RANGE,
) -> tuple[np.ndarray, dict]:
    """Anonymize a clip: McAdams, optionally after a random pitch/formant shift.

    Parameters are drawn per clip (McAdams coefficient from ``alpha_range``;
    pitch ratio from ``pitch_range``, raised or lowered with equal chance), so
    an attacker who anonymizes their own enrollment audio cannot reproduce the
    exact same voice. The default (``pitch_range=None``, α in [0.7, 0.9]) is
    McAdams only, narrower than B2's published [0.5, 0.9]
    (``alpha_range=VOICEPRIVACY_B2_ALPHA``); ``pitch_range=STRONG_PITCH_RANGE`` trades recognizer
    accuracy for more privacy.
    Returns float32 audio of the same length and the parameters used, for the
    audit trail. Keep those parameters away from reviewers: knowing the exact
    coefficient lets an attacker partly undo the transform (apply 1/alpha).
    """
    lo, hi = alpha_range
    if not 0.0 < lo <= hi <= 2.0:
        raise ValueError("alpha_range must satisfy 0 < low <= high <= 2")
    params: dict = {"method": "mcadams", "lpc_order": LPC_ORDER}
    x = np.asarray(samples, dtype=np.float32)
    if pitch_range is not None:
        p_lo, p_hi = pitch_range
        if not 1.0 <= p_lo <= p_hi <= 2.0:
            raise ValueError("pitch_range must satisfy 1 <= low <= high <= 2")
        ratio = float(rng.uniform(p_lo, p_hi))
        if rng.random() < 0.5:
            ratio = 1.0 / ratio
        x = pitch_shift(x, sample_rate, ratio)
        params.update(method="pitch+mcadams", pitch_ratio=round(ratio, 4))
    alpha = float(rng.uniform(lo, hi))
    params["alpha"] = round(alpha, 4)
    return mcadams(x, sample_rate, alpha), params
