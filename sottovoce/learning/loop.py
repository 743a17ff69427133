"""The learning loop: adapt a candidate on the train split, evaluate, promote, rebuild.

- ``adapt``: pairs (hypothesis as the reviewer saw it, gold transcript) from the TRAIN split of a
  snapshot; a fifth of the train accounts is held out to choose sizes (``validate``); the result is
  refit on all train pairs and registered as a candidate. No eval data is ever read here.
- ``evaluate``: decodes the EVAL split and a fixed general set (the bundled demo clips with their
  reference phrases) with each version's parameters; WER with the Whisper normalizer.
- ``rebuild``: a version marked ``needs_retrain`` by a deletion is refit from a fresh snapshot, which
  no longer holds the deleted recordings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.asr.scoring import wer
from sottovoce.core import audio
from sottovoce.core.services import Services
from sottovoce.db.models import DatasetSnapshot, ModelVersion, Recording
from sottovoce.learning import adaptation, dataset, registry
from sottovoce.recordings.store import load_audio

GENERAL_SET = Path(__file__).parent.parent / "demo"


@lru_cache(maxsize=1)
def general_set() -> list[tuple[np.ndarray, str]]:
    references = json.loads((GENERAL_SET / "clips.json").read_text())
    return [(audio.decode((GENERAL_SET / "clips" / name).read_bytes(), 60), text) for name, text in sorted(references.items())]


def decode(services: Services, samples: np.ndarray, params: dict) -> str:
    return registry.recognize(services.recognizer, samples, params).text


def _audio(services: Services, db: Session, recording_id: str) -> np.ndarray:
    return load_audio(services, db, db.get_one(Recording, recording_id))


def adapt(services: Services, db: Session, snap: DatasetSnapshot) -> ModelVersion:
    examples = dataset.snapshot_examples(services, db, snap, "train")
    if len(examples) < 4:
        from sottovoce.core.errors import Conflict

        raise Conflict(f"the train split has {len(examples)} gold examples; at least 4 are needed")
    accounts = sorted({e.account_id for e in examples}, key=lambda a: dataset.hmac_digest(services, "holdout" + a))
    held_out = set(accounts[: max(1, len(accounts) // 5)])
    fit = [(e.hypothesis, e.text) for e in examples if e.account_id not in held_out]
    holdout = [e for e in examples if e.account_id in held_out]
    cache: dict[tuple[str, str], list] = {}

    def validate(candidate: adaptation.Adaptation) -> float:
        hyps = []
        for example in holdout:
            key = (example.recording_id, candidate.decoding_key)
            if key not in cache:
                decoded = registry.decode_alternatives(services.recognizer, _audio(services, db, example.recording_id), candidate)
                cache[key] = [(t.words, score) for t, score in decoded]
            hyps.append(candidate.text(cache[key]))
        return wer([e.text for e in holdout], hyps)

    chosen = adaptation.learn(fit, validate=validate if holdout and fit else None)
    selected = chosen.params.get("selected", {})
    final = adaptation.learn([(e.hypothesis, e.text) for e in examples], **{k: v for k, v in selected.items() if k in adaptation.DEFAULTS})
    final.params["validation"] = chosen.params.get("validation")
    registry.ensure_base(services, db)
    return registry.add_candidate(services, db, final.to_json(), snap.id)


def evaluate(services: Services, db: Session, versions: Sequence[ModelVersion], snap: DatasetSnapshot) -> dict[str, Any]:
    eval_examples = dataset.snapshot_examples(services, db, snap, "eval")
    report: dict[str, Any] = {"snapshot": snap.id, "eval_clips": len(eval_examples), "general_clips": len(general_set()), "versions": {}}
    for version in versions:
        params = registry.params_of(services, version)
        eval_hyps = [decode(services, _audio(services, db, e.recording_id), params) for e in eval_examples]
        general_hyps = [decode(services, samples, params) for samples, _ in general_set()]
        metrics = {
            "eval_wer": round(wer([e.text for e in eval_examples], eval_hyps), 4) if eval_examples else None,
            "general_wer": round(wer([t for _, t in general_set()], general_hyps), 4),
            "snapshot": snap.id,
        }
        version.metrics = json.dumps(metrics, sort_keys=True)
        report["versions"][version.name] = {"status": version.status, **metrics}
    return report


def rebuild(services: Services, db: Session) -> list[str]:
    """Refit every version marked needs_retrain on a fresh snapshot (without deleted data)."""
    stale = db.scalars(select(ModelVersion).where(ModelVersion.status == registry.NEEDS_RETRAIN)).all()
    if not stale:
        return []
    snap = dataset.snapshot(services, db)
    rebuilt = []
    for version in stale:
        old = registry.params_of(services, version).get("params", {}).get("selected", {})
        pairs = [(e.hypothesis, e.text) for e in dataset.snapshot_examples(services, db, snap, "train")]
        fresh = adaptation.learn(pairs, **{k: v for k, v in old.items() if k in adaptation.DEFAULTS})
        registry.set_params(services, version, fresh.to_json())
        version.snapshot_id = snap.id
        version.metrics = "{}"
        version.status = registry.ACTIVE if version.activated_at and not _newer_active(db, version) else registry.CANDIDATE
        rebuilt.append(version.name)
    registry.forget_active()
    return rebuilt


def _newer_active(db: Session, version: ModelVersion) -> bool:
    return db.scalar(select(ModelVersion.id).where(ModelVersion.status == registry.ACTIVE, ModelVersion.id != version.id)) is not None
