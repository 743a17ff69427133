"""`sottovoce recordings retranscribe`: stored recordings transcribed again as jobs, with the
active version or a named one (the latter only for accounts consenting to training), consent and
deletion re-checked when each job runs; the real recognizer."""

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from sottovoce.accounts.deletion import delete_recordings
from sottovoce.cli import app
from sottovoce.core.audit import OPERATOR
from sottovoce.db.models import Account, AuditEvent, Hypothesis, ModelVersion, Retranscription
from sottovoce.jobs.transcribe import RETRANSCRIBE, queue_retranscriptions
from sottovoce.jobs.worker import drain
from sottovoce.learning import registry

pytestmark = pytest.mark.slow


@pytest.fixture
def two_accounts(services, make_account, make_recording):
    """One recording each (with a device's external hypothesis) for a training-consenting account
    and one that does not consent; v2 is a candidate that writes "door" as "gate"."""
    consenting, device_a = make_account(training=True)
    other, device_b = make_account(training=False)
    a, b = make_recording(device_a), make_recording(device_b)
    with services.sessions() as db:
        registry.ensure_base(services, db)
        registry.add_candidate(services, db, {"rewrites": [["door", "gate"]]}, "snap")
        db.commit()
    return {"consenting": (consenting.id, a.id), "other": (other.id, b.id)}


def latest(services, recording_id):
    with services.sessions() as db:
        rows = db.execute(select(Hypothesis, ModelVersion.name).outerjoin(ModelVersion, ModelVersion.id == Hypothesis.version_id).where(Hypothesis.recording_id == recording_id).order_by(Hypothesis.created_at)).all()
        from sottovoce.recordings.store import describe, get_recording

        text = describe(services, db, get_recording(db, recording_id))["hypothesis"]["text"].lower()
        return [(h.source, name) for h, name in rows], text


def run(settings, env_for, *args):
    result = CliRunner().invoke(app, ["recordings", "retranscribe", *args, "--json"], env=env_for(settings))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_retranscribe_with_the_active_version_and_with_a_named_one(services, settings, env_for, two_accounts):
    (_, a), (other_account, b) = two_accounts["consenting"], two_accounts["other"]
    report = run(settings, env_for)
    assert (report["queued"], report["done"], report["failed"], report["version"]) == (2, 2, 0, "active")
    for recording in (a, b):
        history, text = latest(services, recording)
        assert history == [('external', None), ('local', 'v1')]
        assert 'door' in text
    # A candidate's output is measurement: only for the account that consents to training.
    report = run(settings, env_for, "--version", "v2")
    assert (report["queued"], report["skipped_without_training_consent"], report["done"]) == (1, 1, 1)
    history, text = latest(services, a)
    assert history[-1] == ('local', 'v2')
    assert 'gate' in text
    assert latest(services, b)[0][-1] == ("local", "v1")
    # Filters.
    assert run(settings, env_for, "--account", other_account)["queued"] == 1
    assert run(settings, env_for, "--since", (date.today() + timedelta(days=2)).isoformat())["queued"] == 0
    with services.sessions() as db:
        assert db.scalar(select(Retranscription)) is None  # requests go when done
        assert db.scalar(select(AuditEvent).where(AuditEvent.action == "recordings.retranscribe")) is not None


def test_consent_withdrawal_and_deletion_after_queueing_are_respected(services, two_accounts):
    (account_a, a), (account_b, b) = two_accounts["consenting"], two_accounts["other"]
    with services.sessions() as db:
        report = queue_retranscriptions(services, db, version=registry.get(db, "v2"))
        assert report["queued"] == 1
        queue_retranscriptions(services, db)  # both, with the active version
        db.get(Account, account_a).consent_training = False  # withdrawn before the jobs run
        delete_recordings(services, db, account_b, [b], OPERATOR, "cli")
        db.commit()
    assert drain(services, [RETRANSCRIBE]) == 3
    history, text = latest(services, a)
    assert history == [('external', None), ('local', 'v1')]  # v2's job skipped
    assert 'gate' not in text
    with services.sessions() as db:
        assert db.scalar(select(Retranscription)) is None
        assert db.scalar(select(Hypothesis).where(Hypothesis.recording_id == b)) is None
