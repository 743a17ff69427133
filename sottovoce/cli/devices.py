"""`sottovoce devices ...`: microphones that send recordings."""

from __future__ import annotations

from typing import Annotated

import typer

from sottovoce.accounts.registry import add_device, revoke_device
from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit

app = typer.Typer(no_args_is_help=True, help="Devices and their tokens.")


@app.command("add")
def add(
    account: Annotated[str, typer.Option("--account", help="Account id that owns the device.")],
    serial: Annotated[str, typer.Option("--serial", help="The device's serial number.")],
    name: Annotated[str, typer.Option("--name", help="A friendly name shown to the owner.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Register a device; its bearer token is printed once and never stored."""
    with domain_errors(), open_services() as services, services.sessions() as db:
        device, token = add_device(db, account, serial, name)
        db.commit()
        emit({"id": device.id, "token": token}, as_json, lambda d: f"device {d['id']}\ntoken  {d['token']}")


@app.command("revoke")
def revoke(device: Annotated[str, typer.Argument(help="Device id.")], as_json: JsonOption = False) -> None:
    """Revoke a device token: later uploads with it are refused."""
    with domain_errors(), open_services() as services, services.sessions() as db:
        revoke_device(db, device)
        db.commit()
        emit({"id": device, "revoked": True}, as_json, lambda d: f"revoked {d['id']}")
