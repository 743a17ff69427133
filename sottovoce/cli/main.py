"""Top-level commands (init, ingest, serve, demo) and the sub-apps by noun."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sottovoce.cli import accounts, audit, devices, interop, keys, learn, recordings, retention, review, staff, trace
from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit, fail, stderr_is_tty
from sottovoce.core.errors import SottovoceError

if TYPE_CHECKING:  # the CLI's modules import nothing heavy until a command runs (cli_bench.py)
    from rich.progress import Progress
    from sqlalchemy.orm import Session

    from sottovoce.core.services import Services
    from sottovoce.db.models import Recording

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, add_completion=False, pretty_exceptions_enable=False, help="Privacy-first human review of speech recognition.")
app.add_typer(accounts.app, name="accounts")
app.add_typer(devices.app, name="devices")
app.add_typer(recordings.app, name="recordings")
app.add_typer(staff.app, name="staff")
app.add_typer(audit.app, name="audit")
app.add_typer(review.app, name="review")
app.command("trace")(trace.trace_command)
app.add_typer(learn.app, name="learn")
app.add_typer(retention.app, name="retention")
app.add_typer(interop.app, name="import")
app.add_typer(keys.app, name="keys")


def _progress() -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        transient=True, disable=not stderr_is_tty(),
    )


@app.command()
def init(as_json: JsonOption = False) -> None:
    """Create the data folder, master key and database (safe to run again)."""
    from sottovoce.jobs.recovery import recover

    with domain_errors(), open_services(create=True) as services:
        report = {"home": str(services.settings.home.resolve()), **recover(services)}
    emit(report, as_json, lambda r: f"sottovoce is ready in {r['home']}")


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Audio files (WAV, FLAC, OGG/Opus, MP3, M4A, WebM).")],
    device: Annotated[str, typer.Option("--device", help="Device id the recordings come from.")],
    wait: Annotated[bool, typer.Option("--wait", help="Block until every recording is transcribed.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Store recordings as if DEVICE had sent them; recognition runs in the background.

    Every file gets a line (or a JSON object): stored ones with their id and status, failed ones
    with the reason. The exit code is 1 when any file failed, after the complete report."""
    from sottovoce.accounts.registry import get_device
    from sottovoce.recordings.ingest import commit_ingest
    from sottovoce.recordings.ingest import ingest as ingest_one
    from sottovoce.recordings.metadata import IngestMetadata

    def store(db: Session, data: bytes) -> Recording:
        recording = ingest_one(services, db, get_device(db, device), data, IngestMetadata())
        commit_ingest(services, db, recording)
        return recording

    results: list[dict[str, Any]] = []
    with domain_errors(), open_services() as services:
        with services.sessions() as db:
            get_device(db, device)
        with _progress() as progress:
            task = progress.add_task("ingesting", total=len(files))
            for path in files:
                results.append(_ingest_file(services, path, store))
                progress.advance(task)
        stored = [r for r in results if "id" in r]
        if wait and stored:
            statuses = {r["id"]: r["status"] for r in _wait_for(services, [r["id"] for r in stored], _progress)}
            for r in stored:
                r["status"] = statuses[r["id"]]
    failures = [r for r in results if "error" in r]
    for r in failures:
        typer.echo(f"error: {r['file']}: {r['error']}", err=True)
    emit(results, as_json, lambda rs: "\n".join(f"{r['id']}  {r['status']}  {r['file']}" for r in rs if "id" in r))
    if failures:
        raise typer.Exit(1)


def _ingest_file(services: Services, path: Path, store: Callable[[Session, bytes], Recording]) -> dict[str, Any]:
    """One file's outcome: {"file", "id", "status"} when stored, {"file", "error"} when not."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return {"file": str(path), "status": "failed", "error": f"cannot read ({exc.strerror})"}
    with services.sessions() as db:
        try:
            recording = store(db, data)
        except SottovoceError as exc:
            return {"file": str(path), "status": "failed", "error": exc.message}
        return {"file": str(path), "id": recording.id, "status": recording.status}


def _wait_for(services: Services, ids: list[str], progress_factory: Callable[[], Progress]) -> list[dict[str, Any]]:
    from sottovoce.db.models import Recording
    from sottovoce.jobs.worker import drain

    with progress_factory() as progress:
        task = progress.add_task("transcribing", total=len(ids))
        drain(services, ["transcribe"], on_done=lambda _job: progress.advance(task))
    with services.sessions() as db:
        return [{"id": i, "status": db.get_one(Recording, i).status} for i in ids]


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Web only: jobs, sampler and sweeps run in `sottovoce worker` processes.")] = False,
    audiences: Annotated[str | None, typer.Option(help="Serve only these: devices,holders,staff (default from settings: all).")] = None,
) -> None:
    """Run the web server (device API, dashboards) with the background worker."""
    import uvicorn

    from sottovoce.web.app import create_app

    overrides = {"audiences": audiences} if audiences else {}
    with domain_errors(), open_services(create=True, **overrides) as services:
        uvicorn.run(
            create_app(services, run_worker=not no_worker),
            host=host or services.settings.host,
            port=port or services.settings.port,
            access_log=False,  # request lines could carry ids into logs; errors are still logged
        )


@app.command()
def worker(
    kinds: Annotated[str, typer.Option("--kinds", help="Comma-separated job kinds to run (e.g. transcribe); empty runs all.")] = "",
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Jobs run at once (threads).")] = 1,
    periodic: Annotated[bool, typer.Option("--periodic/--no-periodic", help="Also run the sampler and retention sweep "
                                           "(one process at a time across the fleet, by PostgreSQL advisory lock).")] = True,
) -> None:
    """Run background jobs without the web server, until SIGTERM or Ctrl-C."""
    from sottovoce.jobs.process import run_worker_process

    with domain_errors(), open_services() as services:
        run_worker_process(services, [k for k in kinds.split(",") if k.strip()], concurrency, periodic)


@app.command()
def demo(
    home: Annotated[Path, typer.Option(help="Folder for the demo instance; wiped and rebuilt.")] = Path("var/demo"),
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after loading the data.")] = True,
) -> None:
    """Start a fresh embedded instance with demo accounts, devices and real recordings."""
    from sottovoce.demo.build import build_demo

    try:
        build_demo(home, port=port, serve=serve_after)
    except (SottovoceError, FileExistsError) as exc:
        fail(getattr(exc, "message", str(exc)))
