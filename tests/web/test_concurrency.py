"""Many people at once (issue 12): reviewers in parallel, slow uploads, pool exhaustion and
concurrent sign-in guesses, each on SQLite and PostgreSQL. Load figures live in
benchmarks/load_bench.py; these tests only prove the failure modes are gone."""

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from sottovoce.app_services import open_services
from sottovoce.core.audit import verify
from sottovoce.core.errors import TooManyRequests, Unauthenticated
from sottovoce.db.models import AuditEvent, LoginAttempt
from sottovoce.review.render import render_task
from sottovoce.review.sampler import create_tasks
from sottovoce.staff import sessions as staff_sessions
from sottovoce.staff.roles import REVIEWER
from sottovoce.web.app import create_app
from tests.browser.conftest import live_server  # noqa: F401  (a real server on loopback)
from tests.factories import demo_clip, sign_in

METADATA = json.dumps({"hypothesis": {"words": [{"word": "lock", "start": 0.1, "end": 0.4, "confidence": 0.9}]}})


@pytest.fixture
def queued_tasks(services, make_account, make_recording):
    """Thirty rendered tasks from fifteen accounts, ready to lease."""
    ids = []
    for _ in range(15):
        account, device = make_account()
        for _ in range(2):
            recording = make_recording(device)
            with services.sessions() as db:
                task = create_tasks(db, recording.id, account.id, "uncertainty", 0.7)[0]
                render_task(services, db, task)
                db.commit()
                ids.append(task.id)
    return ids


def review_loop(client: TestClient, seconds: float) -> tuple[list[int], float, int]:
    """next -> page -> audio -> submit until time is up; returns statuses, the slowest step, clips done."""
    statuses, slowest, done = [], 0.0, 0
    end = time.monotonic() + seconds

    def timed(call):
        nonlocal slowest
        started = time.monotonic()
        response = call()
        slowest = max(slowest, time.monotonic() - started)
        statuses.append(response.status_code)
        return response

    while time.monotonic() < end:
        queue = timed(lambda: client.get("/staff/review"))
        csrf = re.search(r'name="csrf" value="([^"]+)"', queue.text).group(1)
        nxt = timed(lambda: client.post("/staff/review/next", data={"csrf": csrf}, follow_redirects=False))
        location = nxt.headers.get("location", "")
        if "/tasks/" not in location:
            break  # the queue is empty
        page = timed(lambda: client.get(location))
        token = re.search(r'name="csrf" content="([^"]+)"', page.text).group(1)
        audio_url = re.search(r'data-audio="([^"]+)"', page.text).group(1).replace("&amp;", "&")
        timed(lambda: client.get(audio_url))
        body = json.dumps({"text": "lock the front door", "unintelligible": [], "tags": [], "time_spent_ms": 900})
        timed(lambda: client.post(location + "/submit", content=body, headers={"X-CSRF-Token": token, "Content-Type": "application/json"}))
        done += 1
    return statuses, slowest, done


def upload_loop(client: TestClient, token: str, seconds: float) -> tuple[list[int], float]:
    statuses, slowest = [], 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        response = client.post("/api/v1/recordings", files={"audio": ("a.wav", demo_clip(), "audio/wav")}, data={"metadata": METADATA},
                               headers={"Authorization": f"Bearer {token}"})
        slowest = max(slowest, time.monotonic() - started)
        statuses.append(response.status_code)
    return statuses, slowest


