"""The account's own identifiers (holder's name, device serial and name), said aloud, never reach a
reviewer: masked in the text, silent in the served audio, absent from pages and headers."""

import io
import json
import re

import numpy as np
import pytest
import soundfile

from sottovoce.accounts.registry import add_device, create_account
from sottovoce.core.audio import SAMPLE_RATE
from sottovoce.db.models import ReviewTask
from sottovoce.privacy.known_ids import find_known, identifiers
from sottovoce.recordings.ingest import commit_ingest, ingest
from sottovoce.recordings.metadata import parse_metadata
from sottovoce.review.projection import reviewer_view
from sottovoce.review.render import rendered_wav
from sottovoce.review.sampler import create_tasks
from sottovoce.staff.roles import REVIEWER
from tests.factories import demo_clip, sign_in

SERIAL = "SN-4279-XQ"
SPOKEN_SERIAL = "s n dash four two seven nine x q".split()


def canary_account(services, holder="Quentin Oyelaran"):
    with services.sessions() as db:
        account = create_account(db, services.keys, holder, consent_review=True)
        device, _ = add_device(db, account.id, SERIAL, "hallway beacon")
        db.commit()
        return account, device


def task_for(services, account, recording):
    with services.sessions() as db:
        task = create_tasks(db, recording.id, account.id, "uncertainty", 0.9)[0]
        db.commit()
        return task.id


CLIP = "what-s-the-temperature-of-the-ecobee.wav"  # 3.2 s


def recording_with(services, device, words, step=0.15):
    """A demo clip with the given hypothesis, word i at 0.2 + step*i .. 0.32 + step*i."""
    hypothesis = {"words": [{"word": w, "start": 0.2 + step * i, "end": 0.32 + step * i, "confidence": 0.9} for i, w in enumerate(words)]}
    with services.sessions() as db:
        recording = ingest(services, db, device, demo_clip(CLIP), parse_metadata(json.dumps({"hypothesis": hypothesis})))
        commit_ingest(services, db, recording)
        return recording


def test_serial_name_and_device_are_masked_in_the_text(services):
    account, device = canary_account(services)
    words = ["my", "serial", "is", *SPOKEN_SERIAL, "on", "the", "hallway", "beacon", "says", "quentin"]
    task_id = task_for(services, account, recording_with(services, device, words))
    with services.sessions() as db:
        view = reviewer_view(services, db, db.get(ReviewTask, task_id))
    assert [w.text for w in view.words] == ["my", "serial", "is", "[IDENTIFIER]", "on", "the", "[IDENTIFIER]", "says", "[IDENTIFIER]"]
    shown = json.dumps(view.as_dict()).lower()
    for leak in ("four two seven", "hallway", "quentin", "4279"):
        assert leak not in shown


def test_the_serial_is_silent_in_the_served_audio(services):
    account, device = canary_account(services)
    words = ["serial", *SPOKEN_SERIAL, "please"]
    task_id = task_for(services, account, recording_with(services, device, words))
    with services.sessions() as db:
        task = db.get(ReviewTask, task_id)
        served, _ = soundfile.read(io.BytesIO(rendered_wav(services, db, task)), dtype="float32")
        params = json.loads(task.render_params)
    # The serial is words 1..9: 0.35 s .. 1.52 s, silenced with 0.1 s of padding.
    start, end = int((0.35 - 0.1) * SAMPLE_RATE), int((1.52 + 0.1) * SAMPLE_RATE)
    assert 20 * np.log10(np.sqrt(np.mean(served[start:end] ** 2)) + 1e-12) <= -60
    assert [1, 9, "IDENTIFIER"] in params["pii_words"]
    assert SERIAL not in task.render_params


def test_identifiers_added_after_the_render_are_still_masked(services):
    """The projection matches the account's identifiers on every call, not only at render time."""
    account, device = canary_account(services)
    task_id = task_for(services, account, recording_with(services, device, ["ask", "zebulon", "now"]))
    with services.sessions() as db:
        rendered_wav(services, db, db.get(ReviewTask, task_id))
        add_device(db, account.id, "SN-0000-ZZ", "zebulon")
        db.commit()
        view = reviewer_view(services, db, db.get(ReviewTask, task_id))
    assert [w.text for w in view.words] == ["ask", "[IDENTIFIER]", "now"]


def test_no_known_identifier_reaches_a_reviewer_over_http(app_client, make_staff, services):
    account, device = canary_account(services)
    words = ["this", "is", "quentin", "oyelaran", "serial", *SPOKEN_SERIAL]
    task_for(services, account, recording_with(services, device, words))
    sign_in(app_client, make_staff(REVIEWER))
    queue = app_client.get("/staff/review")
    token = re.search(r'name="csrf" value="([^"]+)"', queue.text).group(1)
    lease = app_client.post("/staff/review/next", data={"csrf": token}, follow_redirects=False)
    page = app_client.get(lease.headers["location"])
    audio = app_client.get(re.search(r'data-audio="([^"]+)"', page.text).group(1).replace("&amp;", "&"))
    assert audio.status_code == 200
    seen = "\n".join([queue.text, str(lease.headers), page.text, str(page.headers), str(audio.headers)]).lower()
    for leak in ("quentin", "oyelaran", "four two seven nine", "4279", "hallway", SERIAL.lower()):
        assert leak not in seen, leak
    assert "[identifier]" in seen
    assert b"4279" not in audio.content and b"Quentin" not in audio.content


@pytest.mark.slow
def test_a_transcription_of_the_served_clip_does_not_recover_the_serial(services, tmp_path):
    """Real speech (espeak-ng), real recognizer on the way in and on the served WAV."""
    import shutil
    import subprocess

    from scipy.signal import resample_poly

    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed")
    wav = tmp_path / "serial.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(wav), "Turn on the lights. My serial number is S, N, 4, 2, 7, 9, X, Q. Thank you."], check=True)
    raw, rate = soundfile.read(wav, dtype="float32")
    samples = resample_poly(raw, SAMPLE_RATE, rate).astype(np.float32)
    heard = services.recognizer.transcribe(samples)
    idents = identifiers(codes=[SERIAL])
    assert find_known([w.word for w in heard.words], idents), "the canary must be audible in the original"
    account, device = canary_account(services)
    hypothesis = {"words": [{"word": w.word, "start": w.start, "end": w.end, "confidence": w.confidence} for w in heard.words]}
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    with services.sessions() as db:
        recording = ingest(services, db, device, buffer.getvalue(), parse_metadata(json.dumps({"hypothesis": hypothesis})))
        commit_ingest(services, db, recording)
    task_id = task_for(services, account, recording)
    with services.sessions() as db:
        served, _ = soundfile.read(io.BytesIO(rendered_wav(services, db, db.get(ReviewTask, task_id))), dtype="float32")
    again = [w.word for w in services.recognizer.transcribe(served).words]
    assert find_known(again, idents) == [], again
    assert "4279" not in re.sub(r"\D", "", " ".join(again))
