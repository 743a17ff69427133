"""`sottovoce accounts ...`: account holders."""

from __future__ import annotations

from typing import Annotated

import typer

from sottovoce.accounts import create_account
from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit

app = typer.Typer(no_args_is_help=True, help="Account holders.")


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A unique name for the account.")],
    consent_review: Annotated[bool, typer.Option("--consent-review", help="Consent to human review.")] = False,
    consent_training: Annotated[bool, typer.Option("--consent-training", help="Consent to training use.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Create an account (and its data key)."""
    with domain_errors(), open_services() as services, services.sessions() as db:
        account = create_account(db, services.keys, name, consent_review, consent_training)
        db.commit()
        emit({"id": account.id}, as_json, lambda d: d["id"])
