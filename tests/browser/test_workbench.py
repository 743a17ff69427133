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
from tests.browser.test_pages import overflow_px, serious_violations

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
    page.wait_for_selector("#task[data-playing='0']")  # the audio stops at once; then a reason
    wait_for_focus(page, "#reason-distressing")
    shot(page, "workbench-stop-reasons")
    page.keyboard.press("1")  # distressing
    page.wait_for_url(f"{live_server}/staff/review/tasks/{two_tasks[1]}")
    shot(page, "workbench-after-sensitive-stop")
    with services.sessions() as db:
        stopped = db.get(ReviewTask, two_tasks[0])
        assert stopped.status == 'stopped'
        assert stopped.rendered_blob_id is None
        assert db.scalar(select(Annotation.stop_reason).where(Annotation.task_id == two_tasks[0])) == "distressing"


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
    # Disabled controls look disabled: faded, and the words struck through.
    assert float(page.eval_on_selector("#submit", "e => getComputedStyle(e).opacity")) < 0.6
    assert float(page.eval_on_selector("input.word", "e => getComputedStyle(e).opacity")) < 0.6
    assert page.eval_on_selector("input.word", "e => getComputedStyle(e).cursor") == "not-allowed"
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
    page.wait_for_selector("#play-label:text-is('Pause')")  # a selector, not a polled string (the CSP forbids eval)
    page.keyboard.press("Control+Space")
    page.wait_for_selector("#play-label:text-is('Play')")
    # What macOS sends for Option+U: key is a dead key, code is still KeyU.
    assert page.evaluate("document.activeElement.value") == "front"
    page.evaluate("""document.activeElement.dispatchEvent(new KeyboardEvent('keydown',
        {key: 'Dead', code: 'KeyU', altKey: true, bubbles: true, cancelable: true}))""")
    assert page.evaluate("document.activeElement.classList.contains('unintelligible')")


def start(page, base: str) -> None:
    page.goto(base + "/staff/review")
    wait_for_focus(page, "#start")
    page.keyboard.press("Enter")
    page.wait_for_selector("#task[data-audio-ready='1']")


def test_playhead_click_to_seek_on_waveform_and_word_and_progress(live_server, page, make_staff, two_tasks):
    sign_in_with_keyboard(page, live_server, make_staff(REVIEWER))
    start(page, live_server)
    assert "Clip 1 of 2 this session" in page.inner_text("#progress")
    assert "1 more waiting that you may take" in page.inner_text("#progress")
    duration = page.evaluate("+document.getElementById('task').dataset.duration")
    box = page.locator("#wave").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)  # the middle of the waveform
    page.wait_for_selector("#task[data-playing='1']")
    position = float(page.get_attribute("#task", "data-position"))
    assert duration * 0.4 < position < duration * 0.75
    left = page.evaluate("parseFloat(document.getElementById('playhead').style.left)")
    assert 40 < left < 75  # the playhead moved with it
    page.keyboard.press("Control+Space")  # pause
    page.wait_for_selector("#task[data-playing='0']")
    word = page.locator("input.word[data-index='3']")  # "dour", starts at 1.1 s
    start_s = float(word.get_attribute("data-start"))
    word.click()
    page.wait_for_selector("#task[data-playing='1']")
    assert start_s - 0.05 <= float(page.get_attribute("#task", "data-position")) < start_s + 0.6
    assert page.evaluate("document.activeElement.value") == "dour"  # the word keeps focus for editing
    # The waveform is a slider for the keyboard too.
    page.keyboard.press("Control+Space")
    page.wait_for_selector("#task[data-playing='0']")
    page.focus("#wave")
    page.keyboard.press("Home")
    assert float(page.get_attribute("#task", "data-position")) == 0
    page.keyboard.press("ArrowRight")
    assert page.get_attribute("#wave", "aria-valuenow") == "1.0"


