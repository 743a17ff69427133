"""A leaked clip names its leaker: fetch through the workbench, re-encode, trace from the CLI."""

import io
import json
import re
import subprocess
import sys

import soundfile

from sottovoce.review.sampler import create_tasks
from sottovoce.staff.roles import REVIEWER
from tests.factories import demo_clip, encode, sign_in


def fetch_as(app_client, staff):
    app_client.cookies.clear()
    sign_in(app_client, staff)
    queue = app_client.get("/staff/review")
    token = re.search(r'name="csrf" value="([^"]+)"', queue.text).group(1)
    location = app_client.post("/staff/review/next", data={"csrf": token}, follow_redirects=False).headers["location"]
    page = app_client.get(location)
    audio = app_client.get(re.search(r'data-audio="([^"]+)"', page.text).group(1).replace("&amp;", "&"))
    assert audio.status_code == 200
    return location.rsplit("/", 1)[-1], audio.content


def test_leaked_mp3_is_traced_to_the_reviewer_and_task(app_client, make_staff, services, settings, env_for, make_account, make_recording, tmp_path):
    tasks = []
    for clip in ("what-s-the-weather-like-in-new-york.wav", "turn-off-lights-in-the-office.wav"):
        account, device = make_account()
        recording = make_recording(device, clip=clip)
        with services.sessions() as db:
            tasks.append(create_tasks(db, recording.id, account.id, "uncertainty", 0.9)[0].id)
            db.commit()
    leaker, other = make_staff(REVIEWER), make_staff(REVIEWER)
    leaked_task, leaked_wav = fetch_as(app_client, leaker)
    fetch_as(app_client, other)
    samples, rate = soundfile.read(io.BytesIO(leaked_wav), dtype="float32")
    leaked = tmp_path / "funny.mp3"
    leaked.write_bytes(encode(samples, "mp3", "libmp3lame", rate))
    env = env_for(settings)
    result = subprocess.run([sys.executable, "-m", "sottovoce", "trace", str(leaked), "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found['reviewer'] == leaker.user.name
    assert found['task'] == leaked_task
    assert found["confidence"] > 0.999


def test_an_unmarked_clip_accuses_nobody(app_client, make_staff, services, settings, env_for, make_account, make_recording, tmp_path):
    account, device = make_account()
    recording = make_recording(device)
    with services.sessions() as db:
        create_tasks(db, recording.id, account.id, "uncertainty", 0.9)
        db.commit()
    fetch_as(app_client, make_staff(REVIEWER))
    original = tmp_path / "original.wav"
    original.write_bytes(demo_clip("what-s-the-weather-like-in-new-york.wav"))
    result = subprocess.run([sys.executable, "-m", "sottovoce", "trace", str(original), "--json"], env=env_for(settings), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert json.loads(result.stdout)['reviewer'] is None
