"""Sensitive content (issue 16): the pre-screen, category opt-ins in the queue, stop reasons,
exposure limits, the officer's view of danger stops, saved drafts, counts and listens."""

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from sottovoce.accounts.consent import HUMAN_REVIEW, set_consent
from sottovoce.accounts.dashboard import human_listens
from sottovoce.core.audit import Actor
from sottovoce.db.models import Account, Annotation, AuditEvent, ReviewDraft, ReviewTask, StaffUser
from sottovoce.db.types import utcnow
from sottovoce.review import leases, sensitive
from sottovoce.review.prescreen import screen
from sottovoce.review.sampler import create_tasks, sample
from sottovoce.review.submissions import stop_sensitive
from sottovoce.staff import breakglass
from sottovoce.staff.roles import PRIVACY_OFFICER, REVIEWER
from tests.factories import sign_in

JSON = {"accept": "application/json", "Content-Type": "application/json"}


def words_of(text: str, confidence: float = 0.4) -> tuple:
    return tuple((w, confidence) for w in text.split())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call the police he's hitting her", "danger"),
        ("i want to kill myself", "distressing"),
        ("show me porn", "intimate"),
        ("kill the lights in the kitchen", ""),
        ("i'm dying to see that film", ""),
        ("play help by the beatles", ""),
        ("set a timer for ten minutes", ""),
    ],
)
def test_prescreen_categories_and_household_idioms(text, expected):
    assert screen(text) == expected


def test_sampler_keeps_the_prescreen_category_and_the_general_queue_never_gets_it(services, make_account, make_recording, make_staff):
    services.settings.sampler_overlap_share = 0.0  # one task per clip: the counts below are per task
    account, device = make_account()
    flagged = make_recording(device, words=words_of("call the police he hit me"))
    plain = make_recording(device, words=words_of("turn on the kitchen lights", 0.3))
    with services.sessions() as db:
        sample(services, db)
        db.commit()
        by_recording = {t.recording_id: t for t in db.scalars(select(ReviewTask))}
        assert by_recording[flagged.id].sensitivity == "danger"
        assert by_recording[plain.id].sensitivity == ""
    general, volunteer = make_staff(REVIEWER), make_staff(REVIEWER)
    with services.sessions() as db:
        sensitive.set_opt_ins(services, db, Actor(volunteer.user.id, REVIEWER), ["danger"])
        db.commit()
        assert leases.queue_counts(db, general.user.id)["available"] == 1
        assert leases.queue_counts(db, volunteer.user.id)["available"] == 2
        first = leases.lease_next(services, db, general.user.id)
        assert first is not None and first.recording_id == plain.id
        db.commit()
        assert leases.lease_next(services, db, general.user.id).id == first.id  # still their one task
        got = leases.lease_next(services, db, volunteer.user.id)
        assert got is not None and got.recording_id == flagged.id
        db.commit()
        assert json.loads(db.scalar(select(AuditEvent.details).where(AuditEvent.action == "review.opt_ins_changed"))) == {"accepts": "danger"}


def test_opting_out_again_takes_the_category_away(services, make_account, make_recording, make_staff):
    account, device = make_account()
    recording = make_recording(device, words=words_of("show me porn"))
    reviewer = make_staff(REVIEWER)
    actor = Actor(reviewer.user.id, REVIEWER)
    with services.sessions() as db:
        create_tasks(db, recording.id, account.id, "uncertainty", 0.9, sensitivity=screen("show me porn"))
        sensitive.set_opt_ins(services, db, actor, ["intimate", "danger"])
        db.commit()
        assert leases.queue_counts(db, reviewer.user.id)["available"] == 1
        sensitive.set_opt_ins(services, db, actor, ["danger"])
        db.commit()
        assert leases.queue_counts(db, reviewer.user.id)["available"] == 0
        assert leases.lease_next(services, db, reviewer.user.id) is None


def test_the_count_leaves_out_the_overlap_partner_this_reviewer_may_not_take(services, make_account, make_recording, make_staff):
    """The queue said "Nothing to review right now" next to "1 clips waiting"."""
    account, device = make_account()
    recording = make_recording(device)
    reviewer = make_staff(REVIEWER)
    with services.sessions() as db:
        create_tasks(db, recording.id, account.id, "uncertainty", 0.9, overlap=True)
        db.commit()
        assert leases.queue_counts(db, reviewer.user.id)["available"] == 2
        assert leases.lease_next(services, db, reviewer.user.id) is not None
        db.commit()
        assert leases.queue_counts(db, reviewer.user.id)["available"] == 0  # the partner task is blind to them
        other = make_staff(REVIEWER)
        assert leases.queue_counts(db, other.user.id)["available"] == 1