def test_undo_and_a_reload_keeps_the_unsaved_edits(live_server, page, make_staff, two_tasks, services):
    sign_in_with_keyboard(page, live_server, make_staff(REVIEWER))
    start(page, live_server)
    assert page.evaluate("document.activeElement.value") == "front"
    page.keyboard.type("frond")
    page.keyboard.press("Tab")
    page.keyboard.type("door")
    page.keyboard.press("Alt+u")
    assert page.evaluate("document.activeElement.classList.contains('unintelligible')")
    page.keyboard.press("Control+z")  # the mark
    assert not page.evaluate("document.activeElement.classList.contains('unintelligible')")
    page.keyboard.press("Control+z")  # "door" back to "dour"
    assert page.evaluate("document.activeElement.value") == "dour"
    page.keyboard.press("Control+z")  # and into the previous word: "frond" back to "front"
    assert page.evaluate("document.activeElement.value") == "front"
    page.keyboard.press("Control+Shift+z")  # redo
    assert page.evaluate("document.activeElement.value") == "frond"
    page.keyboard.press("Control+z")
    # Now an edit to keep across a reload.
    page.locator("input.word[data-index='3']").focus()
    page.keyboard.press("Control+a")
    page.keyboard.type("door")
    page.keyboard.press("Alt+n")  # tag "not English"
    page.wait_for_selector("#task[data-draft-saved='1']")
    page.reload()
    page.wait_for_selector("#task[data-audio-ready='1']")
    assert page.is_visible("#draft-restored")
    assert page.input_value("input.word[data-index='3']") == "door"
    assert page.input_value("input.word[data-index='2']") == "front"
    assert page.is_checked("#tag-not-english")
    shot(page, "workbench-draft-restored")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(f"{live_server}/staff/review/tasks/{two_tasks[1]}")
    with services.sessions() as db:
        annotation = db.scalar(select(Annotation).where(Annotation.task_id == two_tasks[0]))
        assert open_annotation(services, db, annotation)["text"] == "lock the front door"
        assert annotation.tags == "not_english"


def test_stop_limit_offers_a_break(live_server, page, make_staff, two_tasks, services):
    services.settings.review_stop_limit = 1
    sign_in_with_keyboard(page, live_server, make_staff(REVIEWER))
    start(page, live_server)
    page.keyboard.press("Alt+x")
    wait_for_focus(page, "#reason-distressing")
    page.keyboard.press("Escape")  # changed one's mind: back to the clip
    assert page.is_hidden("#stop-reasons")
    page.keyboard.press("Alt+x")
    page.keyboard.press("2")  # possibly someone in danger
    page.wait_for_url(live_server + "/staff/review/break")
    assert page.inner_text("#stops") == "1"
    assert serious_violations(page) == []
    shot(page, "workbench-break")
    page.click("#back-to-queue")
    assert page.is_visible("#cooldown")
    # The other clip was sampled as uncertain: not offered during the cool-down.
    assert page.inner_text("#available") == "0"
    with services.sessions() as db:
        assert db.scalar(select(Annotation.stop_reason).where(Annotation.task_id == two_tasks[0])) == "danger"


def test_queue_does_not_say_nothing_to_review_next_to_a_waiting_clip(live_server, page, make_staff, services, make_account, make_recording):
    account, device = make_account()
    recording = make_recording(device)
    with services.sessions() as db:
        create_tasks(db, recording.id, account.id, "uncertainty", 0.9, overlap=True)  # two blind reviews of one clip
        db.commit()
    sign_in_with_keyboard(page, live_server, make_staff(REVIEWER))
    start(page, live_server)
    page.keyboard.press("Control+Enter")
    page.wait_for_url(live_server + "/staff/review?empty=1")
    assert "Nothing to review right now" in page.inner_text("main")
    assert page.inner_text("#available") == "0"  # the partner's task is not one this reviewer may take


@pytest.mark.parametrize("width", (1280, 390))
def test_workbench_pages_are_accessible_and_fit_a_phone(live_server, browser, make_staff, services, make_account, make_recording, width):
    account, device = make_account()
    recording = make_recording(device, words=(("call", 0.4), ("the", 0.5), ("police", 0.3), ("he", 0.4), ("hit", 0.3), ("me", 0.4)))
    with services.sessions() as db:
        create_tasks(db, recording.id, account.id, "uncertainty", 0.9, sensitivity="danger")
        db.commit()
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()

    def check(name: str) -> None:
        assert serious_violations(page) == [], name
        if width < 600:
            assert overflow_px(page) <= 0, f"{name} scrolls sideways at {width} px"
        shot(page, f"{name}-{width}")

    try:
        reviewer = make_staff(REVIEWER)
        sign_in_with_keyboard(page, live_server, reviewer)
        page.goto(live_server + "/staff/review")
        check("review-queue")
        page.check("input[name=categories][value=danger]")  # opt in to the flagged category
        page.get_by_role("button", name="Save my choice").click()
        page.wait_for_url(live_server + "/staff/review?saved=1")
        check("review-queue-opted-in")
        page.click("#start")
        page.wait_for_selector("#task[data-audio-ready='1']")
        assert page.is_visible("#content-warning")
        check("review-task")
        page.keyboard.press("Alt+x")
        wait_for_focus(page, "#reason-distressing")
        check("review-stop-reasons")
        page.keyboard.press("2")
        page.wait_for_url(live_server + "/staff/review?empty=1")
        context.close()
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        sign_in_with_keyboard(page, live_server, make_staff("privacy_officer"))
        page.goto(live_server + "/staff/privacy/stops")
        assert reviewer.user.name in page.inner_text("table")
        check("privacy-stops")
    finally:
        context.close()
