"""The audit log: chain verification catches edit, removal, insertion, reordering, truncation and
a rewritten chain; the database refuses UPDATE/DELETE; reads fail closed."""

import json
import subprocess
import sys

import pytest
from sqlalchemy import text

from sottovoce.app_services import open_services
from sottovoce.core.audit import Actor, chain_hash, event_bytes, verify
from sottovoce.core.errors import AuditUnavailable

ASVS_LOG_INTEGRITY = pytest.mark.asvs("V16.4.2")  # logs protected from unauthorized modification
ACTOR = Actor("a" * 32, "reviewer")


def fill(services, n=30):
    with services.sessions() as db:
        for i in range(n):
            services.audit.append(db, ACTOR, "task.read_audio", f"t{i}", {"n": i})
        db.commit()


def check(services):
    with services.sessions() as db:
        return verify(db, services.audit.checkpoint_file, services.audit.public_key_pem())


def tamper(services, *statements):
    """Act as an attacker with database access: drop the append-only triggers, then edit."""
    with services.engine.begin() as conn:
        if services.engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        for statement in statements:
            conn.exec_driver_sql(statement)


def test_untouched_log_verifies(services):
    fill(services)
    result = check(services)
    assert result.ok
    assert result.events == 30
    assert result.first_bad_seq is None


@ASVS_LOG_INTEGRITY
@pytest.mark.parametrize(
    "label,statements,bad_seq",
    [
        ("edit", ["UPDATE audit_events SET details = '{\"n\":99}' WHERE seq = 12"], 12),
        ("edit actor", ["UPDATE audit_events SET actor = 'someone-else' WHERE seq = 3"], 3),
        ("remove", ["DELETE FROM audit_events WHERE seq = 7"], 7),
        ("reorder", ["UPDATE audit_events SET subject = 'swap' WHERE seq = 20",
                     "UPDATE audit_events SET subject = 't20' WHERE seq = 21",
                     "UPDATE audit_events SET subject = 't21' WHERE seq = 20"], 20),
        ("insert", ["UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 15",
                    "UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1015",
                    "INSERT INTO audit_events (seq, at, actor, role, action, subject, details, hash) "
                    "VALUES (15, '2026-01-01T00:00:00.000000Z', 'x', 'admin', 'forged', '', '{}', 'ab')"], 15),
    ],
)
def test_tampering_is_detected(services, label, statements, bad_seq):
    fill(services)
    tamper(services, *statements)
    result = check(services)
    assert not result.ok
    assert result.first_bad_seq == bad_seq


@ASVS_LOG_INTEGRITY
def test_truncation_after_a_checkpoint_is_detected(services):
    fill(services, 20)
    with services.sessions() as db:
        services.audit.checkpoint(db)
    tamper(services, "DELETE FROM audit_events WHERE seq > 15")
    result = check(services)
    assert not result.ok
    assert result.first_bad_seq == 16
    assert 'truncation' in result.reason


@ASVS_LOG_INTEGRITY
def test_a_fully_rewritten_chain_is_caught_by_the_signed_checkpoint(services):
    fill(services, 10)
    with services.sessions() as db:
        services.audit.checkpoint(db)
        rows = db.execute(text("SELECT seq, at, actor, role, action, subject, details FROM audit_events ORDER BY seq")).all()
    # The attacker edits event 4 and recomputes every hash after it: the chain is self-consistent...
    statements, prev = [], "0" * 64
    for seq, at, actor, role, action, subject, details in rows:
        if seq == 4:
            details = '{"n":400}'
        prev = chain_hash(prev, seq, event_bytes(at, actor, role, action, subject, details))
        statements.append(f"UPDATE audit_events SET details = '{details}', hash = '{prev}' WHERE seq = {seq}")
    tamper(services, *statements)
    result = check(services)
    # ...but its head no longer matches the head the checkpoint signed.
    assert not result.ok
    assert result.first_bad_seq == 10
    assert 'rewritten' in result.reason


@ASVS_LOG_INTEGRITY
def test_a_forged_checkpoint_signature_is_detected(services):
    fill(services, 5)
    with services.sessions() as db:
        services.audit.checkpoint(db)
    entry = json.loads(services.audit.checkpoint_file.read_text())
    entry["head"] = "f" * 64
    services.audit.checkpoint_file.write_text(json.dumps(entry) + "\n")
    assert "signature" in check(services).reason


@ASVS_LOG_INTEGRITY
@pytest.mark.parametrize("statement", ["UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"])
def test_database_refuses_update_and_delete(services, statement):
    fill(services, 3)
    with pytest.raises(Exception, match="append-only"):
        with services.engine.begin() as conn:
            conn.exec_driver_sql(statement)
    assert check(services).ok


def test_a_commit_of_appended_events_that_crosses_n_is_checkpointed(services):
    """Regression: only ``record`` checked for a checkpoint, so ordinary appends never made one."""
    services.audit.checkpoint_every = 10
    fill(services, 25)  # appends in one transaction, then one commit
    lines = services.audit.checkpoint_file.read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [25]
    assert check(services).newest_checkpoint_seq == 25


