"""The reviewer workbench in a real browser, keyboard only (Playwright + Debian's Chromium)."""

import pytest
from sqlalchemy import select

from sottovoce.accounts.consent import HUMAN_REVIEW, set_consent
from sottovoce.core.audit import Actor
from sottovoce.db.models import Account, Annotation, ReviewTask
from sottovoce.review.sampler import create_tasks
from sottovoce.review.submissions import open_annotation
from sottovoce.staff.roles import REVIEWER
from tests.browser.conftest import shot, sign_in_with_keyboard, wait_for_focus

pytestmark = pytest.mark.slow


@pytest.fixture
def two_tasks(services, make_account, make_recording):
    ids = []
    for clip, words in (
        ("lock-the-front-door.wav", (("lock", 0.92), ("the", 0.9), ("front", 0.31), ("dour", 0.22))),
        ("cancel-all-timers.wav", (("cancel", 0.9), ("all", 0.95), ("tires", 0.2))),
    ):
        account, device = make_account()
        recording = make_recording(device, words=words, clip=clip)
        with services.sessions() as db:
            ids.append(create_tasks(db, recording.id, account.id, "uncertainty", 1.0 - len(ids) * 0.1)[0].id)
            db.commit()
    return ids


def test_keyboard_only_review_then_next_task(live_server, page, make_staff, two_tasks, services):
    staff = make_staff(REVIEWER)
    sign_in_with_keyboard(page, live_server, staff)
    page.goto(live_server + "/staff/review")
    wait_for_focus(page, "#start")
    page.keyboard.press("Enter")  # the "Start reviewing" button has focus
    page.wait_for_url(f"{live_server}/staff/review/tasks/{two_tasks[0]}")
    page.wait_for_selector("#task[data-audio-ready='1']")
    shot(page, "workbench-task")

    page.keyboard.press("Control+Space")  # play
    page.wait_for_selector("#task[data-playing='1']")
    page.keyboard.press("Control+ArrowUp")  # 1.25x
    assert page.get_attribute("#task", "data-speed") == "1.25"
    page.keyboard.press("Control+ArrowLeft")  # back 2 s

    # Focus starts on the first doubtful word ("front", selected); Tab jumps to the next one ("dour").
    assert page.evaluate("document.activeElement.value") == "front"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.value") == "dour"
    page.keyboard.type("door")  # replaces the selected word
    shot(page, "workbench-corrected")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(f"{live_server}/staff/review/tasks/{two_tasks[1]}")
    page.wait_for_selector("#task[data-audio-ready='1']")
    shot(page, "workbench-next-task")

    with services.sessions() as db:
        annotation = db.scalar(select(Annotation).where(Annotation.task_id == two_tasks[0]))
        assert open_annotation(services, db, annotation)["text"] == "lock the front door"
        assert db.get(ReviewTask, two_tasks[0]).status == "done"


def test_sensitive_content_stops_the_audio_and_leaves_review(live_server, page, make_staff, two_tasks, services):
    sign_in_with_keyboard(page, live_server, make_staff(REVIEWER))
    page.goto(live_server + "/staff/review")
    wait_for_focus(page, "#start")
    page.keyboard.press("Enter")
    page.wait_for_selector("#task[data-audio-ready='1']")
    page.keyboard.press("Control+Space")
    page.wait_for_selector("#task[data-playing='1']")
    page.keyboard.press("Alt+x")
    page.wait_for_url(f"{live_server}/staff/review/tasks/{two_tasks[1]}")
    shot(page, "workbench-after-sensitive-stop")
    with services.sessions() as db:
        stopped = db.get(ReviewTask, two_tasks[0])
        assert stopped.status == 'stopped'
        assert stopped.rendered_blob_id is None


def test_consent_withdrawal_revokes_the_open_task_in_the_browser(live_server, page, make_staff, two_tasks, services):
    sign_in_with_keyboard(page, live_server, make_staff(REVIEWER))
    page.goto(live_server + "/staff/review")
    wait_for_focus(page, "#start")
    page.keyboard.press("Enter")
    page.wait_for_selector("#task[data-audio-ready='1']")
    with services.sessions() as db:
        account = db.get(Account, db.get(ReviewTask, two_tasks[0]).account_id)
        set_consent(services, db, account, HUMAN_REVIEW, False, Actor(account.id, "account"), "dashboard")
        db.commit()
    page.wait_for_selector("#task[data-state='withdrawn']", timeout=10_000)
    assert page.is_visible("#withdrawn")
    assert page.evaluate("document.getElementById('submit').disabled")
    shot(page, "workbench-withdrawn")
    # The withdrawn clip offers the next one, focused: Enter moves on.
    wait_for_focus(page, "#next-after-withdrawn")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/staff/review/tasks/{two_tasks[1]}")


def test_task_page_has_a_heading_a_play_pause_button_and_layout_independent_shortcuts(live_server, page, make_staff, two_tasks):
    staff = make_staff(REVIEWER)
    sign_in_with_keyboard(page, live_server, staff)
    page.goto(f"{live_server}/staff/review")
    wait_for_focus(page, "#start")
    page.keyboard.press("Enter")
    page.wait_for_selector("#task[data-audio-ready='1']")
    assert page.locator("h1").count() == 1
    assert page.inner_text("#play-label") == "Play"
    page.keyboard.press("Control+Space")
    page.wait_for_selector("#task[data-playing='1']")
    page.wait_for_function("document.getElementById('play-label').textContent === 'Pause'")
    page.keyboard.press("Control+Space")
    page.wait_for_function("document.getElementById('play-label').textContent === 'Play'")
    # What macOS sends for Option+U: key is a dead key, code is still KeyU.
    assert page.evaluate("document.activeElement.value") == "front"
    page.evaluate("""document.activeElement.dispatchEvent(new KeyboardEvent('keydown',
        {key: 'Dead', code: 'KeyU', altKey: true, bubbles: true, cancelable: true}))""")
    assert page.evaluate("document.activeElement.classList.contains('unintelligible')")
