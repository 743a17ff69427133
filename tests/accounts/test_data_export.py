"""Export: a streamed zip of the account's audio and a JSON of all data held, and nobody else's."""

import io
import json
import os
import stat
import zipfile

from sqlalchemy import select

from sottovoce.accounts.data_export import export_chunks, start_export
from sottovoce.core.audit import OPERATOR
from sottovoce.db.models import AuditEvent
from sottovoce.recordings.store import load_audio
from tests.holders import add_task, listen, new_holder, record, run_cli, sign_in_holder


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        return {name: z.read(name) for name in z.namelist()}


def test_export_holds_exactly_the_accounts_data(services):
    mine, theirs = new_holder(services), new_holder(services)
    recordings = [record(services, mine.device, f"my words number{i}") for i in range(3)]
    foreign = record(services, theirs.device, "their private words")
    task = add_task(services, recordings[0], kind="random")
    listen(services, task, reviewer_id="e" * 32)
    add_task(services, foreign)
    files = unzip(b"".join(export_chunks(services, mine.account.id)))
    assert set(files) == {"README.txt", "data.json"} | {f"audio/{r.id}.wav" for r in recordings}
    data = json.loads(files["data.json"])
    assert data['format'] == 'sottovoce-export-v1'
    assert data['account']['id'] == mine.account.id
    assert [d["id"] for d in data["devices"]] == [mine.device.id]
    by_id = {r["id"]: r for r in data["recordings"]}
    assert set(by_id) == {r.id for r in recordings}
    assert sorted(r["transcripts"][0]["text"] for r in data["recordings"]) == [f"my words number{i}" for i in range(3)]
    first = by_id[recordings[0].id]
    assert first["human_listens"][0]["purpose"] == "random quality sample"
    assert first["corrections"] == [{"at": first["corrections"][0]["at"], "kind": "reviewer correction", "text": "corrected words"}]
    with services.sessions() as db:
        for r in recordings:
            wav = files[f"audio/{r.id}.wav"]
            assert wav[:4] == b'RIFF'
            assert len(wav) == 44 + 2 * load_audio(services, db, r).size
    everything = b"".join(files.values())
    for needle in (theirs.account.id, theirs.device.id, foreign.id, "their private", "e" * 32, theirs.account.name):
        assert needle.encode() not in everything, needle


def test_export_streams_in_pieces_and_is_audited(app_client, services):
    holder = new_holder(services)
    for _ in range(5):
        record(services, holder.device, seconds=0.5)
    with services.sessions() as db:
        name, chunks = start_export(services, db, holder.account.id, OPERATOR, "cli")
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "account.exported")).one()
    assert name.startswith('sottovoce-export-')
    assert name.endswith('.zip')
    assert event.subject == holder.account.id
    assert event.role == 'operator'
    pieces = list(chunks)
    assert len([p for p in pieces if p]) >= 6  # README + data.json, then one piece per recording
    assert max(len(p) for p in pieces) < 64 * 1024
    unzip(b"".join(pieces))
    sign_in_holder(app_client, services, holder.account)
    response = app_client.get("/api/v1/me/export")
    assert response.status_code == 200
    assert response.headers['content-type'] == 'application/zip'
    assert response.headers['cache-control'] == 'no-store'
    assert 'attachment' in response.headers['content-disposition']
    assert len(unzip(response.content)) == 7


def test_cli_export_writes_a_private_file_once(services, settings, env_for, tmp_path):
    holder = new_holder(services)
    record(services, holder.device)
    out = tmp_path / "out" / "ada.zip"
    out.parent.mkdir()  # the folder must exist: a missing one is refused (tests/test_cli_operators.py)
    env = env_for(settings)
    result = run_cli(env, "accounts", "export", holder.account.id, "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["bytes"] == out.stat().st_size
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert len(unzip(out.read_bytes())) == 3
    again = run_cli(env, "accounts", "export", holder.account.id, "--out", str(out))
    assert again.exit_code == 1
    assert 'already exists' in again.stderr
    assert os.listdir(out.parent) == ["ada.zip"]  # no temp file left behind
