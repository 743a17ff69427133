"""The one deletion cascade: what it removes, what the files still hold afterwards (raw byte scans),
crypto-shredding on account closure, receipts, the part registry, and crash recovery."""

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import UTC

import pytest
from sqlalchemy import func, select

from sottovoce.accounts.data_export import export_chunks
from sottovoce.accounts.deletion import close_account, delete_recordings, resume_pending_deletions, run, wait_for_scrub
from sottovoce.app_services import open_services
from sottovoce.core import audio
from sottovoce.core.audit import OPERATOR
from sottovoce.core.crypto import KeyRing, MasterKey
from sottovoce.core.errors import NotFound
from sottovoce.core.services import DeletionPart
from sottovoce.db.models import (
    Account,
    AccountKey,
    AccountSession,
    Annotation,
    AuditEvent,
    ConsentChange,
    DeletionReceipt,
    Device,
    Hypothesis,
    Job,
    Recording,
    ReviewTask,
)
from sottovoce.jobs.recovery import recover
from sottovoce.recordings.store import AUDIO
from tests.factories import noise_samples
from tests.helpers import files_containing
from tests.holders import add_task, new_holder, record, run_cli, sign_in_holder

CANARY = "quokkacanary4417"
ASVS_RETENTION = pytest.mark.asvs("V14.2.7")


def count(services, model, *where) -> int:
    with services.sessions() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def windows(data: bytes, size: int = 48) -> list[bytes]:
    """Slices from the start, middle and end of a ciphertext: any surviving copy contains one."""
    return [data[i : i + size] for i in (1, len(data) // 2, len(data) - size - 1)]


def test_deleting_a_recording_removes_everything_derived_from_it(services):
    holder = new_holder(services)
    doomed, kept = record(services, holder.device, "doomed words"), record(services, holder.device, "kept words")
    leased = add_task(services, doomed, status="leased")
    done = add_task(services, doomed, kind="random", status="done")
    add_task(services, kept)
    with services.sessions() as db:
        rendered = [db.get(ReviewTask, t.id).rendered_blob_id for t in (leased, done)]
        receipt = delete_recordings(services, db, holder.account.id, [doomed.id], OPERATOR, "cli")
    assert receipt['status'] == 'done'
    assert receipt['scope'] == 'recordings'
    assert receipt['completed_at']
    counts = receipt["counts"]
    assert (counts["recordings"], counts["audio_blobs"], counts["hypotheses"]) == (1, 1, 1)
    assert (counts["review_tasks"], counts["annotations"], counts["rendered_clips"], counts["jobs"]) == (2, 2, 2, 2)
    for model, column in ((Recording, Recording.id), (Hypothesis, Hypothesis.recording_id), (ReviewTask, ReviewTask.recording_id), (Annotation, Annotation.recording_id)):
        assert count(services, model, column == doomed.id) == 0
    assert count(services, Job, Job.subject_id.in_([leased.id, done.id, doomed.id])) == 0
    blobs = set(services.blobs.ids())
    assert doomed.audio_blob_id not in blobs
    assert not set(rendered) & blobs
    assert kept.audio_blob_id in blobs
    assert count(services, ReviewTask, ReviewTask.recording_id == kept.id) == 1
    with services.sessions() as db:
        stored = db.get(DeletionReceipt, receipt["id"])
        assert stored.status == 'done'
        assert stored.recording_ids == '[]'
        assert stored.account_id == holder.account.id
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "recording.deleted")).one()
    details = json.loads(event.details)
    assert details['receipt'] == receipt['id']
    assert details['counts'] == counts
    assert details['channel'] == 'cli'
    assert doomed.id not in event.details  # counts only, no content or ids
    assert 'doomed' not in event.details


