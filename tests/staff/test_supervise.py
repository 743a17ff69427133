"""The supervisor's pages (issue 16): one symmetric disagreement figure per pair, a chart with its
scale, and adjudication with the de-identified clip, a word diff and a confirmation after saving."""

import json
import re

import pytest
from sqlalchemy import select

from sottovoce.core.audit import Actor
from sottovoce.db.models import AuditEvent
from sottovoce.learning.monitoring import Point, chart
from sottovoce.review import leases, quality
from sottovoce.review.sampler import create_tasks
from sottovoce.review.submissions import Submission, submit
from sottovoce.staff.roles import REVIEWER, SUPERVISOR
from tests.factories import csrf_of, sign_in

HTML = {"accept": "text/html"}


def review(services, reviewer, text):
    with services.sessions() as db:
        task = leases.lease_next(services, db, reviewer.id)
        submit(services, db, task, Actor(reviewer.id, REVIEWER), Submission(text=text))
        db.commit()
        return task


@pytest.fixture
def disagreement(services, make_account, make_recording, make_staff):
    """A double-reviewed clip whose two transcripts have 3 and 6 words and differ in 3."""
    account, device = make_account()
    recording = make_recording(device)
    with services.sessions() as db:
        create_tasks(db, recording.id, account.id, "uncertainty", 0.5, overlap=True)
        db.commit()
    a, b = make_staff(REVIEWER, name="rita"), make_staff(REVIEWER, name="sam")
    review(services, a.user, "lock the door")
    review(services, b.user, "please lock the front door now")
    with services.sessions() as db:
        return quality.disagreements(services, db)[0], account, a, b


def test_pair_disagreement_is_the_same_for_both_reviewers(services, disagreement):
    assert quality.pair_disagreement("lock the door", "please lock the front door now") == (3, 6)
    assert quality.pair_disagreement("please lock the front door now", "lock the door") == (3, 6)
    with services.sessions() as db:
        figures = {q.name: q.agreement_wer for q in quality.reviewer_quality(services, db)}
    assert figures == {"rita": 0.5, "sam": 0.5}  # WER against "the other" read 100% and 50%


def test_chart_has_a_round_scale_and_week_labels():
    figure = chart([Point("2026-W10", "base", 0.12, 4), Point("2026-W11", "v2", 0.08, 5)])
    assert [t["label"] for t in figure["y_ticks"]] == ["0%", "5%", "10%", "15%", "20%"]
    assert [t["label"] for t in figure["x_ticks"]] == ["2026-W10", "2026-W11"]
    assert figure["y_ticks"][0]["y"] == figure["bottom_px"] and figure["y_ticks"][-1]["y"] == figure["top_px"]
    assert figure["points"][0]["y"] == pytest.approx(figure["bottom_px"] - 0.6 * (figure["bottom_px"] - figure["top_px"]), abs=0.1)


def test_adjudication_with_audio_diff_and_confirmation(app_client, services, make_staff, disagreement):
    group_id, _, _, _ = disagreement
    boss = make_staff(SUPERVISOR)
    sign_in(app_client, boss)
    overview = app_client.get("/staff/supervise", headers=HTML).text
    assert "50.0%" in overview and "100.0%" not in overview
    page = app_client.get(f"/staff/supervise/disagreements/{group_id}", headers=HTML).text
    assert f'src="/staff/supervise/disagreements/{group_id}/audio"' in page
    diff = re.search(r'<p class="diff"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert re.search(r"<ins><span class=\"sr-only\">Reviewer 2: </span>please</ins>", diff)
    assert "<ins><span class=\"sr-only\">Reviewer 2: </span>front</ins>" in diff
    assert "3 of 6 words" in page

    audio = app_client.get(f"/staff/supervise/disagreements/{group_id}/audio")
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert audio.headers["cache-control"] == "no-store" and audio.content[:4] == b"RIFF"
    with services.sessions() as db:
        served = db.scalars(select(AuditEvent).where(AuditEvent.action == "review.audio_served", AuditEvent.actor == boss.user.id)).all()
    assert len(served) == 1 and json.loads(served[0].details)["kind"] == "adjudication"

    saved = app_client.post(f"/staff/supervise/disagreements/{group_id}", data={"text": "please lock the front door", "csrf": csrf_of(app_client, "/staff/supervise")}, headers=HTML)
    assert saved.status_code == 200 and str(saved.url).endswith("/staff/supervise?settled=1#settled")
    assert 'role="status">Saved: the final transcript is stored' in saved.text
    assert "Disagreements to settle (0)" in saved.text


def test_adjudication_audio_is_de_identified(services, disagreement, monkeypatch):
    """The supervisor hears what the reviewers heard: every DEIDENTIFY step runs on the clip."""
    from sottovoce.review import deidentify, render

    ran = []
    for name in ("silence_pii", "transform_voice"):
        real = getattr(deidentify, name)
        monkeypatch.setattr(deidentify, name, lambda s, c, real=real, name=name: ran.append(name) or real(s, c))
    monkeypatch.setattr(render, "DEIDENTIFY", (deidentify.silence_pii, deidentify.transform_voice))  # no recognizer in a fast test
    group_id = disagreement[0]
    with services.sessions() as db:
        wav = quality.adjudication_audio(services, db, group_id, Actor("s" * 32, SUPERVISOR))
    assert wav[:4] == b"RIFF" and ran == ["silence_pii", "transform_voice"]


def test_no_adjudication_audio_once_consent_is_withdrawn(app_client, services, make_staff, disagreement):
    from sottovoce.db.models import Account

    group_id, account, _, _ = disagreement
    with services.sessions() as db:
        db.get(Account, account.id).consent_human_review = False
        db.commit()
    sign_in(app_client, make_staff(SUPERVISOR))
    page = app_client.get(f"/staff/supervise/disagreements/{group_id}", headers=HTML).text
    assert "<audio" not in page and "no longer available" in page
    assert app_client.get(f"/staff/supervise/disagreements/{group_id}/audio").status_code == 404