def test_stop_limit_starts_a_cooldown_with_random_and_gold_clips_only(services, make_account, make_recording, make_staff):
    services.settings.review_stop_limit = 2
    account, device = make_account()
    reviewer = make_staff(REVIEWER)
    actor = Actor(reviewer.user.id, REVIEWER)
    recordings = [make_recording(device) for _ in range(4)]
    with services.sessions() as db:
        for recording, priority in zip(recordings[:3], (0.9, 0.9, 0.8), strict=True):
            create_tasks(db, recording.id, account.id, "uncertainty", priority)
        random_task = create_tasks(db, recordings[3].id, account.id, "random", 0.1)[0]
        db.commit()
        exposures = []
        for reason in ("distressing", "other"):
            task = leases.lease_next(services, db, reviewer.user.id)
            assert task.kind == "uncertainty"
            stop_sensitive(services, db, task, actor, reason)
            exposures.append(sensitive.after_stop(services, db, actor))
            db.commit()
        assert [e.break_offered for e in exposures] == [False, True]
        assert exposures[1].cooling_down
        assert leases.queue_counts(db, reviewer.user.id)["available"] == 1  # the random clip only
        assert leases.lease_next(services, db, reviewer.user.id).id == random_task.id
        reasons = db.scalars(select(Annotation.stop_reason).where(Annotation.outcome == "stopped").order_by(Annotation.submitted_at)).all()
        assert sorted(reasons) == ["distressing", "other"]
        assert db.scalar(select(AuditEvent.action).where(AuditEvent.action == "review.exposure_cooldown")) is not None
        # After the cool-down, uncertainty-sampled clips come back.
        db.get_one(StaffUser, reviewer.user.id).review_cooldown_until = utcnow() - timedelta(seconds=1)
        db.commit()
        assert leases.queue_counts(db, reviewer.user.id)["available"] == 1


@pytest.fixture
def reviewer_client(app_client, make_staff):
    staff = make_staff(REVIEWER)
    assert sign_in(app_client, staff).status_code == 303
    return staff


def open_next(client) -> tuple[str, str, str]:
    queue = client.get("/staff/review").text
    response = client.post("/staff/review/next", data={"csrf": re.search(r'name="csrf" value="([^"]+)"', queue).group(1)}, follow_redirects=False)
    location = response.headers["location"]
    page = client.get(location)
    token = re.search(r'name="csrf" content="([^"]+)"', page.text).group(1)
    return location.rsplit("/", 1)[-1], token, page.text


def test_stop_reason_over_http_and_the_officer_sees_only_that_a_danger_stop_happened(app_client, reviewer_client, services, make_account, make_recording, make_staff):
    account, device = make_account()
    recording = make_recording(device, words=words_of("he has a knife help"))
    with services.sessions() as db:
        create_tasks(db, recording.id, account.id, "uncertainty", 0.9)
        db.commit()
    task_id, token, _ = open_next(app_client)
    refused = app_client.post(f"/staff/review/tasks/{task_id}/stop", content=json.dumps({"reason": "he said a knife"}), headers={"X-CSRF-Token": token, **JSON})
    assert refused.status_code == 422  # a closed list: no free text reaches the record
    stopped = app_client.post(f"/staff/review/tasks/{task_id}/stop", content=json.dumps({"reason": "danger"}), headers={"X-CSRF-Token": token, **JSON})
    assert stopped.status_code == 200 and stopped.json()["break"] is None
    with services.sessions() as db:
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "review.stopped_sensitive"))
        assert json.loads(event.details) == {"tasks_stopped": 1, "reason": "danger"}

    app_client.post("/staff/logout", data={"csrf": token})
    officer, second = make_staff(PRIVACY_OFFICER), make_staff(PRIVACY_OFFICER)
    assert sign_in(app_client, officer).status_code == 303
    page = app_client.get("/staff/privacy/stops")
    assert page.status_code == 200
    assert task_id in page.text and reviewer_client.user.name in page.text
    assert "knife" not in page.text and account.name not in page.text  # that it happened, not what was said, nor whose
    officer_csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    opened = app_client.post("/staff/privacy/reid", data={"csrf": officer_csrf, "task_id": task_id, "reason": "reviewer heard someone possibly in danger; safeguarding check"}, follow_redirects=False)
    assert opened.status_code == 303
    assert "request pending" in app_client.get("/staff/privacy/stops").text
    with services.sessions() as db:
        request = breakglass.requests(db)[0]
        with pytest.raises(Exception, match="second, different"):
            breakglass.approve(services, db, Actor(officer.user.id, PRIVACY_OFFICER), request.id)  # the two-person rule holds
        breakglass.approve(services, db, Actor(second.user.id, PRIVACY_OFFICER), request.id)
        assert breakglass.reveal(services, db, Actor(officer.user.id, PRIVACY_OFFICER), request.id)["account_name"] == account.name


def test_reviewers_may_not_see_the_officer_page(app_client, reviewer_client):
    assert app_client.get("/staff/privacy/stops").status_code in (403, 404)


