"""`sottovoce recordings ...`: operator view of stored recordings, and deleting one."""

from __future__ import annotations

from typing import Annotated

import typer

from sottovoce.accounts.deletion import delete_recordings, scrub_now
from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit
from sottovoce.core.audit import OPERATOR
from sottovoce.recordings.store import describe, get_recording

app = typer.Typer(no_args_is_help=True, help="Stored recordings.")


def _human(d: dict) -> str:
    lines = [f"{d['id']}  {d['status']}  {d['duration_s']} s  captured {d['captured_at']}"]
    if d["hypothesis"]:
        lines.append("  " + " ".join(f"{w['word']}({w['confidence']:.2f})" for w in d["hypothesis"]["words"]))
    if d["failure_reason"]:
        lines.append(f"  failed: {d['failure_reason']}")
    return "\n".join(lines)


@app.command("show")
def show(recording_id: Annotated[str, typer.Argument(help="Recording id.")], as_json: JsonOption = False) -> None:
    """Show a recording's status and transcript (decrypted in memory)."""
    with domain_errors(), open_services() as services, services.sessions() as db:
        recording = get_recording(db, recording_id)
        # A transcript read by staff is audited first; if the event cannot be written, nothing is shown.
        services.audit.record(db, OPERATOR, "recording.read_transcript", recording.id)
        emit(describe(services, db, recording), as_json, _human)


@app.command("delete")
def delete(recording_id: Annotated[str, typer.Argument(help="Recording id.")], as_json: JsonOption = False) -> None:
    """Delete a recording and everything derived from it (the one cascade); prints the receipt."""
    with domain_errors(), open_services() as services, services.sessions() as db:
        recording = get_recording(db, recording_id)
        receipt = delete_recordings(services, db, recording.account_id, [recording.id], OPERATOR, "cli")
        scrub_now(services)  # before exiting: the deleted pages leave the SQLite WAL now
        emit(receipt, as_json, _receipt_line)


def _receipt_line(receipt: dict) -> str:
    counts = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(receipt["counts"].items()) if n)
    return f"receipt {receipt['id']}: {counts or 'nothing'}"
