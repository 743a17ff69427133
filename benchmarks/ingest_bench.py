"""Ingest throughput and latency: 5 s clips with an external hypothesis, embedded (SQLite) instance.

Two paths, each run ``--repeats`` times (the median run is reported):

* **http**: ``sottovoce serve`` started as a subprocess on 127.0.0.1 (random free port,
  ``SOTTOVOCE_ASR_WORKERS=0`` so no recognizer loads), ``--clients`` concurrent clients (one thread and
  one keep-alive ``httpx.Client`` each) posting ``POST /api/v1/recordings`` with a device token.
* **inproc**: the same work without HTTP: authenticate the token, parse the metadata JSON, then
  ``ingest`` + ``commit_ingest`` on ``--clients`` threads (and on 1 thread, for the bare cost).

Clips are the real coffee-order recordings of ``picovoice-speech-to-intent`` cut to 5.0 s (16 kHz
mono 16-bit WAV, 160 kB); if the corpus is missing, speech-like synthetic audio is used instead.
The multipart bodies are built once, so the clients spend as little CPU as possible (they share the
2 cores with the server). ``--profile`` adds a cProfile of every server thread and a per-stage
breakdown of the in-process path.

    .venv/bin/python benchmarks/ingest_bench.py            # full: 3 x 2,000 requests per path
    .venv/bin/python benchmarks/ingest_bench.py --quick    # 3 x 300
    .venv/bin/python benchmarks/ingest_bench.py --json     # machine-readable
    .venv/bin/python benchmarks/ingest_bench.py --profile  # also: where the server's time goes

Everything lives in a temporary folder that is removed at the end, error or not; the server
process group is stopped in a ``finally`` (and on SIGTERM/SIGHUP).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import pstats
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16_000
CLIP_S = 5.0
CORPUS = Path("/work/shared/corpus/picovoice-speech-to-intent/data/speech/clean")
ROOT = Path(__file__).resolve().parent.parent
URL = "/api/v1/recordings"
TARGET_RPS = 150.0
TARGET_P99_MS = 50.0
VOCAB = "can i get a large small medium latte cappuccino americano with oat soy milk and two sugars please".split()


# ----------------------------------------------------------------------------------------- inputs

def load_clips(count: int) -> tuple[list[bytes], str]:
    """WAV bytes of ``count`` 5.0 s clips: real speech if the corpus is here, else synthetic."""
    n = int(CLIP_S * RATE)
    clips: list[np.ndarray] = []
    if CORPUS.is_dir():
        for path in sorted(CORPUS.glob("*.wav")):
            samples, rate = sf.read(path, dtype="float32", always_2d=False)
            if rate == RATE and samples.ndim == 1 and samples.size >= n:
                clips.append(samples[:n])
            if len(clips) == count:
                break
    source = f"{CORPUS} (first {len(clips)} files >= 5 s, cut to 5.0 s)"
    if not clips:
        clips = [synthetic_speech(n, seed) for seed in range(count)]
        source = "synthetic speech-like audio (corpus not found)"
    out = []
    for samples in clips:
        buf = io.BytesIO()
        sf.write(buf, samples, RATE, format="WAV", subtype="PCM_16")
        out.append(buf.getvalue())
    return out, source


def synthetic_speech(n: int, seed: int) -> np.ndarray:
    """Harmonic 'voice' with a wandering pitch, syllable-rate envelope and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / RATE
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6))
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = np.clip(np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6)), 0, None) ** 2
    return (0.25 * voice * envelope + 0.01 * rng.standard_normal(n)).astype(np.float32)


def hypothesis_metadata(seed: int) -> bytes:
    rng = random.Random(seed)
    words, t = [], 0.3
    for _ in range(10):
        start, end = t, t + rng.uniform(0.15, 0.35)
        words.append({"word": rng.choice(VOCAB), "start": round(start, 3), "end": round(end, 3),
                      "confidence": round(rng.uniform(0.55, 0.99), 3)})
        t = end + rng.uniform(0.05, 0.12)
    captured = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    meta = {"captured_at": captured,
            "hypothesis": {"engine": "bench-asr", "model": "bench", "model_version": "1", "words": words}}
    return json.dumps(meta).encode()


