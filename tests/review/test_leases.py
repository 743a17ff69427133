"""Lease rules: one task at a time, expiry, other reviewers refused, blind overlap, withdrawal."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from sottovoce.accounts.consent import HUMAN_REVIEW, set_consent
from sottovoce.core.audit import Actor
from sottovoce.core.errors import Conflict, Forbidden, NotFound
from sottovoce.db.models import Account, ReviewTask
from sottovoce.db.types import utcnow
from sottovoce.review import leases as leases
from sottovoce.review.sampler import create_tasks


@pytest.fixture
def queued(services, make_account, make_recording):
    def make(overlap=False, review=True):
        account, device = make_account(review=review)
        recording = make_recording(device)
        with services.sessions() as db:
            created = create_tasks(db, recording.id, account.id, "uncertainty", 0.5, overlap=overlap)
            db.commit()
            return account, [t.id for t in created]

    return make


def lease(services, reviewer):
    with services.sessions() as db:
        task = leases.lease_next(services, db, reviewer)
        db.commit()
        return task.id if task else None


def test_reviewer_keeps_one_task_until_done(services, queued):
    queued()
    queued()
    first = lease(services, "r1")
    assert lease(services, "r1") == first  # same task again, not a second one


def test_two_reviewers_never_get_the_same_task(services, queued):
    queued()
    queued()
    assert lease(services, "r1") != lease(services, "r2")


def test_only_the_lease_holder_can_load_the_task(services, queued):
    queued()
    task_id = lease(services, "r1")
    with services.sessions() as db:
        assert leases.leased_task(db, task_id, "r1").id == task_id
        with pytest.raises(NotFound):
            leases.leased_task(db, task_id, "r2")
        with pytest.raises(NotFound):
            leases.leased_task(db, "0" * 32, "r1")


def test_expired_lease_goes_back_to_the_queue(services, queued):
    queued()
    task_id = lease(services, "r1")
    with services.sessions() as db:
        db.execute(update(ReviewTask).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
        with pytest.raises(NotFound):
            leases.leased_task(db, task_id, "r1")
    assert lease(services, "r2") == task_id


def test_overlap_tasks_go_to_two_different_reviewers(services, queued):
    _, ids = queued(overlap=True)
    first = lease(services, "r1")
    with services.sessions() as db:
        db.get(ReviewTask, first).status = "done"
        db.commit()
    assert lease(services, "r1") is None  # the twin is not offered to the same reviewer
    assert lease(services, "r2") == ({*ids} - {first}).pop()


def test_withdrawing_consent_pulls_queued_and_leased_tasks_at_once(services, queued):
    queued()
    queued()  # another account's task stays
    task_id = lease(services, "r1")
    with services.sessions() as db:
        leased_account = db.get(ReviewTask, task_id).account_id
        target = db.get(Account, leased_account)
        withdrawn = set_consent(services, db, target, HUMAN_REVIEW, False, Actor(target.id, "account"), "dashboard")
        db.commit()
        assert withdrawn == 1
        with pytest.raises(Conflict):
            leases.leased_task(db, task_id, "r1")
    remaining = lease(services, "r2")
    assert remaining is not None
    assert remaining != task_id


def test_a_task_is_not_leased_once_consent_is_gone(services, queued):
    account, _ = queued()
    with services.sessions() as db:
        db.execute(update(Account).where(Account.id == account.id).values(consent_human_review=False))
        db.commit()
    assert lease(services, "r1") is None


def test_audio_tickets_are_single_use_and_bound(services, queued):
    queued()
    task_id = lease(services, "r1")
    with services.sessions() as db:
        task = db.get(ReviewTask, task_id)
        token = leases.issue_ticket(services, db, task, "session-a")
        db.commit()
        with pytest.raises(Forbidden):
            leases.redeem_ticket(db, task_id, token, "session-b")  # another session
        with pytest.raises(Forbidden):
            leases.redeem_ticket(db, "f" * 32, token, "session-a")  # another task
        leases.redeem_ticket(db, task_id, token, "session-a")
        db.commit()
        with pytest.raises(Forbidden):
            leases.redeem_ticket(db, task_id, token, "session-a")  # replay


def test_expired_ticket_is_refused(services, queued):
    queued()
    task_id = lease(services, "r1")
    services.settings.review_ticket_seconds = 0.001
    with services.sessions() as db:
        token = leases.issue_ticket(services, db, db.get(ReviewTask, task_id), "s")
        db.commit()
        import time

        time.sleep(0.01)
        with pytest.raises(Forbidden, match="expired"):
            leases.redeem_ticket(db, task_id, token, "s")


def test_reviewers_claiming_at_once_each_get_a_different_task(services, queued):
    """The claim is one UPDATE ... (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING: twelve reviewers
    asking at the same moment get twelve different tasks, with no error and none left unclaimed."""
    from concurrent.futures import ThreadPoolExecutor

    for _ in range(12):
        queued()
    with ThreadPoolExecutor(12) as pool:
        got = list(pool.map(lambda i: lease(services, f"r{i}"), range(12)))
    assert None not in got
    assert len(set(got)) == 12
    with services.sessions() as db:
        holders = dict(db.execute(select(ReviewTask.id, ReviewTask.lease_holder).where(ReviewTask.id.in_(got))).all())
    assert sorted(holders.values()) == sorted(f"r{i}" for i in range(12))


def test_a_suspended_reviewer_is_refused_even_with_tasks_waiting(services, queued, make_staff):
    from sottovoce.db.models import StaffUser
    from sottovoce.staff.roles import REVIEWER

    queued()
    reviewer = make_staff(REVIEWER).user
    with services.sessions() as db:
        db.execute(update(StaffUser).where(StaffUser.id == reviewer.id).values(review_suspended=True))
        db.commit()
    with pytest.raises(Forbidden, match="suspended"):
        lease(services, reviewer.id)
    with services.sessions() as db:
        assert db.scalar(select(ReviewTask.status)) == "queued"  # nothing was claimed on the way
