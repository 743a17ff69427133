"""Limits that keep one device from holding the server: a per-device cap on uploads in flight and
a deadline for receiving the body. Both apply before any database connection is taken.

The cap is per process (each web process admits at most N uploads per device at once); the
deadline makes a trickled body cost its sender a 408, not the server a worker.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

from sottovoce.core.errors import SottovoceError, TooManyRequests


class RequestTimeout(SottovoceError):
    code = "request_timeout"


class DeviceSlots:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}

    @contextmanager
    def hold(self, device_id: str, limit: int) -> Iterator[None]:
        with self._lock:
            if self._in_flight.get(device_id, 0) >= limit:
                raise TooManyRequests(f"this device already has {limit} uploads in progress; wait for one to finish", retry_after_s=1)
            self._in_flight[device_id] = self._in_flight.get(device_id, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._in_flight[device_id] - 1
                if left:
                    self._in_flight[device_id] = left
                else:
                    del self._in_flight[device_id]


async def within_deadline(stream: AsyncIterator[bytes], total_s: float) -> AsyncIterator[bytes]:
    """Yield the body's chunks, or raise RequestTimeout once ``total_s`` has passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + total_s
    iterator = stream.__aiter__()
    while True:
        left = deadline - loop.time()
        if left <= 0:
            raise RequestTimeout(f"the upload was not received within {total_s:g} s")
        try:
            chunk = await asyncio.wait_for(iterator.__anext__(), timeout=left)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise RequestTimeout(f"the upload was not received within {total_s:g} s") from None
        yield chunk
