"""`sottovoce devices ...`: microphones that send recordings."""

from __future__ import annotations

from typing import Annotated

import typer

from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Devices and their tokens.")


@app.command("add")
def add(
    account: Annotated[str, typer.Option("--account", help="Name (or id) of the account that owns the device.")],
    serial: Annotated[str, typer.Option("--serial", help="The device's serial number (one active device per serial).")],
    name: Annotated[str, typer.Option("--name", help="A friendly name shown to the owner.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Register a device; its bearer token is printed once and never stored."""
    from sottovoce.accounts.registry import add_device, find_account
    from sottovoce.core.audit import OPERATOR

    with domain_errors(), open_services() as services, services.sessions() as db:
        owner = find_account(db, account)
        device, token = add_device(db, owner.id, serial, name)
        services.audit.append(db, OPERATOR, "device.add", device.id, {"account": owner.id, "channel": "cli"})
        db.commit()
        emit({"id": device.id, "token": token}, as_json, lambda d: f"device {d['id']}\ntoken  {d['token']}")


@app.command("list")
def list_devices(
    account: Annotated[str | None, typer.Option("--account", help="Only this account's devices (name or id).")] = None,
    as_json: JsonOption = False,
) -> None:
    """List devices: id, account, serial, name and whether revoked (tokens are never shown again)."""
    from sqlalchemy import select

    from sottovoce.accounts.registry import find_account
    from sottovoce.db.models import Account, Device

    with domain_errors(), open_services() as services, services.sessions() as db:
        query = select(Device, Account.name).join(Account, Account.id == Device.account_id).order_by(Account.name, Device.created_at)
        if account:
            query = query.where(Device.account_id == find_account(db, account).id)
        rows = [
            {"id": d.id, "account": owner, "serial": d.serial, "name": d.name, "revoked": d.revoked_at is not None}
            for d, owner in db.execute(query).all()
        ]
    emit(rows, as_json, lambda rs: "\n".join(
        f"{r['id']}  {r['account']:16} {r['serial']:16} {r['name']:12} {'revoked' if r['revoked'] else 'active'}" for r in rs) or "no devices")


@app.command("revoke")
def revoke(device: Annotated[str, typer.Argument(help="Device id.")], as_json: JsonOption = False) -> None:
    """Revoke a device token: later uploads with it are refused."""
    from sottovoce.accounts.registry import revoke_device
    from sottovoce.core.audit import OPERATOR

    with domain_errors(), open_services() as services, services.sessions() as db:
        revoke_device(db, device)
        services.audit.append(db, OPERATOR, "device.revoke", device, {"channel": "cli"})
        db.commit()
        emit({"id": device, "revoked": True}, as_json, lambda d: f"revoked {d['id']}")
