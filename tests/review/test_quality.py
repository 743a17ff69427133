"""Agreement between blind double reviews, accuracy on gold clips, adjudication, supervisor page."""

import pytest
from sqlalchemy import select

from sottovoce.core.audit import Actor
from sottovoce.core.errors import Conflict
from sottovoce.db.models import AuditEvent, ReviewTask
from sottovoce.review import leases as leases
from sottovoce.review import quality
from sottovoce.review.sampler import create_tasks
from sottovoce.review.submissions import Submission, submit
from sottovoce.staff.roles import REVIEWER, SUPERVISOR
from tests.factories import sign_in


def review(services, reviewer, text):
    with services.sessions() as db:
        task = leases.lease_next(services, db, reviewer.id)
        submit(services, db, task, Actor(reviewer.id, REVIEWER), Submission(text=text))
        db.commit()
        return task


@pytest.fixture
def reviewers(make_staff):
    return make_staff(REVIEWER).user, make_staff(REVIEWER).user


def test_disagreeing_double_review_waits_for_adjudication(services, make_account, make_recording, reviewers):
    account, device = make_account()
    recording = make_recording(device)
    with services.sessions() as db:
        create_tasks(db, recording.id, account.id, "uncertainty", 0.5, overlap=True)
        db.commit()
    a, b = reviewers
    review(services, a, "lock the front door")
    review(services, b, "lock the front floor")
    with services.sessions() as db:
        pending = quality.disagreements(services, db)
        assert len(pending) == 1
        by_name = {q.name: q for q in quality.reviewer_quality(services, db)}
        assert by_name[a.name].agreement_wer == 0.25
        assert by_name[b.name].agreement_wer == 0.25
        supervisor = Actor("s" * 32, SUPERVISOR)
        view = quality.adjudication_view(services, db, pending[0], supervisor)
        assert sorted(view["versions"]) == ["lock the front door", "lock the front floor"]
        quality.adjudicate(services, db, pending[0], "lock the front door", supervisor)
        db.commit()
        assert quality.disagreements(services, db) == []
        with pytest.raises(Conflict):
            quality.adjudicate(services, db, pending[0], "again", supervisor)
        assert "review.adjudication_read" in db.scalars(select(AuditEvent.action)).all()


def test_agreeing_reviews_need_no_adjudication(services, make_account, make_recording, reviewers):
    account, device = make_account()
    recording = make_recording(device)
    with services.sessions() as db:
        create_tasks(db, recording.id, account.id, "uncertainty", 0.5, overlap=True)
        db.commit()
    review(services, reviewers[0], "Lock the front door.")
    review(services, reviewers[1], "lock the front door")  # same words after normalization
    with services.sessions() as db:
        assert quality.disagreements(services, db) == []


def test_gold_accuracy_per_reviewer(services, make_account, make_recording, reviewers):
    account, device = make_account()
    recording = make_recording(device)
    with services.sessions() as db:
        quality.add_gold(services, db, recording.id, "lock the front door")
        db.commit()
    review(services, reviewers[0], "lock the back door")
    with services.sessions() as db:
        stats = {q.name: q for q in quality.reviewer_quality(services, db)}
        assert stats[reviewers[0].name].gold_wer == 0.25
        assert stats[reviewers[0].name].gold_clips == 1
        assert db.scalar(select(ReviewTask.kind)) == "gold"


def test_supervisor_page_shows_counts_not_content_of_sensitive_clips(app_client, make_staff, services, make_account, make_recording):
    from sottovoce.review.submissions import stop_sensitive

    account, device = make_account()
    recording = make_recording(device, words=(("zanzibarcanary", 0.4),))
    with services.sessions() as db:
        create_tasks(db, recording.id, account.id, "uncertainty", 0.5)
        db.commit()
        task = leases.lease_next(services, db, "r1")
        stop_sensitive(services, db, task, Actor("r1", REVIEWER))
        db.commit()
    sign_in(app_client, make_staff(SUPERVISOR))
    page = app_client.get("/staff/supervise")
    assert page.status_code == 200
    assert '1 clip(s) were stopped' in page.text
    assert 'zanzibarcanary' not in page.text


def test_live_wer_uses_only_the_random_slice(app_client, make_staff, services, make_account, make_recording):
    from sottovoce.learning.monitoring import live_wer

    for kind, text in (("random", "lock the front floor"), ("uncertainty", "something else entirely")):
        account, device = make_account()
        recording = make_recording(device)
        with services.sessions() as db:
            create_tasks(db, recording.id, account.id, kind, 0.9 if kind == "random" else 0.1)
            db.commit()
            task = leases.lease_next(services, db, "r-" + kind)
            submit(services, db, task, Actor("r-" + kind, REVIEWER), Submission(text=text))
            db.commit()
    with services.sessions() as db:
        points, confusions = live_wer(services, db)
    assert len(points) == 1
    assert points[0].wer == 0.25
    assert points[0].clips == 1
    assert confusions[0]['ref'] == 'floor'
    assert confusions[0]['hyp'] == 'door'
    sign_in(app_client, make_staff(SUPERVISOR))
    page = app_client.get("/staff/supervise")
    assert '<svg' in page.text
    assert '25.0%' in page.text
