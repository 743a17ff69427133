import json

import pytest

from sottovoce.core.errors import InvalidAudio, InvalidInput, NotFound, TooLarge
from sottovoce.recordings.ingest import commit_ingest, ingest
from sottovoce.recordings.metadata import parse_metadata
from sottovoce.recordings.store import describe, get_recording, load_audio
from tests.factories import demo_clip, noise_samples, wav_bytes
from tests.helpers import counts

HYPOTHESIS = {
    "engine": "acme-asr",
    "model": "v7",
    "model_version": "2026.11",
    "words": [
        {"word": "lock", "start": 0.2, "end": 0.5, "confidence": 0.91},
        {"word": "the", "start": 0.5, "end": 0.6, "confidence": 0.88},
        {"word": "front", "start": 0.6, "end": 0.9, "confidence": 0.42},
        {"word": "door", "start": 0.9, "end": 1.2, "confidence": 0.97},
    ],
}


def do_ingest(services, device, data, metadata=None):
    with services.sessions() as db:
        recording = ingest(services, db, device, data, parse_metadata(json.dumps(metadata) if metadata else None))
        commit_ingest(services, db, recording)
        return recording


def test_ingest_with_external_hypothesis_is_transcribed_at_once(services, device):
    recording = do_ingest(services, device, demo_clip(), {"captured_at": "2026-11-20T10:00:00Z", "hypothesis": HYPOTHESIS})
    with services.sessions() as db:
        shown = describe(services, db, get_recording(db, recording.id))
    assert shown["status"] == "transcribed"
    assert shown["captured_at"].startswith("2026-11-20T10:00:00")
    assert shown["hypothesis"]["text"] == "lock the front door"
    assert shown['hypothesis']['engine'] == 'acme-asr'
    assert shown['hypothesis']['source'] == 'external'
    assert [w["confidence"] for w in shown["hypothesis"]["words"]] == [0.91, 0.88, 0.42, 0.97]
    assert counts(services) == {"recordings": 1, "hypotheses": 1, "jobs": 0, "blobs": 1}


def test_ingest_without_hypothesis_queues_recognition(services, device):
    recording = do_ingest(services, device, demo_clip())
    assert recording.status == "pending"
    assert counts(services) == {"recordings": 1, "hypotheses": 0, "jobs": 1, "blobs": 1}


def test_stored_audio_is_the_normalized_clip(services, device):
    recording = do_ingest(services, device, wav_bytes(noise_samples(1.0)))
    with services.sessions() as db:
        samples = load_audio(services, db, get_recording(db, recording.id))
    assert samples.size == 16_000
    assert abs(recording.duration_s - 1.0) < 1e-6


def test_recording_of_another_account_is_not_found(services, device):
    recording = do_ingest(services, device, demo_clip())
    with services.sessions() as db, pytest.raises(NotFound):
        get_recording(db, recording.id, account_id="someone-else")


BAD_INPUTS = [
    ("not audio", b"hello, I am a text file" * 20, None, InvalidAudio),
    ("empty", b"", None, InvalidAudio),
    ("truncated", wav_bytes(noise_samples(1.0))[:40], None, InvalidAudio),
    ("too long", wav_bytes(noise_samples(61.0)), None, InvalidAudio),
    ("too short", wav_bytes(noise_samples(0.01)), None, InvalidAudio),
    ("words after the end", demo_clip(), {"hypothesis": {"words": [{"word": "x", "start": 0, "end": 99, "confidence": 0.5}]}}, InvalidInput),
    ("confidence over 1", demo_clip(), {"hypothesis": {"words": [{"word": "x", "start": 0, "end": 1, "confidence": 1.5}]}}, InvalidInput),
    ("unknown field", demo_clip(), {"speaker_name": "x"}, InvalidInput),
    ("future capture", demo_clip(), {"captured_at": "2099-01-01T00:00:00Z"}, InvalidInput),
    ("naive time", demo_clip(), {"captured_at": "2026-01-01T00:00:00"}, InvalidInput),
]


@pytest.mark.parametrize("label,data,metadata,error", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_leaves_nothing_behind(services, device, label, data, metadata, error):
    before = counts(services)
    with pytest.raises(error):
        do_ingest(services, device, data, metadata)
    assert counts(services) == before


def test_too_big_upload_is_refused_before_decoding(services, device):
    services.settings.max_upload_bytes = 1000
    with pytest.raises(TooLarge, match="limit is 1000"):
        do_ingest(services, device, demo_clip())
    assert counts(services)["blobs"] == 0


def test_malformed_metadata_json_is_refused_without_echo():
    with pytest.raises(InvalidInput) as info:
        parse_metadata('{"captured_at": "SECRET-CANARY-VALUE"')
    assert "SECRET-CANARY" not in info.value.message


def test_failed_commit_removes_the_blob(services, device, monkeypatch):
    with services.sessions() as db:
        recording = ingest(services, db, device, demo_clip(), parse_metadata(None))
        monkeypatch.setattr(db, "commit", lambda: (_ for _ in ()).throw(RuntimeError("disk full")))
        with pytest.raises(RuntimeError):
            commit_ingest(services, db, recording)
    assert counts(services) == {"recordings": 0, "hypotheses": 0, "jobs": 0, "blobs": 0}
