"""`sottovoce trace LEAKED_FILE`: name the reviewer(s) a leaked clip was served to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit, fail
from sottovoce.core.errors import SottovoceError


def _human(found: dict) -> str:
    if not found["matches"]:
        text = "no match: no served clip's watermark was found"
    else:
        text = "\n".join(
            f"served to {m['reviewer']} (task {m['task']}), confidence {m['confidence']}, score {m['score']}"
            for m in found["matches"]
        )
    notes = found["decoding"]["notes"]
    return text + "".join(f"\nnote: {note}" for note in notes)


def trace_command(
    leaked_file: Annotated[Path, typer.Argument(help="The leaked audio or video (any format FFmpeg or sox reads; damaged files are read as far as possible).")],
    as_json: JsonOption = False,
) -> None:
    """Look for reviewers' watermarks in a leaked clip; prints every reviewer whose mark is present (task, confidence), or no match."""
    if as_json:
        # --json always prints JSON, errors included (with exit status 1), so scripts that
        # trace many files never have to parse stderr.
        try:
            found = _trace(leaked_file)
        except SottovoceError as exc:
            emit({"error": exc.message, "reviewer": None, "task": None, "confidence": 0.0, "matches": []}, True)
            raise typer.Exit(1) from None
        except OSError as exc:
            emit({"error": f"{leaked_file}: cannot read ({exc.strerror})", "reviewer": None, "task": None, "confidence": 0.0, "matches": []}, True)
            raise typer.Exit(1) from None
        except Exception as exc:  # noqa: BLE001 - the promise is JSON whatever happens
            emit({"error": f"trace failed ({type(exc).__name__})", "reviewer": None, "task": None, "confidence": 0.0, "matches": []}, True)
            raise typer.Exit(1) from None
        emit(found, True)
        return
    try:
        leaked_file.stat()
    except OSError as exc:
        fail(f"{leaked_file}: cannot read ({exc.strerror})")
    with domain_errors():
        found = _trace(leaked_file)
    emit(found, False, _human)


def _trace(leaked_file: Path) -> dict:
    from sottovoce.core.audit import OPERATOR
    from sottovoce.forensics.tracing import trace_file

    data = leaked_file.read_bytes()
    with open_services() as services, services.sessions() as db:
        return trace_file(services, db, data, OPERATOR, filename=leaked_file.name)
