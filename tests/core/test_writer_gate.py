"""The SQLite writer gate (db/engine.py) between processes: writers queue at a file lock next to the
database instead of sleeping in SQLite's busy handler. Two engines on one file stand in for two
processes: flock treats separately opened descriptors independently, as it does across processes."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as SATimeoutError

from sottovoce.db.engine import make_engine


@pytest.fixture
def two_processes(tmp_path):
    url = f"sqlite:///{tmp_path / 'gate.sqlite'}"
    first, second = make_engine(url), make_engine(url)
    with first.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield first, second
    first.dispose()
    second.dispose()


def hold_write(engine, seconds: float, holding: threading.Event) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        holding.set()
        time.sleep(seconds)


def test_a_writer_in_another_process_waits_its_turn_and_wakes_promptly(two_processes, tmp_path):
    first, second = two_processes
    holding = threading.Event()
    other = threading.Thread(target=hold_write, args=(first, 0.3, holding))
    other.start()
    assert holding.wait(5)
    started = time.monotonic()
    with second.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (2)"))
    waited = time.monotonic() - started
    other.join()
    assert (tmp_path / "gate.sqlite-writer.lock").exists()
    assert 0.2 <= waited < 0.3 + 0.08, f"waited {waited:.3f} s for a 0.3 s transaction"  # woken within a few ms, not 100 ms sleeps
    with first.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2


def test_no_write_slot_in_time_is_the_pool_timeout_the_web_layer_answers_503(two_processes):
    first, second = two_processes
    second.info["writer_gate"].timeout_s = 0.1
    holding = threading.Event()
    other = threading.Thread(target=hold_write, args=(first, 0.5, holding))
    other.start()
    assert holding.wait(5)
    with pytest.raises(SATimeoutError, match="another process"), second.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (3)"))
    other.join()
    with second.begin() as conn:  # the refused writer left no lock behind
        conn.execute(text("INSERT INTO t VALUES (4)"))


def test_a_failed_transaction_releases_the_gate_for_other_processes(two_processes):
    first, second = two_processes
    with pytest.raises(RuntimeError), first.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (5)"))
        raise RuntimeError("the handler failed mid-transaction")
    second.info["writer_gate"].timeout_s = 0.5
    with second.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (6)"))
