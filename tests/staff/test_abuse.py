"""Each abuse rule fires on a scripted sequence and stays quiet on a normal one."""

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from sottovoce.core.audit import Actor
from sottovoce.core.errors import Forbidden
from sottovoce.db.models import Alert, AuditEvent, ReviewTask, StaffUser
from sottovoce.review import leases as leases
from sottovoce.review.sampler import create_tasks
from sottovoce.staff import abuse

REVIEWER = Actor("r" * 32, "reviewer")


@pytest.fixture
def on_shift(services):
    """Pin the audit clock inside the default 06-22 UTC shift so only the rule under test can fire."""
    services.audit.clock = lambda: datetime.now(UTC).replace(hour=12)


def events(services, actor, action, n, subject="t", details=None):
    with services.sessions() as db:
        for i in range(n):
            services.audit.append(db, actor, action, subject if subject != "*" else f"t{i}", details)
        db.commit()


def alerts(services):
    with services.sessions() as db:
        return [a.rule for a in db.scalars(select(Alert))]


def test_replaying_one_clip_fires(services, on_shift):
    events(services, REVIEWER, "review.audio_served", 3, "task-1")
    assert alerts(services) == []
    events(services, REVIEWER, "review.audio_served", 1, "task-1")
    assert alerts(services) == ["replay"]


def test_normal_reviewing_is_quiet(services, on_shift):
    for i in range(30):
        events(services, REVIEWER, "review.audio_served", 1, f"task-{i}")
        events(services, REVIEWER, "review.submitted", 1, f"task-{i}", {"duration_s": 3.0})
    events(services, REVIEWER, "review.skipped", 2, "*", {"duration_s": 3.5})
    assert alerts(services) == []


def test_volume_far_above_the_reviewers_norm_fires(services, on_shift):
    services.settings.abuse_volume_min = 20
    events(services, REVIEWER, "review.audio_served", 21, "*")
    assert "volume" in alerts(services)


def test_activity_outside_the_shift_fires(services):
    services.audit.clock = lambda: datetime(2026, 11, 27, 3, 15, tzinfo=UTC)
    events(services, REVIEWER, "review.leased", 1)
    assert alerts(services) == ["off_shift"]


def test_fetching_audio_without_a_lease_fires_and_suspends(services, on_shift, make_account, make_recording):
    account, device = make_account()
    recording = make_recording(device)
    with services.sessions() as db:
        db.add(StaffUser(id=REVIEWER.id, name="mallory", role="reviewer", password_hash="x", sealed_totp_secret=b""))
        create_tasks(db, recording.id, account.id, "uncertainty", 0.5)
        db.commit()
        leases.lease_next(services, db, REVIEWER.id)
        db.commit()
    events(services, REVIEWER, "review.audio_denied", 3)
    with services.sessions() as db:
        alert = db.scalar(select(Alert))
        assert alert.rule == 'no_lease'
        assert alert.suspended
        assert db.get(StaffUser, REVIEWER.id).review_suspended
        assert db.scalar(select(ReviewTask.status)) == "queued"  # the lease was taken back
        with pytest.raises(Forbidden, match="suspended"):
            leases.lease_next(services, db, REVIEWER.id)
        abuse.resolve(services, db, alert.id, Actor("p" * 32, "privacy_officer"), lift_suspension=True)
        db.commit()
        assert leases.lease_next(services, db, REVIEWER.id) is not None


def test_skipping_long_clips_while_submitting_short_ones_fires(services, on_shift):
    events(services, REVIEWER, "review.submitted", 4, "*", {"duration_s": 2.0})
    events(services, REVIEWER, "review.skipped", 5, "*", {"duration_s": 9.0})
    assert alerts(services) == ["cherry_picking"]


def test_sign_in_from_a_new_network_fires(services, on_shift):
    staff = Actor("s" * 32, "reviewer")
    events(services, staff, "staff.login", 1, details={"net": "aaaa"})
    events(services, staff, "staff.login", 1, details={"net": "aaaa"})
    assert alerts(services) == []
    events(services, staff, "staff.login", 1, details={"net": "bbbb"})
    assert alerts(services) == ["new_network"]


def test_one_alert_per_rule_and_hour(services, on_shift):
    events(services, REVIEWER, "review.audio_served", 8, "task-1")
    assert alerts(services) == ["replay"]
    with services.sessions() as db:
        logged = db.scalars(select(AuditEvent.details).where(AuditEvent.action == "abuse.alert")).all()
    assert [json.loads(d)["rule"] for d in logged] == ["replay"]
