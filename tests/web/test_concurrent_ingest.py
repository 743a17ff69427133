"""Regression: concurrent device uploads must not deadlock on SQLite's write lock.

Ingest once held the write lock across two worker-thread hops; with more uploads in flight than
threads in the pool, every thread waited for a commit queued behind them.
"""

import json
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.browser.conftest import live_server  # noqa: F401  (a real server on loopback)
from tests.factories import demo_clip


def test_sixteen_concurrent_uploads_all_succeed(live_server, make_account, services):  # noqa: F811
    from sottovoce.accounts.registry import add_device

    # Sixteen devices at once (one device alone is capped at two uploads in flight: test_concurrency.py).
    accounts = [make_account()[0] for _ in range(2)]
    with services.sessions() as db:
        tokens = [add_device(db, a.id, f"SN-C{i}-{a.id[:6]}")[1] for a in accounts for i in range(8)]
        db.commit()
    metadata = json.dumps({"hypothesis": {"words": [{"word": "lock", "start": 0.1, "end": 0.4, "confidence": 0.9}]}})

    def upload(i):
        with httpx.Client(timeout=20) as client:
            return client.post(f"{live_server}/api/v1/recordings", headers={"Authorization": f"Bearer {tokens[i % 16]}"},
                               files={"audio": ("a.wav", demo_clip(), "audio/wav")}, data={"metadata": metadata}).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(upload, range(32)))
    assert statuses == [202] * 32
