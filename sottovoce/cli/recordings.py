"""`sottovoce recordings ...`: operator view of stored recordings."""

from __future__ import annotations

from typing import Annotated

import typer

from sottovoce.audit import OPERATOR
from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit
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
