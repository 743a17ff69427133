"""Admission by audience: staff work never takes the server from devices and account holders.

One web process runs Python on one core at a time. Reviewers working without pause (or a flood of
staff requests) would otherwise share that core equally with every device upload, so ingest, the
path millions of people depend on, slows in proportion to staff activity. Instead, staff requests
are admitted at most ``STAFF_CONCURRENCY`` at a time per process, waiting in the event loop (no
thread, no database connection held), in two lanes:

- claiming the next task (``POST /staff/review/next``) has a lane of its own: a short transaction
  on the queue's head, the click a reviewer waits on, never stuck behind a page being rendered;
- the rest of staff work shares the other lane, sending work back first (submit, skip, stop,
  heartbeat, status), then everything else under ``/staff`` (task page, audio, queue, supervisor
  and officer pages, sign-in).

Within a class the order is first come, first served. Device API, account-holder pages, health
and static files are never queued here: devices are bounded by their own per-device cap and body
deadline (web/upload_limits.py). A staff request that waits longer than ``STAFF_QUEUE_TIMEOUT_S``
is answered 503 with Retry-After, as a full database pool is.

The gates are per process (each web process admits its own N).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import re
import threading
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

CLAIM, RETURN, STAFF = 0, 1, 2
_RETURNS = re.compile(r"^/staff/review/tasks/[^/]+/(submit|skip|stop|heartbeat|status)$")


def staff_priority(method: str, path: str) -> int | None:
    """The class of a staff request, or None for requests that are never queued."""
    if not path.startswith("/staff"):
        return None
    if path == "/staff/review/next" and method == "POST":
        return CLAIM
    if _RETURNS.match(path):
        return RETURN
    return STAFF


@dataclass(order=True)
class _Waiter:
    priority: int
    order: int
    loop: asyncio.AbstractEventLoop = field(compare=False)
    future: asyncio.Future[None] = field(compare=False)
    state: str = field(default="waiting", compare=False)  # waiting | granted | gone


class PriorityGate:
    """At most ``slots`` holders at once; waiters are served lowest priority number first, FIFO
    within one. Thread-safe: an app may be driven by several event loops (test clients, servers
    with a loop per thread), so waiters are woken on their own loop."""

    def __init__(self, slots: int):
        self.slots = slots
        self.busy = 0
        self._waiting: list[_Waiter] = []
        self._order = itertools.count()
        self._lock = threading.Lock()

    async def acquire(self, priority: int, timeout_s: float) -> bool:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self.busy < self.slots and not self._waiting:
                self.busy += 1
                return True
            waiter = _Waiter(priority, next(self._order), loop, loop.create_future())
            heapq.heappush(self._waiting, waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter.future), timeout_s)
            return True
        except (TimeoutError, asyncio.CancelledError) as exc:
            with self._lock:
                granted = waiter.state == "granted"
                waiter.state = "gone"
            if granted:
                self.release()  # handed a slot just as time ran out or the client left: pass it on
            if isinstance(exc, asyncio.CancelledError):
                raise
            return False

    def release(self) -> None:
        with self._lock:
            while self._waiting:
                waiter = heapq.heappop(self._waiting)
                if waiter.state != "waiting":
                    continue
                try:
                    waiter.loop.call_soon_threadsafe(_wake, waiter.future)
                except RuntimeError:  # its event loop has closed: nobody is waiting there
                    waiter.state = "gone"
                    continue
                waiter.state = "granted"  # the slot passes straight to the next waiter
                return
            self.busy -= 1

    @property
    def queued(self) -> int:
        with self._lock:
            return sum(1 for w in self._waiting if w.state == "waiting")


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


BUSY_BODY = json.dumps({"error": {"code": "busy", "message": "the server is busy; try again in a moment"}}).encode()


class StaffLanes:
    """The two lanes of one process; /healthz reports how many staff requests wait in each."""

    def __init__(self, slots: int):
        self.claims, self.work = PriorityGate(slots), PriorityGate(slots)

    def status(self) -> dict[str, int]:
        return {"slots": self.claims.slots, "claims_waiting": self.claims.queued, "work_waiting": self.work.queued}


class StaffAdmission:
    def __init__(self, app: ASGIApp, lanes: StaffLanes, timeout_s: float):
        self.app = app
        self.claims, self.work = lanes.claims, lanes.work
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        priority = staff_priority(scope.get("method", ""), scope.get("path", "")) if scope["type"] == "http" else None
        if priority is None:
            await self.app(scope, receive, send)
            return
        gate = self.claims if priority == CLAIM else self.work
        if not await gate.acquire(priority, self.timeout_s):
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"retry-after", b"2"), (b"cache-control", b"no-store")]})
            await send({"type": "http.response.body", "body": BUSY_BODY})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            gate.release()
