"""Invariant: no plaintext audio or transcript anywhere under SOTTOVOCE_HOME (raw byte scans)."""

import json

import numpy as np
import pytest

from sottovoce.core import audio
from sottovoce.jobs.worker import drain
from sottovoce.recordings.ingest import commit_ingest, ingest
from sottovoce.recordings.metadata import parse_metadata
from tests.factories import demo_clip, noise_samples, wav_bytes
from tests.helpers import files_containing

CANARY = "zebracanary7731"


def pcm_windows(samples: np.ndarray) -> list[bytes]:
    """Three 64-byte windows of the stored PCM form and of the float32 form: any copy shows up."""
    pcm = audio.to_pcm16(samples)
    f32 = samples.astype("<f4").tobytes()
    return [pcm[i : i + 64] for i in (1000, 9000, 20000)] + [f32[i : i + 64] for i in (4000, 30000)]


def test_no_transcript_or_audio_marker_in_any_file(services, device_and_token, settings):
    device, token = device_and_token
    marker = noise_samples(2.0, seed=99)
    words = [{"word": CANARY, "start": 0.1, "end": 0.5, "confidence": 0.5}]
    with services.sessions() as db:
        recording = ingest(services, db, device, wav_bytes(marker), parse_metadata(json.dumps({"hypothesis": {"words": words}})))
        commit_ingest(services, db, recording)
    services.engine.dispose()  # let SQLite checkpoint too; the WAL is scanned either way
    home = settings.home
    assert files_containing(home, CANARY.encode()) == []
    assert files_containing(home, CANARY.upper().encode()) == []
    stored = audio.from_pcm16(audio.to_pcm16(marker))
    for window in pcm_windows(stored):
        assert files_containing(home, window) == []
    assert files_containing(home, token.encode()) == []  # device tokens are stored hashed


@pytest.mark.slow
def test_recognized_transcript_is_not_on_disk(services, device, settings):
    with services.sessions() as db:
        recording = ingest(services, db, device, demo_clip("lock-the-front-door.wav"), parse_metadata(None))
        commit_ingest(services, db, recording)
    assert drain(services, ["transcribe"]) == 1
    from sottovoce.recordings.store import describe, get_recording

    with services.sessions() as db:
        text = describe(services, db, get_recording(db, recording.id))["hypothesis"]["text"]
    assert "door" in text.lower()
    for word in {w.strip(".,?!").lower() for w in text.split() if len(w) > 3}:
        for form in (word, word.capitalize()):
            assert files_containing(settings.home, form.encode()) == [], form
