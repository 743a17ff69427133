"""A real server on a loopback port and Debian's Chromium driven by Playwright.

Screenshots go to test-artifacts/ (kept by CI as evidence of what reviewers see).
"""

import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from sottovoce.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent.parent.parent / "test-artifacts"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--autoplay-policy=no-user-gesture-required",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(services):
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(services, run_worker=False), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is required for browser tests: run `make system-deps`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-final.png"))
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in_with_keyboard(page, base: str, staff) -> None:
    """Type name, password and TOTP code; Enter submits. No mouse."""
    page.goto(base + "/staff/login")
    wait_for_focus(page, "input[name=name]")
    page.keyboard.type(staff.user.name)
    page.keyboard.press("Tab")
    page.keyboard.type(staff.password)
    page.keyboard.press("Tab")
    page.keyboard.type(staff.code())
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/staff/")


def wait_for_focus(page, selector: str) -> None:
    """Keys go to the focused element: wait until autofocus has landed before typing."""
    page.wait_for_function("s => document.activeElement && document.activeElement.matches(s)", arg=selector)
