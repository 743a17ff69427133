"""Simulated leak channels for the watermark benchmark (and tests).

Each attack takes float mono audio and its sample rate and returns float32 audio at the same
rate.  Codecs run through PyAV in memory; the randomised channels take a numpy Generator.
"""

from __future__ import annotations

import io
import math

import av
import numpy as np
from scipy.signal import butter, fftconvolve, resample_poly, sosfilt


def _resample(x: np.ndarray, rate_from: int, rate_to: int) -> np.ndarray:
    if rate_from == rate_to:
        return np.asarray(x, dtype=np.float64)
    g = math.gcd(rate_from, rate_to)
    return resample_poly(x, rate_to // g, rate_from // g)


def _fit(x: np.ndarray, length: int) -> np.ndarray:
    # Codecs add delay and padding; keep the (delayed) start and cut to the original length.
    out = np.zeros(length, dtype=np.float32)
    out[: min(length, len(x))] = x[:length]
    return out


def codec_roundtrip(
    x: np.ndarray, sample_rate: int, *, container: str, codec: str, bit_rate: int, codec_rate: int
) -> np.ndarray:
    """Encode and decode through a lossy codec in memory."""
    pcm = _resample(x, sample_rate, codec_rate)
    pcm16 = (np.clip(pcm, -1, 1) * 32767).astype(np.int16)[None, :]
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=codec_rate, layout="mono")
        stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(pcm16, format="s16", layout="mono")
        frame.sample_rate = codec_rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buf.seek(0)
    chunks = []
    with av.open(buf, "r") as inp:
        for frame in inp.decode(audio=0):
            data = frame.to_ndarray()
            if data.dtype == np.int16:
                data = data / 32768.0
            chunks.append(np.asarray(data, dtype=np.float64).reshape(-1))
    decoded = np.concatenate(chunks) if chunks else np.zeros(0)
    return _fit(_resample(decoded, codec_rate, sample_rate), len(x))


def mp3_32k(x: np.ndarray, sr: int, rng: np.random.Generator | None = None) -> np.ndarray:
    return codec_roundtrip(
        x, sr, container="mp3", codec="libmp3lame", bit_rate=32_000, codec_rate=sr
    )


def opus_16k(x: np.ndarray, sr: int, rng: np.random.Generator | None = None) -> np.ndarray:
    # libopus only runs at 48 kHz (or 8/12/16/24); 48 kHz is what a leaker's tools would use.
    return codec_roundtrip(
        x, sr, container="ogg", codec="libopus", bit_rate=16_000, codec_rate=48_000
    )


def resample_8k(x: np.ndarray, sr: int, rng: np.random.Generator | None = None) -> np.ndarray:
    return _fit(_resample(_resample(x, sr, 8_000), 8_000, sr), len(x))


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    power = float(np.mean(np.square(x, dtype=np.float64)))
    noise = rng.standard_normal(len(x)) * math.sqrt(power / 10 ** (snr_db / 10))
    return (x + noise).astype(np.float32)


