"""Retention: recordings past the account's choice, and likely accidental activations after the
grace period, are deleted on schedule through the one cascade (OWASP ASVS V14.2.7)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from sottovoce.accounts.retention import months_before, set_retention, sweep
from sottovoce.core.audit import OPERATOR
from sottovoce.core.errors import InvalidInput
from sottovoce.db.models import Account, DeletionReceipt, Recording
from tests.holders import new_holder, record, run_cli

pytestmark = pytest.mark.asvs("V14.2.7")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_months_are_calendar_months_with_the_day_clamped():
    assert months_before(datetime(2026, 5, 31, 8, tzinfo=UTC), 3) == datetime(2026, 2, 28, 8, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 18) == datetime(2024, 7, 15, tzinfo=UTC)
    assert months_before(datetime(2028, 5, 29, tzinfo=UTC), 3) == datetime(2028, 2, 29, tzinfo=UTC)


def holder_with(services, retention, ages_days):
    holder = new_holder(services)
    with services.sessions() as db:
        set_retention(services, db, db.get(Account, holder.account.id), retention, OPERATOR, "cli")
        db.commit()
    made = [record(services, holder.device, captured_at=NOW - timedelta(days=d), seconds=0.2) for d in ages_days]
    return holder, made


def ids(services):
    with services.sessions() as db:
        return set(db.scalars(select(Recording.id)))


def test_sweep_deletes_only_what_is_past_each_accounts_retention(services):
    _, short = holder_with(services, "3m", [10, 95, 400])
    _, long = holder_with(services, "18m", [10, 400, 560])
    _, keep = holder_with(services, "forever", [10, 2000])
    report = sweep(services, now=NOW)
    assert ids(services) == {short[0].id, long[0].id, long[1].id, keep[0].id, keep[1].id}
    assert report["retention"] == {"accounts": 2, "recordings": 3}
    assert report["accidental-policy"] == {"accounts": 0, "recordings": 0}
    with services.sessions() as db:
        receipts = db.scalars(select(DeletionReceipt)).all()
    assert sorted(r.channel for r in receipts) == ['retention', 'retention']
    assert all(r.status == 'done' for r in receipts)
    assert sweep(services, now=NOW)["receipts"] == []  # nothing left to do


def test_likely_accidental_recordings_go_after_the_grace_period(services):
    holder = new_holder(services)
    with services.sessions() as db:
        set_retention(services, db, db.get(Account, holder.account.id), "forever", OPERATOR, "cli")
        db.commit()
    fresh, stale, normal = (record(services, holder.device, seconds=0.2) for _ in range(3))
    with services.sessions() as db:
        db.execute(update(Recording).where(Recording.id.in_([fresh.id, stale.id])).values(likely_accidental=True))
        db.execute(update(Recording).where(Recording.id.in_([stale.id, normal.id])).values(received_at=datetime.now(UTC) - timedelta(hours=25)))
        db.commit()
    report = sweep(services)
    assert ids(services) == {fresh.id, normal.id}
    assert report["accidental-policy"] == {"accounts": 1, "recordings": 1}
    with services.sessions() as db:
        assert db.scalars(select(DeletionReceipt.channel)).all() == ["accidental-policy"]


def test_unknown_retention_is_refused(services):
    holder = new_holder(services)
    with services.sessions() as db, pytest.raises(InvalidInput):
        set_retention(services, db, db.get(Account, holder.account.id), "10y", OPERATOR, "cli")


def test_cli_sweep_reports_json(services, settings, env_for):
    holder_with(services, "3m", [200])
    result = run_cli(env_for(settings), "retention", "sweep", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report['retention']['recordings'] == 1
    assert len(report['receipts']) == 1
    assert 'wal_truncated' in report
    assert ids(services) == set()
