"""sottovoce side by side with Label Studio 1.23.2: the same tasks with predictions, one run, A/B.

    python3.11 -m venv /tmp/ls-venv && /tmp/ls-venv/bin/pip install 'label-studio==1.23.2' 'sentry-sdk<3'
    nice -n 19 .venv/bin/python benchmarks/labelstudio_compare.py --tasks 1000 --reviews 100
    nice -n 19 .venv/bin/python benchmarks/labelstudio_compare.py --tasks 10000 --reviews 100

(``sentry-sdk`` 3 dropped an option Label Studio 1.23.2 passes at start-up: without the pin it
exits at once with ``TypeError: Unknown option 'send_default_pii'``.)

Both servers run on 127.0.0.1 only, as separate processes, on SQLite in a fresh temporary folder:
Label Studio with ``label-studio start`` (its own venv; legacy API token; local-files serving for
the audio), sottovoce with ``sottovoce serve``. The tasks are one Label Studio JSON file (whole-clip
transcription template, a prediction per task, audio as ``/data/local-files/?d=audio/...``; the
8 demo clips hard-linked N times). Measured, alternating A/B (the side that goes first flips each
round, so drifting machine load hits both alike):

- import rate: the file in chunks of 100, alternately into each. Label Studio: POST
  /api/projects/ID/import (stores task JSON; the audio stays where it is). sottovoce: the function
  behind ``sottovoce import labelstudio`` (reads, decodes, normalizes and seals each clip, seals the
  hypothesis, one transaction per chunk, audit event) in this process.
- next task: Label Studio GET /api/projects/ID/next (the task JSON, with predictions). sottovoce
  POST /staff/review/next + GET of the task page it redirects to (lease, consent re-check, audit
  event "review.leased", "review.transcript_served" committed before the page, de-identified
  transcript, single-use audio ticket, watermark prepared).
- first audio byte: Label Studio GET /data/local-files/?d=... (a file read). sottovoce GET
  /staff/review/tasks/ID/audio?ticket=... (lease + ticket check, abuse rate rule, audit event,
  the de-identified, voice-transformed, watermarked clip).
- submit: Label Studio POST /api/tasks/ID/annotations. sottovoce POST /staff/review/tasks/ID/submit
  (lease check, word edits against the de-identified hypothesis, sealed annotation, audit event,
  rendered clip deleted).
- server RSS after the run (the process and its children), and cold start: spawn to first 200
  (Label Studio /health, sottovoce /healthz) on an initialized data folder, alternated, 3 times each.

sottovoce's review clips are rendered ahead (PII silencing + voice transform), as its sampler's
render jobs do before a task can be leased; that set-up is reported, not timed as a request.
The abuse rules run with raised thresholds (a script reviews a hundred times faster than a person).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.review_bench import sign_in_plain  # noqa: E402

CLIPS = sorted((ROOT / "sottovoce" / "demo" / "clips").glob("*.wav"))
LS_TOKEN = secrets.token_hex(20)
LS_TEMPLATE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sottovoce-bench" / "label-studio-1.23.2"
CHUNK = 100


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree(pid: int) -> list[int]:
    """A process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants."""
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """CPU time (user + system) of a server: its process tree, and the children it has reaped.
    The figure that machine load does not inflate the way it inflates wall-clock times."""
    total = 0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        except (OSError, IndexError, ValueError):
            pass
    return total / TICK


# --- the shared task file ---------------------------------------------------------------------------

def make_tasks(work: Path, n: int) -> Path:
    """n tasks over hard links to the demo clips; a prediction with a score in each."""
    audio = work / "media" / "audio"
    audio.mkdir(parents=True)
    rng = random.Random(7)
    tasks = []
    for i in range(n):
        clip = CLIPS[i % len(CLIPS)]
        name = f"clip-{i:05d}.wav"
        os.link(clip, audio / name)
        text = clip.stem.replace("-", " ")
        tasks.append({"id": i + 1, "data": {"audio": f"/data/local-files/?d=audio/{name}"}, "predictions": [{
            "model_version": "bench", "score": round(rng.uniform(0.2, 0.95), 2),
            "result": [{"from_name": "transcription", "to_name": "audio", "type": "textarea", "value": {"text": [text]}}]}]})
    path = work / "tasks.json"
    path.write_text(json.dumps(tasks))
    return path


# --- the two servers ---------------------------------------------------------------------------------

class LabelStudio:
    def __init__(self, venv: Path, work: Path):
        self.venv, self.work = venv, work
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(work / "ls-data"), "LOCAL_FILES_SERVING_ENABLED": "true",
                    "LOCAL_FILES_DOCUMENT_ROOT": str(work / "media"), "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
                    "LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false",
                    "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": ""}  # no calls out (its error reporting is on by default): loopback only
        self.proc: subprocess.Popen | None = None
        self.token = LS_TOKEN
        self.client = httpx.Client(base_url=self.base, timeout=600)

    def first_start(self, template: Path | None) -> float:
        """Start on a fresh data folder. Label Studio's migrations take minutes on a loaded machine;
        with ``template``, a folder migrated by an earlier run is copied instead (and made on first use).
        Not a measured figure either way."""
        data = Path(self.env["LABEL_STUDIO_BASE_DATA_DIR"])
        if template is not None and (template / "ls-data").is_dir():
            shutil.copytree(template / "ls-data", data)
            self.token = (template / "token").read_text().strip()  # the user exists already: its token stays
            return self.start(1800)
        took = self.start(1800)
        if template is not None:
            self.stop()
            partial = template.with_name(template.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(data, partial / "ls-data")
            (partial / "token").write_text(self.token)
            shutil.rmtree(template, ignore_errors=True)
            partial.rename(template)
            self.start(1800)
        return took

    def start(self, limit_s: float = 300) -> float:
        t = time.perf_counter()
        self.proc = subprocess.Popen([str(self.venv / "bin" / "label-studio"), "start", "--no-browser", "--internal-host", "127.0.0.1",
                                      "--port", str(self.port), "--username", "bench@example.com", "--password", secrets.token_hex(8),
                                      "--user-token", self.token, "--enable-legacy-api-token"],
                                     env=self.env, stdout=subprocess.DEVNULL, stderr=open(self.work / "ls.log", "ab"), start_new_session=True)
        took = wait_200(self.base + "/health", t, self.proc, limit_s)
        self.client.headers["Authorization"] = f"Token {self.token}"
        return took

    def stop(self) -> None:
        stop(self.proc)

    def setup(self, label_config: str) -> None:
        response = self.client.post("/api/projects", json={"title": "bench", "label_config": label_config})
        response.raise_for_status()
        self.project = response.json()["id"]
        storage = {"project": self.project, "path": str(self.work / "media" / "audio"), "use_blob_urls": True, "title": "audio"}
        self.client.post("/api/storages/localfiles", json=storage).raise_for_status()

    def import_chunk(self, tasks: list[dict]) -> None:
        body = [{k: v for k, v in t.items() if k != "id"} for t in tasks]
        self.client.post(f"/api/projects/{self.project}/import", json=body).raise_for_status()

    def review_one(self, timings: dict) -> None:
        t = time.perf_counter()
        task = self.client.get(f"/api/projects/{self.project}/next")
        timings["next"].append(ms_since(t))
        task.raise_for_status()
        task = task.json()
        t = time.perf_counter()
        with self.client.stream("GET", task["data"]["audio"]) as audio:
            chunks = audio.iter_raw()
            first = next(chunks)
            timings["audio"].append(ms_since(t))
            assert audio.status_code == 200 and first[:4] == b"RIFF", audio.status_code
            for _ in chunks:
                pass
        result = [{"from_name": "transcription", "to_name": "audio", "type": "textarea", "value": {"text": ["lock the front door"]}}]
        t = time.perf_counter()
        response = self.client.post(f"/api/tasks/{task['id']}/annotations?project={self.project}", json={"result": result, "lead_time": 3.0})
        timings["submit"].append(ms_since(t))
        assert response.status_code == 201, response.text


class Sottovoce:
    def __init__(self, work: Path):
        self.work = work
        self.home = work / "sv-home"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SOTTOVOCE_")} | {
            "SOTTOVOCE_HOME": str(self.home), "SOTTOVOCE_ASR_WORKERS": "0", "SOTTOVOCE_SAMPLER_INTERVAL_MINUTES": "100000",
            "SOTTOVOCE_ABUSE_AUDIO_PER_MINUTE": "1000000", "SOTTOVOCE_ABUSE_VOLUME_MIN": "1000000", "SOTTOVOCE_ABUSE_REPLAY_MAX": "1000000",
            "SOTTOVOCE_ABUSE_SHIFT_START_HOUR": "0", "SOTTOVOCE_ABUSE_SHIFT_END_HOUR": "24", "PYTHONPATH": str(ROOT)}
        self.proc: subprocess.Popen | None = None
        self.client = httpx.Client(base_url=self.base, follow_redirects=False, timeout=600)
        self.location: str | None = None

    def start(self, limit_s: float = 300) -> float:
        t = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "sottovoce", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                     env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(self.work / "sv.log", "ab"), start_new_session=True)
        return wait_200(self.base + "/healthz", t, self.proc, limit_s)

    def stop(self) -> None:
        stop(self.proc)

    def services(self):
        from sottovoce.app_services import open_services
        from sottovoce.core.settings import Settings

        return open_services(Settings(home=self.home, asr_workers=0))

    def setup(self, services) -> None:
        from sottovoce.accounts.registry import create_account

        with services.sessions() as db:
            self.account = create_account(db, services.keys, "bench").id
            db.commit()

    def import_chunk(self, services, path: Path) -> None:
        from sottovoce.core.audit import OPERATOR
        from sottovoce.interop.labelstudio_import import import_export

        with services.sessions() as db:
            import_export(services, db, path, OPERATOR, consent_review=True, consent_training=True, account=self.account, local_files_root=self.work / "media")

    def prepare_review(self, services, n_render: int) -> tuple[str, str, str]:
        """A review task per imported recording (priority from the prediction's confidence, as the
        sampler's uncertainty rule does); the first n_render rendered; a signed-in reviewer."""
        from sqlalchemy import select

        from sottovoce.core.audit import OPERATOR
        from sottovoce.db.models import Hypothesis, Recording, ReviewTask
        from sottovoce.review.render import render_task
        from sottovoce.review.sampler import create_tasks
        from sottovoce.staff.users import create_staff

        with services.sessions() as db:
            rows = db.execute(select(Recording.id, Recording.account_id, Hypothesis.min_confidence).join(Hypothesis, Hypothesis.recording_id == Recording.id)).all()
            for rid, account_id, confidence in rows:
                create_tasks(db, rid, account_id, "uncertainty", priority=1.0 - (confidence or 0.0))
            db.commit()
            for task in db.scalars(select(ReviewTask).order_by(ReviewTask.priority.desc()).limit(n_render)):
                render_task(services, db, task)
            db.commit()
            new = create_staff(services, db, OPERATOR, "bench-reviewer", "reviewer")
            new.user.must_change_password = False
            db.commit()
        return new.user.name, new.password, parse_qs(urlparse(new.totp_uri).query)["secret"][0]

    def sign_in(self, name: str, password: str, secret: str) -> None:
        sign_in_plain(self.client, name, password, secret)
        self.csrf = re.search(r'name="csrf" value="([^"]+)"', self.client.get("/staff/review").text).group(1)

    def review_one(self, timings: dict) -> None:
        t = time.perf_counter()
        response = self.client.post("/staff/review/next", data={"csrf": self.csrf})
        location = response.headers["location"]
        assert "/tasks/" in location, location
        page = self.client.get(location)
        timings["next"].append(ms_since(t))
        self.csrf = re.search(r'name="csrf" content="([^"]+)"', page.text).group(1)
        audio_url = re.search(r'data-audio="([^"]+)"', page.text).group(1).replace("&amp;", "&")
        t = time.perf_counter()
        with self.client.stream("GET", audio_url) as audio:
            chunks = audio.iter_raw()
            first = next(chunks)
            timings["audio"].append(ms_since(t))
            assert audio.status_code == 200 and first[:4] == b"RIFF", audio.status_code
            for _ in chunks:
                pass
        task_id = location.rsplit("/", 1)[-1]
        t = time.perf_counter()
        response = self.client.post(f"/staff/review/tasks/{task_id}/submit", json={"text": "lock the front door", "time_spent_ms": 3000}, headers={"X-CSRF-Token": self.csrf})
        timings["submit"].append(ms_since(t))
        assert response.status_code == 200, response.text


def ms_since(t: float) -> float:
    return (time.perf_counter() - t) * 1000


def wait_200(url: str, t0: float, proc: subprocess.Popen, limit_s: float = 300) -> float:
    while time.perf_counter() - t0 < limit_s:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited ({proc.returncode})")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.perf_counter() - t0
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url}: no 200 after {limit_s} s")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)  # the server's own process group (start_new_session)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


