"""Minimum-necessary listening (issue 15): the reviewer hears the windows around the words that
need attention, the page says which words each window covers, and "hear the whole clip" is its
own audited action, counted per reviewer on the supervisor page."""

import io
import json
import re

import numpy as np
import soundfile
from sqlalchemy import func, select

from sottovoce.core.audio import SAMPLE_RATE
from sottovoce.db.models import AuditEvent, ReviewTask
from sottovoce.review.listening import CONTEXT_S, EDITED, GAP_S, LOW, MASKED_NEIGHBOUR, SPOT_CHECK, WHOLE_CLIP, attention, cut, plan
from sottovoce.review.projection import ReviewWord
from sottovoce.review.render import rendered_wav
from sottovoce.review.sampler import create_tasks
from sottovoce.staff.roles import REVIEWER, SUPERVISOR
from tests.factories import sign_in


def word(i, text, start, conf=0.9, low=False, pii=None):
    return ReviewWord(i, text, start, start + 0.3, conf, low, pii, i, i)


def test_windows_surround_the_doubtful_words_and_their_masked_neighbours():
    words = [word(0, "call", 0.2), word(1, "[PHONE]", 0.6, pii="PHONE"), word(2, "now", 3.0),
             word(3, "and", 4.0), word(4, "then", 5.0), word(5, "lunch", 8.0, conf=0.3, low=True)]
    reasons = attention(words, edited={4})
    assert reasons == {0: [MASKED_NEIGHBOUR], 2: [MASKED_NEIGHBOUR], 4: [EDITED], 5: [LOW]}
    times = {w.index: (w.start, w.end) for w in words}
    listening = plan(words, times, reasons, duration_s=9.0)
    spans = [(w.start, w.end) for w in listening.windows]
    # The placeholder's neighbours "call" and "now" are 2.5 s apart: two windows; "and" is not heard.
    assert spans == [(0.0, 0.5 + CONTEXT_S), (3.0 - CONTEXT_S, 3.3 + CONTEXT_S), (5.0 - CONTEXT_S, 5.3 + CONTEXT_S), (8.0 - CONTEXT_S, 9.0)]
    assert [w.words for w in listening.windows] == [(0, 1), (2,), (4,), (5,)]
    assert 3 not in listening.served_times
    # Served times follow the windowed clip: the second window starts after the first and a gap.
    assert listening.windows[1].offset == round(1.25 + GAP_S, 2)
    assert listening.served_times[2][0] == round(1.25 + GAP_S + CONTEXT_S, 2)
    samples = np.ones(9 * SAMPLE_RATE, dtype=np.float32)
    served = cut(samples, listening.windows)
    assert abs(len(served) / SAMPLE_RATE - listening.duration_s) < 0.01
    assert sum(w.end - w.start for w in listening.windows) < 0.75 * 9.0  # a quarter of the clip is never heard


def test_a_clip_with_nothing_doubtful_gets_one_spot_check_window():
    words = [word(0, "lock", 0.2, conf=0.95), word(1, "the", 0.6, conf=0.8), word(2, "door", 1.0, conf=0.99)]
    assert attention(words, set()) == {1: [SPOT_CHECK]}


def test_a_clip_whose_every_word_is_masked_has_nothing_to_hear():
    words = [word(0, "[PHONE]", 0.2, pii="PHONE")]
    listening = plan(words, {0: (0.2, 0.5)}, attention(words, set()), 3.0)
    assert listening.windows == [] and listening.served_times == {}
    served = cut(np.ones(3 * SAMPLE_RATE, dtype=np.float32), listening.windows)
    assert len(served) == int(GAP_S * SAMPLE_RATE) and not served.any()


