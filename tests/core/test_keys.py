"""Master key providers and rotation: after `keys rotate` every blob still opens, the old master key
opens nothing in the database, and derived keys (TOTP sealing, watermarks ...) do not change."""

from __future__ import annotations

import base64
import stat

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, select

from sottovoce.app_services import open_services
from sottovoce.core.audit import OPERATOR
from sottovoce.core.crypto import (
    DERIVATION_ROOT,
    EitherKey,
    MasterKey,
    pending_rotation_file,
    rotate_master_key,
    write_new_key,
)
from sottovoce.core.errors import IntegrityFailure
from sottovoce.db.models import AccountKey, Recording, SystemKey
from sottovoce.recordings.store import load_audio
from sottovoce.staff.users import create_staff, totp_secret
from tests.holders import add_task, new_holder, record, run_cli
from tests.kms_toy import ToyKMS


def wrapped_rows(services) -> list[tuple[str, bytes]]:
    with services.sessions() as db:
        return [(a, w) for a, w in db.execute(select(AccountKey.account_id, AccountKey.wrapped_key))] + [
            (f"system/{n}", w) for n, w in db.execute(select(SystemKey.name, SystemKey.wrapped_key))
        ]


def everything_opens(services) -> int:
    """Every recording's audio blob (and each rendered clip's account key) opens with this instance's keys."""
    opened = 0
    with services.sessions() as db:
        for recording in db.scalars(select(Recording)).all():
            assert load_audio(services, db, recording).size > 0
            opened += 1
    return opened


@pytest.fixture
def populated(services):
    holders = [new_holder(services) for _ in range(3)]
    for h in holders:
        for i in range(2):
            recording = record(services, h.device, f"words {i}")
        add_task(services, recording, status="leased")
    with services.sessions() as db:
        staff = create_staff(services, db, OPERATOR, "rotator", "reviewer").user
        db.commit()
        staff_id = staff.id
    return holders, staff_id


def test_rotate_rewraps_account_keys_only_and_the_old_key_opens_nothing(services, settings, env_for, populated):
    _, staff_id = populated
    key_file = settings.resolved_key_file
    old = MasterKey.load(key_file)
    derived_before = services.keys.derived_key("forensic-watermark")
    with services.sessions() as db:
        totp_before = totp_secret(services, db.get(__import__("sottovoce.db.models", fromlist=["StaffUser"]).StaffUser, staff_id))
    blobs_before = {b.blob_id: services.blobs.get(b.blob_id) for b in services.blobs.listing()}

    result = run_cli(env_for(settings), "keys", "rotate", "--json")
    assert result.exit_code == 0, result.output
    assert '"account_keys": 3' in result.output
    assert '"system_keys": 1' in result.output

    assert not pending_rotation_file(key_file).exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    new = MasterKey.load(key_file)
    assert new.key_id != old.key_id
    # Blobs were not re-encrypted: byte for byte what they were.
    assert {b.blob_id: services.blobs.get(b.blob_id) for b in services.blobs.listing()} == blobs_before
    # A restarted process (the new key only) opens every blob, the TOTP secret, and derives the same keys.
    fresh = open_services(settings)
    try:
        assert everything_opens(fresh) == 6
        from sottovoce.db.models import StaffUser

        with fresh.sessions() as db:
            assert totp_secret(fresh, db.get(StaffUser, staff_id)) == totp_before
        assert fresh.keys.derived_key("forensic-watermark") == derived_before
    finally:
        fresh.close()
    # The old master key opens no wrapped row, and the derived keys are not derivable from it.
    rows = wrapped_rows(services)
    assert len(rows) == 4
    for context, wrapped in rows:
        with pytest.raises(IntegrityFailure):
            old.unwrap(wrapped, context)
        assert new.unwrap(wrapped, context)
    assert old.derive("forensic-watermark") != derived_before


def test_a_running_process_picks_up_the_rotated_key(services, settings, env_for, populated):
    holders, _ = populated
    result = run_cli(env_for(settings), "keys", "rotate")
    assert result.exit_code == 0, result.output
    for h in holders:
        services.keys.forget(h.account.id)  # nothing cached: the unwrap must use the new key
    assert everything_opens(services) == 6


