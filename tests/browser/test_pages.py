"""Every page an account holder, admin, supervisor or privacy officer sees, in Chromium at 1280 and 390 px (issue 16):
no sideways scrolling on a phone, and axe-core (axe-playwright-python) finds no serious or
critical accessibility violation."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from tests.browser.conftest import shot
from tests.holders import login_url, new_holder, record

pytestmark = pytest.mark.slow
WIDTHS = (1280, 390)
AXE = Axe()


def serious_violations(page) -> list[str]:
    results = AXE.run(page)
    return [f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}" for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def overflow_px(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def check(page, name: str, width: int) -> None:
    assert serious_violations(page) == [], name
    if width < 600:
        assert overflow_px(page) <= 0, f"{name} scrolls sideways by {overflow_px(page)} px at {width} px"
    shot(page, f"{name}-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_holder_pages(live_server, browser, services, width):
    holder = new_holder(services, name="ada")
    for text in ("please lock the front door and turn off the kitchen lights", "set a timer for five minutes"):
        record(services, holder.device, text)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        page.goto(live_server + "/me/")
        check(page, "me-signed-out", width)
        page.goto(live_server + login_url(services, holder.account))
        check(page, "me-login", width)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(live_server + "/me/")
        check(page, "me-dashboard", width)
        page.get_by_role("button", name="Delete recordings in this range").click()
        page.wait_for_selector("#range-error")
        check(page, "me-range-error", width)
        page.locator("details.confirm summary").first.click()
        check(page, "me-delete-confirm", width)
        page.locator("details.confirm[open] button").click()
        page.wait_for_url(live_server + "/me/receipts/*")
        check(page, "me-receipt", width)
        page.goto(live_server + "/me/receipts")
        check(page, "me-receipts", width)
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_staff_sign_in_admin_and_404(live_server, browser, make_staff, width):
    admin = make_staff("admin")
    make_staff("reviewer", name="rita")
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        page.goto(live_server + "/nowhere")
        check(page, "not-found", width)
        page.goto(live_server + "/staff/login")
        check(page, "staff-login", width)


        page.fill("input[name=name]", admin.user.name)
        page.fill("input[name=password]", admin.password)
        page.fill("input[name=code]", admin.code())
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(live_server + "/staff/")
        page.goto(live_server + "/staff/admin/staff")
        check(page, "admin-staff", width)
    finally:
        context.close()


def sign_in_page(page, base: str, staff) -> None:
    page.goto(base + "/staff/login")
    page.fill("input[name=name]", staff.user.name)
    page.fill("input[name=password]", staff.password)
    page.fill("input[name=code]", staff.code())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/staff/")


def double_review(services, reviewers, texts, kind="uncertainty", make_account=None, make_recording=None):
    """One clip reviewed by two reviewers (an overlap group); returns the group id."""
    from sottovoce.core.audit import Actor
    from sottovoce.db.models import Annotation
    from sottovoce.review import leases
    from sottovoce.review.sampler import create_tasks
    from sottovoce.review.submissions import Submission, submit

    account, device = make_account()
    recording = make_recording(device)
    with services.sessions() as db:
        create_tasks(db, recording.id, account.id, kind, 0.5, overlap=len(reviewers) > 1)
        db.commit()
        for reviewer, text in zip(reviewers, texts):
            task = leases.lease_next(services, db, reviewer.user.id)
            submit(services, db, task, Actor(reviewer.user.id, "reviewer"), Submission(text=text))
            db.commit()
        return db.scalar(select(Annotation.group_id).where(Annotation.recording_id == recording.id))


@pytest.mark.parametrize("width", WIDTHS)
def test_supervisor_pages(live_server, browser, services, make_staff, make_account, make_recording, width):
    """Review quality with a scaled chart and the reviewer table, then settling a disagreement:
    the clip to hear, the word diff, and the confirmation after saving."""
    rita, sam = make_staff("reviewer", name="rita"), make_staff("reviewer", name="sam")
    double_review(services, [rita], ["lock the front floor"], "random", make_account, make_recording)
    group = double_review(services, [rita, sam], ["lock the door", "please lock the front door now"], "uncertainty", make_account, make_recording)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        sign_in_page(page, live_server, make_staff("supervisor"))
        page.goto(live_server + "/staff/supervise")
        assert page.locator("svg.chart text", has_text="0%").count() >= 1
        assert page.get_by_role("heading", name="Reviewers").is_visible()
        check(page, "staff-supervise", width)
        page.get_by_role("link", name="Disagreement 1").click()
        page.wait_for_url(f"{live_server}/staff/supervise/disagreements/{group}")
        assert [" ".join(t.split()) for t in page.locator(".diff ins").all_text_contents()] == ["Reviewer 2: please", "Reviewer 2: front", "Reviewer 2: now"]
        assert page.evaluate("fetch(document.querySelector('audio').src).then(r => r.headers.get('content-type'))") == "audio/wav"
        check(page, "staff-adjudicate", width)
        page.get_by_label("Final transcript").fill("please lock the front door")
        page.get_by_role("button", name="Save the final transcript").click()
        page.wait_for_url(live_server + "/staff/supervise?settled=1#settled")
        assert page.get_by_role("status").filter(has_text="Saved: the final transcript is stored").is_visible()
        check(page, "staff-supervise-settled", width)
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_privacy_officer_pages(live_server, browser, services, make_staff, width):
    """Audit log (names, filters, pages; no sideways scrolling at 1280 or 390 px), alerts, and the
    break-glass form's error that keeps the typed reason."""
    from sottovoce.core.audit import Actor
    from sottovoce.staff import abuse

    rita = make_staff("reviewer", name="rita")
    with services.sessions() as db:
        for i in range(60):
            services.audit.append(db, Actor(rita.user.id, "reviewer"), "review.submitted", f"{i:032x}", {"duration_s": 2.5, "words": 7})
        abuse.raise_alert(services, db, "off_shift", rita.user.id, "review activity at 03:00 Europe/Rome, outside the 09:00-17:00 Europe/Rome shift")
        db.commit()
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        sign_in_page(page, live_server, make_staff("privacy_officer"))
        page.goto(live_server + "/staff/audit")
        assert page.get_by_role("cell", name="rita", exact=True).count() > 0
        assert overflow_px(page) <= 0, f"the audit log scrolls sideways at {width} px"
        check(page, "staff-audit", width)
        page.get_by_label("Actor (staff name or id)").fill("rita")
        page.get_by_label("Action").select_option("review.submitted")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**/staff/audit?*actor=rita*")
        assert page.locator("table.audit tbody tr").count() == 50
        check(page, "staff-audit-filtered", width)
        page.get_by_role("link", name="Older events").click()
        page.wait_for_url("**before=*")
        assert page.locator("table.audit tbody tr").count() == 10
        check(page, "staff-audit-older", width)
        page.goto(live_server + "/staff/privacy/alerts")
        check(page, "staff-alerts", width)
        page.goto(live_server + "/staff/privacy/reid")
        check(page, "staff-reid", width)
        reason = "Court order 2026/77 concerning a reported threat to someone's safety"
        page.get_by_label("Task id").fill("0000-no-such-task")
        page.get_by_label("Reason (at least 20 characters)").fill(reason)
        page.get_by_role("button", name="Open request").click()
        page.get_by_role("alert").filter(has_text="No review task has this id").wait_for()
        assert page.get_by_label("Reason (at least 20 characters)").input_value() == reason
        assert page.get_by_label("Task id").input_value() == "0000-no-such-task"
        check(page, "staff-reid-error", width)
    finally:
        context.close()
