"""`sottovoce learn ...`: datasets, adaptation, evaluation, promotion, export and rebuilds."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sottovoce.cli.context import open_services
from sottovoce.cli.output import JsonOption, domain_errors, emit

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from sottovoce.db.models import DatasetSnapshot

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Corrections flow back into the recognizer.")


def _latest_snapshot(db: Session) -> DatasetSnapshot:
    from sqlalchemy import select

    from sottovoce.core.errors import Conflict
    from sottovoce.db.models import DatasetSnapshot

    snap = db.scalar(select(DatasetSnapshot).order_by(DatasetSnapshot.created_at.desc()).limit(1))
    if snap is None:
        raise Conflict("no dataset yet: run `sottovoce learn dataset` first")
    return snap


@app.command("dataset")
def dataset_command(as_json: JsonOption = False) -> None:
    """Snapshot today's gold examples (training-consented, not deleted), split train/eval by account."""
    from sottovoce.core.audit import OPERATOR
    from sottovoce.learning import dataset

    with domain_errors(), open_services() as services, services.sessions() as db:
        snap = dataset.snapshot(services, db)
        services.audit.append(db, OPERATOR, "learning.dataset", snap.id, {"train": snap.train_count, "eval": snap.eval_count})
        db.commit()
        emit(dataset.describe(snap, db), as_json, lambda d: f"dataset {d['id']}: {d['train']} train / {d['eval']} eval examples ({d['accounts']['train']} / {d['accounts']['eval']} accounts)")


@app.command("adapt")
def adapt_command(as_json: JsonOption = False) -> None:
    """Learn a candidate version (decoding bias and rewrites) from the latest snapshot's train split."""
    from sottovoce.core.audit import OPERATOR
    from sottovoce.learning import loop, registry

    with domain_errors(), open_services() as services, services.sessions() as db:
        version = loop.adapt(services, db, _latest_snapshot(db))
        services.audit.append(db, OPERATOR, "learning.candidate", version.id)
        db.commit()
        emit(registry.describe(services, version), as_json, lambda d: f"candidate {d['name']} from dataset {d['snapshot']}")


@app.command("evaluate")
def evaluate_command(as_json: JsonOption = False) -> None:
    """Score the active and candidate versions on the eval split and the fixed general set."""
    from sqlalchemy import select

    from sottovoce.db.models import ModelVersion
    from sottovoce.learning import loop, registry

    with domain_errors(), open_services() as services, services.sessions() as db:
        registry.ensure_base(services, db)
        versions = db.scalars(select(ModelVersion).where(ModelVersion.status.in_((registry.ACTIVE, registry.CANDIDATE))).order_by(ModelVersion.created_at)).all()
        report = loop.evaluate(services, db, versions, _latest_snapshot(db))
        db.commit()
    emit(report, as_json, lambda r: "\n".join(f"{name:6} {v['status']:10} eval WER {v['eval_wer']}  general WER {v['general_wer']}" for name, v in r["versions"].items()))


@app.command("promote")
def promote_command(version: Annotated[str, typer.Argument(help="Candidate name (e.g. v2) or id.")], as_json: JsonOption = False) -> None:
    """Activate a candidate if it improves the eval split and costs at most 1 point on the general set."""
    from sottovoce.core.audit import OPERATOR
    from sottovoce.learning import registry

    with domain_errors(), open_services() as services, services.sessions() as db:
        promoted = registry.promote(db, registry.get(db, version))
        services.audit.append(db, OPERATOR, "learning.promote", promoted.id)
        db.commit()
        emit(registry.describe(services, promoted), as_json, lambda d: f"{d['name']} is now active")


@app.command("versions")
def versions_command(as_json: JsonOption = False) -> None:
    """List every model version with its status and metrics."""
    from sqlalchemy import select

    from sottovoce.db.models import ModelVersion
    from sottovoce.learning import registry

    with domain_errors(), open_services() as services, services.sessions() as db:
        rows = [registry.describe(services, v) for v in db.scalars(select(ModelVersion).order_by(ModelVersion.created_at))]
    emit(rows, as_json, lambda rs: "\n".join(f"{r['name']:6} {r['status']:14} {r['metrics']}" for r in rs))


@app.command("rebuild")
def rebuild_command(as_json: JsonOption = False) -> None:
    """Refit versions marked needs_retrain (by a deletion) on a fresh snapshot without the deleted data."""
    from sottovoce.core.audit import OPERATOR
    from sottovoce.learning import loop

    with domain_errors(), open_services() as services, services.sessions() as db:
        rebuilt = loop.rebuild(services, db)
        services.audit.append(db, OPERATOR, "learning.rebuild", "", {"versions": rebuilt})
        db.commit()
    emit({"rebuilt": rebuilt}, as_json, lambda d: f"rebuilt: {', '.join(d['rebuilt']) or 'nothing to rebuild'}")


@app.command("export")
def export_command(
    fmt: Annotated[str, typer.Option("--format", help="hf (audiofolder) or nemo (JSONL manifest).")],
    out: Annotated[Path, typer.Option("--out", help="A new, empty folder.")],
    anonymize: Annotated[bool, typer.Option("--anonymize", help="Transform the voices before export.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Export training-consented gold examples with audio, recorded and tracked for later deletions."""
    from sottovoce.core.audit import OPERATOR
    from sottovoce.learning.export import export

    with domain_errors(), open_services() as services, services.sessions() as db:
        report = export(services, db, fmt, out, OPERATOR, anonymize)
        db.commit()
    emit(report, as_json, lambda r: f"exported {r['train']} train and {r['eval']} eval examples to {r['out']}")
