"""`sottovoce staff ...`: staff members (the operator at the server's shell acts here)."""

from __future__ import annotations

from typing import Annotated

import typer

from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit
from sottovoce.staff.roles import ROLES

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Staff members: reviewers, supervisors, privacy officers, admins.")


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    as_json: JsonOption = False,
) -> None:
    """Create a staff member; prints a one-time password and the TOTP provisioning URI once."""
    from sottovoce.core.audit import OPERATOR
    from sottovoce.staff.users import create_staff

    with domain_errors(), open_services() as services, services.sessions() as db:
        new = create_staff(services, db, OPERATOR, name, role)
        db.commit()
        data = {"id": new.user.id, "name": new.user.name, "role": new.user.role, "password": new.password, "totp_uri": new.totp_uri}
        emit(data, as_json, lambda d: f"{d['name']} ({d['role']})\none-time password: {d['password']}\nTOTP: {d['totp_uri']}")


@app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="Sign-in name.")], as_json: JsonOption = False) -> None:
    """Disable a staff member and end all of their sessions."""
    from sottovoce.core.audit import OPERATOR
    from sottovoce.staff.users import disable_staff

    with domain_errors(), open_services() as services, services.sessions() as db:
        user = disable_staff(services, db, OPERATOR, name)
        db.commit()
        emit({"id": user.id, "name": user.name, "disabled": True}, as_json, lambda d: f"disabled {d['name']}")


@app.command("shift")
def shift(
    name: Annotated[str, typer.Argument(help="Sign-in name.")],
    start: Annotated[int, typer.Option("--start", help="First hour of the shift, 0-23, local time.", min=0, max=23)],
    end: Annotated[int, typer.Option("--end", help="Hour the shift ends, 1-24, local time (below --start: past midnight).", min=1, max=24)],
    time_zone: Annotated[str, typer.Option("--time-zone", help="IANA time zone, e.g. Europe/Rome.")] = "UTC",
    as_json: JsonOption = False,
) -> None:
    """Set a staff member's shift hours in their time zone (the off-shift abuse rule uses them)."""
    from sottovoce.core.audit import OPERATOR
    from sottovoce.staff.shifts import set_shift
    from sottovoce.staff.users import get_by_name

    with domain_errors(), open_services() as services, services.sessions() as db:
        user = get_by_name(db, name)
        new = set_shift(services, db, OPERATOR, user, start, end, time_zone)
        db.commit()
        emit({"name": user.name, "shift": str(new), "start": new.start, "end": new.end, "time_zone": new.time_zone}, as_json,
             lambda d: f"{d['name']}: shift {d['shift']}")


@app.command("list")
def list_staff(as_json: JsonOption = False) -> None:
    """List staff members and their state."""
    from sqlalchemy import select

    from sottovoce.db.models import StaffUser
    from sottovoce.staff.shifts import shift_of

    with domain_errors(), open_services() as services, services.sessions() as db:
        rows = [
            {"name": u.name, "role": u.role, "disabled": u.disabled_at is not None, "shift": str(shift_of(u, services.settings)),
             "own_shift": u.shift_start_hour is not None}
            for u in db.scalars(select(StaffUser).order_by(StaffUser.name))
        ]
        emit(rows, as_json, lambda rs: "\n".join(
            f"{r['name']:20} {r['role']:16} {'disabled' if r['disabled'] else 'active':9} shift {r['shift']}{'' if r['own_shift'] else ' (default)'}" for r in rs))