def test_receipts_are_shown_to_the_account_holder(app_client, services):
    holder = new_holder(services)
    csrf = sign_in_holder(app_client, services, holder.account)
    recordings = [record(services, holder.device) for _ in range(3)]
    one = app_client.post(f"/me/recordings/{recordings[0].id}/delete", data={"csrf": csrf}, follow_redirects=False)
    assert one.status_code == 303
    assert one.headers['location'].startswith('/me/receipts/')
    page = app_client.get(one.headers["location"], headers={"accept": "text/html"})
    assert page.status_code == 200
    assert 'audio blobs' in page.text
    assert 'dashboard' in page.text
    rest = app_client.post("/me/recordings/delete", data={"scope": "all", "confirm": "yes", "csrf": csrf}, follow_redirects=False)
    assert rest.status_code == 303
    receipts = app_client.get("/api/v1/me/receipts").json()["receipts"]
    assert [r["counts"]["recordings"] for r in receipts] == [2, 1]  # newest first
    assert "2 recordings" in app_client.get("/me/", headers={"accept": "text/html"}).text


def test_dashboard_range_and_everything_need_valid_input(app_client, services):
    holder = new_holder(services)
    csrf = sign_in_holder(app_client, services, holder.account)
    record(services, holder.device)
    json_ = {"accept": "application/json"}
    cases = [
        ({"scope": "range"}, "start date"),
        ({"scope": "range", "start": "27/11/2026"}, "ISO-8601"),
        ({"scope": "range", "start": "2026-12-01", "end": "2026-11-01"}, "after its end"),
        ({"scope": "all"}, "confirm"),
        ({"scope": "some"}, "scope"),
    ]
    for form, message in cases:
        response = app_client.post("/me/recordings/delete", data={**form, "csrf": csrf}, headers=json_)
        assert response.status_code == 422, form
        assert message in response.json()['error']['message'], form
    h = {"X-CSRF-Token": csrf}
    assert app_client.delete("/api/v1/me/recordings", headers=h).status_code == 422
    assert app_client.delete("/api/v1/me/recordings?from=2026-02-30", headers=h).status_code == 422
    assert app_client.delete("/api/v1/me/recordings?all=true&from=2026-01-01", headers=h).status_code == 422
    assert app_client.delete("/api/v1/me/recordings/" + "0" * 32, headers=h).status_code == 404
    empty = app_client.post("/me/recordings/delete", data={"scope": "range", "end": "2000-01-01", "csrf": csrf}, headers={"accept": "text/html"})
    assert empty.status_code == 200
    assert 'nothing was deleted' in empty.text
    assert count(services, Recording) == 1


def test_range_deletion_is_inclusive_of_both_days(app_client, services):
    from datetime import datetime

    holder = new_holder(services)
    csrf = sign_in_holder(app_client, services, holder.account)
    days = [datetime(2026, 3, d, h, tzinfo=UTC) for d, h in ((9, 23), (10, 0), (12, 23), (13, 0))]
    made = [record(services, holder.device, captured_at=d, seconds=0.2) for d in days]
    response = app_client.delete("/api/v1/me/recordings?from=2026-03-10&to=2026-03-12", headers={"X-CSRF-Token": csrf})
    assert response.json()["deleted"] == 2
    with services.sessions() as db:
        assert set(db.scalars(select(Recording.id))) == {made[0].id, made[3].id}