def test_reviewers_and_uploaders_at_once_neither_fail_nor_stall(services, make_staff, queued_tasks, device_and_token):
    """Regression: the lease path held SQLite's write lock waiting for the process's audit lock
    while the task page held the audit lock waiting for SQLite: 30 s stalls, 500s and 503s."""
    app = create_app(services, run_worker=False)
    clients = []
    for _ in range(4):
        client = TestClient(app, base_url="https://testserver")
        assert sign_in(client, make_staff(REVIEWER)).status_code == 303
        clients.append(client)
    warm_up = review_loop(clients[0], 0.1)[2]  # the first page loads the PII detector
    with ThreadPoolExecutor(6) as pool:
        uploads = [pool.submit(upload_loop, TestClient(app), device_and_token[1], 6.0) for _ in range(2)]
        results = list(pool.map(lambda c: review_loop(c, 6.0), clients))
        upload_results = [u.result() for u in uploads]
    for statuses, slowest, _ in results:
        assert all(s < 500 for s in statuses), statuses
        assert slowest < 2.0, f"a reviewer's step took {slowest:.1f} s"
    for statuses, slowest in upload_results:
        assert set(statuses) == {202}, statuses
        assert slowest < 2.0, f"an upload took {slowest:.1f} s"
    assert sum(done for *_, done in results) >= 8
    with services.sessions() as db:
        assert verify(db, services.audit.checkpoint_file, services.audit.public_key_pem()).ok
        served = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "review.audio_served"))
        assert served == warm_up + sum(done for *_, done in results)


def test_audit_appends_from_many_threads_keep_one_chain(services):
    from sottovoce.core.audit import Actor

    def append(i):
        with services.sessions() as db:
            for j in range(10):
                services.audit.record(db, Actor(f"r{i}", "reviewer"), "test.read", f"{i}-{j}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(append, range(8)))
    with services.sessions() as db:
        result = verify(db, services.audit.checkpoint_file, services.audit.public_key_pem())
    assert result.ok
    assert result.events == 80


def test_concurrent_wrong_passwords_are_checked_at_most_the_limit(services, make_staff):
    """Regression: 40 concurrent guesses for one name got 19 password checks before the 429s."""
    staff = make_staff(REVIEWER)
    limit = services.settings.login_max_failures_per_account
    outcomes = []

    def guess(_):
        with services.sessions() as db:
            try:
                staff_sessions.sign_in(services, db, staff.user.name, "wrong-password", "000000", "192.0.2.7")
            except (Unauthenticated, TooManyRequests) as exc:
                outcomes.append(type(exc).__name__)

    with ThreadPoolExecutor(20) as pool:
        list(pool.map(guess, range(40)))
    with services.sessions() as db:
        checked = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "staff.login_failed"))
    assert checked <= limit
    assert outcomes.count("TooManyRequests") == 40 - checked


def test_one_address_cannot_lock_a_staff_member_out_elsewhere(services, make_staff):
    staff = make_staff(REVIEWER)
    for _ in range(services.settings.login_max_failures_per_account + 1):
        with services.sessions() as db, pytest.raises((Unauthenticated, TooManyRequests)):
            staff_sessions.sign_in(services, db, staff.user.name, "wrong", "000000", "198.51.100.9")
    with services.sessions() as db:
        signed_in = staff_sessions.sign_in(services, db, staff.user.name, staff.password, staff.code(), "192.0.2.44")
    assert signed_in.user.id == staff.user.id


def test_a_name_guessed_from_everywhere_hits_the_global_backstop(services, make_staff):
    services.settings.login_max_failures_per_name = 6
    staff = make_staff(REVIEWER)
    for i in range(6):
        with services.sessions() as db, pytest.raises(Unauthenticated):
            staff_sessions.sign_in(services, db, staff.user.name, "wrong", "000000", f"203.0.113.{i}")
    with services.sessions() as db, pytest.raises(TooManyRequests):
        staff_sessions.sign_in(services, db, staff.user.name, staff.password, staff.code(), "192.0.2.45")


def test_old_sign_in_attempts_are_forgotten_by_housekeeping(services, make_staff):
    from datetime import timedelta

    from sottovoce.db.types import utcnow
    from sottovoce.jobs import housekeeping

    with services.sessions() as db:
        db.add(LoginAttempt(name="x" * 64, client_addr="192.0.2.1", at=utcnow() - timedelta(days=3), success=False))
        db.add(LoginAttempt(name="y" * 64, client_addr="192.0.2.2", at=utcnow(), success=False))
        db.commit()
    housekeeping.run(services)
    with services.sessions() as db:
        assert db.scalars(select(LoginAttempt.client_addr)).all() == ["192.0.2.2"]


