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
    from sottovoce.cli.progress import progress_bar
    from sottovoce.core.audit import OPERATOR
    from sottovoce.learning import loop, registry

    with domain_errors(), open_services() as services, services.sessions() as db:
        with progress_bar() as progress:
            version = loop.adapt(services, db, _latest_snapshot(db), progress)
        services.audit.append(db, OPERATOR, "learning.candidate", version.id)
        db.commit()
        emit(registry.describe(services, version), as_json, lambda d: f"candidate {d['name']} from dataset {d['snapshot']}")


def _figure(wer: float | None, interval: list[float] | None) -> str:
    if wer is None:
        return "n/a"
    return f"{100 * wer:.1f}%" + (f" [{100 * interval[0]:.1f}–{100 * interval[1]:.1f}]" if interval else "")


@app.command("evaluate")
def evaluate_command(
    names: Annotated[list[str] | None, typer.Option("--version", help="Evaluate these versions (e.g. a retired one before a rollback); default: active and candidates.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Score versions on the eval split and the packaged guard set (WER with 95% intervals).

    Default: the active version (also when a deletion stripped it) and the candidates."""
    from sqlalchemy import select

    from sottovoce.cli.progress import progress_bar
    from sottovoce.db.models import ModelVersion
    from sottovoce.learning import loop, registry

    with domain_errors(), open_services() as services, services.sessions() as db:
        registry.ensure_base(services, db)
        if names:
            versions = [registry.get(db, name) for name in names]
            current = db.scalar(select(ModelVersion).where(ModelVersion.status.in_((registry.ACTIVE, registry.NEEDS_RETRAIN))).order_by(ModelVersion.activated_at.desc().nullslast()).limit(1))
            if current is not None and current not in versions:
                versions.insert(0, current)  # better/worse counts are against the active version
        else:
            statuses = (registry.ACTIVE, registry.NEEDS_RETRAIN, registry.CANDIDATE)  # a stripped active version decodes too
            versions = list(db.scalars(select(ModelVersion).where(ModelVersion.status.in_(statuses)).order_by(ModelVersion.created_at)))
        with progress_bar() as progress:
            report = loop.evaluate(services, db, versions, _latest_snapshot(db), progress)
        db.commit()

    def human(r: dict) -> str:
        lines = [f"eval split: {r['eval_clips']} clips; guard set: {r['guard_clips']} clips (WER, 95% interval)"]
        for name, v in r["versions"].items():
            line = f"{name:6} {v['status']:14} eval {_figure(v['eval_wer'], v['eval_interval'])}  guard {_figure(v['guard_wer'], v['guard_interval'])}"
            if "eval_vs_active" in v:
                line += f"  vs active: eval {v['eval_vs_active']['better']} better / {v['eval_vs_active']['worse']} worse, guard {v['guard_vs_active']['better']} / {v['guard_vs_active']['worse']}"
            lines.append(line)
        return "\n".join(lines)

    emit(report, as_json, human)


@app.command("promote")
def promote_command(version: Annotated[str, typer.Argument(help="Candidate name (e.g. v2) or id.")], as_json: JsonOption = False) -> None:
    """Activate a candidate if it improves the eval split and is not worse on the guard set beyond its interval."""
    """Activate a candidate if it improves the eval split and costs at most 1 point on the general set."""
    from sottovoce.core.audit import OPERATOR
    from sottovoce.learning import registry

    with domain_errors(), open_services() as services, services.sessions() as db:
        promoted = registry.promote(db, registry.get(db, version))
        services.audit.append(db, OPERATOR, "learning.promote", promoted.id)
        db.commit()
        emit(registry.describe(services, promoted), as_json, lambda d: f"{d['name']} is now active")


@app.command("rollback")
def rollback_command(
    version: Annotated[str | None, typer.Argument(help="An earlier, retired version (default: the one active before the current one).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Re-activate an earlier version; refused unless it passes the gates (see docs/learning.md)."""
    from sottovoce.core.audit import OPERATOR
    from sottovoce.learning import registry

    with domain_errors(), open_services() as services, services.sessions() as db:
        replaced, restored = registry.rollback(services, db, registry.get(db, version) if version else None)
        services.audit.append(db, OPERATOR, "learning.rollback", restored.id, {"from": replaced.id, "from_name": replaced.name, "to_name": restored.name})
        db.commit()
        emit(registry.describe(services, restored), as_json, lambda d: f"{d['name']} is active again (rolled back from {replaced.name})")


@app.command("versions")
def versions_command(as_json: JsonOption = False) -> None:
    """List every model version with its status and validation, eval and guard figures (95% intervals)."""
    from sqlalchemy import select

    from sottovoce.db.models import ModelVersion
    from sottovoce.learning import registry

    with domain_errors(), open_services() as services, services.sessions() as db:
        rows = [registry.describe(services, v) for v in db.scalars(select(ModelVersion).order_by(ModelVersion.created_at))]

    def human(rs: list[dict]) -> str:
        lines = [f"{'name':6} {'status':14} {'validation':22} {'eval':22} {'guard':22}"]
        for r in rs:
            f = r["figures"]
            lines.append(
                f"{r['name']:6} {r['status']:14} {_figure(f.get('validation_wer'), f.get('validation_interval')):22} "
                f"{_figure(f.get('eval_wer'), f.get('eval_interval')):22} {_figure(f.get('guard_wer'), f.get('guard_interval')):22}"
            )
        return "\n".join(lines)

    emit(rows, as_json, human)


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
    fmt: Annotated[str, typer.Option("--format", help="hf (audiofolder), nemo (JSONL manifest) or labelstudio (tasks.json).")],
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
