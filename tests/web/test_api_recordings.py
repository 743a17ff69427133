import json

import pytest
from fastapi.testclient import TestClient

from sottovoce.accounts.registry import revoke_device
from sottovoce.web.app import create_app
from tests.factories import demo_clip, noise_samples, wav_bytes
from tests.helpers import counts

URL = "/api/v1/recordings"


@pytest.fixture
def client(services):
    with TestClient(create_app(services, run_worker=False)) as client:
        yield client


def post(client, token, data=None, metadata=None, headers=None):
    files = {"audio": ("clip.wav", data if data is not None else demo_clip(), "audio/wav")}
    form = {"metadata": json.dumps(metadata)} if metadata is not None else None
    return client.post(URL, files=files, data=form, headers={"Authorization": f"Bearer {token}", **(headers or {})})


def test_device_upload_is_accepted_and_queued(client, device_and_token, services):
    _, token = device_and_token
    response = post(client, token)
    assert response.status_code == 202
    body = response.json()
    assert body['status'] == 'pending'
    assert len(body['id']) == 32
    assert response.headers["cache-control"] == "no-store"
    assert counts(services)["recordings"] == 1


def test_upload_with_hypothesis_is_transcribed(client, device_and_token):
    words = [{"word": "lock", "start": 0.1, "end": 0.4, "confidence": 0.9}]
    response = post(client, device_and_token[1], metadata={"hypothesis": {"words": words}})
    assert response.status_code == 202
    assert response.json()['status'] == 'transcribed'


REJECTIONS = [
    ("no token", None, {}, 401, "unauthenticated"),
    ("wrong token", "svd_wrong", {}, 401, "unauthenticated"),
    ("not audio", "ok", {"data": b"plain text, not audio" * 10}, 422, "invalid_audio"),
    ("empty", "ok", {"data": b""}, 422, "invalid_audio"),
    ("truncated", "ok", {"data": wav_bytes(noise_samples(1.0))[:40]}, 422, "invalid_audio"),
    ("too long", "ok", {"data": wav_bytes(noise_samples(61.0))}, 422, "invalid_audio"),
    ("malformed metadata", "ok", {"metadata": {"hypothesis": {"words": "nope"}}}, 422, "invalid_input"),
]


@pytest.mark.parametrize("label,token,kwargs,status,code", REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_rejections_are_clear_and_leave_nothing(client, device_and_token, services, label, token, kwargs, status, code):
    real = device_and_token[1]
    headers = {}
    if token is None:
        response = client.post(URL, files={"audio": ("a.wav", demo_clip(), "audio/wav")})
    else:
        response = post(client, real if token == "ok" else token, **kwargs, headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert counts(services) == {"recordings": 0, "hypotheses": 0, "jobs": 0, "blobs": 0}


def test_too_big_is_413_and_leaves_nothing(client, device_and_token, services):
    services.settings.max_upload_bytes = 10_000
    response = post(client, device_and_token[1], data=wav_bytes(noise_samples(5.0)))
    assert response.status_code == 413
    assert response.json()['error']['code'] == 'too_large'
    assert counts(services)["blobs"] == 0


def test_revoked_device_token_is_refused(client, device_and_token, services):
    device, token = device_and_token
    with services.sessions() as db:
        revoke_device(db, device.id)
        db.commit()
    assert post(client, token).status_code == 401


def test_missing_audio_part_is_422(client, device_and_token):
    response = client.post(URL, data={"metadata": "{}"}, files={"other": ("x", b"y")}, headers={"Authorization": f"Bearer {device_and_token[1]}"})
    assert response.status_code == 422
    assert 'audio' in response.json()['error']['message']


def test_not_multipart_is_422(client, device_and_token):
    response = client.post(URL, content=b"raw", headers={"Authorization": f"Bearer {device_and_token[1]}", "Content-Type": "audio/wav"})
    assert response.status_code == 422


def test_device_upload_does_not_spool_plaintext_to_disk(client, device_and_token, services, tmp_path, monkeypatch):
    # Starlette would spool a >1 MB upload into a temp file; ours must stay in memory.
    import tempfile

    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    response = post(client, device_and_token[1], data=wav_bytes(noise_samples(40.0)))
    assert response.status_code == 202
    assert list(spool.iterdir()) == []
