"""`sottovoce retention ...`: run the retention sweep now (the server also runs it periodically)."""

from __future__ import annotations

import typer

from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Retention: delete recordings past their account's retention.")


@app.command("sweep")
def sweep_command(as_json: JsonOption = False) -> None:
    """Delete recordings past retention, and likely accidental activations past the grace period."""
    from sottovoce.accounts.retention import ACCIDENTAL, RETENTION, sweep

    with domain_errors(), open_services() as services:
        report = sweep(services)
    emit(
        report, as_json,
        lambda r: f"retention: {r[RETENTION]['recordings']} recordings of {r[RETENTION]['accounts']} accounts; "
        f"accidental: {r[ACCIDENTAL]['recordings']} recordings of {r[ACCIDENTAL]['accounts']} accounts",
    )