def noise_20db(x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    return add_noise(x, 20.0, rng)


def trim_500ms(x: np.ndarray, sr: int, rng: np.random.Generator | None = None) -> np.ndarray:
    return np.asarray(x[sr // 2 :], dtype=np.float32)


def room_impulse_response(
    sr: int, rng: np.random.Generator, rt60: float = 0.3, drr_db: float = 0.0
) -> np.ndarray:
    """Direct sound plus an exponentially decaying noise tail (-60 dB after ``rt60``).

    ``drr_db`` is the direct-to-reverberant energy ratio; 0 dB is roughly a loudspeaker a
    metre or so from the microphone in a small furnished room (near the critical distance).
    """
    n = int(rt60 * sr)
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60)  # ln(1000) = 6.9078: -60 dB
    tail[: int(0.002 * sr)] = 0.0  # first reflections arrive a couple of ms after the direct path
    tail *= math.sqrt(10 ** (-drr_db / 10) / np.sum(tail**2))
    tail[0] = 1.0
    return tail


def speaker_to_mic(
    x: np.ndarray, sr: int, rng: np.random.Generator, drr_db: float = 0.0
) -> np.ndarray:
    """Small loudspeaker (band-pass 200-7000 Hz) into a room (RT60 0.3 s) and a microphone
    with background noise at 30 dB SNR."""
    high = min(7000.0, 0.45 * sr)
    sos = butter(4, [200.0, high], btype="bandpass", fs=sr, output="sos")
    played = sosfilt(sos, np.asarray(x, dtype=np.float64))
    room = fftconvolve(played, room_impulse_response(sr, rng, drr_db=drr_db))[: len(x)]
    room *= math.sqrt(np.mean(np.square(x, dtype=np.float64)) / max(np.mean(room**2), 1e-20))
    return add_noise(room, 30.0, rng)


ATTACKS = {
    "none": lambda x, sr, rng: np.asarray(x, dtype=np.float32),
    "mp3 32 kbit/s": mp3_32k,
    "opus 16 kbit/s": opus_16k,
    "resample 8 kHz": resample_8k,
    "white noise 20 dB": noise_20db,
    "trim first 0.5 s": trim_500ms,
    "speaker->mic": speaker_to_mic,
}


def clock_drift(x: np.ndarray, sr: int, ppm: float) -> np.ndarray:
    """Play back ``ppm`` parts per million faster than recorded (mismatched clocks)."""
    up, down = 1_000_000 + round(ppm), 1_000_000
    g = math.gcd(up, down)
    return _fit(resample_poly(np.asarray(x, dtype=np.float64), up // g, down // g), len(x))


# Harder than the targets: reported with --stress, not part of the pass/fail table.
STRESS = {
    "clock drift 150 ppm": lambda x, sr, rng: clock_drift(x, sr, 150),
    "speaker->mic +100 ppm": lambda x, sr, rng: clock_drift(speaker_to_mic(x, sr, rng), sr, 100),
    "speaker->mic DRR -6 dB": lambda x, sr, rng: speaker_to_mic(x, sr, rng, drr_db=-6.0),
    "speaker->mic, opus": lambda x, sr, rng: opus_16k(speaker_to_mic(x, sr, rng), sr),
    "opus 8 kbit/s": lambda x, sr, rng: codec_roundtrip(
        x, sr, container="ogg", codec="libopus", bit_rate=8_000, codec_rate=48_000
    ),
    "mp3 16 kbit/s": lambda x, sr, rng: codec_roundtrip(
        x, sr, container="mp3", codec="libmp3lame", bit_rate=16_000, codec_rate=sr
    ),
    "amr-nb 12.2 kbit/s": lambda x, sr, rng: amr_nb(x, sr, 12200),
    "amr-nb 7.95 kbit/s": lambda x, sr, rng: amr_nb(x, sr, 7950),
}


# --- what a leaker does to "disguise" a clip (issue 19) ---------------------------------------


def sox_pipe(x: np.ndarray, sr: int, out_args: list[str], in_type: str = "raw", out_type: str = "raw", out_rate: int | None = None) -> np.ndarray:
    """Run ``sox`` on float32 PCM through pipes (nothing touches the disk)."""
    import subprocess

    pcm = np.clip(np.asarray(x, dtype=np.float32), -1, 1).astype("<f4").tobytes()
    fmt = ["-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-r", str(sr)]
    run = subprocess.run(
        ["sox", "-q", "-D", *fmt, "-", *fmt[:-1], str(out_rate or sr), "-", *out_args],
        input=pcm, capture_output=True, check=True, timeout=120,
    )
    return np.frombuffer(run.stdout, dtype="<f4").astype(np.float32)


def sox_bytes(x: np.ndarray, sr: int, file_type: str, args: list[str] = ()) -> bytes:
    """Encode with sox into ``file_type`` (gsm, amr-nb, ...) as a leaker's tools would write it."""
    import subprocess

    pcm = np.clip(np.asarray(x, dtype=np.float32), -1, 1).astype("<f4").tobytes()
    fmt = ["-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-r", str(sr)]
    run = subprocess.run(
        ["sox", "-q", *fmt, "-", "-r", "8000", *args, "-t", file_type, "-"],
        input=pcm, capture_output=True, check=True, timeout=120,
    )
    return run.stdout


def tempo(x: np.ndarray, sr: int, factor: float) -> np.ndarray:
    """sox ``tempo`` (WSOLA): faster or slower, pitch kept."""
    return sox_pipe(x, sr, ["tempo", "-s", f"{factor:g}"])


def speed(x: np.ndarray, sr: int, factor: float) -> np.ndarray:
    """Played faster or slower, pitch following (a plain resampling: sox ``speed``)."""
    up = round(1000 / factor)
    g = math.gcd(up, 1000)
    return resample_poly(np.asarray(x, dtype=np.float64), up // g, 1000 // g).astype(np.float32)


def pitch(x: np.ndarray, sr: int, cents: float) -> np.ndarray:
    """sox ``pitch``: pitch shifted by ``cents``, duration kept."""
    return sox_pipe(x, sr, ["pitch", f"{cents:g}"])


def amr_nb(x: np.ndarray, sr: int, bit_rate: int = 4750) -> np.ndarray:
    """AMR-NB (8 kHz) at ``bit_rate`` through opencore in PyAV, decoded back to ``sr``.

    The real 3GPP codec (libopencore-amrnb, the reference implementation), as the issue's
    reporter used it: resampled to 8 kHz, encoded at the lowest mode (MR475 by default),
    decoded and converted back.  AMR-WB cannot be measured here: no AMR-WB encoder is
    available offline (FFmpeg has only AMR-WB decoders, and this sox is built without
    AMR-WB encoding), so AMR-WB files are tested for decoding only (tests/forensics).
    """
    return codec_roundtrip(x, sr, container="amr", codec="libopencore_amrnb", bit_rate=bit_rate, codec_rate=8000)


def gsm(x: np.ndarray, sr: int) -> np.ndarray:
    """GSM 06.10 full rate at 8 kHz (sox's encoder), decoded back to ``sr``."""
    data = sox_bytes(x, sr, "gsm")
    decoded = sox_pipe_bytes(data, "gsm", sr)
    return _fit(decoded, len(x))


def sox_pipe_bytes(data: bytes, file_type: str, sr: int) -> np.ndarray:
    import subprocess

    run = subprocess.run(
        ["sox", "-q", "-t", file_type, "-", "-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-r", str(sr), "-"],
        input=data, capture_output=True, check=True, timeout=120,
    )
    return np.frombuffer(run.stdout, dtype="<f4").astype(np.float32)


DISGUISE = {
    "tempo +4%": lambda x, sr, rng: tempo(x, sr, 1.04),
    "tempo -4%": lambda x, sr, rng: tempo(x, sr, 0.96),
    "speed +4%": lambda x, sr, rng: speed(x, sr, 1.04),
    "speed -4%": lambda x, sr, rng: speed(x, sr, 0.96),
    "pitch +100 cents": lambda x, sr, rng: pitch(x, sr, 100),
    "pitch -100 cents": lambda x, sr, rng: pitch(x, sr, -100),
    "amr-nb 4.75 kbit/s": lambda x, sr, rng: amr_nb(x, sr, 4750),
    "gsm 8 kHz": lambda x, sr, rng: gsm(x, sr),
}
