"""`sottovoce accounts ...`: account holders: create, sign-in links, export, close."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sottovoce.accounts.registry import create_account
from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from sottovoce.db.models import Account

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


def _find(db: Session, ident: str) -> Account:
    """An account by id or by name (operators know either)."""
    from sqlalchemy import select

    from sottovoce.core.errors import NotFound
    from sottovoce.db.models import Account

    account = db.get(Account, ident) or db.scalar(select(Account).where(Account.name == ident))
    if account is None:
        raise NotFound("account")
    return account


@app.command("login-link")
def login_link(
    name: Annotated[str, typer.Argument(help="Account name (or id).")],
    as_json: JsonOption = False,
) -> None:
    """Print a one-time sign-in link to the account's privacy dashboard (expires in 15 minutes by default)."""
    from sottovoce.accounts.signin import issue_link
    from sottovoce.core.audit import OPERATOR

    with domain_errors(), open_services() as services, services.sessions() as db:
        link = issue_link(services, db, _find(db, name), OPERATOR)
        db.commit()
        emit({"url": link.url, "expires_at": link.expires_at.isoformat()}, as_json, lambda d: d["url"])


@app.command("close")
def close(
    account_id: Annotated[str, typer.Argument(help="Account id.")],
    as_json: JsonOption = False,
) -> None:
    """Close an account: destroy its data key, delete every recording and row of it; prints the receipt."""
    from sottovoce.accounts.deletion import close_account, scrub_now
    from sottovoce.core.audit import OPERATOR

    with domain_errors(), open_services() as services, services.sessions() as db:
        receipt = close_account(services, db, account_id, OPERATOR, "cli")
        scrub_now(services)  # before exiting: the deleted pages leave the SQLite WAL now
        emit(receipt, as_json, lambda r: f"closed; receipt {r['id']}: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(r["counts"].items()) if n))


@app.command("export")
def export(
    account_id: Annotated[str, typer.Argument(help="Account id.")],
    out: Annotated[Path, typer.Option("--out", help="Zip file to write (must not exist).")],
    as_json: JsonOption = False,
) -> None:
    """Write everything held about the account (audio and a JSON of all data) to a zip file."""
    from sottovoce.accounts.data_export import start_export
    from sottovoce.core.audit import OPERATOR
    from sottovoce.core.errors import Conflict

    with domain_errors(), open_services() as services, services.sessions() as db:
        if out.exists():
            raise Conflict(f"{out} already exists; choose another --out")
        _name, chunks = start_export(services, db, account_id, OPERATOR, "cli")
        size = _write_atomically(out, chunks)
        emit({"path": str(out), "bytes": size}, as_json, lambda d: f"wrote {d['path']} ({d['bytes']} bytes)")


def _write_atomically(path: Path, chunks: Iterable[bytes]) -> int:
    """Temp file (0600) next to the target, renamed when complete: a failed export leaves nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".export-", suffix=".part")
    size = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
                size += len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size