# --- uploads ---------------------------------------------------------------------------------------

def _multipart(token: str) -> tuple[bytes, dict]:
    request = httpx.Request("POST", "http://x/", files={"audio": ("a.wav", demo_clip(), "audio/wav")}, data={"metadata": METADATA})
    body = request.read()
    return body, {"Authorization": f"Bearer {token}", "Content-Type": request.headers["content-type"]}


def test_a_trickled_upload_times_out_without_holding_a_connection(services, live_server, device_and_token):  # noqa: F811
    services.settings.upload_body_timeout_s = 1.0
    body, headers = _multipart(device_and_token[1])

    def trickle():
        yield body[:100]
        for _ in range(30):
            time.sleep(0.1)
            yield b""  # keeps the request open, sends nothing
        yield body[100:]

    statuses = []

    def slow_upload():
        with httpx.Client(timeout=20) as client:
            statuses.append(client.post(f"{live_server}/api/v1/recordings", headers=headers, content=trickle()).status_code)

    thread = threading.Thread(target=slow_upload)
    thread.start()
    time.sleep(0.5)
    assert services.engine.pool.checkedout() == 0  # the body is being read: no connection is held
    thread.join(10)
    assert statuses == [408]


def test_a_device_gets_at_most_its_cap_of_uploads_in_flight(services, live_server, device_and_token):  # noqa: F811
    services.settings.upload_concurrency_per_device = 2
    services.settings.upload_body_timeout_s = 3.0
    body, headers = _multipart(device_and_token[1])
    release = threading.Event()

    def held():
        yield body[:100]
        release.wait(5)
        yield body[100:]

    statuses = []

    def upload(stream):
        with httpx.Client(timeout=20) as client:
            statuses.append(client.post(f"{live_server}/api/v1/recordings", headers=headers, content=stream).status_code)

    threads = [threading.Thread(target=upload, args=(held(),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    queries: list[str] = []
    count = lambda *args: queries.append(args[2])  # noqa: E731
    event.listen(services.engine, "before_cursor_execute", count)
    with httpx.Client(timeout=20) as client:
        third = client.post(f"{live_server}/api/v1/recordings", headers=headers, content=body)
    event.remove(services.engine, "before_cursor_execute", count)
    release.set()
    for thread in threads:
        thread.join(10)
    assert third.status_code == 429
    assert third.headers["retry-after"] == "1"  # a device client knows when to come back
    assert queries == []  # refused before its token is even looked up: a flood costs no database work
    assert sorted(statuses) == [202, 202]


def test_pool_exhaustion_answers_503_with_retry_after(tmp_path, database_url):
    from sottovoce.core.settings import Settings

    settings = Settings(home=tmp_path / "small", database_url=database_url, asr_workers=0, db_pool_size=1, db_pool_timeout_s=0.3)
    services = open_services(settings)
    try:
        client = TestClient(create_app(services, run_worker=False))
        held = [services.engine.connect() for _ in range(2)]  # pool_size 1 + overflow 1: all taken
        try:
            response = client.get("/healthz")
            assert response.status_code == 503
            assert response.json()['database']['ok'] is False
            busy = client.get("/me/", headers={"Cookie": "__Host-sv_account=whatever"})
            assert busy.status_code == 503
            assert busy.headers["retry-after"] == "2"
            assert busy.json()["error"]["code"] == "busy"
        finally:
            for conn in held:
                conn.close()
        healthy = client.get("/healthz")
        assert healthy.status_code == 200
        assert healthy.json()['ok'] is True
        assert healthy.json()["pool"]["size"] == 2
    finally:
        services.close()
