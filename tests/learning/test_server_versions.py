"""Versions are shared state across processes, proven with three: a running `sottovoce serve`
(uvicorn with its transcription worker, in a subprocess), the CLI (more subprocesses) promoting,
rolling back and deleting, and this test uploading new recordings over HTTP as a device would.
Each new recording must be decoded by the server with the version the CLI last made active, and
after the deletion without the text the deleted correction taught, with the real recognizer."""

import json
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import select

from sottovoce.db.models import AuditEvent, DatasetItem, DatasetSnapshot, Hypothesis, ModelVersion
from sottovoce.learning import registry
from sottovoce.recordings.store import describe, get_recording
from tests.factories import demo_clip
from tests.learning.test_shared_versions import V2, guard_metrics

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(settings, env_for, tmp_path):
    """`sottovoce serve` with one transcription thread, in its own process."""
    port = free_port()
    env = env_for(settings) | {"SOTTOVOCE_ASR_WORKERS": "1", "SOTTOVOCE_WORKER_POLL_S": "0.2"}
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "sottovoce", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                env=env, stdout=subprocess.DEVNULL, stderr=sink)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):  # the model loads first; the shared machine may be slow
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                pytest.fail("sottovoce serve exited: " + log.read_text()[-4000:])
            time.sleep(0.1)
        else:
            pytest.fail("sottovoce serve did not start: " + log.read_text()[-4000:])
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def cli(env, *args):
    result = subprocess.run([sys.executable, "-m", "sottovoce", *args], env=env, capture_output=True, text=True, timeout=600)
    return result.returncode, result.stdout, result.stderr


def upload_and_wait(services, base: str, token: str) -> tuple[str, str]:
    """A new recording sent over HTTP without a hypothesis, so the server transcribes it; (text,
    name of the version its hypothesis records)."""
    response = httpx.post(base + "/api/v1/recordings", headers={"Authorization": f"Bearer {token}"},
                          files={"audio": ("a.wav", demo_clip("lock-the-front-door.wav"), "audio/wav")}, timeout=60)
    assert response.status_code == 202, response.text
    recording_id = response.json()["id"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with services.sessions() as db:
            version_id = db.scalar(select(Hypothesis.version_id).where(Hypothesis.recording_id == recording_id))
            if version_id is not None:
                text = describe(services, db, get_recording(db, recording_id))["hypothesis"]["text"]
                return text.lower(), db.get_one(ModelVersion, version_id).name
        time.sleep(0.2)
    pytest.fail("the server did not transcribe the recording")


def test_promotion_rollback_and_deletion_strip_from_the_cli_reach_a_running_server(
    services, settings, env_for, device_and_token, make_account, make_recording, server
):
    _, token = device_and_token
    env = env_for(settings)
    trainer, trainer_device = make_account(training=True)
    trained_on = make_recording(trainer_device)
    with services.sessions() as db:
        base = registry.ensure_base(services, db)
        snap = DatasetSnapshot(train_count=1, eval_count=0)
        db.add(snap)
        db.flush()
        db.add(DatasetItem(snapshot_id=snap.id, recording_id=trained_on.id, account_id=trainer.id, source="review", source_id="x", split="train"))
        base.metrics = json.dumps({**guard_metrics(0, snap.id), "eval_wer": 0.30})
        v2 = registry.add_candidate(services, db, V2, snap.id)
        v2.metrics = json.dumps({**guard_metrics(0, snap.id), "eval_wer": 0.20})
        db.commit()

    assert upload_and_wait(services, server, token) == ("lock the front door.", "v1")  # the server has v1 cached now

    code, _, err = cli(env, "learn", "promote", "v2")
    assert code == 0, err
    text, version = upload_and_wait(services, server, token)
    assert version == "v2"
    assert "gate" in text
    assert "door" not in text

    code, out, err = cli(env, "learn", "rollback", "--json")
    assert code == 0, err
    assert json.loads(out)["name"] == "v1"
    assert upload_and_wait(services, server, token) == ("lock the front door.", "v1")

    code, _, err = cli(env, "learn", "rollback", "v2")  # forward again: v2 is a retired, once-active version
    assert code == 0, err
    text, version = upload_and_wait(services, server, token)
    assert (version, "gate" in text) == ("v2", True)

    code, _, err = cli(env, "recordings", "delete", trained_on.id)  # strips what v2 learned from it
    assert code == 0, err
    text, version = upload_and_wait(services, server, token)
    assert version == "v2"  # still the active version, now without the deleted correction's text
    assert "gate" not in text
    assert "door" in text
    with services.sessions() as db:
        assert db.get_one(ModelVersion, v2.id).status == "needs_retrain"
        actions = db.scalars(select(AuditEvent.action).where(AuditEvent.action.in_(("learning.promote", "learning.rollback")))).all()
        assert sorted(actions) == ["learning.promote", "learning.rollback", "learning.rollback"]
