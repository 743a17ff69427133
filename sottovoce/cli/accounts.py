"""`sottovoce accounts ...`: account holders: create, list, sign-in links, export, close.

Accounts are named by name or id. Domain modules are imported inside each command, so that
`sottovoce --help` stays fast (benchmarks/cli_bench.py).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Account holders.")
AccountArg = Annotated[str, typer.Argument(help="Account name (or id).")]


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A unique name for the account.")],
    consent_review: Annotated[bool, typer.Option("--consent-review", help="Consent to human review.")] = False,
    consent_training: Annotated[bool, typer.Option("--consent-training", help="Consent to training use.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Create an account (and its data key); consent given here is recorded like any consent change."""
    from sottovoce.accounts.consent import HUMAN_REVIEW, TRAINING, set_consent
    from sottovoce.accounts.registry import create_account
    from sottovoce.core.audit import OPERATOR

    with domain_errors(), open_services() as services, services.sessions() as db:
        account = create_account(db, services.keys, name)
        services.audit.append(db, OPERATOR, "account.create", account.id, {"channel": "cli"})
        for purpose, given in ((HUMAN_REVIEW, consent_review), (TRAINING, consent_training)):
            if given:  # the holder's consent was collected by the operator: who, when and how is kept
                set_consent(services, db, account, purpose, True, OPERATOR, "cli")
        db.commit()
        emit({"id": account.id, "name": account.name}, as_json, lambda d: d["id"])


@app.command("list")
def list_accounts(as_json: JsonOption = False) -> None:
    """List accounts: name, id, consent, devices and recordings."""
    from sqlalchemy import func, select

    from sottovoce.db.models import Account, Device, Recording

    with domain_errors(), open_services() as services, services.sessions() as db:
        devices = dict(db.execute(select(Device.account_id, func.count()).where(Device.revoked_at.is_(None)).group_by(Device.account_id)).all())
        recordings = dict(db.execute(select(Recording.account_id, func.count()).group_by(Recording.account_id)).all())
        rows = [
            {"id": a.id, "name": a.name, "consent_review": a.consent_human_review, "consent_training": a.consent_training,
             "retention": a.retention, "devices": devices.get(a.id, 0), "recordings": recordings.get(a.id, 0)}
            for a in db.scalars(select(Account).order_by(Account.name))
        ]
    emit(rows, as_json, lambda rs: "\n".join(
        f"{r['name']:20} {r['id']}  review:{'yes' if r['consent_review'] else 'no':3} training:{'yes' if r['consent_training'] else 'no':3} "
        f"{r['devices']} devices, {r['recordings']} recordings" for r in rs) or "no accounts")


@app.command("login-link")
def login_link(name: AccountArg, as_json: JsonOption = False) -> None:
    """Print a one-time sign-in link to the account's privacy dashboard (SOTTOVOCE_PUBLIC_URL sets its base)."""
    from sottovoce.accounts.registry import find_account
    from sottovoce.accounts.signin import issue_link
    from sottovoce.core.audit import OPERATOR

    with domain_errors(), open_services() as services, services.sessions() as db:
        link = issue_link(services, db, find_account(db, name), OPERATOR)
        db.commit()
        emit({"url": link.url, "expires_at": link.expires_at.isoformat()}, as_json, lambda d: d["url"])


@app.command("close")
def close(account: AccountArg, as_json: JsonOption = False) -> None:
    """Close an account: destroy its data key, delete every recording and row of it; prints the receipt."""
    from sottovoce.accounts.deletion import close_account, scrub_now
    from sottovoce.accounts.registry import find_account
    from sottovoce.core.audit import OPERATOR

    with domain_errors(), open_services() as services, services.sessions() as db:
        account_id = find_account(db, account).id
        receipt = close_account(services, db, account_id, OPERATOR, "cli")
        scrub_now(services)  # before exiting: the deleted pages leave the SQLite WAL now
        emit(receipt, as_json, lambda r: f"closed; receipt {r['id']}: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(r["counts"].items()) if n))


@app.command("export")
def export(
    account: AccountArg,
    out: Annotated[Path, typer.Option("--out", help="Zip file to write (must not exist; its folder must).")],
    as_json: JsonOption = False,
) -> None:
    """Write everything held about the account (audio and a JSON of all data) to a zip file."""
    from sottovoce.accounts.data_export import start_export
    from sottovoce.accounts.registry import find_account
    from sottovoce.core.audit import OPERATOR
    from sottovoce.core.errors import Conflict, InvalidInput

    with domain_errors(), open_services() as services, services.sessions() as db:
        if out.exists():
            raise Conflict(f"{out} already exists; choose another --out")
        if not out.parent.is_dir():  # a typo in the path must not create folders somewhere
            raise InvalidInput(f"folder {out.parent} does not exist; create it first or choose another --out")
        _name, chunks = start_export(services, db, find_account(db, account).id, OPERATOR, "cli")
        size = _write_atomically(out, chunks)
        emit({"path": str(out), "bytes": size}, as_json, lambda d: f"wrote {d['path']} ({d['bytes']} bytes)")


def _write_atomically(path: Path, chunks: Iterable[bytes]) -> int:
    """Temp file (0600) next to the target, renamed when complete: a failed export leaves nothing."""
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
