"""A process killed in the middle of ingesting leaves no orphan blob or row after restart."""

import json
import subprocess
import sys
import time

from sqlalchemy import select

from sottovoce.db.models import Recording
from sottovoce.recordings.store import load_audio
from tests.factories import DEMO_CLIPS

SCRIPT = """
import sys
from sottovoce.app_services import open_services
from sottovoce.core.settings import Settings
from sottovoce.recordings.ingest import ingest, commit_ingest
from sottovoce.recordings.metadata import parse_metadata
services = open_services(Settings())
data = open(sys.argv[1], "rb").read()
from sottovoce.accounts.registry import get_device
hyp = parse_metadata('{"hypothesis": {"words": [{"word": "x", "start": 0, "end": 0.5, "confidence": 0.5}]}}')
while True:
    with services.sessions() as db:
        r = ingest(services, db, get_device(db, sys.argv[2]), data, hyp)
        commit_ingest(services, db, r)
        print("ok", flush=True)
"""


def test_kill_during_ingest_then_restart_leaves_no_orphans(services, device, settings, env_for):
    env = env_for(settings)
    clip = DEMO_CLIPS / "cancel-all-timers.wav"
    # What a kill between "blob written" and "row committed" leaves, made certain rather than hoped for:
    services.blobs.put(b"sealed bytes of an ingest that never committed")
    (settings.resolved_blob_dir / "ab").mkdir(exist_ok=True)
    (settings.resolved_blob_dir / "ab" / ".tmp-halfwritten").write_bytes(b"partial")
    for delay in (0.15, 0.4, 0.9):
        proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(clip), device.id], env=env, stdout=subprocess.PIPE)
        proc.stdout.readline()  # at least one ingest completed
        time.sleep(delay)
        proc.kill()
        proc.wait()
        proc.stdout.close()
    restart = subprocess.run([sys.executable, "-m", "sottovoce", "init", "--json"], env=env, capture_output=True, text=True, check=True)
    assert json.loads(restart.stdout)["orphan_blobs_removed"] >= 1
    with services.sessions() as db:
        recordings = db.scalars(select(Recording)).all()
        referenced = {r.audio_blob_id for r in recordings}
        assert set(services.blobs.ids()) == referenced  # no orphan blob
        for recording in recordings:  # and no row without a readable blob
            assert load_audio(services, db, recording).size > 0
    assert not list(settings.resolved_blob_dir.glob("*/.tmp-*"))
    assert len(recordings) >= 3
