"""Faults of the fleet's servers: the object store killed with SIGKILL during uploads."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import select

from sottovoce.db.models import Recording
from tests.factories import DEMO_CLIPS
from tests.holders import new_holder

URL = "/api/v1/recordings"


@pytest.fixture
def short_timeouts(settings):
    settings.s3_timeout_s = 2.0  # a dead store answers 503 in seconds, not after boto's 30 s default
    return settings


def upload(client, token: str, clip: bytes):
    return client.post(URL, headers={"Authorization": f"Bearer {token}"},
                       files={"audio": ("clip.wav", clip, "audio/wav")},
                       data={"metadata": json.dumps({"hypothesis": {"engine": "x", "words": [
                           {"word": "hello", "start": 0.1, "end": 0.4, "confidence": 0.9}]}})})


def test_kill_9_the_object_store_during_uploads(short_timeouts, services, app_client, seaweedfs):
    holder = new_holder(services)
    clip = (DEMO_CLIPS / "lock-the-front-door.wav").read_bytes()
    acknowledged: list[str] = []
    statuses: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def device() -> None:
        while not stop.is_set():
            response = upload(app_client, holder.token, clip)
            statuses.append(response.status_code)
            if response.status_code not in (201, 202, 503) and not errors:
                errors.append(response.text[:300])
            if response.status_code in (201, 202):
                acknowledged.append(response.json()["id"])

    thread = threading.Thread(target=device)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while len(acknowledged) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(acknowledged) >= 3, statuses
        seaweedfs.stop(kill=True)  # SIGKILL, mid-stream
        down_from = len(statuses)
        time.sleep(6)
        while_down = statuses[down_from + 1:]  # the request in flight at the kill may have finished either way
        assert while_down and set(while_down) == {503}, (while_down, errors)
        seaweedfs.start_again()
        up_from = len(statuses)
        deadline = time.monotonic() + 60
        while not any(s in (201, 202) for s in statuses[up_from:]) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(60)
        if seaweedfs.process.poll() is not None:
            seaweedfs.start_again()
    assert {201, 202} & set(statuses[up_from:])
    # Nothing acknowledged is lost: every 202 has its row and its sealed audio on the store.
    with services.sessions() as db:
        rows = {r.id: r for r in db.scalars(select(Recording).where(Recording.id.in_(acknowledged)))}
        assert set(rows) == set(acknowledged)
        for recording in rows.values():
            assert services.blobs.exists(recording.audio_blob_id)
        # ... and no row was written for an upload that was refused.
        assert db.scalar(select(Recording.id).where(Recording.account_id == holder.account.id, Recording.id.not_in(acknowledged))) is None
