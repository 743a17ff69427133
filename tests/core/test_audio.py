import numpy as np
import pytest

from sottovoce.core import audio
from sottovoce.core.errors import InvalidAudio
from tests.factories import demo_clip, encode, noise_samples, wav_bytes

FORMATS = [
    ("wav", "pcm_s16le", 16_000),
    ("flac", "flac", 16_000),
    ("ogg", "libopus", 48_000),
    ("mp3", "libmp3lame", 44_100),
    ("ipod", "aac", 44_100),  # .m4a
    ("webm", "libopus", 48_000),
]


def tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.mark.parametrize("fmt,codec,rate", FORMATS)
def test_each_accepted_format_decodes_to_16k_mono(fmt, codec, rate):
    samples = audio.decode(encode(tone(1.5, rate), fmt, codec, rate), max_duration_s=60)
    assert samples.dtype == np.float32
    assert abs(samples.size / audio.SAMPLE_RATE - 1.5) < 0.1
    spectrum = np.abs(np.fft.rfft(samples[2000:18000]))
    assert abs(np.argmax(spectrum) * audio.SAMPLE_RATE / 16000 - 440) < 5  # the tone survives resampling


def test_stereo_is_mixed_to_mono():
    stereo = encode(tone(1.0, 16_000), "wav", "pcm_s16le", 16_000, layout="stereo")
    assert audio.decode(stereo, 60).size == 16_000


def test_real_clip_round_trips_through_pcm16():
    samples = audio.decode(demo_clip(), 60)
    again = audio.from_pcm16(audio.to_pcm16(samples))
    assert np.max(np.abs(again - samples)) < 1e-4


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"", "empty"),
        (b"this is not audio at all, just text" * 10, "not readable audio"),
        (wav_bytes(noise_samples(1.0))[:30], "not readable audio"),
    ],
)
def test_bad_input_is_rejected_with_a_reason(data, reason):
    with pytest.raises(InvalidAudio, match=reason):
        audio.decode(data, 60)


def test_truncated_wav_header_with_no_samples_is_rejected():
    with pytest.raises(InvalidAudio, match="no audio samples|not readable"):
        audio.decode(wav_bytes(noise_samples(1.0))[:44], 60)


def test_too_long_is_rejected_before_decoding_everything():
    with pytest.raises(InvalidAudio, match="longer than the limit of 2 s"):
        audio.decode(wav_bytes(noise_samples(3.0)), max_duration_s=2)


def test_served_wav_carries_no_tags():
    data = audio.to_wav(noise_samples(0.5))
    assert data[:4] == b'RIFF'
    assert b'LIST' not in data[:200]
    assert len(data) == 44 + 16000