@pytest.mark.asvs("V14.2.7")
def test_canary_deleted_recording_leaves_no_trace_in_database_blobs_or_export(services, settings, tmp_path):
    """Raw byte scans of the SQLite database, its WAL and shared memory, the blob folder and an
    export folder: no transcript text, no audio fingerprint, and none of the exact ciphertexts
    (audio blob, sealed hypothesis, rendered clip, sealed annotation) captured before deletion."""
    holder = new_holder(services)
    marker = noise_samples(2.0, seed=4417)
    doomed = record(services, holder.device, f"open the {CANARY} door", seconds=2.0, seed=4417)
    kept = record(services, holder.device, "keep this one")
    task = add_task(services, doomed)
    with services.sessions() as db:
        audio_ct = services.blobs.get(doomed.audio_blob_id)
        hypothesis_ct = db.scalars(select(Hypothesis.sealed_content).where(Hypothesis.recording_id == doomed.id)).one()
        clip_ct = services.blobs.get(db.get(ReviewTask, task.id).rendered_blob_id)
        annotation_ct = db.scalars(select(Annotation.sealed_content).where(Annotation.task_id == task.id)).one()
    ciphertexts = {"audio": audio_ct, "hypothesis": hypothesis_ct, "clip": clip_ct, "annotation": annotation_ct}
    home = settings.home
    sqlite = services.engine.dialect.name == "sqlite"
    # The scan can see them before deletion (so its silence afterwards means something).
    assert files_containing(home, windows(audio_ct)[1])
    assert files_containing(home, windows(clip_ct)[1])
    if sqlite:
        assert files_containing(home, windows(hypothesis_ct)[1])
        assert files_containing(home, windows(annotation_ct)[1])

    with services.sessions() as db:
        delete_recordings(services, db, holder.account.id, [doomed.id], OPERATOR, "dashboard")
    wait_for_scrub(services)  # the WAL truncation follows each deletion within about a second
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "after.zip").write_bytes(b"".join(export_chunks(services, holder.account.id)))

    if sqlite:
        wal = home / "sottovoce.db-wal"
        assert not wal.exists() or wal.stat().st_size == 0  # truncated by the scrub after the cascade
    for root in (home, exports):
        assert files_containing(root, CANARY.encode()) == [], root
        # Not even the recording's id is left: the audit log names receipts, and a finished
        # receipt keeps counts, not the ids it deleted.
        assert files_containing(root, doomed.id.encode()) == [], root
        for name, ciphertext in ciphertexts.items():
            for window in windows(ciphertext):
                assert files_containing(root, window) == [], (name, root)
        pcm = audio.to_pcm16(audio.from_pcm16(audio.to_pcm16(marker)))
        for i in (1000, 20000, 50000):
            assert files_containing(root, pcm[i : i + 64]) == [], root
    if not sqlite:  # PostgreSQL files cannot be scanned here: check the rows instead
        assert count(services, Hypothesis, Hypothesis.recording_id == doomed.id) == 0
    assert kept.audio_blob_id in set(services.blobs.ids())


def test_closing_an_account_shreds_its_key_so_a_backup_no_longer_decrypts(services, settings, tmp_path, app_client):
    holder, other = new_holder(services), new_holder(services)
    recordings = [record(services, holder.device) for _ in range(3)]
    other_recording = record(services, other.device)
    task = add_task(services, recordings[0], status="leased")
    sign_in_holder(app_client, services, holder.account)
    with services.sessions() as db:
        from sottovoce.accounts.consent import set_consent

        set_consent(services, db, db.get(Account, holder.account.id), "training", True, OPERATOR, "cli")
        db.commit()
        wrapped = db.get(AccountKey, holder.account.id).wrapped_key
        rendered_id = db.get(ReviewTask, task.id).rendered_blob_id
    backup = tmp_path / "backup"
    shutil.copytree(settings.resolved_blob_dir, backup)  # a backup taken before the closure

    with services.sessions() as db:
        receipt = close_account(services, db, holder.account.id, OPERATOR, "cli")
    assert receipt['scope'] == 'account'
    assert receipt['status'] == 'done'
    counts = receipt["counts"]
    assert (counts["recordings"], counts["data_keys"], counts["accounts"], counts["devices"], counts["sessions"]) == (3, 1, 1, 1, 1)
    assert counts['review_tasks'] == 1
    assert counts['rendered_clips'] == 1
    assert counts['consent_changes'] == 1

    fresh = KeyRing(MasterKey.load_or_create(settings.resolved_key_file))  # a restart: nothing cached
    with services.sessions() as db:
        for r in recordings:
            sealed = (backup / r.audio_blob_id[:2] / r.audio_blob_id).read_bytes()
            with pytest.raises(NotFound):
                fresh.open(db, holder.account.id, sealed, AUDIO, r.id)
            with pytest.raises(NotFound):
                services.keys.open(db, holder.account.id, sealed, AUDIO, r.id)  # the live ring forgot it too
        assert fresh.open(db, other.account.id, services.blobs.get(other_recording.audio_blob_id), AUDIO, other_recording.id)
        for model, column in ((Account, Account.id), (Recording, Recording.account_id), (Device, Device.account_id),
                              (ConsentChange, ConsentChange.account_id), (AccountSession, AccountSession.account_id)):
            assert db.scalar(select(func.count()).select_from(model).where(column == holder.account.id)) == 0, model
        closure = db.scalars(select(DeletionReceipt).where(DeletionReceipt.account_id == holder.account.id)).one()
        assert closure.scope == 'account'
        assert closure.status == 'done'
        assert db.scalars(select(AuditEvent.action).where(AuditEvent.action == "account.closed")).all() == ["account.closed"]
    left = set(services.blobs.ids())
    assert not {r.audio_blob_id for r in recordings} & left
    assert rendered_id not in left
    assert other_recording.audio_blob_id in left
    assert app_client.get("/api/v1/me").status_code == 401  # its sessions ended
    if services.engine.dialect.name == "sqlite":
        wait_for_scrub(services)
        assert files_containing(settings.home, wrapped[5:53]) == []  # the wrapped key left the files too


