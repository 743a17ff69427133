"""The scriptable CLI, run as a user would: separate processes, JSON on stdout."""

import json
import subprocess
import sys

import pytest

from tests.factories import DEMO_CLIPS


def run(env, *args, check=True):
    result = subprocess.run([sys.executable, "-m", "sottovoce", *args], env=env, capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(result.stderr)
    return result


@pytest.mark.slow
def test_account_device_ingest_show_flow(settings, env_for):
    env = env_for(settings)
    assert json.loads(run(env, "init", "--json").stdout)["requeued_jobs"] == 0
    account = json.loads(run(env, "accounts", "add", "dana", "--consent-review", "--json").stdout)["id"]
    device = json.loads(run(env, "devices", "add", "--account", account, "--serial", "SN-9", "--json").stdout)
    assert device["token"].startswith("svd_")
    clip = DEMO_CLIPS / "set-a-timer-for-5-minutes.wav"
    ingested = json.loads(run(env, "ingest", str(clip), "--device", device["id"], "--wait", "--json").stdout)
    assert len(ingested) == 1
    assert ingested[0]['status'] == 'transcribed'
    shown = json.loads(run(env, "recordings", "show", ingested[0]["id"], "--json").stdout)
    assert shown['status'] == 'transcribed'
    assert shown['duration_s'] > 1
    assert "timer" in shown["hypothesis"]["text"].lower()
    assert {"word", "start", "end", "confidence"} <= set(shown["hypothesis"]["words"][0])


def test_bad_inputs_exit_non_zero_with_one_line(settings, env_for, tmp_path):
    env = env_for(settings)
    account = json.loads(run(env, "accounts", "add", "eve", "--json").stdout)["id"]
    device = json.loads(run(env, "devices", "add", "--account", account, "--serial", "S", "--json").stdout)["id"]
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not audio")
    cases = [
        (["ingest", str(text_file), "--device", device], "not readable audio"),
        (["ingest", str(DEMO_CLIPS / "cancel-all-timers.wav"), "--device", "nope"], "device not found"),
        (["ingest", str(tmp_path / "missing.wav"), "--device", device], "cannot read"),
        (["accounts", "add", "eve"], "already exists"),
        (["devices", "add", "--account", "nope", "--serial", "S"], "account not found"),
        (["recordings", "show", "nope"], "recording not found"),
    ]
    for args, message in cases:
        result = run(env, *args, check=False)
        assert result.returncode == 1, args
        assert message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_ingest_of_several_files_reports_each(settings, env_for, tmp_path):
    env = env_for(settings)
    account = json.loads(run(env, "accounts", "add", "fay", "--json").stdout)["id"]
    device = json.loads(run(env, "devices", "add", "--account", account, "--serial", "S", "--json").stdout)["id"]
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF")
    result = run(env, "ingest", str(DEMO_CLIPS / "lock-the-front-door.wav"), str(bad), "--device", device, "--json", check=False)
    assert result.returncode == 1
    assert [r["status"] for r in json.loads(result.stdout)] == ["pending", "failed"]
    assert "bad.wav" in result.stderr
