"""The workbench over HTTP: lease, page, single-use audio, submit, skip, stop, withdrawal, audit."""

import json
import re

import pytest
from sqlalchemy import select

from sottovoce.accounts.consent import HUMAN_REVIEW, set_consent
from sottovoce.core.audit import Actor
from sottovoce.db.models import Account, Annotation, AuditEvent, ReviewTask
from sottovoce.review.sampler import create_tasks
from sottovoce.review.submissions import open_annotation
from sottovoce.staff.roles import REVIEWER
from tests.factories import sign_in

JSON = {"accept": "application/json"}


@pytest.fixture
def reviewer(app_client, make_staff):
    staff = make_staff(REVIEWER)
    assert sign_in(app_client, staff).status_code == 303
    return staff


@pytest.fixture
def one_task(services, make_account, make_recording):
    account, device = make_account()
    recording = make_recording(device, words=(("lock", 0.9), ("the", 0.9), ("front", 0.3), ("door", 0.95)))
    with services.sessions() as db:
        task = create_tasks(db, recording.id, account.id, "uncertainty", 0.7)[0]
        db.commit()
        return task.id, account.id, recording.id


def csrf(client):
    return re.search(r'name="csrf" content="([^"]+)"', client.get("/staff/review/tasks/" + client.task_id).text).group(1)


def open_task(client):
    response = client.post("/staff/review/next", data={"csrf": re.search(r'name="csrf" value="([^"]+)"', client.get("/staff/review").text).group(1)}, follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    client.task_id = location.rsplit("/", 1)[-1]
    page = client.get(location)
    assert page.status_code == 200
    token = re.search(r'name="csrf" content="([^"]+)"', page.text).group(1)
    audio_url = re.search(r'data-audio="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    return page, token, audio_url


def test_full_review_flow(app_client, reviewer, one_task, services):
    task_id, _, recording_id = one_task
    page, token, audio_url = open_task(app_client)
    assert app_client.task_id == task_id
    assert 'class="word low' in page.text  # doubtful word highlighted
    assert 'value="front"' in page.text
    audio = app_client.get(audio_url)
    assert audio.status_code == 200
    assert audio.content[:4] == b'RIFF'
    assert audio.headers['cache-control'] == 'no-store'
    assert audio.headers['content-disposition'] == 'inline'
    assert app_client.get(audio_url).status_code == 403  # single use
    body = {"text": "lock the front door please", "unintelligible": [4], "tags": [], "time_spent_ms": 5000}
    done = app_client.post(f"/staff/review/tasks/{task_id}/submit", content=json.dumps(body), headers={"X-CSRF-Token": token, "Content-Type": "application/json", **JSON})
    assert done.status_code == 200
    assert done.json()['next'] == '/staff/review/next'
    after = app_client.post("/staff/review/next", data={"csrf": token}, follow_redirects=False)
    assert after.headers["location"] == "/staff/review?empty=1"  # the queue is empty now
    with services.sessions() as db:
        annotation = db.scalar(select(Annotation))
        content = open_annotation(services, db, annotation)
        assert content["text"] == "lock the front door please"
        # The recognizer missed "please": a deletion from its point of view, as in WER.
        assert content["edits"] == [{"op": "deletion", "hypothesis": "", "correction": "please", "hyp_start": 4, "hyp_end": 4, "corr_start": 4, "corr_end": 5}]
        assert content["unintelligible"] == [4]
        assert db.get(ReviewTask, task_id).status == 'done'
        assert db.get(ReviewTask, task_id).rendered_blob_id is None
        actions = db.scalars(select(AuditEvent.action).where(AuditEvent.subject == task_id)).all()
    assert actions == ["review.leased", "review.transcript_served", "review.audio_served", "review.audio_denied", "review.submitted"]


def test_submit_needs_the_csrf_header(app_client, reviewer, one_task):
    task_id = one_task[0]
    open_task(app_client)
    refused = app_client.post(f"/staff/review/tasks/{task_id}/submit", json={"text": "x"}, headers=JSON)
    assert refused.status_code == 403


def test_another_reviewer_gets_not_found(app_client, reviewer, one_task, make_staff):
    open_task(app_client)
    app_client.cookies.clear()
    sign_in(app_client, make_staff(REVIEWER))
    for path in ("", "/audio?ticket=x", "/status"):
        assert app_client.get(f"/staff/review/tasks/{one_task[0]}{path}", headers=JSON).status_code == 404


def test_sensitive_stop_removes_the_clip_from_review(app_client, reviewer, services, make_account, make_recording):
    account, device = make_account()
    recording = make_recording(device)
    with services.sessions() as db:
        create_tasks(db, recording.id, account.id, "uncertainty", 0.9, overlap=True)
        db.commit()
    _, token, audio_url = open_task(app_client)
    stopped = app_client.post(f"/staff/review/tasks/{app_client.task_id}/stop", json={}, headers={"X-CSRF-Token": token, **JSON})
    assert stopped.status_code == 200
    assert app_client.get(audio_url, headers=JSON).status_code in (404, 409)
    with services.sessions() as db:
        statuses = sorted(db.scalars(select(ReviewTask.status)).all())
    assert statuses == ["stopped", "stopped"]  # the twin task left review too


def test_withdrawn_consent_shows_withdrawn_and_serves_no_audio(app_client, reviewer, one_task, services):
    task_id, account_id, _ = one_task
    _, _, audio_url = open_task(app_client)
    with services.sessions() as db:
        account = db.get(Account, account_id)
        set_consent(services, db, account, HUMAN_REVIEW, False, Actor(account.id, "account"), "dashboard")
        db.commit()
    assert app_client.get(f"/staff/review/tasks/{task_id}/status", headers=JSON).json() == {"status": "withdrawn"}
    assert app_client.get(audio_url, headers=JSON).status_code == 409
    page = app_client.get(f"/staff/review/tasks/{task_id}")
    assert page.status_code == 409
    assert 'withdrawn' in page.text


def test_skip_returns_the_task_to_others(app_client, reviewer, one_task, services, make_staff):
    _, token, _ = open_task(app_client)
    assert app_client.post(f"/staff/review/tasks/{app_client.task_id}/skip", json={}, headers={"X-CSRF-Token": token, **JSON}).status_code == 200
    with services.sessions() as db:
        assert db.get(ReviewTask, app_client.task_id).status == "queued"
        assert db.scalar(select(Annotation.outcome)) == "skipped"


def test_audio_fetch_rate_limit_answers_429_and_alerts(app_client, reviewer, one_task, services):
    services.settings.abuse_audio_per_minute = 3
    services.settings.abuse_replay_max = 100
    task_id = one_task[0]
    open_task(app_client)
    statuses = []
    for _ in range(4):
        page = app_client.get(f"/staff/review/tasks/{task_id}")
        url = re.search(r'data-audio="([^"]+)"', page.text).group(1).replace("&amp;", "&")
        statuses.append(app_client.get(url, headers=JSON).status_code)
    assert statuses == [200, 200, 200, 429]
    from sottovoce.db.models import Alert

    with services.sessions() as db:
        assert [a.rule for a in db.scalars(select(Alert)) if a.rule != "off_shift"] == ["rate_limit"]  # off_shift depends on the hour


def test_audio_without_a_lease_is_refused_and_recorded(app_client, reviewer, one_task, services):
    refused = app_client.get(f"/staff/review/tasks/{one_task[0]}/audio?ticket=guess", headers=JSON)
    assert refused.status_code == 404
    with services.sessions() as db:
        assert db.scalar(select(AuditEvent.action).where(AuditEvent.action == "review.audio_denied")) == "review.audio_denied"