def multipart_body(audio: bytes, metadata: bytes, boundary: str) -> bytes:
    b = boundary.encode()
    return b"".join([
        b"--", b, b"\r\n",
        b'Content-Disposition: form-data; name="metadata"\r\nContent-Type: application/json\r\n\r\n',
        metadata, b"\r\n",
        b"--", b, b"\r\n",
        b'Content-Disposition: form-data; name="audio"; filename="clip.wav"\r\nContent-Type: audio/wav\r\n\r\n',
        audio, b"\r\n",
        b"--", b, b"--\r\n",
    ])


# ------------------------------------------------------------------------------------ statistics

def summarize(latencies_s: list[float], wall_s: float, errors: int, requested: int) -> dict:
    ok = requested - errors
    lat = np.array(latencies_s) * 1000.0 if latencies_s else np.zeros(1)
    return {
        "requests": requested,
        "errors": errors,
        "wall_s": round(wall_s, 3),
        "throughput_rps": round(ok / wall_s, 1) if wall_s > 0 else 0.0,
        "p50_ms": round(float(np.percentile(lat, 50)), 2),
        "p95_ms": round(float(np.percentile(lat, 95)), 2),
        "p99_ms": round(float(np.percentile(lat, 99)), 2),
        "max_ms": round(float(lat.max()), 2),
    }


def median_of(runs: list[dict]) -> dict:
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float))]
    med = {k: round(float(statistics.median(r[k] for r in runs)), 2) for k in keys}
    med["errors"] = int(sum(r["errors"] for r in runs))  # errors: the total over all runs, not a median
    med["requests"] = int(runs[0]["requests"])
    med["runs"] = len(runs)
    return med


def run_load(call, n: int, clients: int, warmup: int = 0, max_s: float = 300.0, max_errors: int = 50) -> dict:
    """Run ``call(client_index, request_index)`` n times on ``clients`` threads; returns a summary.

    Bounded: after ``max_s`` seconds, or once ``max_errors`` requests failed, no new request starts;
    the ones never sent count as errors.
    """
    lock = threading.Lock()
    counter = {"next": 0}
    stop = threading.Event()
    results: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    first_error: list[str] = []

    def take() -> int | None:
        with lock:
            i = counter["next"]
            if i >= n or stop.is_set():
                return None
            counter["next"] = i + 1
            return i

    def worker(c: int) -> None:
        while (i := take()) is not None:
            t0 = time.perf_counter()
            try:
                ok = call(c, i)
            except Exception as exc:  # counted as an error; the first one is shown
                ok = False
                if not first_error:
                    first_error.append(f"{type(exc).__name__}: {exc}"[:300])
            dt = time.perf_counter() - t0
            if ok is True:
                results[c].append(dt)
                done = sum(len(r) for r in results)
                if done % 500 == 0:
                    progress(f"  {done}/{n}")
            else:
                errors[c] += 1
                if isinstance(ok, str) and not first_error:
                    first_error.append(ok[:300])
                if sum(errors) >= max_errors and not stop.is_set():
                    stop.set()
                    progress(f"  run stopped after {max_errors} failed requests; requests not sent count as errors")

    for i in range(warmup):  # not timed: first requests pay for imports, caches, connections
        call(i % clients, -1 - i)
    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in range(clients)]
    cpu0 = os.times()
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.5)
                if time.perf_counter() - t0 > max_s and not stop.is_set():
                    stop.set()
                    progress(f"  run stopped after {max_s:.0f} s; requests not sent count as errors")
    except BaseException:
        stop.set()
        raise
    wall = time.perf_counter() - t0
    cpu1 = os.times()
    not_sent = n - counter["next"]
    summary = summarize([x for r in results for x in r], wall, sum(errors) + not_sent, n)
    summary["not_sent"] = not_sent
    summary["bench_process_cpu_ms_per_req"] = round(
        1000 * ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / max(1, n), 3)
    if first_error:
        summary["first_error"] = first_error[0]
    return summary


# ------------------------------------------------------------------------------------ the server

