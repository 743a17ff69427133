"""Silencing that does not trust the transcript's times (issue 15): a device hypothesis whose word
times are wrong still gets its digits silenced, because the render aligns the words on the stored
audio; the post-render check transcribes what was rendered and extends the silence, or withholds
the clip (audited) when a masked entity is still heard.

The slow tests use real speech (espeak-ng) and the bundled recognizer on the way in and on the
served WAV; the fast ones test the alignment and matching on words."""

import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import soundfile
from sqlalchemy import select

from sottovoce.core.audio import SAMPLE_RATE
from sottovoce.core.errors import Conflict
from sottovoce.db.enums import TaskStatus
from sottovoce.db.models import AuditEvent, ReviewTask
from sottovoce.privacy.known_ids import find_known, identifiers
from sottovoce.recordings.ingest import commit_ingest, ingest
from sottovoce.recordings.metadata import parse_metadata
from sottovoce.review.alignment import aligned_times, targets
from sottovoce.review.deidentify import make_check, silence_pii, transform_voice
from sottovoce.review.render import WITHHELD, render_task, rendered_wav
from sottovoce.review.sampler import create_tasks

PHONE = "5558675309"
SAID = "Please call my sister at five five five, eight six seven, five three oh nine, tomorrow."
WORDS = "please call my sister at five five five eight six seven five three oh nine tomorrow".split()


def test_aligned_times_follow_the_local_words_not_the_hypothesis():
    hyp = [{"word": w, "start": 0.01 * i, "end": 0.01 * i + 0.01} for i, w in enumerate(["call", "five", "five", "five", "one", "now"])]
    local = [{"word": "Call", "start": 1.0, "end": 1.3}, {"word": "555-1", "start": 1.4, "end": 2.6}, {"word": "now.", "start": 2.7, "end": 3.0}]
    times = aligned_times(hyp, local)
    assert times[0] == (1.0, 1.3) and times[-1] == (2.7, 3.0)
    # "five five five one" replaced by "555-1": the run shares the local word's span.
    assert times[1][0] == pytest.approx(1.4) and times[4][1] == pytest.approx(2.6)
    assert all(1.4 <= a < b <= 2.6 for a, b in times[1:5])


def test_a_masked_entity_is_found_again_in_another_spoken_form():
    runs = [(1, 4, "PHONE")]
    look_for = targets(["call", "five", "five", "five", "one", "now"], runs)
    assert find_known(["ring", "555", "1", "later"], look_for) == [(1, 2, "IDENTIFIER")]
    assert find_known(["ring", "five", "five", "five", "won"], look_for)  # homophones still match
    assert find_known(["ring", "the", "office", "later"], look_for) == []


def test_a_masked_name_recovered_alone_is_still_found():
    look_for = targets(["ask", "quentin", "oyelaran", "now"], [(1, 2, "PERSON")])
    assert find_known(["tell", "quentin", "hello"], look_for) == [(1, 1, "IDENTIFIER")]


# --- real speech ---------------------------------------------------------------------------------


def speech(tmp_path, text):
    from scipy.signal import resample_poly

    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed")
    wav = tmp_path / "said.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(wav), text], check=True)
    raw, rate = soundfile.read(wav, dtype="float32")
    samples = resample_poly(raw, SAMPLE_RATE, rate).astype(np.float32)
    return np.concatenate([np.zeros(SAMPLE_RATE // 2, np.float32), samples, np.zeros(SAMPLE_RATE // 2, np.float32)])


def wrongly_timed_task(services, make_account, samples):
    """A device hypothesis with the right words and wrong times: squeezed into the first 0.8 s."""
    hypothesis = {"words": [{"word": w, "start": 0.05 * i, "end": 0.05 * i + 0.04, "confidence": 0.9} for i, w in enumerate(WORDS)]}
    account, device = make_account()
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    with services.sessions() as db:
        recording = ingest(services, db, device, buffer.getvalue(), parse_metadata(json.dumps({"hypothesis": hypothesis})))
        commit_ingest(services, db, recording)
        task = create_tasks(db, recording.id, account.id, "uncertainty", 0.9)[0]
        db.commit()
        return task.id


def digits_heard(services, wav: bytes) -> tuple[list[str], str]:
    served, _ = soundfile.read(io.BytesIO(wav), dtype="float32")
    words = [w.word for w in services.recognizer.transcribe(served).words]
    return words, re.sub(r"\D", "", " ".join(words))


def assert_phone_not_heard(services, wav: bytes):
    words, digits = digits_heard(services, wav)
    assert find_known(words, identifiers(codes=[PHONE])) == [], words
    for chunk in ("555", "867", "5309"):
        assert chunk not in digits, words


@pytest.mark.slow
def test_wrong_device_times_do_not_leave_the_digits_audible(services, make_account, tmp_path):
    samples = speech(tmp_path, SAID)
    heard = [w.word for w in services.recognizer.transcribe(samples).words]
    assert find_known(heard, identifiers(codes=[PHONE])), f"the phone number must be audible in the original: {heard}"
    task_id = wrongly_timed_task(services, make_account, samples)
    with services.sessions() as db:
        task = db.get(ReviewTask, task_id)
        wav = rendered_wav(services, db, task)
        params = json.loads(task.render_params)
    assert params["aligned"]["local_words"] > 0
    assert_phone_not_heard(services, wav)
    assert PHONE not in task.render_params and "five" not in task.render_params


@pytest.mark.slow
def test_without_alignment_the_check_fires_and_extends_the_silence(services, make_account, tmp_path):
    """The hypothesis's times alone leave the digits audible; the post-render check hears them and
    silences them where it heard them."""
    task_id = wrongly_timed_task(services, make_account, speech(tmp_path, SAID))
    with services.sessions() as db:
        task = db.get(ReviewTask, task_id)
        render_task(services, db, task, steps=(silence_pii, make_check(1), transform_voice))
        db.commit()
        params = json.loads(task.render_params)
        wav = rendered_wav(services, db, task)
    assert params["check"]["recovered"][0] > 0 and params["check"]["extended"] == 1, params["check"]
    assert params["check"]["recovered"][-1] == 0
    assert_phone_not_heard(services, wav)


@pytest.mark.slow
def test_the_check_fails_closed_when_the_entity_is_still_heard(services, make_account, tmp_path):
    """No extension allowed: the recovered digits mean the clip is not served; the task is
    withdrawn with its reason and the refusal is audited (without any content)."""
    task_id = wrongly_timed_task(services, make_account, speech(tmp_path, SAID))
    with services.sessions() as db:
        task = db.get(ReviewTask, task_id)
        render_task(services, db, task, steps=(silence_pii, make_check(0), transform_voice))
        db.commit()
        assert task.status == TaskStatus.WITHDRAWN and task.rendered_blob_id is None
        params = json.loads(task.render_params)
        assert "still recovered" in params["withheld"]
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == WITHHELD, AuditEvent.subject == task_id))
        assert event is not None and json.loads(event.details)["recovered"] >= 1
        assert "five" not in event.details and "555" not in event.details
        with pytest.raises(Conflict):
            rendered_wav(services, db, task)