# --- the run -----------------------------------------------------------------------------------------

def run(n_tasks: int, n_reviews: int, ls_venv: Path, cold_starts: int, ls_template: Path | None = LS_TEMPLATE) -> dict:
    from sottovoce.learning.labelstudio_export import LABEL_CONFIG

    work = Path(tempfile.mkdtemp(prefix="lsbench-"))
    ls, sv = LabelStudio(ls_venv, work), Sottovoce(work)
    try:
        tasks_file = make_tasks(work, n_tasks)
        tasks = json.loads(tasks_file.read_text())
        subprocess.run([sys.executable, "-m", "sottovoce", "init"], env=sv.env, cwd=ROOT, check=True, capture_output=True)
        first_starts = {"labelstudio": ls.first_start(ls_template), "sottovoce": sv.start(1800)}  # database creation: not counted
        ls.setup(LABEL_CONFIG)
        services = sv.services()
        sv.setup(services)

        import_s = {"labelstudio": 0.0, "sottovoce": 0.0}
        # CPU of the import: Label Studio's server process tree; sottovoce's import runs in this process (all threads).
        import_cpu = {"labelstudio": 0.0, "sottovoce": 0.0}
        cpu_of = {"labelstudio": lambda: cpu_s(ls.proc.pid), "sottovoce": time.process_time}
        for k, start in enumerate(range(0, n_tasks, CHUNK)):
            chunk = tasks[start:start + CHUNK]
            chunk_file = work / "chunk.json"
            chunk_file.write_text(json.dumps(chunk))
            order = [("labelstudio", lambda: ls.import_chunk(chunk)), ("sottovoce", lambda: sv.import_chunk(services, chunk_file))]
            for name, fn in order if k % 2 == 0 else order[::-1]:
                t, c = time.perf_counter(), cpu_of[name]()
                fn()
                import_s[name] += time.perf_counter() - t
                import_cpu[name] += cpu_of[name]() - c

        t = time.perf_counter()
        reviewer = sv.prepare_review(services, n_reviews + 10)
        render_s = time.perf_counter() - t
        services.close()
        sv.sign_in(*reviewer)
        timings = {name: {"next": [], "audio": [], "submit": []} for name in ("labelstudio", "sottovoce")}
        for _ in range(3):  # warm-up, not counted: first requests load code and caches on both sides
            ls.review_one({"next": [], "audio": [], "submit": []})
            sv.review_one({"next": [], "audio": [], "submit": []})
        review_cpu = {"labelstudio": -cpu_s(ls.proc.pid), "sottovoce": -cpu_s(sv.proc.pid)}
        for i in range(n_reviews):
            order = [("labelstudio", ls), ("sottovoce", sv)]
            for name, side in order if i % 2 == 0 else order[::-1]:
                side.review_one(timings[name])
        review_cpu["labelstudio"] += cpu_s(ls.proc.pid)
        review_cpu["sottovoce"] += cpu_s(sv.proc.pid)
        rss = {"labelstudio": rss_mb(ls.proc.pid), "sottovoce": rss_mb(sv.proc.pid)}
        ls.stop()
        sv.stop()

        cold = {"labelstudio": [], "sottovoce": []}
        for i in range(cold_starts):
            order = [("labelstudio", ls), ("sottovoce", sv)]
            for name, side in order if i % 2 == 0 else order[::-1]:
                cold[name].append(side.start())
                side.stop()
    finally:
        ls.stop()
        sv.stop()
        shutil.rmtree(work, ignore_errors=True)

    out = {"tasks": n_tasks, "reviews": n_reviews, "sottovoce_render_setup_s": round(render_s, 1),
           "first_start_s": {k: round(v, 1) for k, v in first_starts.items()}, "sides": {}}
    for name in ("labelstudio", "sottovoce"):
        t = timings[name]
        out["sides"][name] = {
            "import_tasks_per_s": round(n_tasks / import_s[name], 1),
            "import_cpu_ms_per_task": round(1000 * import_cpu[name] / n_tasks, 2),
            "server_cpu_ms_per_review": round(1000 * review_cpu[name] / n_reviews, 1),
            "next_p50_ms": round(statistics.median(t["next"]), 1), "next_p99_ms": round(pct(t["next"], 0.99), 1),
            "submit_p50_ms": round(statistics.median(t["submit"]), 1), "submit_p99_ms": round(pct(t["submit"], 0.99), 1),
            "audio_first_byte_p50_ms": round(statistics.median(t["audio"]), 1), "audio_first_byte_p99_ms": round(pct(t["audio"], 0.99), 1),
            "server_rss_mb": round(rss[name]), "cold_start_s": round(statistics.median(cold[name]), 2), "cold_starts": [round(c, 2) for c in cold[name]],
        }
    return out