def test_closing_an_unknown_account_is_not_found(services):
    with services.sessions() as db, pytest.raises(NotFound):
        close_account(services, db, "0" * 32, OPERATOR, "cli")


def test_listed_parts_run_in_order_and_are_counted(services):
    seen = []

    def cached_features(services, db, recording_ids):
        seen.append(("cached_features", sorted(recording_ids)))
        return len(recording_ids)

    def later_models(services, db, recording_ids):
        seen.append(("later_models", sorted(recording_ids)))
        return {"later_models_marked": 1}

    services = replace(services, deletion_parts=(*services.deletion_parts, DeletionPart("cached_features", cached_features),
                                                 DeletionPart("later_models", later_models)))
    holder = new_holder(services)
    ids = sorted(record(services, holder.device, seconds=0.2).id for _ in range(2))
    with services.sessions() as db:
        receipt = delete_recordings(services, db, holder.account.id, ids, OPERATOR, "cli")
    assert seen == [("cached_features", ids), ("later_models", ids)]
    assert receipt['counts']['cached_features'] == 2
    assert receipt['counts']['later_models_marked'] == 1
    names = [p.name for p in services.deletion_parts]
    assert names[:3] == ["jobs", "review_data", "hypotheses"]
    assert receipt["counts"]["hypotheses"] == 2  # the built-in parts ran too


def test_cascade_is_idempotent(services):
    holder = new_holder(services)
    recording = record(services, holder.device)
    with services.sessions() as db:
        receipt = delete_recordings(services, db, holder.account.id, [recording.id], OPERATOR, "cli")
        again = run(services, db, db.get(DeletionReceipt, receipt["id"]))
        assert again == receipt
        assert delete_recordings(services, db, holder.account.id, [], OPERATOR, "cli") is None
        second = delete_recordings(services, db, holder.account.id, [recording.id], OPERATOR, "cli")
    assert second["counts"]["recordings"] == 0  # already gone: a receipt that says so
    assert resume_pending_deletions(services) == 0
    assert count(services, AuditEvent, AuditEvent.action == "recording.deleted") == 2


def test_a_failure_half_way_is_completed_by_recovery(services):
    """Inject a failure after half the parts: the receipt stays pending and restart finishes it."""
    holder = new_holder(services)
    recordings = [record(services, holder.device, seconds=0.2) for _ in range(3)]
    add_task(services, recordings[0])

    def crash(services, db, recording_ids):
        raise RuntimeError("power cut")

    parts = list(services.deletion_parts)
    crashing = replace(services, deletion_parts=(*parts[:2], DeletionPart("crash", crash), *parts[2:]))  # before hypotheses
    with crashing.sessions() as db, pytest.raises(RuntimeError):
        delete_recordings(crashing, db, holder.account.id, [r.id for r in recordings], OPERATOR, "dashboard")
    with services.sessions() as db:
        pending = db.scalars(select(DeletionReceipt)).one()
        assert pending.status == 'pending'
        assert len(json.loads(pending.recording_ids)) == 3
    assert count(services, Recording) == 3  # the failed batch rolled back as a whole
    assert recover(services)["deletions_resumed"] == 1
    assert count(services, Recording) == 0
    assert count(services, Hypothesis) == 0
    assert count(services, ReviewTask) == 0
    assert set(services.blobs.ids()) == set()
    with services.sessions() as db:
        done = db.scalars(select(DeletionReceipt)).one()
        assert done.status == 'done'
        assert json.loads(done.counts)['recordings'] == 3


