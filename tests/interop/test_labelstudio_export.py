"""`learn export --format labelstudio`: consented gold only, de-identified text, the same audit
and deletion tracking as hf/nemo, and a file our own importer (and Label Studio) reads back."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import select

from sottovoce.accounts.deletion import delete_recordings
from sottovoce.core.audit import OPERATOR, Actor
from sottovoce.db.models import Adjudication, AuditEvent, ExportItem, ExportRecord
from sottovoce.interop.labelstudio_import import import_export
from sottovoce.learning import dataset
from sottovoce.learning.export import export
from sottovoce.review import leases as leases
from sottovoce.review.sampler import create_tasks
from sottovoce.review.submissions import Submission, submit
from tests.factories import DEMO_CLIPS

PHONE_TEXT = "call me on five five five one two three four five six seven"


@pytest.fixture
def reviewed(services, make_account, make_recording):
    """One account whose clip a reviewer corrected (training consent as given)."""

    def make(training=True, text="lock the front door"):
        account, device = make_account(review=True, training=training)
        recording = make_recording(device)
        with services.sessions() as db:
            create_tasks(db, recording.id, account.id, "uncertainty", 0.5)
            db.commit()
            task = leases.lease_next(services, db, "rev-" + account.id[:6])
            submit(services, db, task, Actor("rev-" + account.id[:6], "reviewer"), Submission(text=text))
            db.commit()
        return account, recording

    return make


def imported(services, account, tmp_path, correction, tid=1):
    folder = tmp_path / f"in-{tid}"
    folder.mkdir()
    shutil.copy(DEMO_CLIPS / "lock-the-front-door.wav", folder / "a.wav")
    task = {"id": tid, "data": {"audio": "a.wav"}, "predictions": [], "annotations": [
        {"result": [{"from_name": "transcription", "to_name": "audio", "type": "textarea", "value": {"text": [correction]}}]}]}
    (folder / "export.json").write_text(json.dumps([task]))
    with services.sessions() as db:
        return import_export(services, db, folder / "export.json", OPERATOR, consent_review=True, consent_training=True, account=account.id)["recordings"][0]["recording"]


def run_export(services, out):
    with services.sessions() as db:
        report = export(services, db, "labelstudio", out, OPERATOR)
        db.commit()
    return report


def test_export_holds_consented_gold_with_deidentified_text(services, reviewed, make_account, tmp_path):
    reviewed()
    reviewed(training=False)
    account, _ = make_account(review=True, training=True)
    imported_id = imported(services, account, tmp_path, PHONE_TEXT)
    out = tmp_path / "ls-export"
    report = run_export(services, out)
    assert report["train"] + report["eval"] == 2
    tasks = json.loads((out / "tasks.json").read_text())
    assert (out / "label_config.xml").read_text().startswith("<View>")
    texts = sorted(t["annotations"][0]["result"][0]["value"]["text"][0] for t in tasks)
    assert texts[1] == "lock the front door"
    assert "[PHONE]" in texts[0] and "five five five" not in texts[0]  # the imported text is de-identified
    for t in tasks:
        assert t["data"]["audio"].startswith("/data/local-files/?d=ls-export/audio/")
        assert (out.parent / t["data"]["audio"].split("?d=")[1]).read_bytes()[:4] == b"RIFF"
        assert t["data"]["split"] in ("train", "eval") and t["data"]["duration"] > 0
        assert imported_id not in json.dumps(t)  # no ids of ours leave with the export
    predicted = [t for t in tasks if "predictions" in t]
    assert len(predicted) == 1 and predicted[0]["predictions"][0]["result"][0]["value"]["text"] == ["lock the front door"]
    with services.sessions() as db:
        record = db.scalar(select(ExportRecord))
        assert record.format == "ls-json"
        assert imported_id in set(db.scalars(select(ExportItem.recording_id).where(ExportItem.export_id == record.id)))
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "learning.export"))
        assert json.loads(event.details)["format"] == "labelstudio" and event.subject == record.id


def test_deleting_an_exported_imported_recording_names_the_export(services, make_account, tmp_path):
    account, _ = make_account(review=True, training=True)
    recording_id = imported(services, account, tmp_path, "lock the front door")
    run_export(services, tmp_path / "out")
    with services.sessions() as db:
        export_id = db.scalar(select(ExportRecord.id))
        receipt = delete_recordings(services, db, account.id, [recording_id], OPERATOR, "cli")
    assert receipt["counts"]["exports_containing"] == 1
    with services.sessions() as db:
        assert db.scalar(select(Adjudication)) is None and dataset.gold_examples(services, db) == []
        flagged = db.scalar(select(AuditEvent).where(AuditEvent.action == "learning.export_contained_deleted"))
        assert json.loads(flagged.details)["exports"] == [export_id]


def test_export_reimports_through_the_label_studio_importer(services, reviewed, make_account, tmp_path):
    reviewed()
    out = tmp_path / "round"
    run_export(services, out)
    other, _ = make_account(review=False, training=False)
    with services.sessions() as db:
        report = import_export(services, db, out / "tasks.json", OPERATOR, consent_review=False, consent_training=True,
                               account=other.id, local_files_root=tmp_path)
    assert report["tasks"] == 1 and report["corrections"] == 1 and report["hypotheses"] == 1
    with services.sessions() as db:
        texts = [e.text for e in dataset.gold_examples(services, db) if e.account_id == other.id]
    assert texts == ["lock the front door"]


def test_cli_export_labelstudio(settings, services, reviewed, tmp_path, env_for):
    import subprocess
    import sys

    reviewed()
    out = tmp_path / "cli-out"
    done = subprocess.run([sys.executable, "-m", "sottovoce", "learn", "export", "--format", "labelstudio", "--out", str(out), "--json"],
                          env=env_for(settings), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["format"] == "labelstudio" and len(json.loads((out / "tasks.json").read_text())) == 1
