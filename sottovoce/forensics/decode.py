"""Lenient decoding of leaked files, for tracing only.

Ingest (``sottovoce.core.audio.decode``) is strict on purpose: a damaged upload is refused. A leaked
clip is different: it arrives however the leaker's tools wrote it (raw GSM or AMR from a phone,
audio inside a screen recording, a truncated download) and every second of it is evidence. So
this decoder tries harder, and says what it did:

* the container is probed, then forced by the file's extension and by a list of formats that
  have no reliable signature (raw GSM, AMR), and the attempt that yields the most audio wins;
* every audio stream of a container is a candidate (video files: the audio track is used);
* packets that fail to decode are skipped and counted, not fatal;
* AMR is retried with the opencore decoder, which reads comfort-noise frames FFmpeg's own
  decoder rejects ("not yet implemented");
* as a last resort the bytes are piped through ``sox`` when it is installed (stdin to stdout,
  nothing on disk).

Everything stays in memory: decoded audio is plaintext and must not land on disk.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass, field

import av
import numpy as np

RATE = 16_000
# Formats FFmpeg cannot recognise from their bytes alone (no magic number), tried when the
# probe fails or decodes little.
_HEADERLESS = ("gsm", "amrnb", "amrwb", "amr", "mp3", "aac", "ogg", "wav")
# Alternative decoders for a codec, tried when the default one skips packets.
_ALTERNATIVES = {"amrnb": ("libopencore_amrnb",), "amrwb": ("libopencore_amrwb",)}
_EXTENSION_FORMATS = {
    "gsm": "gsm", "amr": "amr", "awb": "amr", "3gp": "mov", "m4a": "mov", "mp4": "mov",
    "mov": "mov", "aac": "aac", "webm": "matroska", "mkv": "matroska", "ogg": "ogg",
    "opus": "ogg", "oga": "ogg", "mp3": "mp3", "wav": "wav", "flac": "flac",
}
_SOX_TYPES = {"gsm": "gsm", "amr": "amr-nb", "awb": "amr-wb"}


@dataclass
class Decoded:
    """16 kHz mono float32 audio and a report of how it was obtained."""

    samples: np.ndarray
    container: str = ""
    codec: str = ""
    decoder: str = ""
    skipped_packets: int = 0
    packets: int = 0
    streams: int = 0
    truncated_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def report(self) -> dict:
        return {
            "container": self.container,
            "codec": self.codec,
            "decoder": self.decoder,
            "duration_s": round(len(self.samples) / RATE, 3),
            "skipped_packets": self.skipped_packets,
            "audio_streams": self.streams,
            "truncated_s": round(self.truncated_s, 3),
            "notes": self.notes,
        }


class Undecodable(Exception):
    """No decoder got any audio out of the file."""


def decode_lenient(data: bytes, filename: str = "", max_duration_s: float = 600.0) -> Decoded:
    """Best-effort 16 kHz mono decode; raises ``Undecodable`` with a one-line reason."""
    if not data:
        raise Undecodable("the file is empty")
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    formats: list[str | None] = [None]
    if ext in _EXTENSION_FORMATS:
        formats.insert(0, _EXTENSION_FORMATS[ext])
    formats += [f for f in _HEADERLESS if f not in formats]
    best: Decoded | None = None
    errors: list[str] = []
    for fmt in formats:
        try:
            attempt = _decode_container(data, fmt, max_duration_s)
        except (av.FFmpegError, ValueError, IndexError, RuntimeError, OSError) as exc:
            errors.append(f"{fmt or 'probe'}: {type(exc).__name__}")
            continue
        if attempt is None:
            continue
        if best is None or _better(attempt, best):
            best = attempt
        if _plausible(best):
            break  # the first mostly clean decode wins: forcing other formats on it yields noise
    if best is None or len(best.samples) == 0 or best.skipped_packets > 0:
        rescued = _sox(data, ext, max_duration_s)
        if rescued is not None and (best is None or _better(rescued, best)):
            best = rescued
    if best is None or len(best.samples) == 0:
        raise Undecodable("no decoder could read audio from the file (" + "; ".join(errors[:3]) + ")")
    return best


def _skip_ratio(d: Decoded) -> float:
    return d.skipped_packets / max(d.packets, 1)


def _plausible(d: Decoded) -> bool:
    return _skip_ratio(d) <= 0.1 and len(d.samples) >= RATE // 2


def _better(a: Decoded, b: Decoded) -> bool:
    # A mostly clean decode beats a damaged one (a wrong format forced on the bytes decodes
    # garbage with many errors); among equals, more audio wins.
    if _plausible(a) != _plausible(b):
        return _plausible(a)
    if abs(_skip_ratio(a) - _skip_ratio(b)) > 0.05:
        return _skip_ratio(a) < _skip_ratio(b)
    return len(a.samples) > len(b.samples)


def _decode_container(data: bytes, fmt: str | None, max_duration_s: float) -> Decoded | None:
    best = None
    with av.open(io.BytesIO(data), mode="r", format=fmt, metadata_errors="ignore") as container:
        n_streams = len(container.streams.audio)
        indices = list(range(n_streams))
        name = container.format.name
    for index in indices:
        first_skipped = None
        for decoder in (None, *_ALTERNATIVES.get(_codec_name(data, fmt, index), ())):
            result = _decode_stream(data, fmt, index, decoder, max_duration_s)
            if result is None:
                continue
            result.container, result.streams = name, n_streams
            if first_skipped is None:
                first_skipped = result.skipped_packets
            elif first_skipped:
                result.notes.append(f"the default decoder rejected {first_skipped} packet(s); {decoder} read them")
            if best is None or _better(result, best):
                best = result
            if result.skipped_packets == 0:
                break
        if best is not None and _plausible(best):
            break
    if best is not None and n_streams > 1:
        best.notes.append(f"{n_streams} audio streams; the one with the most audio was traced")
    return best


def _codec_name(data: bytes, fmt: str | None, index: int) -> str:
    with av.open(io.BytesIO(data), mode="r", format=fmt, metadata_errors="ignore") as container:
        return container.streams.audio[index].codec_context.name


def _decode_stream(data: bytes, fmt: str | None, index: int, decoder: str | None, max_duration_s: float) -> Decoded | None:
    limit = int(max_duration_s * RATE)
    chunks: list[np.ndarray] = []
    total, skipped, truncated, n_packets = 0, 0, 0, 0
    with av.open(io.BytesIO(data), mode="r", format=fmt, metadata_errors="ignore") as container:
        stream = container.streams.audio[index]
        codec = stream.codec_context.name
        context: av.AudioCodecContext
        if decoder is None:
            context = stream.codec_context
        else:
            context = av.CodecContext.create(decoder, "r")  # type: ignore[assignment]  # an audio decoder by name
            context.sample_rate = stream.codec_context.sample_rate or 8000
            context.layout = "mono"
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.FFmpegError:
                skipped += 1  # a damaged container: stop at the damage, keep what came before
                break
            if packet.size == 0 and decoder is not None:
                continue
            n_packets += 1
            try:
                frames = context.decode(packet)
                out = [o for f in frames for o in resampler.resample(f)]
            except (av.FFmpegError, ValueError):
                skipped += 1
                resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
                continue
            for o in out:
                chunk = o.to_ndarray().reshape(-1)
                keep = chunk[: max(0, limit - total)]
                truncated += chunk.size - keep.size
                total += keep.size
                chunks.append(keep)
        try:
            for o in resampler.resample(None):
                chunks.append(o.to_ndarray().reshape(-1)[: max(0, limit - total)])
        except (av.FFmpegError, ValueError):
            pass
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    samples = np.nan_to_num(np.clip(samples, -1.0, 1.0), nan=0.0)
    if samples.size == 0:
        return None
    result = Decoded(samples, codec=codec, decoder=decoder or codec, skipped_packets=skipped, packets=n_packets, truncated_s=truncated / RATE)
    if skipped:
        result.notes.append(f"{skipped} undecodable packet(s) skipped")
    if truncated:
        result.notes.append(f"only the first {max_duration_s:g} s were traced")
    return result


def _sox(data: bytes, ext: str, max_duration_s: float) -> Decoded | None:
    """Pipe through sox (its own GSM/AMR readers) when installed: stdin to stdout, no files."""
    sox = shutil.which("sox")
    if sox is None:
        return None
    kinds = [_SOX_TYPES[ext]] if ext in _SOX_TYPES else list(dict.fromkeys(_SOX_TYPES.values()))
    for kind in kinds:
        try:
            run = subprocess.run(
                [sox, "-q", "-t", kind, "-", "-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-r", str(RATE), "-"],
                input=data, capture_output=True, timeout=60, check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if run.returncode == 0 and len(run.stdout) >= 4:
            samples = np.frombuffer(run.stdout[: len(run.stdout) // 4 * 4], dtype="<f4")
            limit = int(max_duration_s * RATE)
            result = Decoded(np.clip(np.nan_to_num(samples[:limit]), -1.0, 1.0).astype(np.float32), container=kind, codec=kind, decoder="sox")
            result.truncated_s = max(0, len(samples) - limit) / RATE
            result.notes.append("decoded by sox")
            return result
    return None