def import_only(n_tasks: int) -> dict:
    """sottovoce's import alone (no servers): the same task file, chunks of CHUNK, a fresh instance."""
    work = Path(tempfile.mkdtemp(prefix="lsbench-import-"))
    sv = Sottovoce(work)
    try:
        tasks = json.loads(make_tasks(work, n_tasks).read_text())
        services = sv.services()
        sv.setup(services)
        t, c = time.perf_counter(), time.process_time()
        for start in range(0, n_tasks, CHUNK):
            chunk_file = work / "chunk.json"
            chunk_file.write_text(json.dumps(tasks[start:start + CHUNK]))
            sv.import_chunk(services, chunk_file)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        services.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"tasks": n_tasks, "import_tasks_per_s": round(n_tasks / wall, 1), "import_cpu_ms_per_task": round(1000 * cpu / n_tasks, 2)}


def table(result: dict) -> str:
    ls, sv = result["sides"]["labelstudio"], result["sides"]["sottovoce"]
    rows = [("import rate (tasks/s)", "import_tasks_per_s", True), ("import CPU per task (ms)", "import_cpu_ms_per_task", False),
            ("server CPU per review: next + audio + submit (ms)", "server_cpu_ms_per_review", False), ("next task p50 (ms)", "next_p50_ms", False), ("next task p99 (ms)", "next_p99_ms", False),
            ("submit p50 (ms)", "submit_p50_ms", False), ("submit p99 (ms)", "submit_p99_ms", False),
            ("first audio byte p50 (ms)", "audio_first_byte_p50_ms", False), ("first audio byte p99 (ms)", "audio_first_byte_p99_ms", False),
            ("server RSS (MB)", "server_rss_mb", False), ("cold start to first 200 (s)", "cold_start_s", False)]
    lines = [f"{result['tasks']} tasks, {result['reviews']} reviews each", "| measure | Label Studio 1.23.2 | sottovoce | ratio (LS / sv, >1 = sottovoce better) |", "|---|---:|---:|---:|"]
    for label, key, higher_better in rows:
        a, b = ls[key], sv[key]
        ratio = (b / a if higher_better else a / b) if a and b else float("nan")
        lines.append(f"| {label} | {a} | {b} | {ratio:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--reviews", type=int, default=100)
    parser.add_argument("--cold-starts", type=int, default=3)
    parser.add_argument("--ls-venv", type=Path, default=Path("/tmp/ls-venv"))
    parser.add_argument("--ls-template", type=Path, default=LS_TEMPLATE, help="A migrated Label Studio data folder to start from (made on first use).")
    parser.add_argument("--no-ls-template", action="store_true", help="Run Label Studio's migrations in this run.")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sottovoce-import-only", action="store_true", help="Time sottovoce's import alone (no Label Studio, no servers).")
    args = parser.parse_args()
    if args.sottovoce_import_only:
        print(json.dumps(import_only(args.tasks)))
        return
    result = run(args.tasks, args.reviews, args.ls_venv, args.cold_starts, None if args.no_ls_template else args.ls_template)
    print(json.dumps(result, indent=2) if args.json else table(result) + "\n\n" + json.dumps(result))


if __name__ == "__main__":
    main()
