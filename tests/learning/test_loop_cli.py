"""The learning loop end to end from the CLI, on real clips and the real recognizer."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from sottovoce.cli import app
from sottovoce.core.audit import Actor
from sottovoce.jobs.worker import drain
from sottovoce.recordings.ingest import commit_ingest, ingest
from sottovoce.recordings.metadata import parse_metadata
from sottovoce.review import leases as leases
from sottovoce.review.sampler import create_tasks
from sottovoce.review.submissions import Submission, submit
from tests.factories import DEMO_CLIPS

pytestmark = pytest.mark.slow


def test_dataset_adapt_evaluate_promote(services, settings, env_for, make_account):
    references = json.loads((DEMO_CLIPS.parent / "clips.json").read_text())
    for name, text in sorted(references.items()):
        account, device = make_account(review=True, training=True)
        with services.sessions() as db:
            recording = ingest(services, db, device, (DEMO_CLIPS / name).read_bytes(), parse_metadata(None))
            commit_ingest(services, db, recording)
        drain(services, ["transcribe"])
        with services.sessions() as db:
            create_tasks(db, recording.id, account.id, "uncertainty", 0.5)
            db.commit()
            task = leases.lease_next(services, db, "reviewer-" + account.id[:6])
            submit(services, db, task, Actor("reviewer-" + account.id[:6], "reviewer"), Submission(text=text))
            db.commit()

    env = env_for(settings)

    def cli(*args):
        result = subprocess.run([sys.executable, "-m", "sottovoce", *args], env=env, capture_output=True, text=True, timeout=1800)  # the machine running the suite is shared and loaded
        return result.returncode, result.stdout, result.stderr

    code, out, err = cli("learn", "dataset", "--json")
    assert code == 0, err
    snapshot = json.loads(out)
    assert snapshot["train"] + snapshot["eval"] == len(references)
    assert not ({e["recording"] for e in snapshot["lineage"] if e["split"] == "train"} & {e["recording"] for e in snapshot["lineage"] if e["split"] == "eval"})

    code, out, err = cli("learn", "adapt", "--json")
    if snapshot["train"] < 4:
        assert code == 1
        assert 'at least 4' in err
        return
    assert code == 0, err
    candidate = json.loads(out)
    assert candidate['status'] == 'candidate'
    assert candidate['snapshot'] == snapshot['id']

    code, out, err = cli("learn", "evaluate", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert {"v1", candidate["name"]} <= set(report["versions"])
    assert all(v["guard_wer"] is not None and v["guard_interval"][0] <= v["guard_wer"] <= v["guard_interval"][1] for v in report["versions"].values())
    assert report['guard_clips'] == 106
    assert 'guard_vs_active' in report['versions'][candidate['name']]

    code, out, err = cli("learn", "promote", candidate["name"], "--json")
    mine, base = report["versions"][candidate["name"]], report["versions"]["v1"]
    if mine["eval_wer"] is None or not mine["eval_wer"] < base["eval_wer"]:
        assert code == 1, err
        assert err.startswith('error: refused'), err
        assert 'Traceback' not in err, err
    elif code != 0:  # only the guard gate may refuse an improving candidate
        assert 'guard-set WER' in err, err
        assert 'Traceback' not in err, err

    runner = CliRunner()
    versions = json.loads(runner.invoke(app, ["learn", "versions", "--json"], env=env).stdout)
    assert [v["status"] for v in versions].count("active") == 1
