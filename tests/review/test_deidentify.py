"""What reviewers receive is de-identified: placeholders for PII, silenced PII audio, a transformed
voice, and no identifier anywhere (canary test over every reviewer route)."""

import io
import re

import numpy as np
import soundfile

from sottovoce.core.audio import SAMPLE_RATE
from sottovoce.db.models import ReviewTask
from sottovoce.recordings.store import get_recording, load_audio
from sottovoce.review.projection import reviewer_view
from sottovoce.review.render import rendered_wav
from sottovoce.review.sampler import create_tasks
from sottovoce.staff.roles import REVIEWER
from tests.factories import sign_in

PHONE_WORDS = (("call", 0.9), ("five", 0.8), ("five", 0.8), ("five", 0.7), ("one", 0.8), ("two", 0.9), ("three", 0.8), ("four", 0.8), ("now", 0.9))


def make_task(services, make_account, make_recording, words, name=None, clip="what-s-the-weather-like-in-new-york.wav"):
    account, device = make_account(name=name)
    recording = make_recording(device, words=words, clip=clip)
    with services.sessions() as db:
        task = create_tasks(db, recording.id, account.id, "uncertainty", 0.9)[0]
        db.commit()
        return task.id, recording.id


def test_phone_number_becomes_one_placeholder(services, make_account, make_recording):
    task_id, _ = make_task(services, make_account, make_recording, PHONE_WORDS)
    with services.sessions() as db:
        view = reviewer_view(services, db, db.get(ReviewTask, task_id))
    texts = [w.text for w in view.words]
    assert texts == ["call", "[PHONE]", "now"]
    assert view.words[1].start == 0.5  # spans the whole run
    assert view.words[1].end == 2.55


def test_pii_spans_are_silent_and_the_voice_is_transformed(services, make_account, make_recording):
    task_id, recording_id = make_task(services, make_account, make_recording, PHONE_WORDS)
    with services.sessions() as db:
        task = db.get(ReviewTask, task_id)
        served, _ = soundfile.read(io.BytesIO(rendered_wav(services, db, task)), dtype="float32")
        original = load_audio(services, db, get_recording(db, recording_id))
    assert served.shape == original.shape
    start, end = int((0.5 - 0.1) * SAMPLE_RATE), int((2.55 + 0.1) * SAMPLE_RATE)  # with 100 ms padding
    residual = served[start:end]
    rms_dbfs = 20 * np.log10(np.sqrt(np.mean(residual**2)) + 1e-12)
    assert rms_dbfs <= -60
    assert not np.array_equal(served, original)
    assert np.abs(served[end:] - original[end:]).max() > 0.01  # not just the silence: the voice changed


CANARY = "QUOKKA9931"


def test_no_identifier_reaches_a_reviewer(app_client, make_staff, services, make_account, make_recording):
    """Canary strings in the account name, device serial and name; walk every reviewer route."""
    from sottovoce.accounts.registry import add_device, create_account

    with services.sessions() as db:
        account = create_account(db, services.keys, f"{CANARY}-account", consent_review=True)
        device, _ = add_device(db, account.id, f"{CANARY}-SERIAL", f"{CANARY} kitchen")
        db.commit()
    ids = []
    for _ in range(2):
        recording = make_recording(device)
        with services.sessions() as db:
            ids.append(create_tasks(db, recording.id, account.id, "uncertainty", 0.9)[0].id)
            db.commit()
    forbidden = [CANARY, CANARY.lower(), account.id, device.id, recording.id]
    reviewer = make_staff(REVIEWER)
    sign_in(app_client, reviewer)
    seen: list[str] = []
    for _ in ids:
        queue = app_client.get("/staff/review")
        seen.append(queue.text + str(queue.headers))
        token = re.search(r'name="csrf" value="([^"]+)"', queue.text).group(1)
        lease = app_client.post("/staff/review/next", data={"csrf": token}, follow_redirects=False)
        page = app_client.get(lease.headers["location"])
        audio = app_client.get(re.search(r'data-audio="([^"]+)"', page.text).group(1).replace("&amp;", "&"))
        status = app_client.get(lease.headers["location"] + "/status")
        seen += [str(lease.headers), page.text, str(page.headers), str(audio.headers), status.text]
        assert audio.content[:4] == b'RIFF'
        assert b'LIST' not in audio.content
        assert b'INFO' not in audio.content[:200]
        for needle in forbidden:
            assert needle.encode() not in audio.content
        csrf = re.search(r'name="csrf" content="([^"]+)"', page.text).group(1)
        done = app_client.post(lease.headers["location"] + "/submit", json={"text": "lock the front door"}, headers={"X-CSRF-Token": csrf})
        seen.append(done.text)
    blob = "\n".join(seen)
    for needle in forbidden:
        assert needle not in blob, needle
    # Two tasks of one account: the only ids a reviewer saw are the two task ids, unrelated.
    shared = set(re.findall(r"[0-9a-f]{32}", blob)) - set(ids)
    assert shared == set()


FRESH_PROCESS = """
import io, json, sys
import numpy as np, soundfile
import sottovoce.review.render as render  # the only sottovoce import besides building the instance
assert render.render_task.__defaults__ == (render.DEIDENTIFY,), "de-identification must be the default"
from sottovoce.app_services import open_services
from sottovoce.core.settings import Settings
from sottovoce.db.models import ReviewTask
services = open_services(Settings(), migrate=False)
with services.sessions() as db:
    task = db.get(ReviewTask, sys.argv[1])
    wav = render.rendered_wav(services, db, task)
    params = json.loads(task.render_params)
samples, _ = soundfile.read(io.BytesIO(wav), dtype="float32")
np.save(sys.argv[2], samples)
print(json.dumps({"voice": "voice" in params, "pii_spans_silenced": params.get("pii_spans_silenced")}))
"""


def test_a_fresh_process_that_imports_only_render_serves_a_deidentified_clip(services, make_account, make_recording, settings, env_for, tmp_path):
    """Invariant 9: nothing has to be imported or wired for de-identification to happen."""
    import json
    import subprocess
    import sys

    task_id, recording_id = make_task(services, make_account, make_recording, PHONE_WORDS)
    out = tmp_path / "served.npy"
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, task_id, str(out)], env=env_for(settings), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == {"voice": True, "pii_spans_silenced": 7}
    served = np.load(out)
    with services.sessions() as db:
        original = load_audio(services, db, get_recording(db, recording_id))
    start, end = int((0.5 - 0.1) * SAMPLE_RATE), int((2.55 + 0.1) * SAMPLE_RATE)
    assert 20 * np.log10(np.sqrt(np.mean(served[start:end] ** 2)) + 1e-12) <= -60  # the phone number is silent
    assert np.abs(served[end:] - original[end:]).max() > 0.01  # and the voice was transformed


def test_rendering_raw_audio_needs_the_loudly_named_opt_out(services, make_account, make_recording):
    from sottovoce.review.render import UNSAFE_NO_DEIDENTIFICATION, render_task

    task_id, recording_id = make_task(services, make_account, make_recording, PHONE_WORDS)
    with services.sessions() as db:
        task = db.get(ReviewTask, task_id)
        render_task(services, db, task, steps=UNSAFE_NO_DEIDENTIFICATION)
        served, _ = soundfile.read(io.BytesIO(rendered_wav(services, db, task)), dtype="float32")
        original = load_audio(services, db, get_recording(db, recording_id))
    assert np.abs(served - original).max() < 1e-3  # raw: only reachable by that name
