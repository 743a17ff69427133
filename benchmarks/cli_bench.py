"""CLI start-up benchmark: `sottovoce --help` and `sottovoce recordings show ID --json`.

    .venv/bin/python benchmarks/cli_bench.py            # 10 runs of each (median reported)
    .venv/bin/python benchmarks/cli_bench.py --runs 3   # quicker
    .venv/bin/python benchmarks/cli_bench.py --json

Targets (issue 16): --help <= 0.3 s, recordings show <= 0.8 s. Each command runs as a user runs it:
a new process (`python -m sottovoce`), on a temporary embedded (SQLite) instance holding one
transcribed recording. Reports the median wall time and the median CPU time (user + system) of the
child process; CPU time is the figure to compare on a busy machine, where wall time includes waiting
for a core. A bare `python -c pass` is measured too: the interpreter's own start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "sottovoce" / "demo" / "clips" / "lock-the-front-door.wav"
sys.path.insert(0, str(ROOT))  # measure this checkout's code, in-process and in the children alike


def prepare(home: Path) -> str:
    """An instance with one account, one device and one transcribed recording (external hypothesis)."""
    from sottovoce.accounts.registry import add_device, create_account
    from sottovoce.app_services import open_services
    from sottovoce.core.settings import Settings
    from sottovoce.recordings.ingest import commit_ingest, ingest
    from sottovoce.recordings.metadata import parse_metadata

    services = open_services(Settings(home=home, asr_workers=0))
    words = [{"word": w, "start": 0.2 + 0.3 * i, "end": 0.45 + 0.3 * i, "confidence": 0.9} for i, w in enumerate("lock the front door".split())]
    with services.sessions() as db:
        account = create_account(db, services.keys, "bench", consent_review=True)
        device, _ = add_device(db, account.id, "SN-BENCH")
        recording = ingest(services, db, device, CLIP.read_bytes(), parse_metadata(json.dumps({"hypothesis": {"words": words}})))
        commit_ingest(services, db, recording)
        recording_id = recording.id
    services.close()
    return recording_id


def time_command(args: list[str], env: dict[str, str], runs: int) -> dict[str, float]:
    warm = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)  # warm-up: bytecode caches, page cache
    if warm.returncode != 0:
        raise SystemExit(f"{' '.join(args[2:])} failed: {warm.stderr.strip()}")
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(args, env=env, capture_output=True, check=True, cwd=ROOT)
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return {"wall_median_s": round(statistics.median(walls), 3), "wall_min_s": round(min(walls), 3), "cpu_median_s": round(statistics.median(cpus), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        recording_id = prepare(home)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOTTOVOCE_")}
        env.update(SOTTOVOCE_HOME=str(home), SOTTOVOCE_ASR_WORKERS="0")
        cli = [sys.executable, "-m", "sottovoce"]
        report = {
            "runs": opts.runs,
            "load_average_1min": round(os.getloadavg()[0], 2),
            "cpu_count": os.cpu_count(),
            "python_bare": time_command([sys.executable, "-c", "pass"], env, opts.runs),
            "help": time_command([*cli, "--help"], env, opts.runs),
            "recordings_show_json": time_command([*cli, "recordings", "show", recording_id, "--json"], env, opts.runs),
        }
        report["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    if opts.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{opts.runs} runs each; load average {report['load_average_1min']} -> {report['load_average_1min_after']} on {report['cpu_count']} CPUs")
    for name, target in (("python_bare", None), ("help", 0.3), ("recordings_show_json", 0.8)):
        r = report[name]
        goal = f" (target <= {target} s)" if target else ""
        print(f"{name:22} wall median {r['wall_median_s']:.3f} s (min {r['wall_min_s']:.3f})  CPU median {r['cpu_median_s']:.3f} s{goal}")


if __name__ == "__main__":
    main()
