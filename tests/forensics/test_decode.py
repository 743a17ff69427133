"""Lenient decoding for tracing: what leakers send is read, damage is skipped and reported."""

from __future__ import annotations

import io
import shutil
import subprocess

import av
import numpy as np
import pytest

from sottovoce.forensics.decode import RATE, Undecodable, decode_lenient

SOX = shutil.which("sox")


def tone_speech(seconds: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(int(seconds * RATE)) / RATE
    x = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) + 0.02 * rng.standard_normal(t.size)
    return x.astype(np.float32)


def av_encode(x: np.ndarray, fmt: str, codec: str, rate: int, bit_rate: int | None = None, video: bool = False) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        vstream = None
        if video:
            vstream = out.add_stream("mpeg4" if fmt != "webm" else "libvpx", rate=10)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        stream = out.add_stream(codec, rate=rate, layout="mono")
        if bit_rate:
            stream.bit_rate = bit_rate
        sample_fmt = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(format=sample_fmt, layout="mono", rate=rate)
        frame = av.AudioFrame.from_ndarray(x.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = RATE
        for part in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(part):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if vstream is not None:
            for i in range(int(len(x) / RATE * 10)):
                image = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i % 255, np.uint8), format="rgb24")
                for packet in vstream.encode(image):
                    out.mux(packet)
            for packet in vstream.encode(None):
                out.mux(packet)
    return buf.getvalue()


def sox_encode(x: np.ndarray, file_type: str, args: tuple[str, ...] = ()) -> bytes:
    raw = ["-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-r", str(RATE)]
    run = subprocess.run([SOX, "-q", *raw, "-", "-r", "8000", *args, "-t", file_type, "-"], input=x.astype("<f4").tobytes(), capture_output=True, check=True)
    return run.stdout


FORMATS = {
    "clip.mp3": lambda x: av_encode(x, "mp3", "libmp3lame", 16000, 32000),
    "clip.ogg": lambda x: av_encode(x, "ogg", "libopus", 48000, 16000),
    "clip.m4a": lambda x: av_encode(x, "ipod", "aac", 16000, 32000),
    "clip.webm": lambda x: av_encode(x, "webm", "libopus", 48000, 24000),
    "clip.amr": lambda x: av_encode(x, "amr", "libopencore_amrnb", 8000, 4750),
    "screen.mp4": lambda x: av_encode(x, "mp4", "aac", 16000, 32000, video=True),
    "screen.webm": lambda x: av_encode(x, "webm", "libopus", 48000, 24000, video=True),
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_formats_leakers_send_are_read(name):
    x = tone_speech()
    decoded = decode_lenient(FORMATS[name](x), name)
    assert abs(len(decoded.samples) / RATE - 3.0) < 0.2, decoded.report()
    assert decoded.samples.dtype == np.float32 and np.abs(decoded.samples).max() > 0.1
    # The name is only a hint: a file renamed (or sent without a name) still decodes.
    assert abs(len(decode_lenient(FORMATS[name](x), "").samples) / RATE - 3.0) < 0.2


@pytest.mark.skipif(SOX is None, reason="sox is not installed")
@pytest.mark.parametrize("file_type,name", [("gsm", "leak.gsm"), ("amr-nb", "leak.amr")])
def test_phone_codec_files_written_by_sox(file_type, name):
    # Raw GSM has no signature at all, and sox's AMR-NB holds frames FFmpeg's own decoder
    # rejects ("not yet implemented"): both made `trace` exit with no answer before.
    x = tone_speech(6.0)
    data = sox_encode(x, file_type)
    for hint in (name, ""):
        decoded = decode_lenient(data, hint)
        assert abs(len(decoded.samples) / RATE - 6.0) < 0.2, decoded.report()


def test_damaged_file_is_read_around_the_damage():
    x = tone_speech(6.0)
    data = bytearray(FORMATS["clip.mp3"](x))
    middle = len(data) // 2
    data[middle : middle + 400] = bytes(range(256)) + bytes(144)  # garbage where frames were
    decoded = decode_lenient(bytes(data), "clip.mp3")
    assert len(decoded.samples) / RATE > 5.0
    truncated = decode_lenient(bytes(data[: len(data) * 2 // 3]), "clip.mp3")
    assert 3.0 < len(truncated.samples) / RATE < 4.5


def test_sox_amr_notes_the_fallback_decoder():
    if SOX is None:
        pytest.skip("sox is not installed")
    rng = np.random.default_rng(1)
    # Pauses of near silence make the encoder emit comfort-noise frames.
    x = np.concatenate([tone_speech(2.0), 1e-4 * rng.standard_normal(2 * RATE).astype(np.float32), tone_speech(2.0)])
    decoded = decode_lenient(sox_encode(x, "amr-nb"), "leak.amr")
    assert abs(len(decoded.samples) / RATE - 6.0) < 0.2
    report = decoded.report()
    assert set(report) >= {"container", "codec", "decoder", "skipped_packets", "notes", "duration_s"}


def test_long_file_is_cut_and_says_so():
    decoded = decode_lenient(FORMATS["clip.mp3"](tone_speech(4.0)), "x.mp3", max_duration_s=2.0)
    assert len(decoded.samples) == 2 * RATE
    assert decoded.truncated_s > 1.5 and any("first 2 s" in note for note in decoded.notes)


def test_empty_file_raises_undecodable():
    with pytest.raises(Undecodable):
        decode_lenient(b"", "x.wav")


@pytest.mark.parametrize("data", [b"not audio at all" * 100, bytes(range(256)) * 50, b"RIFF"])
def test_garbage_never_crashes(data):
    # Raw GSM has no structure, so any bytes "decode" as GSM: garbage may come back as noise
    # (in which no mark is found) or be refused, but never raises anything else.
    try:
        decoded = decode_lenient(data, "x.bin")
    except Undecodable:
        return
    assert decoded.samples.dtype == np.float32 and np.all(np.isfinite(decoded.samples))
