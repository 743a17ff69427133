"""`sottovoce review ...`: run the sampler, add gold clips, see the queue."""

from __future__ import annotations

from typing import Annotated

import typer

from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Human review: sampling and gold clips.")


@app.command("sample")
def sample_command(
    limit: Annotated[int | None, typer.Option(help="Sample at most this many clips now.", min=0)] = None,
    as_json: JsonOption = False,
) -> None:
    """Pick consented, uncertain (and some random) clips for review and queue their rendering."""
    from sottovoce.jobs.review import RENDER, sample_and_queue_renders
    from sottovoce.jobs.worker import drain

    with domain_errors(), open_services() as services:
        report = sample_and_queue_renders(services, limit)
        drain(services, [RENDER])
    emit(report, as_json, lambda r: f"sampled {r['sampled']} clips ({r['random']} at random, {r['overlap']} double-reviewed); {r['flagged_accidental']} flagged as accidental")


@app.command("gold")
def gold(
    recording: Annotated[str, typer.Argument(help="Recording id with a known transcript.")],
    text: Annotated[str, typer.Option("--text", help="The reference transcript.")],
    as_json: JsonOption = False,
) -> None:
    """Mix a recording with a known transcript into the queue, to measure reviewer accuracy."""
    from sottovoce.core.audit import OPERATOR
    from sottovoce.review.quality import add_gold

    with domain_errors(), open_services() as services, services.sessions() as db:
        task = add_gold(services, db, recording, text)
        services.audit.append(db, OPERATOR, "review.gold_added", task.id)
        db.commit()
        emit({"task": task.id}, as_json, lambda d: f"gold task {d['task']} queued")