def test_draft_is_sealed_restored_on_reload_for_its_reviewer_only_and_gone_on_submit(app_client, reviewer_client, services, make_account, make_recording):
    account, device = make_account()
    recording = make_recording(device, words=words_of("lock the front dour"))
    with services.sessions() as db:
        create_tasks(db, recording.id, account.id, "uncertainty", 0.9)
        db.commit()
    task_id, token, page = open_next(app_client)
    draft = {"words": ["lock", "the", "front", "door", "now"], "unintelligible": [2], "pii_miss": [], "tags": ["not_english"]}
    saved = app_client.post(f"/staff/review/tasks/{task_id}/draft", content=json.dumps(draft), headers={"X-CSRF-Token": token, **JSON})
    assert saved.status_code == 200
    with services.sessions() as db:
        row = db.get(ReviewDraft, task_id)
        assert b"door" not in row.sealed_content and b"now" not in row.sealed_content  # sealed, not plaintext
    reloaded = app_client.get(f"/staff/review/tasks/{task_id}").text
    assert 'value="door"' in reloaded and 'value="now"' in reloaded and "Your unsaved edits were restored" in reloaded
    assert re.search(r'class="word low unintelligible"[^>]*value="front"', reloaded)
    with services.sessions() as db:
        served = db.scalars(select(AuditEvent.details).where(AuditEvent.action == "review.transcript_served")).all()
        assert json.loads(served[-1]) == {"draft": True}
    body = {"text": "lock the front door now", "tags": ["not_english"]}
    assert app_client.post(f"/staff/review/tasks/{task_id}/submit", content=json.dumps(body), headers={"X-CSRF-Token": token, **JSON}).status_code == 200
    with services.sessions() as db:
        assert db.get(ReviewDraft, task_id) is None


def test_withdrawal_deletes_the_draft(app_client, reviewer_client, services, make_account, make_recording):
    account, device = make_account()
    recording = make_recording(device, words=words_of("lock the door"))
    with services.sessions() as db:
        create_tasks(db, recording.id, account.id, "uncertainty", 0.9)
        db.commit()
    task_id, token, _ = open_next(app_client)
    draft = {"words": ["lock", "the", "doors", ""]}
    assert app_client.post(f"/staff/review/tasks/{task_id}/draft", content=json.dumps(draft), headers={"X-CSRF-Token": token, **JSON}).status_code == 200
    with services.sessions() as db:
        set_consent(services, db, db.get_one(Account, account.id), HUMAN_REVIEW, False, Actor(account.id, "account"), "dashboard")
        db.commit()
        assert db.get(ReviewDraft, task_id) is None


def test_progress_and_a_reload_is_one_listen_on_the_dashboard(app_client, reviewer_client, services, make_account, make_recording):
    account, device = make_account()
    recordings = [make_recording(device) for _ in range(3)]
    with services.sessions() as db:
        for i, recording in enumerate(recordings):
            create_tasks(db, recording.id, account.id, "uncertainty", 0.9 - i / 10)
        db.commit()
    task_id, token, page = open_next(app_client)
    assert re.search(r"Clip <strong>1</strong> of 3 this session · 2 more waiting that you may take", page)
    for _ in range(2):  # the page, then a reload: two audited fetches
        html = app_client.get(f"/staff/review/tasks/{task_id}").text
        audio = re.search(r'data-audio="([^"]+)"', html).group(1).replace("&amp;", "&")
        assert app_client.get(audio).status_code == 200
    with services.sessions() as db:
        task = db.get_one(ReviewTask, task_id)
        assert len(db.scalars(select(AuditEvent).where(AuditEvent.action == "review.audio_served", AuditEvent.subject == task_id)).all()) == 2
        assert len(human_listens(db, account.id, [task.recording_id])[task.recording_id]) == 1
    body = {"text": "lock the front door"}
    assert app_client.post(f"/staff/review/tasks/{task_id}/submit", content=json.dumps(body), headers={"X-CSRF-Token": token, **JSON}).status_code == 200
    _, _, page = open_next(app_client)
    assert re.search(r"Clip <strong>2</strong> of 3 this session · 1 more waiting", page)
    queue = app_client.get("/staff/review").text
    assert re.search(r'<strong id="available">1</strong> clip waiting that you may take', queue)


def test_the_waiting_count_reads_at_most_the_cap(services, make_account, make_recording, make_staff):
    account, device = make_account()
    recordings = [make_recording(device) for _ in range(3)]
    reviewer = make_staff(REVIEWER)
    with services.sessions() as db:
        for recording in recordings:
            create_tasks(db, recording.id, account.id, "uncertainty", 0.5)
        db.commit()
        assert leases.queue_counts(db, reviewer.user.id, cap=2) | {"done_by_you": 0} == {"available": 2, "capped": 1, "done_by_you": 0, "done_this_session": 0}
        assert leases.queue_counts(db, reviewer.user.id)["capped"] == 0
