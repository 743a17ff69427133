"""Operator CLI (issue 16): names instead of ids, list commands, refusals, audit of what the CLI
changes, and a start-up that imports nothing heavy before a command runs.

Most commands run in-process (typer's runner, the same code path as the script); the import and
"no instance here" checks run in a separate process, as a user would.
"""

import json
import subprocess
import sys

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from sottovoce.cli import app
from sottovoce.db.models import AuditEvent, ConsentChange
from tests.factories import DEMO_CLIPS

HEAVY = ("sqlalchemy", "alembic", "numpy", "scipy", "av", "faster_whisper", "presidio_analyzer", "pydantic", "rich", "sottovoce.db.models")


@pytest.fixture
def cli(settings, env_for):
    env = env_for(settings)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, (args, result.output, result.stderr)
        return json.loads(result.stdout) if "--json" in args and result.stdout.strip() else result

    return invoke


def test_help_imports_nothing_heavy():
    code = f"import sys, sottovoce.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_show_does_not_load_audio_or_alembic(settings, env_for, services, make_account, make_recording):
    _account, device = make_account()
    recording = make_recording(device)
    code = (
        f"import sys, runpy; sys.argv=['sottovoce','recordings','show',{recording.id!r},'--json']\n"
        "try: runpy.run_module('sottovoce', run_name='__main__')\n"
        "except SystemExit: pass\n"
        "print([m for m in ('alembic','numpy','av','scipy','faster_whisper','presidio_analyzer') if m in sys.modules], file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env_for(settings), capture_output=True, text=True, timeout=120)
    assert json.loads(result.stdout)["id"] == recording.id
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_names_work_where_ids_did_and_lists_show_them(cli, tmp_path):
    account = cli("accounts", "add", "ada", "--consent-review", "--json")
    device = cli("devices", "add", "--account", "ada", "--serial", "SN-1", "--json")
    assert [a["name"] for a in cli("accounts", "list", "--json")] == ["ada"]
    assert cli("accounts", "list", "--json")[0]["devices"] == 1
    assert cli("devices", "list", "--json") == [{"id": device["id"], "account": "ada", "serial": "SN-1", "name": "device", "revoked": False}]
    stored = cli("ingest", str(DEMO_CLIPS / "lock-the-front-door.wav"), "--device", device["id"], "--json")
    listed = cli("recordings", "list", "--account", "ada", "--json")
    assert [r["id"] for r in listed] == [stored[0]["id"]]
    assert "hypothesis" not in listed[0]  # a list never shows transcripts (show is audited)
    exported = cli("accounts", "export", "ada", "--out", str(tmp_path / "ada.zip"), "--json")
    assert exported["bytes"] > 0
    assert cli("accounts", "close", account["id"], "--json")["counts"]


def test_duplicate_serial_is_refused(cli):
    cli("accounts", "add", "ada", "--json")
    cli("accounts", "add", "bo", "--json")
    cli("devices", "add", "--account", "ada", "--serial", "SN-1")
    result = cli("devices", "add", "--account", "bo", "--serial", "SN-1", code=1)
    assert "already registered" in result.stderr


def test_export_refuses_a_missing_folder(cli, tmp_path):
    cli("accounts", "add", "ada")
    target = tmp_path / "missing" / "dir" / "x.zip"
    result = cli("accounts", "export", "ada", "--out", str(target), code=1)
    assert "does not exist" in result.stderr
    assert not (tmp_path / "missing").exists()


def test_read_only_command_without_home_creates_nothing(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "sottovoce", "accounts", "list"], cwd=tmp_path, env={**env, "PYTHONPATH": str(__import__("pathlib").Path(__file__).resolve().parents[1])}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "SOTTOVOCE_HOME" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no ./var, no master key


def test_ingest_json_reports_stored_and_failed(cli, tmp_path):
    cli("accounts", "add", "ada")
    device = cli("devices", "add", "--account", "ada", "--serial", "SN-1", "--json")["id"]
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF")
    good = str(DEMO_CLIPS / "lock-the-front-door.wav")
    report = cli("ingest", good, str(bad), str(tmp_path / "absent.wav"), "--device", device, "--json", code=1)
    assert [r["status"] for r in report] == ["pending", "failed", "failed"]
    assert report[0]["id"] and report[0]["file"] == good
    assert "not readable audio" in report[1]["error"] and "cannot read" in report[2]["error"]
    assert cli("ingest", good, "--device", device, "--json")[0]["status"] == "pending"  # all stored: exit 0


def test_login_link_uses_public_url(settings, env_for):
    env = {**env_for(settings), "SOTTOVOCE_PUBLIC_URL": "https://voice.example.org/"}
    runner = CliRunner()
    assert runner.invoke(app, ["accounts", "add", "ada"], env=env).exit_code == 0
    url = json.loads(runner.invoke(app, ["accounts", "login-link", "ada", "--json"], env=env).stdout)["url"]
    assert url.startswith("https://voice.example.org/me/")


def test_account_and_device_creation_are_audited_with_consent_rows(cli, services):
    account = cli("accounts", "add", "ada", "--consent-review", "--json")
    device = cli("devices", "add", "--account", "ada", "--serial", "SN-1", "--json")
    with services.sessions() as db:
        actions = {(e.action, e.subject) for e in db.scalars(select(AuditEvent))}
        changes = db.scalars(select(ConsentChange).where(ConsentChange.account_id == account["id"])).all()
    assert {("account.create", account["id"]), ("consent.change", account["id"]), ("device.add", device["id"])} <= actions
    assert [(c.purpose, c.value, c.channel) for c in changes] == [("human_review", True, "cli")]


def test_gold_refuses_non_consenting_account_and_one_character_text(cli, make_account, make_recording):
    _consenting, device = make_account(review=True)
    _refusing, other = make_account(review=False)
    assert "not consented" in cli("review", "gold", make_recording(other).id, "--text", "lock the door", code=1).stderr
    assert "at least" in cli("review", "gold", make_recording(device).id, "--text", "a", code=1).stderr
    assert cli("review", "gold", make_recording(device).id, "--text", "lock the front door", "--json")["task"]


def test_demo_checks_the_port_before_wiping(tmp_path):
    import socket

    from sottovoce.demo.build import MARKER, build_demo

    home = tmp_path / "demo"
    home.mkdir()
    (home / MARKER).write_text("x")
    (home / "data").write_text("precious")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(FileExistsError, match="already in use"):
            build_demo(home, port=busy.getsockname()[1], serve=True)
    assert (home / "data").read_text() == "precious"
