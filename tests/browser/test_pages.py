"""Every page an account holder or admin sees, in Chromium at 1280 and 390 px (issue 16):
no sideways scrolling on a phone, and axe-core (axe-playwright-python) finds no serious or
critical accessibility violation."""

import pytest
from axe_playwright_python.sync_playwright import Axe

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


@pytest.mark.parametrize("width", WIDTHS)
def test_officer_and_supervisor_pages(live_server, browser, make_staff, width):
    for role, paths in (("privacy_officer", ("/staff/audit", "/staff/privacy/alerts", "/staff/privacy/reid")), ("supervisor", ("/staff/supervise",))):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        try:
            sign_in_page(page, live_server, make_staff(role))
            for path in paths:
                page.goto(live_server + path)
                check(page, path.strip("/").replace("/", "-"), width)
        finally:
            context.close()
