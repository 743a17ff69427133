"""The real recognizer (faster-whisper, bundled tiny.en) through the worker path."""

import pytest

from sottovoce.db.models import Recording
from sottovoce.jobs.worker import drain
from sottovoce.recordings.ingest import commit_ingest, ingest
from sottovoce.recordings.metadata import parse_metadata
from sottovoce.recordings.store import describe, get_recording
from tests.factories import demo_clip, noise_samples, wav_bytes

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
    assert hypothesis['engine'] == 'faster-whisper'
    assert hypothesis['model'] == 'tiny.en'
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


def test_alternatives_are_the_beam_search_with_transcribe_s_word_times(services):
    from sottovoce.asr.whisper import WhisperRecognizer
    from sottovoce.core.audio import decode

    samples = decode(demo_clip("what-s-the-temperature-of-the-ecobee.wav"), 60)
    beam = WhisperRecognizer(services.recognizer.model_path, cpu_threads=2, beam_size=4)
    alternatives = services.recognizer.alternatives(samples, 4)
    assert 1 < len(alternatives) <= 4, [t.text for t, _ in alternatives]
    best, _score = alternatives[0]
    assert best.words == beam.transcribe(samples).words  # same text, times and confidences
    # Hypotheses that differ only in timestamp tokens are one alternative.
    assert len({t.text for t, _ in alternatives}) == len(alternatives)
    duration = len(samples) / 16_000
    for transcript, score in alternatives:
        assert score < 0
        assert transcript.model_version == services.recognizer.model_version
        assert all(0 <= w.start <= w.end <= duration + 0.1 and 0 <= w.confidence <= 1 for w in transcript.words)


def test_speech_longer_than_one_window_gets_the_single_transcript(services):
    import numpy as np

    from sottovoce.core.audio import decode

    clip = decode(demo_clip("lock-the-front-door.wav"), 60)
    samples = np.concatenate([clip] * (1 + int(32 * 16_000 / len(clip))))
    alternatives = services.recognizer.alternatives(samples, 3)
    assert len(alternatives) == 1
    assert alternatives[0][0].words == services.recognizer.transcribe(samples).words


def test_worker_uses_the_active_version_s_alternatives(services, device):
    from sottovoce.db.types import utcnow
    from sottovoce.learning import registry
    from sottovoce.learning.adaptation import learn

    pairs = [("lock the front door", "lock the front door"), ("lock the back door", "lock the back door")] * 2
    with services.sessions() as db:
        registry.ensure_base(services, db)
        version = registry.add_candidate(services, db, learn(pairs, prompt_sentences=0, alternatives=3, lm_weight=0.3).to_json(), "snap")
        version.status, version.activated_at = registry.ACTIVE, utcnow()
        db.commit()
        version_id = version.id
    registry.forget_active()
    try:
        recording_id = ingest_clip(services, device, demo_clip("lock-the-front-door.wav"))
        assert drain(services, ["transcribe"]) == 1
        with services.sessions() as db:
            shown = describe(services, db, get_recording(db, recording_id))
            stored = db.get(Recording, recording_id).hypotheses[-1].version_id
    finally:
        registry.forget_active()
    assert "lock the front door" in shown["hypothesis"]["text"].lower()
    assert stored == version_id
    assert all(0 <= w["start"] <= w["end"] <= shown["duration_s"] + 0.1 for w in shown["hypothesis"]["words"])