KILL_SCRIPT = """
import os, signal, sys
from dataclasses import replace
from sottovoce.accounts import deletion
from sottovoce.app_services import open_services
from sottovoce.core.audit import OPERATOR
from sottovoce.core.services import DeletionPart
from sottovoce.core.settings import Settings

def die(services, db, recording_ids):
    os.kill(os.getpid(), signal.SIGKILL)  # killed mid-cascade: the pending receipt is committed

services = open_services(Settings())
services = replace(services, deletion_parts=(*services.deletion_parts, DeletionPart("die", die)))
with services.sessions() as db:
    if sys.argv[1] == "close":
        deletion.close_account(services, db, sys.argv[2], OPERATOR, "cli")
    else:
        deletion.delete_recordings(services, db, sys.argv[2], sys.argv[3:], OPERATOR, "cli")
"""


@pytest.mark.parametrize("mode", ["delete", "close"])
def test_process_killed_mid_cascade_then_restart_completes_it(services, settings, env_for, mode):
    env = env_for(settings)
    holder = new_holder(services)
    recordings = [record(services, holder.device, seconds=0.2) for _ in range(3)]
    add_task(services, recordings[1])
    args = ["close", holder.account.id] if mode == "close" else ["delete", holder.account.id, *(r.id for r in recordings[:2])]
    killed = subprocess.run([sys.executable, "-c", KILL_SCRIPT, *args], env=env, capture_output=True, timeout=60)
    assert killed.returncode == -9
    with services.sessions() as db:
        assert db.scalars(select(DeletionReceipt.status)).all() == ["pending"]
        if mode == "close":  # the key went with the pending row, before anything else
            assert db.get(AccountKey, holder.account.id) is None
    restarted = open_services(settings)  # a fresh process's view: nothing cached
    try:
        assert recover(restarted)["deletions_resumed"] == 1
    finally:
        restarted.close()
    with services.sessions() as db:
        assert db.scalars(select(DeletionReceipt.status)).all() == ["done"]
        left = set(db.scalars(select(Recording.id)))
    assert left == (set() if mode == "close" else {recordings[2].id})
    assert set(services.blobs.ids()) == {r.audio_blob_id for r in recordings if r.id in left}
    assert count(services, ReviewTask) == 0


def test_cli_deletes_a_recording_and_closes_an_account(services, settings, env_for):
    env = env_for(settings)
    holder = new_holder(services)
    first, second = record(services, holder.device), record(services, holder.device)
    deleted = run_cli(env, "recordings", "delete", first.id, "--json")
    assert deleted.exit_code == 0, deleted.stderr
    assert json.loads(deleted.stdout)["counts"]["recordings"] == 1
    closed = run_cli(env, "accounts", "close", holder.account.id, "--json")
    assert closed.exit_code == 0, closed.stderr
    receipt = json.loads(closed.stdout)
    assert receipt['scope'] == 'account'
    assert receipt['counts']['recordings'] == 1
    with services.sessions() as db:
        events = db.scalars(select(AuditEvent).where(AuditEvent.action.in_(["recording.deleted", "account.closed"])).order_by(AuditEvent.seq)).all()
    assert [(e.action, e.actor, e.role) for e in events] == [("recording.deleted", "cli", "operator"), ("account.closed", "cli", "operator")]
    bad = run_cli(env, "recordings", "delete", second.id)  # gone with the account
    assert bad.exit_code == 1
    assert 'recording not found' in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
