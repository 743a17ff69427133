"""Versions are shared state: a promotion, rollback or deletion strip committed by one process (the
CLI) is used by another, already running process (here the test, holding the worker's cache) from
its next transcription job on, with the real recognizer."""

import json
import subprocess
import sys

import pytest
from sqlalchemy import select

from sottovoce.db.models import AuditEvent, DatasetItem, DatasetSnapshot, Hypothesis, ModelVersion, Recording
from sottovoce.jobs.worker import drain
from sottovoce.learning import guard, registry
from sottovoce.recordings.ingest import commit_ingest, ingest
from sottovoce.recordings.metadata import parse_metadata
from sottovoce.recordings.store import describe, get_recording
from tests.factories import demo_clip

pytestmark = pytest.mark.slow

# What a version learned, made visible: "door" is written "gate" only by v2.
V2 = {"rewrites": [["door", "gate"]], "params": {"selected": {"rewrites": True}}}


def guard_metrics(errors: int, snapshot: str = "snap") -> dict:
    words = [5] * 20
    return {"snapshot": snapshot, "eval_wer": None, "guard": {"set": guard.fingerprint(), "wer": errors / 100, "interval": None, "errors": [errors // 20] * 20, "words": words}}


def transcribe_one(services, device) -> tuple[str, str]:
    """Ingest and transcribe the demo clip; (text, name of the version that produced it)."""
    with services.sessions() as db:
        recording = ingest(services, db, device, demo_clip("lock-the-front-door.wav"), parse_metadata(None))
        commit_ingest(services, db, recording)
        recording_id = recording.id
    assert drain(services, ["transcribe"]) == 1
    with services.sessions() as db:
        text = describe(services, db, get_recording(db, recording_id))["hypothesis"]["text"]
        version_id = db.scalar(select(Hypothesis.version_id).where(Hypothesis.recording_id == recording_id))
        return text.lower(), db.get(ModelVersion, version_id).name


def cli(env, *args):
    result = subprocess.run([sys.executable, "-m", "sottovoce", *args], env=env, capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout, result.stderr


def test_promotion_and_rollback_from_another_process_reach_the_next_job(services, settings, env_for, device):
    with services.sessions() as db:
        base = registry.ensure_base(services, db)
        base.metrics = json.dumps({**guard_metrics(0), "eval_wer": 0.30})
        v2 = registry.add_candidate(services, db, V2, "snap")
        v2.metrics = json.dumps({**guard_metrics(0), "eval_wer": 0.20})
        db.commit()
    registry.forget_active()
    assert transcribe_one(services, device) == ("lock the front door.", "v1")  # v1 is now cached here

    code, _, err = cli(env_for(settings), "learn", "promote", "v2")
    assert code == 0, err
    text, version = transcribe_one(services, device)
    assert version == 'v2'
    assert 'gate' in text
    assert 'door' not in text

    code, out, err = cli(env_for(settings), "learn", "rollback", "--json")
    assert code == 0, err
    assert json.loads(out)["name"] == "v1"
    assert transcribe_one(services, device) == ("lock the front door.", "v1")
    with services.sessions() as db:
        assert db.get(ModelVersion, v2.id).status == "retired"
        rollback = db.scalar(select(AuditEvent).where(AuditEvent.action == "learning.rollback"))
        assert rollback is not None
        assert rollback.subject == base.id


def test_a_deletion_strip_from_another_process_reaches_the_next_job(services, settings, env_for, device, make_account, make_recording):
    account, trainer_device = make_account(training=True)
    trained_on = make_recording(trainer_device)
    with services.sessions() as db:
        registry.ensure_base(services, db)
        snap = DatasetSnapshot(train_count=1, eval_count=0)
        db.add(snap)
        db.flush()
        db.add(DatasetItem(snapshot_id=snap.id, recording_id=trained_on.id, account_id=account.id, source="review", source_id="x", split="train"))
        v2 = registry.add_candidate(services, db, V2, snap.id)
        v2.metrics = json.dumps({**guard_metrics(0, snap.id), "eval_wer": 0.10})
        db.get(ModelVersion, registry.ensure_base(services, db).id).metrics = json.dumps({**guard_metrics(0, snap.id), "eval_wer": 0.30})
        registry.promote(db, v2)
        db.commit()
    text, version = transcribe_one(services, device)  # v2, with what it learned, is cached here
    assert version == 'v2'
    assert 'gate' in text

    code, _, err = cli(env_for(settings), "recordings", "delete", trained_on.id)
    assert code == 0, err
    text, version = transcribe_one(services, device)
    assert version == 'v2'  # the learned text is gone
    assert 'gate' not in text
    assert 'door' in text
    with services.sessions() as db:
        assert db.get(ModelVersion, v2.id).status == "needs_retrain"
        assert db.get(Recording, trained_on.id) is None
