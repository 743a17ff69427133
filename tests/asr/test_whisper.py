"""The real recognizer (faster-whisper, bundled tiny.en) through the worker path."""

import pytest

from sottovoce.recordings.ingest import commit_ingest, ingest
from sottovoce.recordings.metadata import parse_metadata
from sottovoce.recordings.store import describe, get_recording
from sottovoce.worker import drain
from tests.conftest import demo_clip, noise_samples, wav_bytes

pytestmark = pytest.mark.slow


def ingest_clip(services, device, data):
    with services.sessions() as db:
        recording = ingest(services, db, device, data, parse_metadata(None))
        commit_ingest(services, db, recording)
        return recording.id


def test_worker_transcribes_with_word_times_and_confidences(services, device):
    recording_id = ingest_clip(services, device, demo_clip("set-a-timer-for-5-minutes.wav"))
    assert drain(services, ["transcribe"]) == 1
    with services.sessions() as db:
        shown = describe(services, db, get_recording(db, recording_id))
    hypothesis = shown["hypothesis"]
    assert shown["status"] == "transcribed"
    assert "timer" in hypothesis["text"].lower()
    assert hypothesis["engine"] == "faster-whisper" and hypothesis["model"] == "tiny.en"
    assert len(hypothesis["model_version"]) == 12
    words = hypothesis["words"]
    assert all(0 <= w["confidence"] <= 1 and 0 <= w["start"] <= w["end"] <= shown["duration_s"] + 0.1 for w in words)
    assert [w["start"] for w in words] == sorted(w["start"] for w in words)


def test_noise_without_speech_gives_an_empty_hypothesis(services, device):
    recording_id = ingest_clip(services, device, wav_bytes(noise_samples(2.0) * 0.01))
    drain(services, ["transcribe"])
    with services.sessions() as db:
        shown = describe(services, db, get_recording(db, recording_id))
    assert shown["status"] == "transcribed"
    assert shown["hypothesis"]["words"] == []  # VAD found no speech


def test_recognizer_failure_marks_the_recording_failed(services, device, monkeypatch):
    recording_id = ingest_clip(services, device, demo_clip())

    def broken(*args, **kwargs):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(services.recognizer, "transcribe", broken)
    drain(services, ["transcribe"])
    with services.sessions() as db:
        shown = describe(services, db, get_recording(db, recording_id))
    assert shown["status"] == "failed"
    assert shown["failure_reason"] == "recognizer error: RuntimeError"
