"""`sottovoce recordings ...`: operator view of stored recordings, and deleting one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Stored recordings.")


def _human(d: dict[str, Any]) -> str:
    lines = [f"{d['id']}  {d['status']}  {d['duration_s']} s  captured {d['captured_at']}"]
    if d["hypothesis"]:
        lines.append("  " + " ".join(f"{w['word']}({w['confidence']:.2f})" for w in d["hypothesis"]["words"]))
    if d["failure_reason"]:
        lines.append(f"  failed: {d['failure_reason']}")
    return "\n".join(lines)


@app.command("show")
def show(recording_id: Annotated[str, typer.Argument(help="Recording id.")], as_json: JsonOption = False) -> None:
    """Show a recording's status and transcript (decrypted in memory)."""
    from sottovoce.core.audit import OPERATOR
    from sottovoce.recordings.store import describe, get_recording

    with domain_errors(), open_services() as services, services.sessions() as db:
        recording = get_recording(db, recording_id)
        # A transcript read by staff is audited first; if the event cannot be written, nothing is shown.
        services.audit.record(db, OPERATOR, "recording.read_transcript", recording.id)
        emit(describe(services, db, recording), as_json, _human)


@app.command("list")
def list_recordings(
    account: Annotated[str | None, typer.Option("--account", help="Only this account's recordings (name or id).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Most recent N.", min=1)] = 50,
    as_json: JsonOption = False,
) -> None:
    """List recordings, newest first: id, account, status, duration. No transcript (see `show`)."""
    from sqlalchemy import select

    from sottovoce.accounts.registry import find_account
    from sottovoce.db.models import Account, Recording

    with domain_errors(), open_services() as services, services.sessions() as db:
        query = select(Recording, Account.name).join(Account, Account.id == Recording.account_id)
        if account:
            query = query.where(Recording.account_id == find_account(db, account).id)
        rows = [
            {"id": r.id, "account": owner, "status": r.status, "duration_s": round(r.duration_s, 2),
             "captured_at": r.captured_at.isoformat(), "likely_accidental": r.likely_accidental}
            for r, owner in db.execute(query.order_by(Recording.captured_at.desc()).limit(limit)).all()
        ]
    emit(rows, as_json, lambda rs: "\n".join(
        f"{r['id']}  {r['account']:16} {r['status']:12} {r['duration_s']:>6} s  {r['captured_at']}" for r in rs) or "no recordings")


@app.command("delete")
def delete(recording_id: Annotated[str, typer.Argument(help="Recording id.")], as_json: JsonOption = False) -> None:
    """Delete a recording and everything derived from it (the one cascade); prints the receipt."""
    from sottovoce.accounts.deletion import delete_recordings, scrub_now
    from sottovoce.core.audit import OPERATOR
    from sottovoce.recordings.store import get_recording

    with domain_errors(), open_services() as services, services.sessions() as db:
        recording = get_recording(db, recording_id)
        receipt = delete_recordings(services, db, recording.account_id, [recording.id], OPERATOR, "cli")
        scrub_now(services)  # before exiting: the deleted pages leave the SQLite WAL now
        emit(receipt, as_json, _receipt_line)


def _receipt_line(receipt: dict[str, Any]) -> str:
    counts = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(receipt["counts"].items()) if n)
    return f"receipt {receipt['id']}: {counts or 'nothing'}"


@app.command("retranscribe")
def retranscribe(
    since: Annotated[datetime | None, typer.Option("--since", formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"], help="Only recordings captured on or after this date (UTC).")] = None,
    account: Annotated[str | None, typer.Option("--account", help="Only this account's recordings.")] = None,
    version: Annotated[str | None, typer.Option("--version", help="A model version (name or id); default: the active one when each job runs. Another version needs the account's training consent.")] = None,
    run: Annotated[bool, typer.Option("--run/--queue-only", help="Run the jobs here with a progress bar, or leave them to the server's worker.")] = True,
    as_json: JsonOption = False,
) -> None:
    """Transcribe stored recordings again, as background jobs (consent checked when queued and when run)."""
    from sottovoce.cli.progress import progress_bar
    from sottovoce.core.audit import OPERATOR
    from sottovoce.db.models import Job
    from sottovoce.jobs.transcribe import RETRANSCRIBE, queue_retranscriptions
    from sottovoce.jobs.worker import drain
    from sottovoce.learning import registry

    with domain_errors(), open_services() as services:
        with services.sessions() as db:
            chosen = registry.get(db, version) if version else None
            report = queue_retranscriptions(services, db, since.replace(tzinfo=UTC) if since else None, account, chosen)
            services.audit.append(db, OPERATOR, "recordings.retranscribe", account or "", {k: report[k] for k in ("queued", "skipped_without_training_consent", "version")} | {"since": since.isoformat() if since else None})
            db.commit()
        if run and report["jobs"]:
            done = [0]
            with progress_bar() as progress:
                progress("re-transcribing recordings", 0, report["queued"])

                def tick(_job: object) -> None:
                    done[0] += 1
                    progress("re-transcribing recordings", done[0], report["queued"])

                drain(services, [RETRANSCRIBE], on_done=tick)
            with services.sessions() as db:
                statuses = [db.get_one(Job, job_id).status for job_id in report["jobs"]]
            report["done"], report["failed"] = statuses.count("done"), statuses.count("failed")
    report.pop("jobs")
    emit(report, as_json, lambda r: f"{r['queued']} recordings queued for re-transcription with {r['version']} version"
         + (f" ({r['skipped_without_training_consent']} skipped: no training consent)" if r["skipped_without_training_consent"] else "")
         + (f"; {r['done']} done, {r['failed']} failed" if "done" in r else ""))
