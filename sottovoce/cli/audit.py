"""`sottovoce audit ...`: verify the hash chain, read recent events, write a checkpoint."""

from __future__ import annotations

from typing import Annotated

import typer

from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="The hash-chained audit log.")


@app.command("verify")
def verify_command(as_json: JsonOption = False) -> None:
    """Recompute the chain and check signed checkpoints; exit 1 if anything was tampered with."""
    from sottovoce.core.audit import verify

    with domain_errors(), open_services() as services, services.sessions() as db:
        result = verify(db, services.audit.checkpoint_file, services.audit.public_key_pem())
    emit(
        result.as_dict(), as_json,
        lambda r: f"ok: {r['events']} events, {r['checkpoints']} checkpoints" if r["ok"] else f"TAMPERED at event {r['first_bad_seq']}: {r['reason']}",
    )
    if not result.ok:
        raise typer.Exit(1)


@app.command("tail")
def tail(n: Annotated[int, typer.Option("-n", help="How many events.", min=1)] = 20, as_json: JsonOption = False) -> None:
    """Show the most recent events, oldest first."""
    from sqlalchemy import select

    from sottovoce.db.models import AuditEvent

    with domain_errors(), open_services() as services, services.sessions() as db:
        events = list(reversed(db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(n)).all()))
        rows = [{"seq": e.seq, "at": e.at, "actor": e.actor, "role": e.role, "action": e.action, "subject": e.subject, "details": e.details} for e in events]
    emit(rows, as_json, lambda rs: "\n".join(f"{r['seq']:>7} {r['at']} {r['role']:>15}:{r['actor'][:8]:8} {r['action']:24} {r['subject'][:8]} {r['details']}" for r in rs))


@app.command("checkpoint")
def checkpoint(as_json: JsonOption = False) -> None:
    """Sign the current head now (also done every N events and at shutdown)."""
    with domain_errors(), open_services() as services, services.sessions() as db:
        entry = services.audit.checkpoint(db)
    emit(entry or {}, as_json, lambda e: f"checkpoint at event {e['seq']}" if e else "the log is empty")
