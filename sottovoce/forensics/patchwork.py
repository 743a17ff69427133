"""The second watermark layer: a keyed gain pattern on log-frequency bands x 256-ms tiles.

Why a second layer (docs/watermark.md, "Time and pitch changes", has the argument and figures)
--------------------------------------------------------------------------------------------
The spread-spectrum layer (watermark.py) is a waveform: it adds up coherently only when the
received samples line up with the served ones to a fraction of a sample, so a tempo change
(WSOLA cuts the clip into ~80 ms pieces and moves each by up to ~15 ms), a speed change or a
pitch shift destroys it, and searching scale factors finely enough would cost thousands of
hypotheses per candidate.  This layer marks what those changes keep:

* the short-time *power spectrum* (tempo changes and WSOLA keep it; they move pieces in time);
* on a *log-frequency* axis, where speed and pitch changes (which multiply every frequency
  by the same factor) become a shift;
* in coarse time tiles (256 ms), much longer than WSOLA's jitter, so the pattern survives
  tempo changes once the detector searches a few time-scale factors.

Every 1/16-octave band (450 Hz - 6 kHz, 59 bands) of every 256-ms tile is raised or lowered
by ``DEPTH_DB`` according to keyed bits; the pattern repeats every ``TILES`` tiles (3.07 s).
The bands are far narrower than the ear's critical bands (1/4 - 1/3 octave), so each critical
band holds ~5 bands of random sign whose changes largely cancel: the excitation pattern the ear
sees moves by a fraction of ``DEPTH_DB``.

Detection searches time scale (tempo / speed +-6 %), time offset (trimming) and frequency shift
(+-2 semitones) and correlates the log-power residual with every candidate's pattern.  Given
the audio, an innocent candidate's correlation is again a Rademacher sum, so the same
Hoeffding + union bound as the first layer holds, with every hypothesis counted.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from functools import lru_cache

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

RATE = 16_000
DEPTH_DB = 2.0  # each band of a pair is raised / lowered by this much (trade-off: docs/watermark.md)
F_LO = 450.0
BANDS_PER_OCTAVE = 16
N_PAIRS = 29  # 58 bands: 450 Hz - 5.55 kHz
N_BANDS = 2 * N_PAIRS
TILE = 1024  # samples: 64 ms
TILES = 48  # the pattern repeats every 48 tiles (3.07 s)
_DOMAIN = b"sottovoce/forensic-watermark/patchwork/v1"

_EMBED_FRAME = 1024
_EMBED_HOP = 512
_DETECT_FRAME = 1024
_DETECT_HOP = 256  # 16 ms
_PHASES = 4  # sub-tile time offsets searched (16 ms apart); whole tiles come from an FFT
_SHIFT_STEP = 1.0 / 3.0  # bands (25 cents) between frequency-shift hypotheses
_MAX_SHIFT = 5  # steps: +-125 cents covers pitch +-100 cents and speed +-6 %
_MAX_SCALE = 0.05  # tempo / speed searched within +-5 %
_SCALE_STEP_TILES = 0.5  # neighbouring scale hypotheses drift a quarter tile apart over a slice
_ACTIVE_DB = 40.0  # frames quieter than this below the loudest carry no weight
_MAX_SEGMENT = 6 * RATE  # longer recordings are searched in slices


def _field(value: str) -> bytes:
    data = value.encode("utf-8")
    return len(data).to_bytes(4, "big") + data


def pattern(key: bytes, reviewer_id: str, task_id: str) -> np.ndarray:
    """+-1 per (tile, band pair), TILES x N_PAIRS, from SHAKE-256 keyed by HMAC (as layer one).

    +1 raises the lower band of the pair and lowers the upper one; -1 the opposite."""
    seed = hmac.new(key, _DOMAIN + _field(reviewer_id) + _field(task_id), hashlib.sha256).digest()
    n = TILES * N_PAIRS
    bits = np.unpackbits(np.frombuffer(hashlib.shake_256(seed).digest((n + 7) // 8), dtype=np.uint8))[:n]
    return (1.0 - 2.0 * bits).reshape(TILES, N_PAIRS)


def _band_of_freq(freqs: np.ndarray, shift: float = 0.0) -> np.ndarray:
    """Band index of each frequency (-1 outside), the band edges moved up by ``shift`` bands."""
    with np.errstate(divide="ignore"):
        pos = BANDS_PER_OCTAVE * np.log2(np.maximum(freqs, 1e-9) / F_LO) - shift
    band = np.floor(pos).astype(int)
    band[(pos < 0) | (band >= N_BANDS)] = -1
    return band


@lru_cache(maxsize=1)
def _embed_tables() -> tuple[np.ndarray, np.ndarray]:
    window = np.sqrt(np.hanning(_EMBED_FRAME + 1)[:-1]).astype(np.float32)
    band = _band_of_freq(np.fft.rfftfreq(_EMBED_FRAME, 1 / RATE))
    return window, band


@lru_cache(maxsize=4096)
def _gain_table(key: bytes, reviewer_id: str, task_id: str) -> np.ndarray:
    """Gain minus one per (tile, bin), float32, cached per process (read-only)."""
    _, band = _embed_tables()
    signs = np.repeat(pattern(key, reviewer_id, task_id), 2, axis=1) * np.tile([1.0, -1.0], N_PAIRS)
    gains_db = np.zeros((TILES, len(band)))
    inside = band >= 0
    gains_db[:, inside] = DEPTH_DB * signs[:, band[inside]]
    table = (10 ** (gains_db / 20) - 1.0).astype(np.float32)
    table.setflags(write=False)
    return table


def embed16(x: np.ndarray, key: bytes, reviewer_id: str, task_id: str) -> np.ndarray:
    """The gain-patterned version of ``x`` (16 kHz, same length, float64)."""
    return x + mark16(x, key, reviewer_id, task_id)


def mark16(x: np.ndarray, key: bytes, reviewer_id: str, task_id: str) -> np.ndarray:
    """What ``embed16`` adds to ``x``: float32, computed in single precision (it runs on
    every served clip; the pattern's gains do not need more precision)."""
    window, _ = _embed_tables()
    hop = _EMBED_HOP
    n = len(x)
    padded = np.pad(x.astype(np.float32, copy=False), (hop, hop + (-n) % hop))
    spec = scipy.fft.rfft(sliding_window_view(padded, _EMBED_FRAME)[::hop] * window, axis=1)
    # Frame i is centred on sample i * hop of the clip; its tile is where that centre falls.
    tile = (np.arange(len(spec)) * hop // TILE) % TILES
    out = scipy.fft.irfft(spec * _gain_table(key, reviewer_id, task_id)[tile], n=_EMBED_FRAME, axis=1) * window
    blocks = np.zeros((len(out) + 1, hop), dtype=np.float32)
    blocks[:-1] += out[:, :hop]
    blocks[1:] += out[:, hop:]
    return blocks.reshape(-1)[hop : hop + n]


# --- detection -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _shift_matrices() -> np.ndarray:
    """shifts x bins x bands, 0/1: which bins make up each band under each shift hypothesis."""
    freqs = np.fft.rfftfreq(_DETECT_FRAME, 1 / RATE)
    mats = np.zeros((2 * _MAX_SHIFT + 1, len(freqs), N_BANDS))
    for i, s in enumerate(range(-_MAX_SHIFT, _MAX_SHIFT + 1)):
        band = _band_of_freq(freqs, s * _SHIFT_STEP)
        ok = band >= 0
        mats[i, np.flatnonzero(ok), band[ok]] = 1.0
    return mats


def _power(x: np.ndarray) -> np.ndarray:
    window = np.hanning(_DETECT_FRAME + 1)[:-1]
    padded = np.pad(x, (_DETECT_FRAME // 2, _DETECT_FRAME // 2 + (-len(x)) % _DETECT_HOP))
    frames = sliding_window_view(padded, _DETECT_FRAME)[::_DETECT_HOP][: -(-len(x) // _DETECT_HOP)] * window
    return np.abs(np.fft.rfft(frames, axis=1)) ** 2


def _scales(n_samples: int) -> np.ndarray:
    step = _SCALE_STEP_TILES * TILE / max(n_samples, TILE)
    half = math.ceil(_MAX_SCALE / step)
    return 1.0 + np.arange(-half, half + 1) * step


def _segments(n_samples: int) -> list[tuple[int, int]]:
    count = max(1, -(-n_samples // _MAX_SEGMENT))
    edges = np.linspace(0, n_samples, count + 1).astype(int)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))


def n_hypotheses(n_samples: int) -> int:
    """Hypotheses (slice, scale, time offset, frequency shift) one candidate is tested under."""
    per = (2 * _MAX_SHIFT + 1) * _PHASES * TILES
    return sum(len(_scales(b - a)) * per for a, b in _segments(n_samples))


def residuals(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidate-free part of detection, for every (slice, scale, phase, shift) group: the
    pair differences of log band power, TILES x N_PAIRS, in the FFT domain over tiles.

    Returns complex (groups, TILES // 2 + 1, N_PAIRS) and the real per-group norms.
    """
    out, norms = [], []
    for start, stop in _segments(len(x)):
        f, n = _residuals_slice(x[start:stop])
        out.append(f)
        norms.append(n)
    return np.concatenate(out), np.concatenate(norms)


def _residuals_slice(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    power = _power(x)
    energy = power.sum(axis=1)
    active = energy > energy.max() * 10 ** (-_ACTIVE_DB / 10) if energy.size and energy.max() > 0 else np.zeros(len(power), bool)
    times = np.flatnonzero(active) * float(_DETECT_HOP)  # frame centres, in samples
    n_groups = len(_scales(len(x))) * _PHASES * (2 * _MAX_SHIFT + 1)
    if len(times) == 0:  # silence: nothing to correlate
        return np.zeros((n_groups, TILES // 2 + 1, N_PAIRS), np.complex128), np.zeros(n_groups)
    banded = np.einsum("fk,skb->fsb", power[active], _shift_matrices()).reshape(len(times), -1)
    groups = []
    for scale in _scales(len(x)):
        # A tempo/speed change by `scale` maps received time t to served time t * scale.
        served = times * scale
        for phase in range(_PHASES):
            tile = ((served + phase * TILE / _PHASES) // TILE).astype(int) % TILES
            onehot = np.zeros((TILES, len(tile)))
            onehot[tile, np.arange(len(tile))] = 1.0
            groups.append(onehot @ banded)
    cells = np.stack(groups).reshape(-1, TILES, 2 * _MAX_SHIFT + 1, N_BANDS).transpose(0, 2, 1, 3)
    cells = cells.reshape(-1, TILES, N_PAIRS, 2)
    present = (cells[..., 0] > 0) & (cells[..., 1] > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.where(present, np.log(cells[..., 0]) - np.log(cells[..., 1]), 0.0)
    # Matched-filter weights: the mark moves every pair by the same amount, the host does
    # not (harmonics make low pairs far noisier than high ones), so each pair is weighted by
    # 1 / its variance over the tiles, estimated from this audio alone (which keeps the
    # innocent candidate's correlation a Rademacher sum).
    count = np.maximum(present.sum(axis=1, keepdims=True), 1)
    variance = np.sum(diff**2, axis=1, keepdims=True) / count
    diff = diff / np.where(variance > 0, variance + 0.05 * np.median(variance), np.inf)
    # The same across tiles: a tile of silence or of a plosive is noisier than a vowel's.
    count_t = np.maximum(present.sum(axis=2, keepdims=True), 1)
    var_t = np.sum(diff**2, axis=2, keepdims=True) / count_t
    diff = diff / np.sqrt(np.where(var_t > 0, var_t + 0.05 * np.median(var_t), np.inf))
    norms = np.sqrt(np.sum(diff**2, axis=(1, 2)))
    return np.fft.rfft(diff, axis=1), norms


def pattern_spectra(key: bytes, marks: list[tuple[str, str]]) -> np.ndarray:
    return np.fft.rfft(np.stack([pattern(key, r, t) for r, t in marks]), axis=1)


def best_scores(resid_f: np.ndarray, norms: np.ndarray, spectra: np.ndarray) -> np.ndarray:
    """For each candidate (``spectra``: candidates x TILES//2+1 x N_PAIRS), the best
    |normalised correlation| over every group and circular tile shift."""
    best = np.zeros(len(spectra))
    keep = np.flatnonzero(norms > 0)
    if len(keep) == 0 or len(spectra) == 0:
        return best
    # Circular cross-correlation over tiles, summed over band pairs, for every group at once:
    # per tile frequency, a (candidates x pairs) @ (pairs x groups) product (BLAS), then one
    # inverse FFT over the tile frequencies.  Groups go in chunks to bound memory (~64 MB).
    conj = np.ascontiguousarray(spectra.conj().transpose(1, 0, 2), dtype=np.complex64)  # t, c, p
    groups = np.ascontiguousarray(resid_f[keep].transpose(1, 2, 0), dtype=np.complex64)  # t, p, g
    scale = (1.0 / norms[keep]).astype(np.float32)
    chunk = max(1, int(4_000_000 // (len(spectra) * conj.shape[0])))
    for start in range(0, len(keep), chunk):
        cross = np.matmul(conj, groups[:, :, start : start + chunk])  # t, c, g
        corr = scipy.fft.irfft(cross, n=TILES, axis=0)  # tiles, c, g (float32)
        peak = np.abs(corr).max(axis=0) * scale[start : start + chunk]
        np.maximum(best, peak.max(axis=1), out=best)
    return best
