"""Minimum-necessary listening in a real browser: the windows are listed, and "hear the whole
clip" swaps in the whole clip after its audited request (Playwright + Debian's Chromium)."""

import pytest
from sqlalchemy import func, select

from sottovoce.db.models import AuditEvent
from sottovoce.review.listening import WHOLE_CLIP
from sottovoce.review.render import rendered_wav
from sottovoce.review.sampler import create_tasks
from sottovoce.staff.roles import REVIEWER
from tests.browser.conftest import shot, sign_in_with_keyboard, wait_for_focus

pytestmark = pytest.mark.slow


def test_hear_the_whole_clip_is_an_audited_click(live_server, page, make_staff, services, make_account, make_recording):
    account, device = make_account()
    recording = make_recording(device, words=(("what's", 0.9), ("the", 0.9), ("temperature", 0.9), ("of", 0.9), ("the", 0.9), ("ecobee", 0.2)),
                               clip="what-s-the-temperature-of-the-ecobee.wav")
    with services.sessions() as db:
        task = create_tasks(db, recording.id, account.id, "uncertainty", 0.9)[0]
        db.commit()
        task_id = task.id
        rendered_wav(services, db, task)  # what the render job does ahead of the lease
    sign_in_with_keyboard(page, live_server, make_staff(REVIEWER))
    page.goto(live_server + "/staff/review")
    wait_for_focus(page, "#start")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/staff/review/tasks/{task_id}", timeout=120_000)
    page.wait_for_selector("#task[data-audio-ready='1']")
    assert page.is_visible("#windows") and "ecobee" in page.inner_text("#windows")
    windowed = float(page.evaluate("document.querySelector('input.word[data-index=\"5\"]').dataset.start"))
    assert page.evaluate("document.querySelector('input.word[data-index=\"0\"]').dataset.start") is None  # not heard
    shot(page, "workbench-windows")
    page.click("#whole")
    page.wait_for_selector("#task[data-whole='1']")
    page.wait_for_function("document.getElementById('task').dataset.audioReady === '1' && document.getElementById('windows').hidden")
    whole = float(page.evaluate("document.querySelector('input.word[data-index=\"5\"]').dataset.start"))
    assert whole > windowed  # the whole clip's timeline: the word is later in it than in its window
    assert page.evaluate("document.querySelector('input.word[data-index=\"0\"]').dataset.start") is not None
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == WHOLE_CLIP, AuditEvent.subject == task_id)) == 1