def test_a_rotation_that_crashed_after_commit_is_finished_by_running_it_again(services, settings, env_for, populated):
    key_file = settings.resolved_key_file
    old, pending = MasterKey.load(key_file), pending_rotation_file(key_file)
    services.keys.derived_key("x")
    new = MasterKey(write_new_key(pending))
    with services.sessions() as db:  # committed, then "killed" before the key file was replaced
        rotate_master_key(db, old, new)
        db.commit()
    meanwhile = open_services(settings)
    try:
        assert isinstance(meanwhile.keys.provider, EitherKey)
        assert everything_opens(meanwhile) == 6  # servers keep working in between
    finally:
        meanwhile.close()
    result = run_cli(env_for(settings), "keys", "rotate", "--json")
    assert result.exit_code == 0, result.output
    assert '"already_rotated": 4' in result.output
    assert MasterKey.load(key_file).key_id == new.key_id
    assert not pending.exists()


def test_an_instance_from_before_the_derivation_root_keeps_its_derived_keys(services, settings, env_for, populated):
    with services.sessions() as db:  # as made before 0010: keys derived from the master key itself
        db.execute(delete(SystemKey).where(SystemKey.name == DERIVATION_ROOT))
        db.commit()
    legacy = MasterKey.load(settings.resolved_key_file).derive("dataset-split")
    fresh = open_services(settings)
    try:
        assert fresh.keys.derived_key("dataset-split") == legacy
    finally:
        fresh.close()
    assert run_cli(env_for(settings), "keys", "rotate").exit_code == 0
    rotated = open_services(settings)
    try:
        assert rotated.keys.derived_key("dataset-split") == legacy
    finally:
        rotated.close()


def test_env_provider_and_rotation_with_a_new_key_file(settings, tmp_path, env_for):
    key = base64.b64encode(b"\x07" * 32).decode()
    env_settings = settings.model_copy(update={"key_provider": "env", "master_key": SecretStr(key)})
    services = open_services(env_settings)
    try:
        holder = new_holder(services)
        record(services, holder.device)
    finally:
        services.close()
    assert not settings.resolved_key_file.exists()  # nothing written next to the database
    env = env_for(settings) | {"SOTTOVOCE_KEY_PROVIDER": "env", "SOTTOVOCE_MASTER_KEY": key}
    refused = run_cli(env, "keys", "rotate")
    assert refused.exit_code != 0
    assert '--new-key-file' in refused.output
    new_file = tmp_path / "new.key"
    assert run_cli(env, "keys", "generate", str(new_file)).exit_code == 0
    assert run_cli(env, "keys", "rotate", "--new-key-file", str(new_file)).exit_code == 0
    new_b64 = base64.b64encode(new_file.read_bytes()).decode()
    services = open_services(settings.model_copy(update={"key_provider": "env", "master_key": SecretStr(new_b64)}))
    try:
        assert everything_opens(services) == 1
    finally:
        services.close()


def test_bad_env_key_and_unknown_provider_are_refused(settings):
    from sottovoce.core.crypto import key_provider_from_settings

    for bad in ({"key_provider": "env", "master_key": SecretStr("c2hvcnQ=")}, {"key_provider": "env"}, {"key_provider": "vault"}):
        with pytest.raises(ValueError):
            key_provider_from_settings(settings.model_copy(update=bad))


def test_a_kms_plugin_wraps_account_keys_and_rotation_moves_them_to_its_newest_version(settings, env_for):
    ToyKMS.versions = [b"\x01" * 32]
    kms_settings = settings.model_copy(update={"key_provider": "tests.kms_toy:ToyKMS"})
    services = open_services(kms_settings)
    try:
        holder = new_holder(services)
        record(services, holder.device)
        assert services.keys.provider.key_id == "toy-kms:v1"
        assert not settings.resolved_key_file.exists()
        ToyKMS.versions.append(b"\x02" * 32)  # the KMS rotated its key
        env = env_for(settings) | {"SOTTOVOCE_KEY_PROVIDER": "tests.kms_toy:ToyKMS"}
        result = run_cli(env, "keys", "rotate", "--json")
        assert result.exit_code == 0, result.output
        assert all(w[0] == 1 for _, w in wrapped_rows(services))  # every row under the new version
        ToyKMS.versions[0] = b"\x00" * 32  # the old version destroyed in the KMS
        services.keys.forget(holder.account.id)
        assert everything_opens(services) == 1
    finally:
        services.close()