def lease(app_client):
    queue = app_client.get("/staff/review")
    token = re.search(r'name="csrf" value="([^"]+)"', queue.text).group(1)
    location = app_client.post("/staff/review/next", data={"csrf": token}, follow_redirects=False).headers["location"]
    page = app_client.get(location)
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" content="([^"]+)"', page.text).group(1)
    return location.rsplit("/", 1)[-1], page, csrf, re.search(r'data-audio="([^"]+)"', page.text).group(1).replace("&amp;", "&")


def seconds(wav: bytes) -> float:
    samples, rate = soundfile.read(io.BytesIO(wav), dtype="float32")
    return len(samples) / rate


def test_the_reviewer_hears_windows_by_default_and_the_whole_clip_only_by_an_audited_choice(app_client, make_staff, services, make_account, make_recording):
    account, device = make_account()
    # 3.2 s clip; only "ecobee" (word 5, at 1.7-1.95 s) is doubtful.
    words = (("what's", 0.9), ("the", 0.9), ("temperature", 0.9), ("of", 0.9), ("the", 0.9), ("ecobee", 0.2))
    recording = make_recording(device, words=words, clip="what-s-the-temperature-of-the-ecobee.wav")
    with services.sessions() as db:
        create_tasks(db, recording.id, account.id, "uncertainty", 0.9)
        db.commit()
    staff = make_staff(REVIEWER)
    sign_in(app_client, staff)
    task_id, page, csrf, audio_url = lease(app_client)
    assert 'id="whole"' in page.text and "Hear the whole clip" in page.text
    assert re.search(r'<li data-offset="0.0">[^<]*low confidence[^<]*:\s*(<span class="covered">[^<]+</span>\s*)+</li>', page.text)
    assert '<span class="covered">ecobee</span>' in page.text
    default = app_client.get(audio_url)
    assert default.status_code == 200
    with services.sessions() as db:
        whole_render = rendered_wav(services, db, db.get(ReviewTask, task_id))
    assert seconds(default.content) < seconds(whole_render) - 0.5  # not the whole clip
    # The windows ticket cannot be turned into the whole clip.
    _, _, _, another = lease(app_client)
    assert app_client.get(another + "&whole=1").status_code == 403
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == WHOLE_CLIP)) == 0
    # The explicit choice: audited first, then a whole-clip link and each word's time in the clip.
    chosen = app_client.post(f"/staff/review/tasks/{task_id}/whole", headers={"X-CSRF-Token": csrf, "Accept": "application/json"})
    assert chosen.status_code == 200
    answer = chosen.json()
    assert len(answer["words"]) == len(words)
    whole = app_client.get(answer["audio"])
    assert whole.status_code == 200 and abs(seconds(whole.content) - seconds(whole_render)) < 0.01
    with services.sessions() as db:
        events = db.scalars(select(AuditEvent).where(AuditEvent.subject == task_id).order_by(AuditEvent.seq)).all()
        actions = [(e.action, json.loads(e.details or "{}").get("listening")) for e in events]
    assert (WHOLE_CLIP, None) in actions
    assert actions.index((WHOLE_CLIP, None)) < actions.index(("review.audio_served", "whole"))
    assert ("review.audio_served", "windows") in actions
    # Supervisors see how often each reviewer chose the whole clip.
    body = {"text": "what's the temperature of the ecobee", "unintelligible": [], "tags": [], "time_spent_ms": 4000}
    assert app_client.post(f"/staff/review/tasks/{task_id}/submit", content=json.dumps(body), headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"}).status_code == 200
    app_client.cookies.clear()
    sign_in(app_client, make_staff(SUPERVISOR))
    supervise = app_client.get("/staff/supervise").text
    assert "Whole clips heard" in supervise
    assert re.search(rf"<td>{staff.user.name}</td><td>1</td>.*?<td>1</td></tr>", supervise, re.S)


def test_words_another_reviewer_changed_get_a_window(services, make_account, make_recording):
    from sottovoce.core.audit import Actor
    from sottovoce.review.listening import edited_by_others
    from sottovoce.review.submissions import Submission, submit

    account, device = make_account()
    recording = make_recording(device, words=(("lock", 0.95), ("the", 0.95), ("front", 0.95), ("door", 0.95)))
    with services.sessions() as db:
        first = create_tasks(db, recording.id, account.id, "uncertainty", 0.9)[0]
        second = create_tasks(db, recording.id, account.id, "uncertainty", 0.9)[0]
        db.commit()
        assert first.group_id != second.group_id
        submit(services, db, first, Actor("r1", "reviewer"), Submission(text="lock the back door"))
        db.commit()
        assert edited_by_others(services, db, second) == {2}
        assert edited_by_others(services, db, first) == set()  # its own edits are not "another reviewer's"
