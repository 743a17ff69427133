"""Deletion cascade benchmark: deleting one recording (p50/p99) and closing an account with 10,000
recordings, on an embedded (SQLite, WAL) instance; ``--database-url`` for PostgreSQL.

Targets (issue 5): one recording p99 <= 50 ms; closing an account with 10,000 recordings <= 10 s.

    .venv/bin/python benchmarks/deletion_bench.py            # 3 runs: 300 single deletions, 10,000-recording closure
    .venv/bin/python benchmarks/deletion_bench.py --quick    # 1 run, 100 single deletions, 10,000-recording closure
    .venv/bin/python benchmarks/deletion_bench.py --json

What is timed is the whole cascade as a request runs it: commit the pending receipt, every part
(jobs, review data, hypotheses), blob unlinks, the recording rows, the receipt and its audit event.
The WAL truncation that follows runs on a scrub thread half a second later (deletion.py); it runs
concurrently with the next deletions here, and its own cost is reported separately. Recordings are created fast but through the same sealing functions as
ingest (``KeyRing.seal`` for 1 s of PCM audio and the hypothesis JSON), inserted in bulk; one in ten
has a review task with a sealed rendered clip and an annotation. Blob files are written without
fsync (set-up only). Medians over runs are reported: the machine is shared, so the CPU time of the
deleting thread (``single_cpu_p99_ms``) is reported next to the wall-clock latency.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402

from sottovoce.accounts.deletion import close_account, delete_recordings, flush_deleted_pages, wait_for_scrub  # noqa: E402
from sottovoce.accounts.registry import add_device, create_account  # noqa: E402
from sottovoce.app_services import open_services
from sottovoce.asr.hypothesis import Transcript, Word  # noqa: E402
from sottovoce.core import audio  # noqa: E402
from sottovoce.core.audit import OPERATOR  # noqa: E402
from sottovoce.core.blobs import new_blob_id  # noqa: E402
from sottovoce.core.services import Services  # noqa: E402
from sottovoce.core.settings import Settings  # noqa: E402
from sottovoce.db.models import Annotation, Hypothesis, Recording, ReviewTask  # noqa: E402
from sottovoce.db.types import new_id, utcnow  # noqa: E402
from sottovoce.recordings.store import AUDIO, HYPOTHESIS  # noqa: E402


@contextmanager
def scratch_database(url: str):
    """SQLite: the default (a file in the run's temporary home). PostgreSQL: a throwaway schema in
    the given database, dropped afterwards, so a benchmark leaves nothing behind."""
    if not url.startswith("postgresql"):
        yield url
        return
    schema = "bench_" + secrets.token_hex(6)
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def put_fast(services: Services, data: bytes) -> str:
    """LocalBlobStore layout, without the per-file fsync (set-up speed only)."""
    blob_id = new_blob_id()
    path = services.blobs._path(blob_id)
    path.parent.mkdir(exist_ok=True, mode=0o700)
    path.write_bytes(data)
    return blob_id


def make_account(services: Services, n: int, seconds: float = 1.0) -> tuple[str, list[str]]:
    """An account with n sealed recordings (audio blob + hypothesis), 10% with review artefacts."""
    rng = np.random.default_rng(n)
    pcm = audio.to_pcm16(rng.uniform(-0.3, 0.3, int(seconds * audio.SAMPLE_RATE)).astype(np.float32))
    transcript = Transcript(words=[Word(w, 0.1 * i, 0.1 * i + 0.08, 0.8) for i, w in enumerate("turn off the kitchen lights".split())],
                            engine="bench", model="bench", model_version="1")
    content = transcript.content_json()
    with services.sessions() as db:
        account = create_account(db, services.keys, "bench-" + new_id()[:8])
        device, _ = add_device(db, account.id, "SN-BENCH")
        db.commit()
        account_id, device_id = account.id, device.id
        key_ring = services.keys
        ids: list[str] = []
        now = utcnow()
        for start in range(0, n, 1000):
            recordings, hypotheses, tasks, annotations = [], [], [], []
            for i in range(start, min(n, start + 1000)):
                rid = new_id()
                ids.append(rid)
                blob = put_fast(services, key_ring.seal(db, account_id, pcm, AUDIO, rid))
                recordings.append({"id": rid, "account_id": account_id, "device_id": device_id, "captured_at": now, "received_at": now,
                                   "duration_s": seconds, "audio_blob_id": blob, "status": "transcribed", "likely_accidental": False})
                hypotheses.append({"id": new_id(), "recording_id": rid, "source": "external", "engine": "bench", "model": "bench",
                                   "model_version": "1", "created_at": now, "word_count": 5, "min_confidence": 0.8, "mean_confidence": 0.8,
                                   "sealed_content": key_ring.seal(db, account_id, content, HYPOTHESIS, rid)})
                if i % 10 == 0:
                    tid, aid = new_id(), new_id()
                    clip = put_fast(services, key_ring.seal(db, account_id, pcm, "rendered-clip", tid))
                    tasks.append({"id": tid, "recording_id": rid, "account_id": account_id, "group_id": new_id(), "kind": "random",
                                  "priority": 0.0, "status": "done", "rendered_blob_id": clip, "render_params": "{}", "created_at": now})
                    annotations.append({"id": aid, "task_id": tid, "group_id": tid, "recording_id": rid, "reviewer_id": "r" * 32,
                                        "outcome": "submitted", "tags": "", "word_count": 5, "edit_count": 1, "pii_misses": 0,
                                        "time_spent_ms": 1000, "submitted_at": now,
                                        "sealed_content": key_ring.seal(db, account_id, b'{"text": "x"}', "annotation", aid)})
            db.execute(insert(Recording), recordings)
            db.execute(insert(Hypothesis), hypotheses)
            if tasks:
                db.execute(insert(ReviewTask), tasks)
                db.execute(insert(Annotation), annotations)
            db.commit()
    return account_id, ids


def bench_single(services: Services, n: int) -> dict:
    make_account(services, 2000)  # other data, so the tables are not trivially small
    account_id, ids = make_account(services, n)
    times, cpu = [], []
    for rid in ids:
        with services.sessions() as db:
            t, c = time.perf_counter(), time.thread_time()
            delete_recordings(services, db, account_id, [rid], OPERATOR, "dashboard")
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.thread_time() - c) * 1000)
    wait_for_scrub(services)
    scrub = []
    for _ in range(20):  # what the background WAL truncation costs, measured on its own
        t = time.perf_counter()
        flush_deleted_pages(services)
        scrub.append((time.perf_counter() - t) * 1000)
    return {"single_n": n, "single_p50_ms": statistics.median(times), "single_p99_ms": percentile(times, 0.99),
            "single_max_ms": max(times), "single_cpu_p99_ms": percentile(cpu, 0.99), "wal_truncate_p50_ms": statistics.median(scrub)}


def bench_close(services: Services, n: int) -> dict:
    make_account(services, 500)
    account_id, _ = make_account(services, n)
    with services.sessions() as db:
        t = time.perf_counter()
        receipt = close_account(services, db, account_id, OPERATOR, "cli")
        seconds = time.perf_counter() - t
    wait_for_scrub(services)
    assert receipt["counts"]["recordings"] == n, receipt
    return {"close_recordings": n, "close_s": seconds, "close_blobs": receipt["counts"]["audio_blobs"] + receipt["counts"].get("rendered_clips", 0)}


def one_run(database_url: str, singles: int, closing: int) -> dict:
    results = {}
    for bench, arg in ((bench_single, singles), (bench_close, closing)):
        with tempfile.TemporaryDirectory() as home, scratch_database(database_url) as url:
            services = open_services(Settings(home=Path(home), database_url=url, asr_workers=0))
            try:
                results |= bench(services, arg)
            finally:
                services.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--runs", type=int, default=None)
    args = parser.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    singles = 100 if args.quick else 300
    runs_data = [one_run(args.database_url, singles, 10_000) for _ in range(runs)]
    results = {key: statistics.median(r[key] for r in runs_data) for key in runs_data[0]}
    results |= {"runs": runs, "machine": f"{platform.machine()}, {os.cpu_count()} cores", "database": args.database_url.split(":")[0] or "sqlite"}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'measure (median of ' + str(runs) + ' runs)':44} {'value':>10}  target")
    print(f"{'delete one recording p50 (ms)':44} {results['single_p50_ms']:10.2f}")
    print(f"{'delete one recording p99 (ms)':44} {results['single_p99_ms']:10.2f}  <= 50 ms")
    print(f"{'delete one recording, CPU time p99 (ms)':44} {results['single_cpu_p99_ms']:10.2f}")
    print(f"{'WAL truncation (background), p50 (ms)':44} {results['wal_truncate_p50_ms']:10.2f}")
    print(f"{'close account, ' + str(results['close_recordings']) + ' recordings (s)':44} {results['close_s']:10.2f}  <= 10 s")


if __name__ == "__main__":
    main()