def test_the_timer_checkpoints_whatever_the_traffic(services):
    fill(services, 3)
    services.audit.checkpoint_seconds = 0
    first = services.audit.checkpoint_if_due(services.sessions)
    assert first["seq"] == 3
    assert services.audit.checkpoint_if_due(services.sessions) is None  # nothing new: nothing signed
    fill(services, 2)
    assert services.audit.checkpoint_if_due(services.sessions)["seq"] == 5


def test_a_cli_command_that_appended_checkpoints_at_exit(services, make_account, make_recording, settings, env_for):
    _, device = make_account()
    recording = make_recording(device)
    env = env_for(settings)
    shown = subprocess.run([sys.executable, "-m", "sottovoce", "recordings", "show", recording.id], env=env, capture_output=True, text=True)
    assert shown.returncode == 0  # an audited read: the CLI appended, so it signs the head as it exits
    with services.sessions() as db:
        head = db.scalar(text("SELECT MAX(seq) FROM audit_events"))
    assert json.loads(services.audit.checkpoint_file.read_text().splitlines()[-1])["seq"] == head


@ASVS_LOG_INTEGRITY
def test_deleting_the_newest_events_after_a_restart_is_detected(services, settings):
    """Regression: ~990 events and 5 restarts left no checkpoint, so deleting the last 30 events
    (with the triggers dropped, as a database administrator could) verified as ok."""

    for _ in range(5):  # five processes come and go, each appending a little
        instance = open_services(settings)
        fill(instance, 20)
        instance.close()
    tamper(services, "DELETE FROM audit_events WHERE seq > 70", "UPDATE audit_head SET seq = 70")
    result = check(services)
    assert not result.ok
    assert 'truncation' in result.reason


@ASVS_LOG_INTEGRITY
def test_what_an_attacker_with_database_access_can_still_hide(services):
    """docs/security.md: events after the newest checkpoint can be removed unseen if the attacker
    also moves the head row back; the window is reported as the newest checkpoint's age."""
    fill(services, 20)
    services.audit.checkpoint_if_behind(services.sessions)
    fill(services, 5)
    tamper(services, "DELETE FROM audit_events WHERE seq > 20")
    assert "truncation" in check(services).reason  # the head row still says 25
    tamper(services, "UPDATE audit_head SET seq = 20")
    hidden = check(services)
    assert hidden.ok  # the documented limit: the 5 unsigned events are gone unseen
    assert hidden.events == 20
    assert hidden.newest_checkpoint_seq == 20
    assert hidden.newest_checkpoint_age_s is not None


def test_checkpoint_is_written_every_n_events(services):
    services.audit.checkpoint_every = 10
    with services.sessions() as db:
        for i in range(25):
            services.audit.record(db, ACTOR, "task.read_audio", f"t{i}")
    lines = services.audit.checkpoint_file.read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [10, 20]
    assert check(services).checkpoints == 2


def break_audit_inserts(services):
    """Inject a storage failure: every insert into the audit log now fails."""
    with services.engine.begin() as conn:
        if services.engine.dialect.name == "postgresql":
            conn.execute(text("CREATE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$"))
            conn.execute(text("CREATE TRIGGER audit_broken BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fail_insert()"))
        else:
            conn.execute(text("CREATE TRIGGER audit_broken BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END"))


@pytest.mark.asvs("V16.5.3")  # fail securely
def test_record_fails_closed_when_the_log_cannot_be_written(services):
    break_audit_inserts(services)
    with services.sessions() as db, pytest.raises(AuditUnavailable):
        services.audit.record(db, ACTOR, "task.read_audio", "t1")


@pytest.mark.asvs("V16.5.3")
def test_transcript_is_not_shown_when_the_read_cannot_be_audited(services, device, settings, env_for):
    from sottovoce.recordings.ingest import commit_ingest, ingest
    from sottovoce.recordings.metadata import parse_metadata
    from tests.factories import demo_clip

    words = [{"word": "marmalade", "start": 0.1, "end": 0.5, "confidence": 0.5}]
    with services.sessions() as db:
        recording = ingest(services, db, device, demo_clip(), parse_metadata(json.dumps({"hypothesis": {"words": words}})))
        commit_ingest(services, db, recording)
    env = env_for(settings)
    shown = subprocess.run([sys.executable, "-m", "sottovoce", "recordings", "show", recording.id], env=env, capture_output=True, text=True)
    assert shown.returncode == 0
    assert 'marmalade' in shown.stdout
    break_audit_inserts(services)
    refused = subprocess.run([sys.executable, "-m", "sottovoce", "recordings", "show", recording.id], env=env, capture_output=True, text=True)
    assert refused.returncode == 1
    assert "marmalade" not in refused.stdout + refused.stderr
    assert "audit log is unavailable" in refused.stderr


def test_cli_verify_reports_tampering(services, settings, env_for):
    fill(services, 5)
    env = env_for(settings)
    ok = subprocess.run([sys.executable, "-m", "sottovoce", "audit", "verify", "--json"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0
    assert json.loads(ok.stdout) == {"ok": True, "events": 5, "first_bad_seq": None, "reason": None, "checkpoints": 0,
                                     "newest_checkpoint_seq": None, "newest_checkpoint_age_s": None}
    tamper(services, "UPDATE audit_events SET action = 'nothing' WHERE seq = 2")
    bad = subprocess.run([sys.executable, "-m", "sottovoce", "audit", "verify", "--json"], env=env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)['first_bad_seq'] == 2