def clean_env(home: Path, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOTTOVOCE_")}
    env.update({"SOTTOVOCE_HOME": str(home), "SOTTOVOCE_ASR_WORKERS": "0", "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


def sottovoce_cmd() -> list[str]:
    script = Path(sys.executable).parent / "sottovoce"
    return [str(script)] if script.exists() else [sys.executable, "-m", "sottovoce"]


def cli_json(args: list[str], env: dict, cwd: Path) -> dict:
    out = subprocess.run(sottovoce_cmd() + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"sottovoce {' '.join(args[:2])} failed: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PROFILED_SERVE = textwrap.dedent("""
    # Runs `sottovoce serve` with cProfile on every thread (cProfile alone sees one thread only).
    import cProfile, pstats, sys, threading
    profiles, lock = [], threading.Lock()
    _bootstrap_inner = threading.Thread._bootstrap_inner  # every thread passes here, subclasses too
    def bootstrap_inner(self):
        p = cProfile.Profile()
        with lock:
            profiles.append(p)
        p.enable()
        try:
            _bootstrap_inner(self)
        finally:
            p.disable()
    threading.Thread._bootstrap_inner = bootstrap_inner
    main = cProfile.Profile()
    profiles.append(main)
    from sottovoce.cli import app
    import sottovoce.web.app  # noqa: F401  (imported before profiling: start-up is not the subject)
    main.enable()
    try:
        app(["serve", "--host", "127.0.0.1", "--port", sys.argv[1]], prog_name="sottovoce")
    except SystemExit:
        pass
    finally:
        main.disable()
        pstats.Stats(main).dump_stats(sys.argv[2] + ".loop")
        with lock:
            stats = None
            for p in profiles[1:]:
                try:
                    stats = pstats.Stats(p) if stats is None else stats.add(p)
                except Exception:
                    pass
        if stats is not None:
            stats.dump_stats(sys.argv[2] + ".threads")
""")


class Server:
    def __init__(self, home: Path, port: int, profile_to: Path | None = None):
        self.home, self.port, self.profile_to = home, port, profile_to
        self.proc: subprocess.Popen | None = None
        self.log_path = home.parent / "server.log"

    def start(self, env: dict, cwd: Path, timeout_s: float = 60.0) -> None:
        if self.profile_to:
            boot = cwd / "profiled_serve.py"
            boot.write_text(PROFILED_SERVE)
            cmd = [sys.executable, str(boot), str(self.port), str(self.profile_to)]
        else:
            cmd = sottovoce_cmd() + ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        import httpx

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1.0, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not answer /healthz within {timeout_s:.0f} s:\n{self.log_tail()}")

    def cpu_s(self) -> float:
        """User + system CPU seconds of the server's processes (its session: uvicorn workers too)."""
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended meanwhile
            if int(fields[3]) == self.proc.pid:  # field 6 (session id); the server leads its session
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def error_lines(self) -> dict[str, int]:
        """Exception lines of the server log ('sqlalchemy.exc.OperationalError: ...'), counted."""
        counts: dict[str, int] = {}
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return counts
        for line in text.splitlines():
            if line and not line[0].isspace() and ("Error:" in line or "Exception:" in line):
                key = line[:160]
                counts[key] = counts.get(key, 0) + 1
        return counts

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)  # uvicorn shuts down cleanly on SIGINT
                self.proc.wait(30 if self.profile_to else 10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        self._log.close()
        self.proc = None


# -------------------------------------------------------------------------------------- the paths

def bench_http(tmp: Path, bodies: list[bytes], boundary: str, args, profile: bool) -> dict:
    import httpx

    home = tmp / "http" / "home"
    home.parent.mkdir(parents=True)
    env = clean_env(home)
    account = cli_json(["accounts", "add", "bench", "--json"], env, tmp)["id"]
    device = cli_json(["devices", "add", "--account", account, "--serial", "bench-1", "--json"], env, tmp)
    port = free_port()
    profile_path = tmp / "server.prof" if profile else None
    server = Server(home, port, profile_path)
    clients: list[httpx.Client] = []
    try:
        server.start(env, tmp)
        headers = {"Authorization": f"Bearer {device['token']}",
                   "Content-Type": f"multipart/form-data; boundary={boundary}"}
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=args.timeout,
                                trust_env=False)
                   for _ in range(args.clients)]

        def post(c: int, i: int):
            response = clients[c].post(URL, content=bodies[i % len(bodies)])
            if response.status_code == 202 and response.json()["status"] == "transcribed":
                return True
            return f"HTTP {response.status_code}: {response.text[:200]}"

        runs = []
        for r in range(args.repeats):
            cpu0 = server.cpu_s()
            summary = run_load(post, args.n, args.clients, args.warmup if r == 0 else 0, args.max_run_s, args.max_errors)
            summary["server_cpu_ms_per_req"] = round(1000 * (server.cpu_s() - cpu0) / args.n, 3)
            runs.append(summary)
            progress(f"http run {r + 1}/{args.repeats}: {fmt_run(summary)}")
            if summary["errors"] >= args.max_errors:
                progress("  the server is failing; the remaining runs are skipped")
                break
        result = {"runs": runs, "median": median_of(runs), "server_log_errors": server.error_lines()}
        rss = Path(f"/proc/{server.proc.pid}/status").read_text()
        result["server_rss_mb"] = round(int(next(line for line in rss.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024, 1)
    except BaseException:
        tail = server.log_tail()
        if tail:
            print(f"--- server log (tail) ---\n{tail}", file=sys.stderr)
        raise
    finally:
        for client in clients:
            client.close()
        server.stop()
    if profile_path:
        result["profile"] = {}
        for part, label in (("loop", "event loop thread"), ("threads", "worker threads")):
            path = Path(f"{profile_path}.{part}")
            if path.exists():
                result["profile"][label] = profile_summary(path)
    return result


def open_inproc(tmp: Path):
    from sottovoce.accounts.registry import add_device, create_account
    from sottovoce.app_services import open_services
    from sottovoce.core.settings import Settings

    services = open_services(Settings(home=tmp / "inproc" / "home", asr_workers=0))
    with services.sessions() as db:
        account = create_account(db, services.keys, "bench")
        _device, token = add_device(db, account.id, "bench-1")
        db.commit()
    return services, token


def bench_inproc(services, token: str, audios: list[bytes], metas: list[bytes], args, clients: int) -> dict:
    from sottovoce.accounts.registry import authenticate_device
    from sottovoce.recordings.ingest import commit_ingest, ingest
    from sottovoce.recordings.metadata import parse_metadata

    def one(_c: int, i: int):
        with services.sessions() as db:
            device = authenticate_device(db, token)
            metadata = parse_metadata(metas[i % len(metas)])
            recording = ingest(services, db, device, audios[i % len(audios)], metadata)
            commit_ingest(services, db, recording)
        return recording.status == "transcribed" or f"status {recording.status}"

    runs = []
    for r in range(args.repeats):
        summary = run_load(one, args.n, clients, args.warmup if r == 0 else 0, args.max_run_s, args.max_errors)
        runs.append(summary)
        progress(f"inproc x{clients} run {r + 1}/{args.repeats}: {fmt_run(summary)}")
    return {"runs": runs, "median": median_of(runs)}


def stage_breakdown(services, token: str, audios: list[bytes], metas: list[bytes], n: int) -> dict:
    """Median microseconds of each step of one ingest, run alone on this thread."""
    from sqlalchemy import select

    from sottovoce.accounts.registry import authenticate_device
    from sottovoce.core import audio
    from sottovoce.db.models import Device
    from sottovoce.recordings.ingest import commit_ingest, ingest
    from sottovoce.recordings.metadata import parse_metadata

    times: dict[str, list[float]] = {}

    def timed(name, fn):
        t0 = time.perf_counter()
        value = fn()
        times.setdefault(name, []).append(time.perf_counter() - t0)
        return value

    for i in range(n):
        data, meta = audios[i % len(audios)], metas[i % len(metas)]
        with services.sessions() as db:
            device = timed("authenticate (SELECT device)", lambda: authenticate_device(db, token))
            timed("parse_metadata (pydantic)", lambda: parse_metadata(meta))
            samples = timed("audio.decode", lambda: audio.decode(data, 60.0))
            pcm = timed("audio.to_pcm16", lambda: audio.to_pcm16(samples))
            sealed = timed("keys.seal (AES-GCM, 160 kB)", lambda: services.keys.seal(db, device.account_id, pcm, "audio", "x" * 32))
            blob = timed("blobs.put (write + fsync + rename)", lambda: services.blobs.put(sealed))
            services.blobs.delete(blob)
        with services.sessions() as db:
            device = db.scalar(select(Device).limit(1))
            metadata = parse_metadata(meta)
            recording = timed("ingest() total", lambda: ingest(services, db, device, data, metadata))
            timed("commit_ingest() (SQLite WAL commit)", lambda: commit_ingest(services, db, recording))
    return {k: round(1e6 * statistics.median(v), 1) for k, v in times.items()}


def profile_summary(path: Path, top: int = 25) -> dict:
    """Top functions of the server profile by own time and by cumulative time (idle waits removed)."""
    stats = pstats.Stats(str(path))
    idle = ("acquire", "wait", "select", "poll", "epoll", "_queue.SimpleQueue", "get' of '_queue", "sleep",
            "run_forever", "_run_once", "join")
    rows = []
    for (file, line, name), (_cc, nc, tt, ct, _callers) in stats.stats.items():
        label = f"{Path(file).name}:{line}({name})" if file != "~" else name
        rows.append({"function": label, "calls": nc, "tottime_s": round(tt, 3), "cumtime_s": round(ct, 3),
                     "idle": any(word in name for word in idle)})
    busy = [r for r in rows if not r["idle"]]
    return {
        "by_tottime": sorted(busy, key=lambda r: -r["tottime_s"])[:top],
        "by_cumtime": sorted(busy, key=lambda r: -r["cumtime_s"])[:top],
        "total_busy_tottime_s": round(sum(r["tottime_s"] for r in busy), 3),
    }


# ----------------------------------------------------------------------------------------- output

QUIET = False


def progress(line: str) -> None:
    if not QUIET:
        print(line, file=sys.stderr, flush=True)


def fmt_run(s: dict) -> str:
    return (f"{s['throughput_rps']:.1f} rec/s, p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms, "
            f"p99 {s['p99_ms']:.1f} ms, errors {s['errors']}")


def print_table(report: dict) -> None:
    cfg = report["config"]
    print(f"ingest benchmark  {cfg['date']}  {cfg['machine']}")
    print(f"  {cfg['requests']} requests x {cfg['repeats']} runs per path, 5.0 s clips + external hypothesis "
          f"(10 words), audio: {cfg['audio_source']}")
    header = f"{'path':<22}{'clients':>8}{'rec/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors*':>8}{'srv CPU ms/rec':>16}"
    print(header)
    print("-" * len(header))
    for key, label in (("http", "HTTP (serve)"), ("inproc", "in-process"), ("inproc_1", "in-process")):
        if key not in report:
            continue
        m = report[key]["median"]
        cpu = f"{m['server_cpu_ms_per_req']:.2f}" if "server_cpu_ms_per_req" in m else "-"
        print(f"{label + ' (median)':<22}{report[key]['clients']:>8}{m['throughput_rps']:>9.1f}{m['p50_ms']:>9.2f}"
              f"{m['p95_ms']:>9.2f}{m['p99_ms']:>9.2f}{m['errors']:>8}{cpu:>16}")
    print(f"* errors: total over all runs; other columns: median of the runs. Load average "
          f"{cfg['load_avg_start']} at start, {cfg.get('load_avg_end')} at end")
    for key in ("http", "inproc", "inproc_1"):
        for i, run in enumerate(report.get(key, {}).get("runs", [])):
            if run.get("first_error"):
                print(f"{key} run {i + 1}: {run['errors']} errors ({run['not_sent']} not sent); first: {run['first_error']}")
    for line, count in report.get("http", {}).get("server_log_errors", {}).items():
        print(f"server log: {count} x {line}")
    t = report["targets"]
    print(f"target: >= {t['throughput_rps']:.0f} rec/s and p99 <= {t['p99_ms']:.0f} ms on {t['measured_on']} with "
          f"{cfg['clients']} clients -> throughput {'MET' if t['throughput_met'] else 'MISSED'}, "
          f"p99 {'MET' if t['p99_met'] else 'MISSED'}")
    if "server_rss_mb" in report.get("http", {}):
        print(f"server RSS after the runs (no recognizer): {report['http']['server_rss_mb']} MB")
    if "stages_us" in report:
        print("\nin-process stages, one thread, median us:")
        for k, v in report["stages_us"].items():
            print(f"  {k:<40}{v:>10.1f}")
    for label, prof in report.get("http", {}).get("profile", {}).items():
        print(f"\nserver cProfile, {label} (idle waits removed; busy own time {prof['total_busy_tottime_s']} s; "
              f"cProfile slows Python code ~2x and counts time spent waiting for the GIL)")
        print("  top by own time:")
        for r in prof["by_tottime"][:15]:
            print(f"    {r['tottime_s']:>8.3f} s {r['calls']:>9} calls  {r['function']}")
        print("  top by cumulative time:")
        for r in prof["by_cumtime"][:25]:
            print(f"    {r['cumtime_s']:>8.3f} s {r['calls']:>9} calls  {r['function']}")


# ------------------------------------------------------------------------------------------- main

def main() -> int:
    global QUIET
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run: 300 requests per run")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--profile", action="store_true", help="cProfile the server and time the ingest stages")
    parser.add_argument("-n", type=int, default=None, help="requests per run (default 2000, quick 300)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per path; the median is reported (default 3)")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request client timeout, s (default 10)")
    parser.add_argument("--max-run-s", type=float, default=240.0, help="stop a run after this many s (default 240)")
    parser.add_argument("--max-errors", type=int, default=50, help="stop a run after this many failures (default 50)")
    parser.add_argument("--skip-inproc", action="store_true", help="only the HTTP path")
    parser.add_argument("--skip-http", action="store_true", help="only the in-process path")
    args = parser.parse_args()
    args.n = args.n or (300 if args.quick else 2000)
    args.warmup = 50
    QUIET = args.json

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)  # runs the finally blocks below: server stopped, folder removed

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    tmp = Path(tempfile.mkdtemp(prefix="sottovoce-ingest-bench-"))
    cwd = os.getcwd()
    services = None
    try:
        os.chdir(tmp)  # no sottovoce.toml from the caller's folder is picked up
        for key in [k for k in os.environ if k.startswith("SOTTOVOCE_")]:
            del os.environ[key]
        audios, source = load_clips(32)
        metas = [hypothesis_metadata(i) for i in range(len(audios))]
        boundary = "sottovoce-bench-" + os.urandom(8).hex()
        bodies = [multipart_body(a, m, boundary) for a, m in zip(audios, metas)]
        report: dict = {
            "benchmark": "ingest",
            "config": {
                "date": datetime.now().strftime("%Y-%m-%d"),
                "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
                "requests": args.n, "repeats": args.repeats, "clients": args.clients, "warmup": args.warmup,
                "clip_s": CLIP_S, "wav_bytes": len(audios[0]), "body_bytes": len(bodies[0]),
                "audio_source": source, "database": "SQLite (WAL), embedded", "quick": args.quick,
                "load_avg_start": [round(x, 2) for x in os.getloadavg()],
            },
        }
        if not args.skip_http:
            report["http"] = bench_http(tmp, bodies, boundary, args, args.profile)
            report["http"]["clients"] = args.clients
        if not args.skip_inproc:
            services, token = open_inproc(tmp)
            report["inproc"] = bench_inproc(services, token, audios, metas, args, args.clients)
            report["inproc"]["clients"] = args.clients
            report["inproc_1"] = bench_inproc(services, token, audios, metas, args, 1)
            report["inproc_1"]["clients"] = 1
            if args.profile:
                report["stages_us"] = stage_breakdown(services, token, audios, metas, min(args.n, 300))
        report["config"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
        m = report["http" if "http" in report else "inproc"]["median"]
        report["targets"] = {"measured_on": "http" if "http" in report else "inproc",
            "throughput_rps": TARGET_RPS, "p99_ms": TARGET_P99_MS,
            "throughput_met": m["throughput_rps"] >= TARGET_RPS and m["errors"] == 0,
            "p99_met": m["p99_ms"] <= TARGET_P99_MS and m["errors"] == 0,  # failed requests have no latency
        }
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print_table(report)
        return 0
    finally:
        if services is not None:
            services.close()
        os.chdir(cwd)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
