"""The privacy dashboard and its JSON API: recordings, playback, human listens, consent, retention."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from sottovoce.accounts import consent
from sottovoce.core.audio import from_pcm16
from sottovoce.core.audit import Actor
from sottovoce.db.models import Account, AuditEvent, ConsentChange, ReviewTask
from sottovoce.recordings.store import load_audio
from tests.holders import add_task, listen, record

HTML = {"accept": "text/html"}


def test_dashboard_lists_recordings_with_date_device_transcript_and_player(client, services, holder):
    when = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    recording = record(services, holder.device, "please lock the garage", captured_at=when)
    page = client.get("/me/", headers=HTML)
    assert page.status_code == 200
    assert 'please lock the garage' in page.text
    assert 'kitchen speaker' in page.text
    assert '2026-11-20 09:30 UTC' in page.text
    assert f'src="/api/v1/me/recordings/{recording.id}/audio"' in page.text
    listing = client.get("/api/v1/me/recordings").json()
    assert listing["total"] == 1
    item = listing["recordings"][0]
    assert item['transcript'] == 'please lock the garage'
    assert item['device']['name'] == 'kitchen speaker'
    assert item['captured_at'].startswith('2026-11-20T09:30')
    assert item['reviewed_by_a_person'] is False
    detail = client.get(f"/api/v1/me/recordings/{recording.id}").json()
    assert [w["word"] for w in detail["hypothesis"]["words"]] == ["please", "lock", "the", "garage"]
    assert client.get(f"/me/recordings/{recording.id}", headers=HTML).status_code == 200


@pytest.mark.asvs("V14.3.2")
def test_playback_serves_the_original_audio_as_wav_without_caching(client, services, holder):
    recording = record(services, holder.device)
    response = client.get(f"/api/v1/me/recordings/{recording.id}/audio")
    assert response.status_code == 200
    assert response.headers['content-type'] == 'audio/wav'
    assert response.headers["cache-control"] == "no-store"
    assert response.content[:4] == b'RIFF'
    assert response.content[8:12] == b'WAVE'
    with services.sessions() as db:
        original = load_audio(services, db, recording)
    assert (abs(from_pcm16(response.content[44:]) - original) < 1e-6).all()
    for path in ("/me/", "/api/v1/me/recordings", "/api/v1/me"):
        assert client.get(path).headers["cache-control"] == "no-store"


def test_each_human_listen_is_shown_with_date_and_purpose_never_the_reviewer(client, services, holder):
    reviewed = record(services, holder.device, "what is on my calendar")
    untouched = record(services, holder.device, "set a timer")
    listen(services, add_task(services, reviewed, kind="uncertainty"), reviewer_id="a1" * 16)
    listen(services, add_task(services, reviewed, kind="random"), reviewer_id="b2" * 16)
    gold = add_task(services, reviewed, kind="gold")
    listen(services, gold, reviewer_id="c3" * 16)
    with services.sessions() as db:  # break-glass re-identification: shown with its reason
        services.audit.record(db, Actor("d4" * 16, "privacy_officer"), "reid.revealed", gold.id,
                              {"request": "9" * 32, "reason": "court order 12/2026", "approver": "e5" * 16})
    detail = client.get(f"/api/v1/me/recordings/{reviewed.id}").json()
    purposes = [x["purpose"] for x in detail["human_listens"]]
    assert purposes[:3] == ["quality check of an uncertain transcript", "random quality sample", "reviewer calibration"]
    assert 'break-glass' in purposes[3]
    assert detail['human_listens'][3]['reason'] == 'court order 12/2026'
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT.*Z", x["at"]) for x in detail["human_listens"])
    assert client.get(f"/api/v1/me/recordings/{untouched.id}").json()["human_listens"] == []
    page = client.get("/me/", headers=HTML).text
    assert page.count('Reviewed by a person') == 3
    assert page.count('Identity revealed') == 1
    assert 'court order 12/2026' in page
    everything = page + client.get(f"/me/recordings/{reviewed.id}", headers=HTML).text + str(detail)
    for reviewer in ("a1" * 16, "b2" * 16, "c3" * 16, "d4" * 16, "e5" * 16):
        assert reviewer not in everything


def test_consent_switches_explain_themselves_and_record_history(client, services, holder):
    page = client.get("/me/", headers=HTML).text
    for sentence in consent.EXPLANATIONS.values():
        assert sentence in page
    queued = add_task(services, record(services, holder.device), status="queued")
    response = client.post("/me/consent", data={"purpose": "human_review", "value": "off", "csrf": client.csrf}, follow_redirects=False)
    assert response.status_code == 303
    response = client.put("/api/v1/me/consent/training", json={"value": True}, headers={"X-CSRF-Token": client.csrf})
    assert response.status_code == 200
    assert response.json()['value'] is True
    with services.sessions() as db:
        account = db.get(Account, holder.account.id)
        assert account.consent_human_review is False
        assert account.consent_training is True
        changes = db.scalars(select(ConsentChange).order_by(ConsentChange.id)).all()
        assert [(c.purpose, c.value, c.channel, c.actor_role, c.actor_id) for c in changes] == [
            ("human_review", False, "dashboard", "account", holder.account.id),
            ("training", True, "dashboard", "account", holder.account.id),
        ]
        assert db.get(ReviewTask, queued.id).status == "withdrawn"  # withdrawal pulls open tasks at once
        assert db.scalars(select(AuditEvent.action).where(AuditEvent.action == "consent.change")).all() == ["consent.change"] * 2


def test_bad_consent_and_retention_inputs_are_4xx(client):
    h = {"X-CSRF-Token": client.csrf}
    assert client.put("/api/v1/me/consent/marketing", json={"value": True}, headers=h).status_code == 422
    assert client.put("/api/v1/me/consent/training", json={"value": "maybe"}, headers=h).status_code == 422
    assert client.post("/me/consent", data={"purpose": "training", "value": "yes", "csrf": client.csrf}).status_code == 422
    assert client.put("/api/v1/me/retention", json={"retention": "7y"}, headers=h).status_code == 422
    bad = client.post("/me/retention", data={"retention": "7y", "csrf": client.csrf}, headers=HTML)
    assert bad.status_code == 422
    assert 'retention' in bad.text


def test_retention_choice_is_saved_and_audited(client, services, holder):
    assert "until I delete them" in client.get("/me/", headers=HTML).text
    assert client.post("/me/retention", data={"retention": "forever", "csrf": client.csrf}, follow_redirects=False).status_code == 303
    assert client.get("/api/v1/me").json()["retention"]["value"] == "forever"
    with services.sessions() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "retention.change")).one()
        assert event.actor == holder.account.id
        assert event.role == 'account'


def test_pages_have_no_inline_script_or_style(client, services, holder):
    recording = record(services, holder.device)
    pages = [client.get(p, headers=HTML).text for p in ("/me/", f"/me/recordings/{recording.id}", "/me/receipts", "/me/login?token=x")]
    for html in pages:
        assert '<style' not in html
        assert ' style=' not in html
        assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
        assert re.findall(r"\son[a-z]+=", html) == []  # no inline event handlers


def test_recordings_are_paged_newest_first(client, services, holder):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(53):
        record(services, holder.device, f"utterance{i}", captured_at=start + timedelta(hours=i), seconds=0.2)
    first = client.get("/api/v1/me/recordings").json()
    assert first['total'] == 53
    assert first['pages'] == 2
    assert len(first['recordings']) == 50
    assert first["recordings"][0]["transcript"] == "utterance52"
    second = client.get("/api/v1/me/recordings?page=2").json()
    assert [r["transcript"] for r in second["recordings"]] == ["utterance2", "utterance1", "utterance0"]
    assert client.get("/api/v1/me/recordings?page=0").status_code == 422
    assert "page 2 of 2" in client.get("/me/?page=2", headers=HTML).text
