"""Decode, validate and normalize uploaded audio, all in memory.

Anything PyAV (FFmpeg) can demux is accepted: WAV, FLAC, OGG/Opus, MP3, M4A and WebM among them.
Output is always 16 kHz mono float32 in [-1, 1]. Nothing here touches the filesystem: a decoded
recording is plaintext and must never land on disk (DESIGN.md, "no plaintext on disk").
"""

from __future__ import annotations

import io
import wave

import av
import numpy as np

from sottovoce.core.errors import InvalidAudio

SAMPLE_RATE = 16_000


def decode(data: bytes, max_duration_s: float) -> np.ndarray:
    """Return 16 kHz mono float32 samples, or raise InvalidAudio with a one-line reason."""
    if not data:
        raise InvalidAudio("the audio file is empty")
    max_samples = int(max_duration_s * SAMPLE_RATE)
    fast = _decode_pcm16_wav(data)
    if fast is not None:
        return _checked(fast, max_samples, max_duration_s)
    chunks: list[np.ndarray] = []
    total = 0
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise InvalidAudio("the file holds no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    total += chunk.size
                    if total > max_samples:
                        raise InvalidAudio(f"the recording is longer than the limit of {max_duration_s:g} s")
                    chunks.append(chunk)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except InvalidAudio:
        raise
    except (av.FFmpegError, ValueError, IndexError) as exc:
        raise InvalidAudio(f"the file is not readable audio ({type(exc).__name__})") from None
    samples = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    return _checked(samples, max_samples, max_duration_s)


def _checked(samples: np.ndarray, max_samples: int, max_duration_s: float) -> np.ndarray:
    if samples.size > max_samples:
        raise InvalidAudio(f"the recording is longer than the limit of {max_duration_s:g} s")
    if samples.size == 0:
        raise InvalidAudio("the file decodes to no audio samples (empty or truncated)")
    if not np.isfinite(samples).all():
        raise InvalidAudio("the audio holds invalid sample values")
    return np.clip(samples, -1.0, 1.0)


def _decode_pcm16_wav(data: bytes) -> np.ndarray | None:
    """16 kHz mono 16-bit PCM WAV (what devices send) without FFmpeg; None for anything else.

    Same samples as the PyAV path (int16 / 32768). A PyAV decode costs milliseconds of CPU
    (container probing through Python I/O callbacks, one resampler call per 1,024-sample frame).
    """
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            if wav.getnchannels() != 1 or wav.getsampwidth() != 2 or wav.getframerate() != SAMPLE_RATE:
                return None
            pcm = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError):
        return None  # WAVE_FORMAT_EXTENSIBLE, odd or truncated headers: PyAV decides
    return np.frombuffer(pcm, dtype="<i2", count=len(pcm) // 2).astype(np.float32) / 32768.0


def to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def from_pcm16(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32767.0


def to_wav(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """A minimal PCM WAV with no tags: the served file carries nothing but sound."""
    pcm = to_pcm16(samples)
    header = b"".join(
        [
            b"RIFF", (36 + len(pcm)).to_bytes(4, "little"), b"WAVE",
            b"fmt ", (16).to_bytes(4, "little"), (1).to_bytes(2, "little"), (1).to_bytes(2, "little"),
            sample_rate.to_bytes(4, "little"), (sample_rate * 2).to_bytes(4, "little"),
            (2).to_bytes(2, "little"), (16).to_bytes(2, "little"),
            b"data", len(pcm).to_bytes(4, "little"),
        ]
    )
    return header + pcm
