""""Don't keep my voice" (issue 16): text only (audio deleted once transcribed) or nothing (the
recording deleted once the device has its answer); never sampled; audited like consent."""

import json

from sqlalchemy import select

from sottovoce.db.models import Account, AuditEvent, ConsentChange, Recording
from sottovoce.review.sampler import candidates
from tests.factories import demo_clip
from tests.holders import record

HTML = {"accept": "text/html"}
HYPOTHESIS = json.dumps({"hypothesis": {"words": [{"word": "lock", "start": 0.1, "end": 0.4, "confidence": 0.3}]}})


def upload(client, token):
    files = {"audio": ("a.wav", demo_clip(), "audio/wav")}
    return client.post("/api/v1/recordings", files=files, data={"metadata": HYPOTHESIS}, headers={"Authorization": f"Bearer {token}"})


def test_text_only_from_the_dashboard_deletes_audio_keeps_text_and_is_audited(client, services, holder):
    assert client.post("/me/keep-voice", data={"csrf": client.csrf, "keep_voice": "text_only"}, follow_redirects=False).status_code == 303
    answer = upload(client, holder.token)
    assert answer.status_code == 202 and answer.json()["status"] == "transcribed"
    with services.sessions() as db:
        recording = db.get(Recording, answer.json()["id"])
        assert recording.audio_kept is False
        assert recording.audio_blob_id not in set(services.blobs.ids())
        assert candidates(db) == []  # never sampled
        change = db.scalar(select(ConsentChange).where(ConsentChange.purpose == "keep_voice"))
        assert (change.value, change.channel) == (False, "dashboard")
        events = [json.loads(e.details) for e in db.scalars(select(AuditEvent).where(AuditEvent.action == "consent.change"))]
        assert {"purpose": "keep_voice", "from": "keep", "to": "text_only", "channel": "dashboard"} in events
    assert client.get(f"/api/v1/me/recordings/{answer.json()['id']}/audio").status_code == 404
    page = client.get("/me/", headers=HTML).text
    assert "lock" in page and "audio not kept" in page


def test_nothing_via_the_device_api_keeps_nothing_after_the_answer(client, services, holder):
    response = client.put("/api/v1/me/keep-voice", json={"keep_voice": "nothing"}, headers={"X-CSRF-Token": client.csrf})
    assert response.status_code == 200 and response.json()["value"] == "nothing"
    answer = upload(client, holder.token)
    assert answer.json()["status"] == "transcribed"  # the device has its answer...
    with services.sessions() as db:
        assert db.get(Recording, answer.json()["id"]) is None  # ...and nothing is kept
        assert db.get(Account, holder.account.id).keep_voice == "nothing"


def test_keep_is_the_default_and_bad_choices_are_refused(client, services, holder):
    recording = record(services, holder.device, "lock the door")
    with services.sessions() as db:
        assert db.get(Recording, recording.id).audio_kept is True
        assert [c.recording_id for c in candidates(db)] == [recording.id]
    bad = client.put("/api/v1/me/keep-voice", json={"keep_voice": "forever"}, headers={"X-CSRF-Token": client.csrf})
    assert bad.status_code == 422
