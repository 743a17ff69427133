"""`sottovoce trace LEAKED_FILE`: name the reviewer a leaked clip was served to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit, fail


def trace_command(
    leaked_file: Annotated[Path, typer.Argument(help="The leaked audio (any format FFmpeg reads).")],
    as_json: JsonOption = False,
) -> None:
    """Look for a reviewer's watermark in a leaked clip; prints the reviewer, task and confidence, or no match."""
    from sottovoce.core.audit import OPERATOR
    from sottovoce.forensics.tracing import trace_file

    try:
        data = leaked_file.read_bytes()
    except OSError as exc:
        fail(f"{leaked_file}: cannot read ({exc.strerror})")
    with domain_errors(), open_services() as services, services.sessions() as db:
        found = trace_file(services, db, data, OPERATOR)
    if as_json:
        emit(found or {"reviewer": None, "task": None, "confidence": 0.0}, True)
    else:
        emit(found, False, lambda f: f"served to {f['reviewer']} (task {f['task']}), confidence {f['confidence']}" if f else "no match: no served clip's watermark was found")
