"""`sottovoce import ...`: bring a team's existing work in from the tools they use."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit

app = typer.Typer(no_args_is_help=True, help="Import from other review tools.")


@app.command("labelstudio")
def labelstudio(
    export_file: Annotated[Path, typer.Argument(help="A Label Studio JSON export (tasks with predictions and annotations).")],
    consent_review: Annotated[bool, typer.Option("--consent-review/--no-consent-review", help="Whether the account holders consented to human review (required: never assumed).")],
    consent_training: Annotated[bool, typer.Option("--consent-training/--no-consent-training", help="Whether they consented to training use of corrections (required: never assumed).")],
    account: Annotated[str | None, typer.Option("--account", help="Account id or name that every task belongs to.")] = None,
    map_file: Annotated[Path | None, typer.Option("--map", help="CSV 'task_id,account' (account by id or name) mapping every task.")] = None,
    audio_key: Annotated[str, typer.Option("--audio-key", help="The task data field holding the audio reference.")] = "audio",
    media_root: Annotated[Path | None, typer.Option("--media-root", help="Label Studio's media folder, for /data/upload/... references.")] = None,
    local_files_root: Annotated[Path | None, typer.Option("--local-files-root", help="Label Studio's LOCAL_FILES_DOCUMENT_ROOT, for /data/local-files/?d=... (default: --media-root).")] = None,
    text_from: Annotated[str | None, typer.Option("--text-from", help="Only TextArea results with this from_name.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Clips decoded, sealed and written at once.")] = 8,
    as_json: JsonOption = False,
) -> None:
    """Create recordings with their hypotheses (predictions) and corrections (annotations).

    Every task is checked before anything is written; a bad export changes nothing. A progress
    bar on stderr (when it is a terminal) counts the clips stored.
    """
    from sottovoce.cli.progress import progress_bar
    from sottovoce.core.audit import OPERATOR
    from sottovoce.interop.labelstudio_import import import_export, read_map

    with domain_errors(), open_services() as services, services.sessions() as db, progress_bar() as progress:
        mapping = read_map(map_file) if map_file is not None else None
        report = import_export(
            services, db, export_file, OPERATOR, consent_review=consent_review, consent_training=consent_training,
            account=account, mapping=mapping, audio_key=audio_key, media_root=media_root,
            local_files_root=local_files_root, text_from=text_from, workers=workers, progress=progress,
        )
    emit(report, as_json, lambda r: f"imported {r['tasks']} tasks: {r['hypotheses']} with hypotheses, {r['corrections']} with corrections, {r['queued_for_recognition']} queued for recognition")
