"""Recognition speed, accuracy and memory of the bundled recognizer (faster-whisper tiny.en, int8).

Clips: the 31 real recordings of ``speech-to-phrase-en`` (Home Assistant commands, one speaker,
80.8 s in all); the reference transcript of each is its file name without ``.wav`` (SOURCE.md there).
Audio goes through ``sottovoce.core.audio.decode`` and text through ``WhisperRecognizer.transcribe``,
exactly as the worker does (greedy, word timestamps, VAD filter).

Measured, each configuration ``--repeats`` times (the median pass is reported):

* **single-clip RTF**: seconds of compute per second of audio for one clip at a time, with the
  app's default settings (``cpu_threads=0``, one worker), median over clips;
* **throughput** (x real time = audio seconds / wall seconds over all 31 clips) of:
  ``seq-default`` one caller, ``cpu_threads=0``; ``seq-2t`` one caller, ``cpu_threads=2``;
  ``2w-1t`` ``WhisperRecognizer(cpu_threads=1, workers=2)`` with two threads calling ``transcribe``;
  ``batched`` faster-whisper's ``BatchedInferencePipeline`` (batch_size 8, one clip per call) and
  ``batched-2w-1t`` the same with two callers; and, with ``--extras``, for information: 2w-1t
  without word timestamps, without the VAD filter, and with ``temperature=0`` (no fallback);
* **WER** with the Whisper English normalizer on both sides, then ``jiwer.wer`` over all clips;
* **server RSS**: ``sottovoce serve`` with the default ASR settings in a temporary home; one clip
  ingested without a hypothesis, so the worker loads the model; VmRSS read from /proc once it is
  transcribed, again after all 31 clips, and the peak (VmHWM).

    .venv/bin/python benchmarks/asr_bench.py            # full (about 5 minutes on 2 cores)
    .venv/bin/python benchmarks/asr_bench.py --quick    # 10 clips, fewer configurations
    .venv/bin/python benchmarks/asr_bench.py --json

The temporary folder and the server process group are removed in a ``finally``, error or not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

CLIPS_DIR = Path("/work/shared/corpus/speech-to-phrase-en/tests/wav/en")
TARGET_XRT = 10.0
TARGET_RSS_MB = 600.0
URL = "/api/v1/recordings"

QUIET = False


def progress(line: str) -> None:
    if not QUIET:
        print(line, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------- inputs

def load_clips(limit: int | None) -> list[dict]:
    from sottovoce.core import audio

    paths = sorted(CLIPS_DIR.glob("*.wav"))
    if not paths:
        raise SystemExit(f"no clips in {CLIPS_DIR}")
    clips = []
    for path in paths[:limit]:
        data = path.read_bytes()
        samples = audio.decode(data, 60.0)
        clips.append({"name": path.name, "ref": path.stem, "bytes": data, "samples": samples,
                      "duration_s": samples.size / audio.SAMPLE_RATE})
    return clips


# -------------------------------------------------------------------------------------- recognizer

def model_path() -> str:
    from sottovoce.core.settings import Settings

    return Settings().resolved_asr_model_path


def model_name() -> str:
    name = Path(model_path()).name
    return "tiny.en (bundled)" if name == "model" else name


def make_recognizer(cpu_threads: int, workers: int):
    from sottovoce.asr.whisper import WhisperRecognizer

    return WhisperRecognizer(model_path(), "int8", cpu_threads, workers, 1)


def transcribe_text(recognizer, samples) -> str:
    return recognizer.transcribe(samples).text


def run_pass(fn, clips: list[dict], callers: int) -> dict:
    """Run ``fn(samples) -> text`` over every clip with ``callers`` threads; wall, CPU and texts."""
    jobs: queue.Queue = queue.Queue()
    for i, _clip in enumerate(clips):
        jobs.put(i)
    texts: list[str | None] = [None] * len(clips)
    seconds: list[float] = [0.0] * len(clips)
    errors: list[str] = []

    def worker() -> None:
        while True:
            try:
                i = jobs.get_nowait()
            except queue.Empty:
                return
            t0 = time.perf_counter()
            try:
                texts[i] = fn(clips[i]["samples"])
            except Exception as exc:  # recorded; the pass goes on
                errors.append(f"{clips[i]['name']}: {type(exc).__name__}: {exc}")
                texts[i] = ""
            seconds[i] = time.perf_counter() - t0

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(callers)]
    cpu0, t0 = os.times(), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, cpu1 = time.perf_counter() - t0, os.times()
    audio_s = sum(c["duration_s"] for c in clips)
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return {
        "wall_s": round(wall, 3),
        "x_real_time": round(audio_s / wall, 2),
        "cpu_s_per_audio_s": round(cpu / audio_s, 4),
        "clip_rtf_median": round(statistics.median(s / c["duration_s"] for s, c in zip(seconds, clips)), 4),
        "clip_latency_median_ms": round(1000 * statistics.median(seconds), 1),
        "errors": errors,
        "texts": texts,
    }


def wer(refs: list[str], hyps: list[str]) -> dict:
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    normalize = EnglishTextNormalizer()
    r = [normalize(x) for x in refs]
    h = [normalize(x) for x in hyps]
    # An empty normalized reference would make jiwer fail; none of these clips has one.
    out = jiwer.process_words(r, h)
    return {"wer": round(out.wer, 4), "substitutions": out.substitutions, "deletions": out.deletions,
            "insertions": out.insertions, "ref_words": sum(len(x.split()) for x in r),
            "exact_clips": sum(a == b for a, b in zip(r, h))}


def bench_config(name: str, setup, clips: list[dict], callers: int, repeats: int) -> dict:
    t0 = time.perf_counter()
    fn, cleanup = setup()
    load_s = time.perf_counter() - t0
    try:
        for clip in clips[:2]:  # warm-up: first calls allocate buffers and load the VAD model
            fn(clip["samples"])
        passes = []
        for r in range(repeats):
            passes.append(run_pass(fn, clips, callers))
            p = passes[-1]
            progress(f"{name} pass {r + 1}/{repeats}: {p['x_real_time']:.2f}x real time, "
                     f"clip RTF {p['clip_rtf_median']:.4f}, CPU {p['cpu_s_per_audio_s']:.3f} s/s")
    finally:
        cleanup()
    ordered = sorted(passes, key=lambda p: p["x_real_time"])
    median_pass = ordered[len(ordered) // 2]
    result = {
        "callers": callers,
        "model_load_s": round(load_s, 2),
        "passes": [{k: v for k, v in p.items() if k != "texts"} for p in passes],
        "x_real_time": round(statistics.median(p["x_real_time"] for p in passes), 2),
        "clip_rtf_median": round(statistics.median(p["clip_rtf_median"] for p in passes), 4),
        "clip_latency_median_ms": round(statistics.median(p["clip_latency_median_ms"] for p in passes), 1),
        "cpu_s_per_audio_s": round(statistics.median(p["cpu_s_per_audio_s"] for p in passes), 4),
        "errors": sum(len(p["errors"]) for p in passes),
        "cpu_ceiling_x_real_time": round(os.cpu_count() / statistics.median(p["cpu_s_per_audio_s"] for p in passes), 1),
        "texts": median_pass["texts"],
    }
    result.update(wer([c["ref"] for c in clips], median_pass["texts"]))
    return result


def configs(quick: bool, extras: bool) -> dict:
    def recognizer_setup(cpu_threads: int, workers: int, **overrides):
        def setup():
            rec = make_recognizer(cpu_threads, workers)
            if not overrides:
                return (lambda s: transcribe_text(rec, s)), (lambda: None)

            def fn(samples):  # the app's call with one option changed (information only)
                opts = dict(language="en", beam_size=1, word_timestamps=True, vad_filter=True,
                            condition_on_previous_text=False)
                opts.update(overrides)
                segments, _ = rec._model.transcribe(samples, **opts)
                if opts["word_timestamps"]:  # the text the app stores: its words joined by spaces
                    return " ".join(w.word.strip() for s in segments for w in (s.words or []) if w.word.strip())
                return " ".join(s.text.strip() for s in segments)

            return fn, (lambda: None)

        return setup

    def batched_setup(cpu_threads: int = 2, workers: int = 1):
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        model = WhisperModel(model_path(), device="cpu", compute_type="int8", cpu_threads=cpu_threads,
                             num_workers=workers)
        pipe = BatchedInferencePipeline(model)

        def fn(samples):
            segments, _ = pipe.transcribe(samples, language="en", beam_size=1, word_timestamps=True,
                                          vad_filter=True, batch_size=8)
            return " ".join(w.word.strip() for s in segments for w in (s.words or []) if w.word.strip())

        return fn, (lambda: None)

    def batched(cpu_threads: int, workers: int):
        return lambda: batched_setup(cpu_threads, workers)

    out = {
        "seq-default": ("1 caller, cpu_threads=0 (app default), 1 worker", recognizer_setup(0, 1), 1),
        "seq-2t": ("1 caller, cpu_threads=2, 1 worker", recognizer_setup(2, 1), 1),
        "2w-1t": ("2 callers, cpu_threads=1, workers=2", recognizer_setup(1, 2), 2),
    }
    if not quick:
        out["batched"] = ("BatchedInferencePipeline, batch 8, cpu_threads=2, 1 clip/call", batched(2, 1), 1)
        out["batched-2w-1t"] = ("BatchedInferencePipeline, 2 callers, cpu_threads=1, workers=2", batched(1, 2), 2)
    if extras and not quick:
        out["2w-1t-no-words"] = ("as 2w-1t, word_timestamps=False (info)", recognizer_setup(1, 2, word_timestamps=False), 2)
        out["2w-1t-no-vad"] = ("as 2w-1t, vad_filter=False (info)", recognizer_setup(1, 2, vad_filter=False), 2)
        out["2w-1t-t0"] = ("as 2w-1t, temperature=0 (no fallback) (info)", recognizer_setup(1, 2, temperature=0.0), 2)
    return out


# ------------------------------------------------------------------------------------- server RSS

NO_TORCH = """# written by benchmarks/asr_bench.py: make `import torch` fail, as in an install without the
# [bench] extra (presidio_analyzer imports torch at import time when it is present).
import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked for this measurement")
sys.meta_path.insert(0, _NoTorch())
"""


def clean_env(home: Path, no_torch_dir: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOTTOVOCE_")}
    env.update({"SOTTOVOCE_HOME": str(home), "PYTHONUNBUFFERED": "1"})  # default ASR settings
    if no_torch_dir is not None:
        env["PYTHONPATH"] = os.pathsep.join(x for x in (str(no_torch_dir), env.get("PYTHONPATH", "")) if x)
    return env


def torch_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def sottovoce_cmd() -> list[str]:
    script = Path(sys.executable).parent / "sottovoce"
    return [str(script)] if script.exists() else [sys.executable, "-m", "sottovoce"]


def cli_json(args: list[str], env: dict, cwd: Path) -> dict:
    out = subprocess.run(sottovoce_cmd() + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"sottovoce {' '.join(args[:2])} failed: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout)


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status_mb(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return fields


def bench_server_rss(tmp: Path, clips: list[dict], no_torch: bool = False, timeout_s: float = 300.0) -> dict:
    import httpx

    tmp = tmp / ("server-no-torch" if no_torch else "server")
    tmp.mkdir()
    home = tmp / "home"
    no_torch_dir = None
    if no_torch:
        no_torch_dir = tmp / "site"
        no_torch_dir.mkdir()
        (no_torch_dir / "sitecustomize.py").write_text(NO_TORCH)
    env = clean_env(home, no_torch_dir)
    account = cli_json(["accounts", "add", "bench", "--json"], env, tmp)["id"]
    device = cli_json(["devices", "add", "--account", account, "--serial", "bench-1", "--json"], env, tmp)
    port = free_port()
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen(sottovoce_cmd() + ["serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                            cwd=tmp, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    db_path = home / "sottovoce.db"

    def statuses(ids: list[str]) -> dict[str, str]:
        # Read-only look at the status column (no content); the CLI's `recordings show` would audit.
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10) as con:
            marks = ",".join("?" * len(ids))
            return dict(con.execute(f"SELECT id, status FROM recordings WHERE id IN ({marks})", ids).fetchall())

    def wait_done(ids: list[str]) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            states = statuses(ids)
            if len(states) == len(ids) and all(s != "pending" for s in states.values()):
                failed = [i for i, s in states.items() if s != "transcribed"]
                if failed:
                    raise RuntimeError(f"{len(failed)} recordings failed to transcribe")
                return time.monotonic() - t0
            time.sleep(0.2)
        raise RuntimeError(f"recordings not transcribed within {timeout_s:.0f} s")

    try:
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0, trust_env=False,
                          headers={"Authorization": f"Bearer {device['token']}"}) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited with {proc.returncode}")
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not answer /healthz within 60 s")
                time.sleep(0.2)
            idle = proc_status_mb(proc.pid)

            def post(clip: dict) -> str:
                r = client.post(URL, files={"audio": (clip["name"], clip["bytes"], "audio/wav")})
                if r.status_code != 202:
                    raise RuntimeError(f"ingest failed: HTTP {r.status_code} {r.text[:200]}")
                return r.json()["id"]

            first = post(clips[0])
            first_s = wait_done([first])
            after_first = proc_status_mb(proc.pid)
            rest = [post(c) for c in clips[1:]]
            wait_done(rest)
            after_all = proc_status_mb(proc.pid)
        torch_loaded = "/torch/lib/" in Path(f"/proc/{proc.pid}/maps").read_text()
        return {
            "idle_mb": idle, "after_first_mb": after_first, "after_all_mb": after_all,
            "first_transcription_s": round(first_s, 2), "clips": len(clips), "torch_loaded": torch_loaded,
            "vm_rss_mb": max(after_first["VmRSS"], after_all["VmRSS"]), "vm_hwm_mb": after_all["VmHWM"],
        }
    except BaseException:
        log.flush()
        print("--- server log (tail) ---\n" + (tmp / "server.log").read_bytes()[-3000:].decode("utf-8", "replace"),
              file=sys.stderr)
        raise
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGINT)
                proc.wait(15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(10)
        log.close()


# ----------------------------------------------------------------------------------------- output

def print_table(report: dict) -> None:
    cfg = report["config"]
    print(f"ASR benchmark  {cfg['date']}  {cfg['machine']}")
    print(f"  {cfg['clips']} clips ({cfg['audio_s']:.1f} s) from {cfg['clips_dir']}, {cfg['model']}, "
          f"{cfg['repeats']} passes per configuration (median)")
    header = (f"{'configuration':<16}{'x real time':>12}{'clip RTF':>10}{'clip ms':>9}{'CPU s/s':>9}{'ceiling*':>9}"
              f"{'WER':>8}  description")
    print(header)
    print("-" * (len(header) + 30))
    for key, r in report["configs"].items():
        print(f"{key:<16}{r['x_real_time']:>12.2f}{r['clip_rtf_median']:>10.4f}{r['clip_latency_median_ms']:>9.0f}"
              f"{r['cpu_s_per_audio_s']:>9.3f}{r['cpu_ceiling_x_real_time']:>9.1f}{100 * r['wer']:>7.1f}%  {r['description']}")
    print(f"* ceiling: {report['config']['cores']} cores / (CPU s per audio s), the x real time if the configuration kept "
          f"every core busy and had them to itself; load average {report['config']['load_avg_start']} at start")
    best = report["best"]
    print(f"best throughput: {best} ({report['configs'][best]['x_real_time']:.2f}x real time)")
    d = report["configs"]["seq-default"]
    print(f"WER (app default): {100 * d['wer']:.1f}% over {d['ref_words']} words "
          f"(S {d['substitutions']}, D {d['deletions']}, I {d['insertions']}; {d['exact_clips']}/{cfg['clips']} clips exact)")
    for key, label in (("server_rss", "as installed"), ("server_rss_no_torch", "without torch")):
        rss = report.get(key)
        if not rss:
            continue
        print(f"server RSS ({label}, torch {'loaded' if rss['torch_loaded'] else 'not loaded'}): idle {rss['idle_mb']['VmRSS']} MB; model loaded, after 1 clip {rss['after_first_mb']['VmRSS']} MB; "
              f"after {rss['clips']} clips {rss['after_all_mb']['VmRSS']} MB; peak (VmHWM) {rss['vm_hwm_mb']} MB")
    if report.get("server_rss", {}).get("torch_loaded"):
        print("  torch is imported by presidio_analyzer (nlp_engine/device_detector.py) when installed: see docs/benchmarks.md")
    t = report["targets"]
    print(f"targets: >= {t['x_real_time']:.0f}x real time -> {t['measured_x_real_time']:.2f}x "
          f"{'MET' if t['x_real_time_met'] else 'MISSED'}; RSS <= {t['rss_mb']:.0f} MB -> "
          + (f"{t['measured_rss_mb']} MB peak {'MET' if t['rss_met'] else 'MISSED'}" if t.get("measured_rss_mb") else "not measured")
          + (f" (without torch: {t['measured_rss_no_torch_mb']} MB {'MET' if t['rss_no_torch_met'] else 'MISSED'})"
             if t.get("measured_rss_no_torch_mb") else ""))


def main() -> int:
    global QUIET
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 clips, 3 configurations, no batched pipeline")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--repeats", type=int, default=3, help="passes per configuration (default 3)")
    parser.add_argument("--extras", action="store_true", help="also time without word timestamps / without VAD")
    parser.add_argument("--skip-server", action="store_true", help="do not measure the server's RSS")
    parser.add_argument("--only", default="", help="comma-separated configurations to run")
    args = parser.parse_args()
    QUIET = args.json

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    tmp = Path(tempfile.mkdtemp(prefix="sottovoce-asr-bench-"))
    cwd = os.getcwd()
    try:
        os.chdir(tmp)  # no sottovoce.toml from the caller's folder
        for key in [k for k in os.environ if k.startswith("SOTTOVOCE_")]:
            del os.environ[key]
        clips = load_clips(10 if args.quick else None)
        audio_s = sum(c["duration_s"] for c in clips)
        report: dict = {
            "benchmark": "asr",
            "config": {
                "date": datetime.now().strftime("%Y-%m-%d"),
                "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
                "cores": os.cpu_count(),
                "load_avg_start": [round(x, 2) for x in os.getloadavg()],
                "clips": len(clips), "audio_s": round(audio_s, 2), "clips_dir": str(CLIPS_DIR),
                "model": f"faster-whisper {model_name()} int8, beam 1, word timestamps, VAD",
                "repeats": args.repeats, "quick": args.quick,
            },
            "configs": {},
        }
        only = {x for x in args.only.split(",") if x}
        for key, (description, setup, callers) in configs(args.quick, args.extras).items():
            if only and key not in only:
                continue
            result = bench_config(key, setup, clips, callers, args.repeats)
            result["description"] = description
            report["configs"][key] = result
        if "seq-default" not in report["configs"]:
            raise SystemExit("--only must include seq-default (the single-clip RTF and WER are reported from it)")
        main_cfgs = {k: v for k, v in report["configs"].items() if "(info)" not in v["description"]}
        report["best"] = max(main_cfgs, key=lambda k: main_cfgs[k]["x_real_time"])
        report["single_clip_rtf"] = report["configs"]["seq-default"]["clip_rtf_median"]
        report["wer"] = report["configs"]["seq-default"]["wer"]
        report["per_clip"] = [{"clip": c["name"], "ref": c["ref"], "hyp": h}
                              for c, h in zip(clips, report["configs"]["seq-default"]["texts"])]
        for r in report["configs"].values():
            r.pop("texts")
        if not args.skip_server:
            progress("server RSS: starting `sottovoce serve` with the default ASR settings")
            report["server_rss"] = bench_server_rss(tmp, clips)
            if torch_installed():  # the [bench] extra brings torch; a plain install has none
                progress("server RSS: again with `import torch` blocked (an install without the bench extra)")
                report["server_rss_no_torch"] = bench_server_rss(tmp, clips, no_torch=True)
        report["config"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
        best_xrt = report["configs"][report["best"]]["x_real_time"]
        rss = report.get("server_rss", {}).get("vm_hwm_mb")
        rss_plain = report.get("server_rss_no_torch", {}).get("vm_hwm_mb")
        report["targets"] = {
            "x_real_time": TARGET_XRT, "measured_x_real_time": best_xrt, "x_real_time_met": best_xrt >= TARGET_XRT,
            "rss_mb": TARGET_RSS_MB, "measured_rss_mb": rss, "rss_met": rss is not None and rss <= TARGET_RSS_MB,
            "measured_rss_no_torch_mb": rss_plain,
            "rss_no_torch_met": rss_plain is not None and rss_plain <= TARGET_RSS_MB,
        }
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print_table(report)
        return 0
    finally:
        os.chdir(cwd)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
