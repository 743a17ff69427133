"""Two `sottovoce serve --no-worker` processes sharing only the database and the object store, one
client alternating between them: staff sessions, the sign-in throttle, task leases and single-use
audio tickets, the audio rate limit and the audit chain all hold across processes.

On SQLite both processes open one file (a fleet runs PostgreSQL; CI runs both backends).
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from itertools import cycle

import httpx
import pytest

from sottovoce.review.sampler import sample
from sottovoce.staff.roles import REVIEWER
from tests.scale.test_workers import env_of

COOKIE = "__Host-sv_staff"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, settings, **extra):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "sottovoce", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(self.port)],
                                     env=env_of(settings, **extra), stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 180  # a loaded shared machine
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"server exited: {self.tail()}"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("server did not start")

    def tail(self) -> str:
        self.log.seek(0)
        return self.log.read()[-2000:].decode(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Alternating:
    """One browser, whose every request goes to the next server. Cookies are kept by hand: the staff
    cookie is Secure (and a real browser sends it only over TLS, which a load balancer terminates)."""

    def __init__(self, servers: list[Server]):
        self.servers = cycle(servers)
        self.cookies: dict[str, str] = {}
        self.served_by: list[int] = []

    def request(self, method: str, path: str, server: Server | None = None, **kwargs) -> httpx.Response:
        target = server or next(self.servers)
        self.served_by.append(target.port)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        # The forwarded scheme a TLS-terminating load balancer sends.
        response = httpx.request(method, target.url + path, headers={**headers, "X-Forwarded-Proto": "https"}, timeout=180,
                                 follow_redirects=False, **kwargs)
        for key, value in response.headers.multi_items():
            if key == "set-cookie":
                name, _, rest = value.partition("=")
                val = rest.split(";", 1)[0]
                if val and "max-age=0" not in value.lower():
                    self.cookies[name] = val
                else:
                    self.cookies.pop(name, None)
        return response

    def csrf(self, path: str) -> str:
        return re.search(r'name="csrf" value="([^"]+)"', self.request("GET", path).text).group(1)

    def sign_in(self, staff, code: str | None = None) -> httpx.Response:
        form = {"name": staff.user.name, "password": staff.password, "code": code or staff.code(), "csrf": self.csrf("/staff/login")}
        return self.request("POST", "/staff/login", data=form)


def assert_chain_intact(services) -> None:
    from sottovoce.core.audit import verify

    with services.sessions() as db:
        result = verify(db, services.audit.checkpoint_file, services.audit.public_key_pem())
    assert result.ok, result
    assert result.events > 5


@pytest.fixture
def two_servers(settings, services):
    started: list[Server] = []

    def start(**extra) -> list[Server]:
        started.extend([Server(settings, **extra), Server(settings, **extra)])
        return started[-2:]

    yield start
    for s in started:
        s.stop()


def test_sessions_throttle_and_audit_hold_across_two_processes(services, two_servers, make_staff):
    a, b = two_servers(login_max_failures_per_name=3)
    staff = make_staff(REVIEWER)
    browser = Alternating([a, b])

    assert browser.sign_in(staff).status_code == 303  # csrf page from one process, the POST to the other
    assert browser.request("GET", "/staff/", server=a).status_code == 200
    assert browser.request("GET", "/staff/", server=b).status_code == 200  # the session is in the database
    browser.request("POST", "/staff/logout", server=b, data={"csrf": browser.csrf("/staff/password")})
    assert browser.request("GET", "/staff/", server=a).status_code in (303, 401)  # signed out everywhere

    # Failed sign-ins are counted in the database, whichever process saw them.
    other = make_staff(REVIEWER)
    stranger = Alternating([a, b])
    codes = [stranger.sign_in(other, code="000000").status_code for _ in range(3)]
    assert codes == [401, 401, 401]
    assert stranger.sign_in(other).status_code == 429  # the right code, but the name is throttled now
    assert len(set(browser.served_by + stranger.served_by)) == 2

    # Both processes appended to one hash chain, in order.
    assert_chain_intact(services)


def test_leases_tickets_and_the_audio_limit_hold_across_two_processes(services, two_servers, make_staff, make_account, make_recording):
    a, b = two_servers(abuse_audio_per_minute=2)
    for _ in range(3):
        _, device = make_account(review=True)
        make_recording(device)
    services.settings.sampler_overlap_share = 0.0
    with services.sessions() as db:
        assert sample(services, db).sampled == 3
        db.commit()
    staff = make_staff(REVIEWER)
    browser = Alternating([a, b])
    assert browser.sign_in(staff).status_code == 303

    def lease_and_page(server_for_next: Server, server_for_page: Server) -> tuple[str, str]:
        nxt = browser.request("POST", "/staff/review/next", server=server_for_next, data={"csrf": browser.csrf("/staff/review")})
        assert nxt.status_code == 303 and "/tasks/" in nxt.headers["location"], nxt.text[:300]
        page = browser.request("GET", nxt.headers["location"], server=server_for_page)  # the lease is in the database
        assert page.status_code == 200
        return nxt.headers["location"], re.search(r'/staff/review/tasks/[0-9a-f]+/audio\?ticket=[^"&]+', page.text).group(0)

    task_url, audio = lease_and_page(a, b)
    again = browser.request("POST", "/staff/review/next", server=b, data={"csrf": browser.csrf("/staff/review")})
    assert again.headers["location"] == task_url  # the same reviewer keeps the same lease on the other process
    first = browser.request("GET", audio, server=a)  # a ticket issued by B, redeemed on A ...
    assert first.status_code == 200 and first.headers["content-type"] == "audio/wav"
    assert browser.request("GET", audio, server=b).status_code in (403, 409)  # ... once, whichever process sees the replay

    _, audio2 = lease_and_page(b, a)  # a fresh page (and ticket) of the same lease, via the other process
    assert browser.request("GET", audio2, server=b).status_code == 200  # second clip this minute
    _, audio3 = lease_and_page(a, b)
    assert browser.request("GET", audio3, server=a).status_code == 429  # the per-minute limit counts both processes
    assert_chain_intact(services)
