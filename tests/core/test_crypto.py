import os
import stat

import pytest

from sottovoce.core.crypto import KeyRing, MasterKey, open_sealed, seal
from sottovoce.core.errors import IntegrityFailure, NotFound

KEY = bytes(range(32))


def test_sealed_value_opens_only_with_same_purpose_and_owner():
    sealed = seal(KEY, b"secret words", "hypothesis", "rec-1")
    assert open_sealed(KEY, sealed, "hypothesis", "rec-1") == b"secret words"
    with pytest.raises(IntegrityFailure):
        open_sealed(KEY, sealed, "hypothesis", "rec-2")  # moved onto another recording
    with pytest.raises(IntegrityFailure):
        open_sealed(KEY, sealed, "audio", "rec-1")


def test_tampered_ciphertext_fails_authentication():
    sealed = bytearray(seal(KEY, b"secret words", "audio", "r"))
    sealed[20] ^= 1
    with pytest.raises(IntegrityFailure):
        open_sealed(KEY, bytes(sealed), "audio", "r")


def test_sealing_twice_gives_different_ciphertexts():
    assert seal(KEY, b"x", "audio", "r") != seal(KEY, b"x", "audio", "r")


def test_master_key_file_is_created_private_and_reloaded(tmp_path):
    path = tmp_path / "keys" / "master.key"
    first = MasterKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = MasterKey.load_or_create(path)
    assert again.unwrap(first.wrap(b"k" * 32, "acct"), "acct") == b"k" * 32


def test_master_key_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "master.key"
    MasterKey.load_or_create(path)
    os.chmod(path, 0o644)
    with pytest.raises(PermissionError, match="readable by others"):
        MasterKey.load_or_create(path)


def test_shred_makes_every_copy_of_the_ciphertext_unreadable(services, account):
    with services.sessions() as db:
        sealed = services.keys.seal(db, account.id, b"audio bytes", "audio", "rec")
        backup_copy = bytes(sealed)
        services.keys.shred(db, account.id)
        db.commit()
    fresh = KeyRing(MasterKey.load_or_create(services.settings.resolved_key_file))  # a restarted process
    with services.sessions() as db:
        with pytest.raises(NotFound):
            fresh.open(db, account.id, backup_copy, "audio", "rec")
        with pytest.raises(NotFound):
            services.keys.open(db, account.id, backup_copy, "audio", "rec")


def test_data_keys_differ_between_accounts(services):
    from sottovoce.accounts.registry import create_account

    with services.sessions() as db:
        a = create_account(db, services.keys, "a")
        b = create_account(db, services.keys, "b")
        db.commit()
        sealed = services.keys.seal(db, a.id, b"x", "audio", "r")
        with pytest.raises(IntegrityFailure):
            open_sealed(services.keys.data_key(db, b.id), sealed, "audio", "r")
