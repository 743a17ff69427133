"""Export benchmark: streaming "download everything" for an account with 1,000 recordings, memory
growth and throughput, on an embedded (SQLite) instance; ``--database-url`` for PostgreSQL.

Target (issue 5): exporting 1,000 recordings grows memory by <= 50 MB (the export is streamed).

    .venv/bin/python benchmarks/export_bench.py            # 3 runs, 1,000 recordings of 3 s (96 kB of audio each)
    .venv/bin/python benchmarks/export_bench.py --quick    # 1 run
    .venv/bin/python benchmarks/export_bench.py --json

The zip is ~100 MB, twice the memory budget, so a buffering export would fail the target. Each
run sets up the account (sealed audio, hypotheses, 10% with review artefacts: see
deletion_bench.make_account), then measures the export in a *fresh child process* so set-up
allocations do not blur the figure: peak RSS (VmHWM) minus RSS just before the export, and the
tracemalloc peak of Python allocations, while the zip is streamed to /dev/null. Medians over runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def rss_kb(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measure(home: str, database_url: str, account_id: str) -> dict:
    """Child process: stream the export to /dev/null and report memory and time."""
    import gc
    import tracemalloc

    from sottovoce.accounts.data_export import export_chunks
    from sottovoce.app_services import open_services
    from sottovoce.core.settings import Settings

    services = open_services(Settings(home=Path(home), database_url=database_url, asr_workers=0))
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS (Linux)
    before = rss_kb()
    tracemalloc.start()
    size, pieces = 0, 0
    t = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        for chunk in export_chunks(services, account_id):
            sink.write(chunk)
            size += len(chunk)
            pieces += 1
    seconds = time.perf_counter() - t
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = rss_kb("VmHWM")
    services.close()
    return {
        "export_mb": size / 1e6, "pieces": pieces, "export_s": seconds, "throughput_mb_s": size / 1e6 / seconds,
        "rss_growth_mb": (peak - before) / 1024, "tracemalloc_peak_mb": traced_peak / 1e6,
    }


def one_run(database_url: str, n: int, seconds: float) -> dict:
    from deletion_bench import make_account, scratch_database

    from sottovoce.app_services import open_services
    from sottovoce.core.settings import Settings

    with tempfile.TemporaryDirectory() as home, scratch_database(database_url) as url:
        services = open_services(Settings(home=Path(home), database_url=url, asr_workers=0))
        make_account(services, 200, seconds)  # someone else's data, which must not slow this export
        account_id, _ = make_account(services, n, seconds)
        services.close()
        child = subprocess.run(
            [sys.executable, __file__, "--child", home, url or "-", account_id],
            capture_output=True, text=True, check=True,
        )
        return {"recordings": n, **json.loads(child.stdout)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--recordings", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=3.0, help="audio length of each recording")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        home, url, account_id = args.child
        print(json.dumps(measure(home, "" if url == "-" else url, account_id)))
        return
    runs = 1 if args.quick else 3
    data = [one_run(args.database_url, args.recordings, args.seconds) for _ in range(runs)]
    results = {key: statistics.median(r[key] for r in data) for key in data[0]}
    results |= {"runs": runs, "machine": f"{platform.machine()}, {os.cpu_count()} cores", "database": args.database_url.split(":")[0] or "sqlite"}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'measure (median of ' + str(runs) + ' runs)':44} {'value':>10}  target")
    print(f"{'recordings exported':44} {results['recordings']:10.0f}")
    print(f"{'zip size (MB)':44} {results['export_mb']:10.1f}")
    print(f"{'RSS growth during export (MB)':44} {results['rss_growth_mb']:10.1f}  <= 50 MB")
    print(f"{'tracemalloc peak (MB)':44} {results['tracemalloc_peak_mb']:10.1f}")
    print(f"{'time (s)':44} {results['export_s']:10.2f}")
    print(f"{'throughput (MB/s)':44} {results['throughput_mb_s']:10.1f}")


if __name__ == "__main__":
    main()
