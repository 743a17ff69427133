"""`sottovoce demo`: build a fresh embedded instance with demo data, print how to use it, serve it."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import typer

from sottovoce.accounts.registry import add_device, create_account
from sottovoce.app_services import open_services
from sottovoce.core.audit import OPERATOR
from sottovoce.core.services import Services
from sottovoce.core.settings import Settings
from sottovoce.db.types import utcnow
from sottovoce.jobs.worker import drain
from sottovoce.recordings.ingest import commit_ingest, ingest
from sottovoce.recordings.metadata import IngestMetadata
from sottovoce.staff.shifts import set_shift
from sottovoce.staff.users import create_staff

CLIPS = Path(__file__).parent / "clips"
MARKER = ".sottovoce-demo"

# (account name, consent to human review, consent to training, devices)
ACCOUNTS = [
    ("ada", True, True, [("kitchen speaker", "DEMO-SN-ADA-1")]),
    ("ben", True, False, [("phone", "DEMO-SN-BEN-1"), ("car", "DEMO-SN-BEN-2")]),
    ("cleo", False, False, [("bedroom speaker", "DEMO-SN-CLEO-1")]),
]


STAFF = [("rita", "reviewer"), ("raj", "reviewer"), ("sam", "supervisor"), ("priya", "privacy_officer"), ("pablo", "privacy_officer"), ("ada-admin", "admin")]


@dataclass
class DemoInfo:
    home: Path
    accounts: dict[str, str] = field(default_factory=dict)
    device_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    staff: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # name -> (role, password, totp secret)
    recordings: int = 0
    login_link: str = ""  # one-time sign-in link to ada's privacy dashboard


def _fresh_home(home: Path) -> None:
    if home.exists():
        if not (home / MARKER).exists() and any(home.iterdir()):
            raise FileExistsError(f"{home} exists and is not a demo folder; choose another --home")
        shutil.rmtree(home)
    home.mkdir(parents=True, mode=0o700)
    (home / MARKER).write_text("created by `sottovoce demo`; wiped by the next run\n")


DEMO_SHIFT_HOURS = 10


def demo_shift(now: datetime) -> tuple[int, int]:
    """A shift (UTC hours) that starts at the current hour and lasts DEMO_SHIFT_HOURS."""
    return now.hour, (now.hour + DEMO_SHIFT_HOURS) % 24 or 24


def load_demo_data(services: Services) -> DemoInfo:
    info = DemoInfo(home=services.settings.home)
    clips = sorted(json.loads((Path(__file__).parent / "clips.json").read_text()))
    with services.sessions() as db:
        devices = []
        for name, review, training, device_specs in ACCOUNTS:
            account = create_account(db, services.keys, name, review, training)
            info.accounts[name] = account.id
            for device_name, serial in device_specs:
                device, token = add_device(db, account.id, serial, device_name)
                devices.append(device)
                info.device_tokens[f"{name}/{device_name}"] = (device.id, token)
        db.commit()
        for name, role in STAFF:
            new = create_staff(services, db, OPERATOR, name, role)
            new.user.must_change_password = False  # demo convenience only: real staff must change it
            if role == "reviewer":  # on shift from the hour the demo starts, so trying it raises no off-shift alert
                set_shift(services, db, OPERATOR, new.user, *demo_shift(utcnow()), "UTC")
            secret = parse_qs(urlparse(new.totp_uri).query)["secret"][0]
            info.staff[name] = (role, new.password, secret)
        db.commit()
        for i, clip in enumerate(clips):
            device = devices[i % len(devices)]
            recording = ingest(services, db, device, (CLIPS / clip).read_bytes(), IngestMetadata())
            commit_ingest(services, db, recording)
            info.recordings += 1
    return info


def check_port_free(port: int, host: str = "127.0.0.1") -> None:
    """Refuse before wiping anything when the port is taken (a demo already serving keeps its data)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: only a listener makes it fail
        try:
            sock.bind((host, port))
        except OSError:
            raise FileExistsError(f"port {port} is already in use (is a demo already running?); stop it or choose --port") from None


def build_demo(home: Path, port: int = 8000, serve: bool = True) -> DemoInfo:
    if serve:
        check_port_free(port)
    _fresh_home(home)
    settings = Settings(home=home, database_url="", port=port)
    services = open_services(settings)
    info = load_demo_data(services)
    typer.echo(f"Transcribing {info.recordings} demo recordings with the bundled tiny.en model…", err=True)
    drain(services, ["transcribe"])
    from sottovoce.jobs.review import RENDER, sample_and_queue_renders

    report = sample_and_queue_renders(services)  # consenting accounts' clips are ready for review
    drain(services, [RENDER])
    typer.echo(f"Sampled {report['sampled']} clips for review (rendered: voice transformed, personal data silenced).", err=True)
    info.login_link = _login_link(services, "ada")
    _print_welcome(info, port)
    if serve:
        import uvicorn

        from sottovoce.web.app import create_app

        uvicorn.run(create_app(services), host="127.0.0.1", port=port, access_log=False)
    services.close()
    return info


def _login_link(services: Services, name: str) -> str:
    from sqlalchemy import select

    from sottovoce.accounts.signin import issue_link
    from sottovoce.db.models import Account

    with services.sessions() as db:
        link = issue_link(services, db, db.scalars(select(Account).where(Account.name == name)).one(), OPERATOR)
        db.commit()
        return link.url


def _print_welcome(info: DemoInfo, port: int) -> None:
    device_id, token = info.device_tokens["ada/kitchen speaker"]
    clip = next(iter(sorted(CLIPS.glob("*.wav"))))
    typer.echo(
        f"""
sottovoce demo: {info.recordings} recordings for {len(info.accounts)} accounts, data in {info.home}

  Web:     http://127.0.0.1:{port}/
  Device API (ada's kitchen speaker):
    curl -H 'Authorization: Bearer {token}' -F 'audio=@{clip}' http://127.0.0.1:{port}/api/v1/recordings
  CLI (another shell):
    SOTTOVOCE_HOME={info.home} sottovoce ingest {clip} --device {device_id} --wait --json

  Account holder: ada's privacy dashboard (a one-time link; it expires in 15 minutes):
    {info.login_link}
    a fresh one:  SOTTOVOCE_HOME={info.home} sottovoce accounts login-link ada

  Staff sign-in at http://127.0.0.1:{port}/staff/login (demo passwords; TOTP code from the secret:
  add it to an authenticator app, or run  .venv/bin/python -c "import pyotp; print(pyotp.TOTP('SECRET').now())")
"""
    )
    for name, (role, password, secret) in info.staff.items():
        typer.echo(f"    {name:10} {role:16} password {password}   TOTP secret {secret}")
    typer.echo("")
