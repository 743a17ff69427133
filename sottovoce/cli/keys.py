"""`sottovoce keys ...`: the master key: which one is in use, and rotating it without re-encrypting blobs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit, fail

app = typer.Typer(no_args_is_help=True, help="Master key: status and rotation (account keys are re-wrapped; blobs are untouched).")


@app.command("status")
def status_command(as_json: JsonOption = False) -> None:
    """Show the key provider and the fingerprint of the master key in use (never the key)."""
    with domain_errors(), open_services() as services:
        report = {"provider": services.settings.key_provider, "key_id": services.keys.provider.key_id}
    emit(report, as_json, lambda r: f"{r['provider']}: {r['key_id']}")


@app.command("generate")
def generate_command(path: Annotated[Path, typer.Argument(help="New key file to create (mode 0600; must not exist).")]) -> None:
    """Write a new random master key to PATH, e.g. to hand to `keys rotate --new-key-file`."""
    from sottovoce.core.crypto import MasterKey, write_new_key

    try:
        key = MasterKey(write_new_key(path))
    except FileExistsError:
        fail(f"{path} already exists; a key file is never overwritten")
    typer.echo(key.key_id)


@app.command("rotate")
def rotate_command(
    new_key_file: Annotated[Path | None, typer.Option(
        "--new-key-file", help="The new master key (32 raw bytes, e.g. from `keys generate`). Needed for the 'env' and "
        "'secret-file' providers; the 'file' provider makes one itself.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Re-wrap every account key (and the derivation root) under a new master key, in one transaction.

    Blobs and sealed columns are not touched: they are sealed by the account keys, which do not change.
    With the 'file' provider the new key replaces KEY_FILE when the transaction has committed; a
    crash in between is finished by running this command again (servers read either key meanwhile).
    With other providers, point the fleet at the new key next (running servers fail to unwrap keys
    they have not cached until they restart with it). A KMS plug-in with no --new-key-file re-wraps
    under the KMS's current key version.
    """
    from sottovoce.core.audit import OPERATOR
    from sottovoce.core.crypto import (
        EitherKey,
        KeyProvider,
        MasterKey,
        pending_rotation_file,
        rotate_master_key,
        write_new_key,
    )

    with domain_errors(), open_services() as services:
        settings = services.settings
        provider = services.keys.provider
        old: KeyProvider = provider.current if isinstance(provider, EitherKey) else provider
        services.keys.derived_key("rotation")  # makes the derivation root row first, so it is carried over
        pending: Path | None = None
        new: KeyProvider
        if new_key_file is not None:
            new = MasterKey.load(new_key_file)
        elif settings.key_provider == "file":
            pending = pending_rotation_file(settings.resolved_key_file)
            new = MasterKey.load(pending) if pending.exists() else MasterKey(write_new_key(pending))
        elif ":" in settings.key_provider:
            new = old  # the KMS wraps with its newest key version
        else:
            fail(f"the '{settings.key_provider}' provider needs --new-key-file (make one with `sottovoce keys generate`)")
        if new.key_id == old.key_id and new is not old:
            fail("the new key is the key in use")
        with services.sessions() as db:
            counts = rotate_master_key(db, old, new)
            services.audit.append(db, OPERATOR, "keys.rotated", "", {"from": old.key_id, "to": new.key_id, **counts})
            db.commit()
        if pending is not None:  # only now is the new key the one everything is wrapped by
            key_file = settings.resolved_key_file
            os.replace(pending, key_file)
            dir_fd = os.open(key_file.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        report = {"from": old.key_id, "to": new.key_id, **counts}
    emit(report, as_json, lambda r: f"re-wrapped {r['account_keys']} account keys and {r['system_keys']} system keys: "
         f"{r['from']} -> {r['to']}")
