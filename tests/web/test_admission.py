"""Staff admission (web/admission.py): staff work waits its turn by priority; devices never wait."""

from __future__ import annotations

import asyncio
import threading

import pytest

from sottovoce.web.admission import CLAIM, RETURN, STAFF, PriorityGate, StaffAdmission, StaffLanes, staff_priority


@pytest.mark.parametrize(("method", "path", "expected"), [
    ("POST", "/staff/review/next", CLAIM),
    ("POST", "/staff/review/tasks/abc/submit", RETURN),
    ("POST", "/staff/review/tasks/abc/heartbeat", RETURN),
    ("GET", "/staff/review/tasks/abc", STAFF),
    ("GET", "/staff/review/tasks/abc/audio", STAFF),
    ("POST", "/staff/login", STAFF),
    ("GET", "/staff/review/next", STAFF),  # only the POST claims
    ("POST", "/api/v1/recordings", None),
    ("GET", "/me/", None),
    ("GET", "/healthz", None),
    ("GET", "/staffroom", STAFF),  # a prefix match errs on the side of queueing
])
def test_requests_are_classed_by_audience(method, path, expected):
    assert staff_priority(method, path) == expected


def test_waiters_are_served_by_priority_then_arrival():
    async def scenario() -> list[str]:
        gate = PriorityGate(1)
        order: list[str] = []
        assert await gate.acquire(STAFF, 1)

        async def wait(name: str, priority: int) -> None:
            assert await gate.acquire(priority, 5)
            order.append(name)
            gate.release()

        tasks = []
        for name, priority in [("page-1", STAFF), ("submit", RETURN), ("page-2", STAFF), ("claim", CLAIM)]:
            tasks.append(asyncio.create_task(wait(name, priority)))
            await asyncio.sleep(0)  # each enqueues before the next
        assert gate.queued == 4
        gate.release()
        await asyncio.gather(*tasks)
        assert gate.busy == 0
        return order

    assert asyncio.run(scenario()) == ["claim", "submit", "page-1", "page-2"]


def test_a_waiter_that_times_out_is_refused_and_loses_nothing():
    async def scenario() -> None:
        gate = PriorityGate(1)
        assert await gate.acquire(STAFF, 1)
        assert not await gate.acquire(STAFF, 0.05)  # slot still held: refused in time
        assert gate.queued == 0
        gate.release()
        assert gate.busy == 0
        assert await gate.acquire(STAFF, 0.05)  # the slot is free again, not leaked

    asyncio.run(scenario())


def test_slots_pass_between_event_loops_in_other_threads():
    """An app driven by several loops (one per test client, or per server thread) must wake waiters
    on their own loop; a loop-bound future set from another thread would sleep until its time-out."""
    gate = PriorityGate(1)
    holder_ready, got = threading.Event(), []

    def holder() -> None:
        async def run() -> None:
            assert await gate.acquire(STAFF, 1)
            holder_ready.set()
            await asyncio.sleep(0.2)
            gate.release()
        asyncio.run(run())

    def waiter() -> None:
        async def run() -> None:
            loop = asyncio.get_running_loop()
            started = loop.time()
            got.append((await gate.acquire(STAFF, 5), loop.time() - started))
            gate.release()
        holder_ready.wait(5)
        asyncio.run(run())

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert got and got[0][0] is True
    assert got[0][1] < 1.0, f"woken only after {got[0][1]:.2f} s"
    assert gate.busy == 0


def test_full_staff_lane_answers_503_with_retry_after_and_devices_pass():
    release = asyncio.Event()
    seen: list[str] = []

    async def app(scope, receive, send):
        seen.append(scope["path"])
        if scope["path"] == "/staff/review/tasks/t":
            await release.wait()  # a slow staff page holding the only slot
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def call(middleware, method: str, path: str) -> tuple[int, dict]:
        sent: list[dict] = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await middleware({"type": "http", "method": method, "path": path, "headers": []}, receive, send)
        start = sent[0]
        return start["status"], dict(start["headers"])

    async def scenario() -> None:
        lanes = StaffLanes(1)
        middleware = StaffAdmission(app, lanes=lanes, timeout_s=0.1)
        slow = asyncio.create_task(call(middleware, "GET", "/staff/review/tasks/t"))
        await asyncio.sleep(0.01)
        waiting = asyncio.create_task(call(middleware, "GET", "/staff/privacy"))
        await asyncio.sleep(0.01)
        assert lanes.status() == {"slots": 1, "claims_waiting": 0, "work_waiting": 1}  # what /healthz shows
        await waiting
        status, headers = await call(middleware, "GET", "/staff/supervise")
        assert (status, headers[b"retry-after"]) == (503, b"2")
        assert (await call(middleware, "POST", "/api/v1/recordings"))[0] == 200  # devices never wait
        assert (await call(middleware, "POST", "/staff/review/next"))[0] == 200  # claims have their own lane
        release.set()
        assert (await slow)[0] == 200

    asyncio.run(scenario())
    assert "/staff/supervise" not in seen
