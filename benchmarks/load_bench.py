"""Many people at once (issue 12): reviewers and uploaders together against `sottovoce serve`.

    .venv/bin/python benchmarks/load_bench.py                       # SQLite and PostgreSQL, 120 s per phase
    .venv/bin/python benchmarks/load_bench.py --quick               # 20 s per phase
    .venv/bin/python benchmarks/load_bench.py --databases sqlite --seconds 60 --json

For each database, in one run, against one server process on 127.0.0.1 (`python -m sottovoce
serve`, no recognizer: uploads carry the product's own hypothesis):
  1. uploads only: 8 uploaders;
  2. mixed: 20 reviewers (next -> task page -> audio -> submit, think time 0) + 8 uploaders;
  3. mixed + 16 slow-body uploaders from one device (headers, a few bytes, then a trickle);
then 50 concurrent wrong sign-ins for one name, counting the password checks (audit events
``staff.login_failed``). Targets: 0 errors, 0 lost uploads (acknowledged = stored), reviewer
next-task p99 <= 100 ms, upload p99 <= 200 ms, mixed upload throughput >= 80% of uploads-only;
with slow bodies, the others' p99 within 2x of phase 2; <= 5 password checks.

The abuse rules run on every event; only their thresholds are raised, since a scripted reviewer
with no think time works far faster than a person and would otherwise be rate-limited. The load
generator runs in this process and shares the machine's cores with the server: say so with the
figures. PostgreSQL: SOTTOVOCE_BENCH_PG_URL (default the machine's test database); each run gets
its own schema.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).parent))
from review_bench import sign_in_plain  # noqa: E402

from sottovoce.accounts.registry import add_device, create_account  # noqa: E402
from sottovoce.app_services import open_services
from sottovoce.core.audit import OPERATOR  # noqa: E402
from sottovoce.core.services import Services  # noqa: E402
from sottovoce.core.settings import Settings  # noqa: E402
from sottovoce.db.models import AuditEvent, Recording, ReviewTask, StaffUser  # noqa: E402
from sottovoce.recordings.ingest import commit_ingest, ingest  # noqa: E402
from sottovoce.recordings.metadata import parse_metadata  # noqa: E402
from sottovoce.review.render import RENDERED, render_task  # noqa: E402
from sottovoce.review.sampler import create_tasks  # noqa: E402
from sottovoce.staff.users import create_staff  # noqa: E402

CLIP = Path(__file__).parent.parent / "sottovoce" / "demo" / "clips" / "lock-the-front-door.wav"
WORDS = [("lock", 0.9), ("the", 0.8), ("front", 0.3), ("door", 0.7)]
METADATA = json.dumps({"hypothesis": {"words": [{"word": w, "start": 0.2 + 0.3 * i, "end": 0.45 + 0.3 * i, "confidence": c} for i, (w, c) in enumerate(WORDS)]}})
PG_URL = os.environ.get("SOTTOVOCE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BENCH_ENV = {  # rules on, thresholds out of a scripted reviewer's way (see the docstring)
    "SOTTOVOCE_ASR_WORKERS": "0", "SOTTOVOCE_ABUSE_AUDIO_PER_MINUTE": "1000000", "SOTTOVOCE_ABUSE_VOLUME_MIN": "1000000",
    "SOTTOVOCE_ABUSE_REPLAY_MAX": "1000000", "SOTTOVOCE_ABUSE_SHIFT_START_HOUR": "0", "SOTTOVOCE_ABUSE_SHIFT_END_HOUR": "24",
    "SOTTOVOCE_SAMPLER_INTERVAL_MINUTES": "100000", "SOTTOVOCE_RETENTION_SWEEP_MINUTES": "0", "SOTTOVOCE_ORPHAN_GRACE_S": "3600",
}


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 1)


@dataclass
class Tally:
    ms: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    acknowledged: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, op: str, started: float, response: httpx.Response | None, error: str | None = None) -> None:
        with self.lock:
            self.ms.setdefault(op, []).append((time.perf_counter() - started) * 1000)
            key = f"{op}:{response.status_code if response is not None else error}"
            self.statuses[key] = self.statuses.get(key, 0) + 1
            if response is None or response.status_code >= 500:
                self.errors[op] = self.errors.get(op, 0) + 1


# --- set-up ----------------------------------------------------------------------------------------

def populate(services: Services, n_tasks: int, n_uploaders: int, n_reviewers: int) -> dict:
    """Accounts with rendered tasks, uploader devices, one device for slow bodies, reviewers.

    One clip is rendered through the real pipeline; the other tasks get that rendered WAV sealed
    under their own id and account key, which is what serving reads (set-up in seconds, not minutes).
    """
    data = CLIP.read_bytes()
    metadata = parse_metadata(METADATA)
    with services.sessions() as db:
        accounts = [create_account(db, services.keys, f"load-{i}-{secrets.token_hex(2)}", consent_review=True) for i in range(max(1, n_tasks // 10))]
        devices = [add_device(db, a.id, f"SN-L{i}")[0] for i, a in enumerate(accounts)]
        db.commit()
        rendered_wav, render_params = None, "{}"
        for i in range(n_tasks):
            device = devices[i % len(devices)]
            recording = ingest(services, db, device, data, metadata)
            commit_ingest(services, db, recording)
            task = create_tasks(db, recording.id, device.account_id, "uncertainty", priority=1.0 + i / n_tasks)[0]
            if rendered_wav is None:
                render_task(services, db, task)
                db.flush()
                rendered_wav = services.keys.open(db, task.account_id, services.blobs.get(task.rendered_blob_id), RENDERED, task.id)
                render_params = task.render_params  # word positions of PII runs, as the render job records them
            else:
                task.rendered_blob_id = services.blobs.put(services.keys.seal(db, task.account_id, rendered_wav, RENDERED, task.id))
                task.render_params = render_params
            if i % 200 == 199:
                db.commit()
        db.commit()
        tokens = [add_device(db, accounts[i % len(accounts)].id, f"SN-U{i}")[1] for i in range(n_uploaders)]
        slow_token = add_device(db, accounts[0].id, "SN-SLOW")[1]
        reviewers = []
        for i in range(n_reviewers + 1):
            new = create_staff(services, db, OPERATOR, f"load-reviewer-{i}", "reviewer")
            new.user.must_change_password = False
            reviewers.append((new.user.name, new.password, parse_qs(urlparse(new.totp_uri).query)["secret"][0]))
        db.commit()
    return {"tokens": tokens, "slow_token": slow_token, "reviewers": reviewers[:-1], "spare_reviewer": reviewers[-1]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict, port: int, audiences: str = "") -> subprocess.Popen:
    # The server's log goes to a file: a pipe nobody reads would block the server once full.
    log = open(Path(env["SOTTOVOCE_HOME"]) / f"server-{port}.log", "wb")  # noqa: SIM115 (closed with the process)
    command = [sys.executable, "-m", "sottovoce", "serve", "--port", str(port)] + (["--audiences", audiences] if audiences else [])
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start: " + Path(log.name).read_text()[-2000:])


# --- the simulated people -----------------------------------------------------------------------------

def uploader(base: str, token: str, stop: threading.Event, tally: Tally) -> None:
    data = CLIP.read_bytes()
    with httpx.Client(base_url=base, timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                response = client.post("/api/v1/recordings", headers={"Authorization": f"Bearer {token}"},
                                       files={"audio": ("a.wav", data, "audio/wav")}, data={"metadata": METADATA})
            except httpx.HTTPError as exc:
                tally.add("upload", started, None, type(exc).__name__)
                continue
            tally.add("upload", started, response)
            if response.status_code == 202:
                with tally.lock:
                    tally.acknowledged.append(response.json()["id"])


def signed_in_reviewers(bases: list[str], people: dict) -> list[httpx.Client]:
    """Every reviewer signs in once, before the measured phases (a sign-in costs ~0.5 s of argon2id).
    With several server processes, reviewer i talks to process i mod N (as a load balancer would
    spread them); the session, made by one process, is honoured by all."""
    clients = []
    for i, who in enumerate(people["reviewers"]):
        client = httpx.Client(base_url=bases[i % len(bases)], timeout=60, follow_redirects=False)
        sign_in_plain(client, *who)
        clients.append(client)
    return clients


def reviewer(client: httpx.Client, stop: threading.Event, tally: Tally) -> None:
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/staff/review").text).group(1)
    while not stop.is_set():
        try:
            started = time.perf_counter()
            response = client.post("/staff/review/next", data={"csrf": csrf})
            tally.add("next_task", started, response)
            location = response.headers.get("location", "")
            if "/tasks/" not in location:
                time.sleep(0.05)
                continue
            started = time.perf_counter()
            page = client.get(location)
            tally.add("task_page", started, page)
            if page.status_code != 200:
                continue
            csrf = re.search(r'name="csrf" content="([^"]+)"', page.text).group(1)
            audio_url = re.search(r'data-audio="([^"]+)"', page.text).group(1).replace("&amp;", "&")
            started = time.perf_counter()
            tally.add("audio", started, client.get(audio_url))
            started = time.perf_counter()
            tally.add("submit", started, client.post(location + "/submit", json={"text": "lock the front door"}, headers={"X-CSRF-Token": csrf}))
        except httpx.HTTPError as exc:
            tally.add("reviewer_transport", time.perf_counter(), None, type(exc).__name__)


def slow_uploader(port: int, token: str, stop: threading.Event, tally: Tally) -> None:
    """Headers promising 1,000,000 bytes, a few bytes, then one byte every 0.5 s until answered.
    Refused with 429, it waits as its Retry-After says, as the device contract asks (README)."""
    while not stop.is_set():
        started = time.perf_counter()
        status = None
        answer = b""
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
                head = (f"POST /api/v1/recordings HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                        "Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 1000000\r\n\r\n--xyz\r\n")
                sock.sendall(head.encode())
                sock.settimeout(0.5)
                while not stop.is_set():
                    try:
                        answer = sock.recv(400)
                        if answer:
                            status = int(answer.split(b" ", 2)[1])
                        break
                    except TimeoutError:
                        sock.sendall(b"a")
        except OSError as exc:
            status = type(exc).__name__
        with tally.lock:
            key = f"slow_upload:{status}"
            tally.statuses[key] = tally.statuses.get(key, 0) + 1
            tally.ms.setdefault("slow_upload", []).append((time.perf_counter() - started) * 1000)
        retry_after = re.search(rb"\r\nretry-after: *(\d+)", answer, re.IGNORECASE)
        if status == 429 and retry_after:
            stop.wait(int(retry_after.group(1)))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), a figure other load cannot inflate."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_phase(ports: list[int], people: dict, seconds: float, reviewers: int, uploaders: int, slow: int, server_pids: list[int] | None = None) -> dict:
    """One measured phase; uploader i and slow uploader i talk to server process i mod N."""
    stop, tally = threading.Event(), Tally()
    pids = server_pids or []
    cpu_before = [cpu_seconds(pid) for pid in pids]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    threads = [threading.Thread(target=uploader, args=(bases[i % len(bases)], people["tokens"][i], stop, tally)) for i in range(uploaders)]
    threads += [threading.Thread(target=reviewer, args=(people["clients"][i], stop, tally)) for i in range(reviewers)]
    threads += [threading.Thread(target=slow_uploader, args=(ports[i % len(ports)], people["slow_token"], stop, tally)) for i in range(slow)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(90)
    server_cpu_s = round(sum(cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before)), 2) if pids else None
    summary = {"seconds": seconds, "reviewers": reviewers, "uploaders": uploaders, "slow_uploaders": slow, "server_cpu_s": server_cpu_s,
               "server_cpu_share": round(server_cpu_s / seconds, 2) if server_cpu_s is not None else None,
               "errors": sum(tally.errors.values()), "errors_by_op": tally.errors, "statuses": dict(sorted(tally.statuses.items())),
               "uploads_per_s": round(tally.statuses.get("upload:202", 0) / seconds, 1), "acknowledged": list(tally.acknowledged)}
    for op in ("upload", "next_task", "task_page", "audio", "submit"):
        values = tally.ms.get(op, [])
        summary[op] = {"n": len(values), "p50_ms": pct(values, 0.5), "p99_ms": pct(values, 0.99), "max_ms": round(max(values), 1) if values else None}
    return summary


def sign_in_race(bases: list[str], who: tuple, n: int = 50) -> dict:
    """n concurrent wrong passwords for one name, spread over every server process."""
    name = who[0]

    def guess(i: int) -> int:
        with httpx.Client(base_url=bases[i % len(bases)], timeout=60) as client:
            page = client.get("/staff/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            cookie = next(h.split(";", 1)[0] for h in page.headers.get_list("set-cookie") if h.startswith("__Host-sv_login_csrf="))
            return client.post("/staff/login", data={"name": name, "password": "not-the-password", "code": "000000", "csrf": csrf},
                               headers={"Cookie": cookie}).status_code

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(n) as pool:
        statuses = list(pool.map(guess, range(n)))
    return {"attempts": n, "answered_401": statuses.count(401), "answered_429": statuses.count(429), "other": [s for s in statuses if s not in (401, 429)]}


def run_database(kind: str, seconds: float, n_tasks: int, processes: int = 1, split: bool = False) -> dict:
    if split and processes < 2:
        raise SystemExit("--split needs at least 2 processes (one for devices, one for staff)")
    with tempfile.TemporaryDirectory() as home:
        schema = None
        url = ""
        if kind == "postgresql":
            schema = "load_" + secrets.token_hex(4)
            with create_engine(PG_URL).begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        try:
            settings = Settings(home=Path(home), database_url=url, asr_workers=0)
            services = open_services(settings)
            t0 = time.perf_counter()
            people = populate(services, n_tasks, 8, 20)
            setup_s = round(time.perf_counter() - t0, 1)
            env = {**{k: v for k, v in os.environ.items() if not k.startswith("SOTTOVOCE_")}, **BENCH_ENV,
                   "SOTTOVOCE_HOME": home, "SOTTOVOCE_DATABASE_URL": url}
            ports = [free_port() for _ in range(processes)]
            # split: the first half of the processes serve devices and holders, the rest staff, as two
            # host names behind a load balancer would; shared: every process serves everyone.
            roles = (["devices,holders"] * (processes // 2) + ["staff"] * (processes - processes // 2)) if split else [""] * processes
            servers = [start_server(env, port, role) for port, role in zip(ports, roles)]
            device_ports = [p for p, role in zip(ports, roles) if role != "staff"]
            staff_bases = [f"http://127.0.0.1:{p}" for p, role in zip(ports, roles) if role in ("", "staff")]
            try:
                # Warm-up, not measured: the first task page loads the PII detector into each server.
                people["clients"] = signed_in_reviewers(staff_bases, people)
                warm = run_phase(device_ports, people, 3.0, len(staff_bases), len(device_ports), 0)
                pids = [server.pid for server in servers]
                phases = {
                    "uploads_only": run_phase(device_ports, people, seconds, 0, 8, 0, pids),
                    "mixed": run_phase(device_ports, people, seconds, 20, 8, 0, pids),
                    "mixed_with_slow_bodies": run_phase(device_ports, people, seconds, 20, 8, 16, pids),
                }
                race = sign_in_race(staff_bases, people["spare_reviewer"])
                health = httpx.get(staff_bases[0] + "/healthz", timeout=10).json()
            finally:
                for server in servers:
                    server.terminate()
                for server in servers:
                    server.wait(30)
            with services.sessions() as db:
                stored = set(db.scalars(select(Recording.id)))
                spare = db.scalar(select(StaffUser.id).where(StaffUser.name == people["spare_reviewer"][0]))
                race["password_checks"] = db.scalar(
                    select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "staff.login_failed", AuditEvent.subject == spare)
                )
                reviewed = db.scalar(select(func.count()).select_from(ReviewTask).where(ReviewTask.status == "done"))
            for phase in phases.values():
                acknowledged = phase.pop("acknowledged")
                phase["lost_uploads"] = len([i for i in acknowledged if i not in stored])
            services.close()
        finally:
            if schema:
                with create_engine(PG_URL).begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    only = phases["uploads_only"]
    cpu_per_upload_ms = round(1000 * only["server_cpu_s"] / max(only["upload"]["n"], 1), 1)
    mixed_phase = phases["mixed"]
    review_cpu_s = mixed_phase["server_cpu_s"] - mixed_phase["upload"]["n"] * cpu_per_upload_ms / 1000
    cpu_per_review_ms = round(1000 * review_cpu_s / max(mixed_phase["submit"]["n"], 1), 1)
    base_rate = phases["uploads_only"]["uploads_per_s"] or 1
    mixed, slow = phases["mixed"], phases["mixed_with_slow_bodies"]
    ratios = {
        "mixed_upload_throughput_vs_uploads_only": round(mixed["uploads_per_s"] / base_rate, 2),
        "slow_vs_mixed_upload_p99": round((slow["upload"]["p99_ms"] or 0) / max(mixed["upload"]["p99_ms"] or 1, 1e-9), 2),
        "slow_vs_mixed_next_task_p99": round((slow["next_task"]["p99_ms"] or 0) / max(mixed["next_task"]["p99_ms"] or 1, 1e-9), 2),
        # Server CPU per operation: what the machine's load cannot inflate, and what capacity follows from.
        "server_cpu_ms_per_upload": cpu_per_upload_ms,
        "server_cpu_ms_per_review": cpu_per_review_ms,
    }
    return {"database": kind, "processes": processes, "layout": "split" if split else "shared", "setup_s": setup_s, "tasks": n_tasks, "reviewed": reviewed, "phases": phases, "ratios": ratios,
            "sign_in_race": race, "healthz_after": health, "warm_up_errors": warm["errors"]}


def print_table(result: dict) -> None:
    print(f"\n== {result['database']}, {result['processes']} server process(es), {result['layout']}: {result['tasks']} tasks, {result['reviewed']} reviewed, set-up {result['setup_s']} s")
    print(f"{'phase':24} {'errors':>6} {'lost':>5} {'up/s':>6} {'up p50':>7} {'up p99':>7} {'next p50':>8} {'next p99':>8} {'page p99':>8} {'audio p99':>9} {'submit p99':>10}")
    for name, p in result["phases"].items():
        print(f"{name:24} {p['errors']:>6} {p['lost_uploads']:>5} {p['uploads_per_s']:>6} {p['upload']['p50_ms']!s:>7} {p['upload']['p99_ms']!s:>7} "
              f"{p['next_task']['p50_ms']!s:>8} {p['next_task']['p99_ms']!s:>8} {p['task_page']['p99_ms']!s:>8} {p['audio']['p99_ms']!s:>9} {p['submit']['p99_ms']!s:>10}")
    print("ratios:", json.dumps(result["ratios"]))
    print("sign-in race:", json.dumps(result["sign_in_race"]))
    print("slow-body answers:", {k: v for k, v in result["phases"]["mixed_with_slow_bodies"]["statuses"].items() if k.startswith("slow_upload")})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 s per phase")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--tasks", type=int, default=None, help="rendered tasks queued for the reviewers")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--processes", default="1", help="server processes behind the simulated load balancer; e.g. 1,2 runs both")
    parser.add_argument("--split", action="store_true", help="half the processes serve devices and holders, half staff (AUDIENCES)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    seconds = args.seconds or (20.0 if args.quick else 120.0)
    n_tasks = args.tasks or (1500 if args.quick else 6000)
    results = [run_database(kind, seconds, n_tasks, int(n), args.split) for n in args.processes.split(",") for kind in args.databases.split(",")]
    machine = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    if args.json:
        print(json.dumps({"machine": machine, "results": results}, indent=2))
        return
    print(f"machine: {machine}")
    for result in results:
        print_table(result)


if __name__ == "__main__":
    main()
