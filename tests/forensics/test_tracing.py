"""A leaked clip names its leaker: fetch through the workbench, re-encode, trace from the CLI."""

import io
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from sottovoce.review import deidentify  # noqa: F401
from sottovoce.review.sampler import create_tasks
from sottovoce.staff.roles import REVIEWER
from tests.factories import demo_clip, encode, sign_in
from tests.forensics.test_watermark import channels


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
    assert found["reviewer"] == leaker.user.name and found["task"] == leaked_task
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
    assert result.returncode == 0 and json.loads(result.stdout)["reviewer"] is None


def run_trace(env, path):
    return subprocess.run([sys.executable, "-m", "sottovoce", "trace", str(path), "--json"], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_trace_json_reports_errors_as_json(app_client, settings, env_for, tmp_path):
    env = env_for(settings)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    for path in (empty, tmp_path / "missing.mp3"):
        result = run_trace(env, path)
        assert result.returncode == 1
        answer = json.loads(result.stdout)
        assert answer["error"] and answer["reviewer"] is None and answer["matches"] == []


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")
def test_raw_gsm_and_a_spliced_leak_name_every_leaker(app_client, make_staff, services, settings, env_for, make_account, make_recording, tmp_path):
    tasks = []
    for clip in ("what-s-the-weather-like-in-new-york.wav", "turn-off-lights-in-the-office.wav"):
        account, device = make_account()
        recording = make_recording(device, clip=clip)
        with services.sessions() as db:
            tasks.append(create_tasks(db, recording.id, account.id, "uncertainty", 0.9)[0].id)
            db.commit()
    first, second = make_staff(REVIEWER), make_staff(REVIEWER)
    task_a, wav_a = fetch_as(app_client, first)
    task_b, wav_b = fetch_as(app_client, second)
    a, rate = soundfile.read(io.BytesIO(wav_a), dtype="float32")
    b, _ = soundfile.read(io.BytesIO(wav_b), dtype="float32")
    env = env_for(settings)
    # A phone's raw GSM file (no header at all), as sox writes it.
    leaked = tmp_path / "voice-note.gsm"
    leaked.write_bytes(channels.sox_bytes(a, rate, "gsm"))
    found = json.loads(run_trace(env, leaked).stdout)
    assert found["reviewer"] == first.user.name and found["task"] == task_a
    assert found["decoding"]["container"] == "gsm" and found["decoding"]["skipped_packets"] == 0
    # Two reviewers' copies joined end to end: both are named, each with a score.
    spliced = tmp_path / "compilation.mp3"
    spliced.write_bytes(encode(np.concatenate([a, b]), "mp3", "libmp3lame", rate))
    found = json.loads(run_trace(env, spliced).stdout)
    named = {(m["reviewer"], m["task"]) for m in found["matches"]}
    assert named == {(first.user.name, task_a), (second.user.name, task_b)}
    assert all(m["confidence"] > 0.999 and m["score"] > 7 for m in found["matches"])
