"""The learning loop: adapt a candidate on the train split, evaluate, promote, rebuild.

- ``adapt``: pairs (hypothesis as the reviewer saw it, gold transcript) from the TRAIN split of a
  snapshot; a fifth of the train accounts is held out to choose sizes (``validate``); the result is
  refit on all train pairs and registered as a candidate. No eval data is ever read here. No
  learned rewrite rule may fire on the packaged general text (learning/guard).
- ``evaluate``: decodes the EVAL split and the packaged general guard set (learning/guard) with
  each version's parameters; WER with the Whisper normalizer, with 95% bootstrap intervals; the
  guard set's per-clip error counts are stored so promotion and rollback can compare versions
  clip by clip (learning/gates.py).
- ``rebuild``: a version marked ``needs_retrain`` by a deletion is refit from a fresh snapshot, which
  no longer holds the deleted recordings.

Long steps report progress through an optional ``progress(what, done, total)`` callback (the CLI
draws a bar); ``total`` is None when not known in advance.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.asr.scoring import better_worse, bootstrap_interval, error_counts
from sottovoce.core.audio import SAMPLE_RATE
from sottovoce.core.errors import Conflict
from sottovoce.core.services import Services
from sottovoce.db.models import DatasetSnapshot, ModelVersion, Recording
from sottovoce.learning import adaptation, dataset, gates, guard, registry
from sottovoce.recordings.store import load_audio

Progress = Callable[[str, int, "int | None"], None]


def _quiet(what: str, done: int, total: int | None) -> None:
    pass


def decode(services: Services, samples: np.ndarray, params: dict) -> str:
    return registry.recognize(services.recognizer, samples, params).text


def _audio(services: Services, db: Session, recording_id: str) -> np.ndarray:
    return load_audio(services, db, db.get_one(Recording, recording_id))


def adapt(services: Services, db: Session, snap: DatasetSnapshot, progress: Progress | None = None) -> ModelVersion:
    progress = progress or _quiet
    examples = dataset.snapshot_examples(services, db, snap, "train")
    if len(examples) < 4:
        raise Conflict(f"the train split has {len(examples)} gold examples; at least 4 are needed")
    accounts = sorted({e.account_id for e in examples}, key=lambda a: dataset.hmac_digest(services, "holdout" + a))
    held_out = set(accounts[: max(1, len(accounts) // 5)])
    fit = [(e.hypothesis, e.text) for e in examples if e.account_id not in held_out]
    holdout = [e for e in examples if e.account_id in held_out]
    cache: dict[tuple[str, str], list] = {}
    samples: dict[str, np.ndarray] = {}  # each held-out clip decrypted once, in memory only
    d = adaptation.DEFAULTS
    keys = len(d["prompt_choices"]) + min(d["beam_prompt_choices"], len(d["prompt_choices"])) * (len(d["alternatives_choices"]) - 1)
    calls = [0]

    def candidates(candidate: adaptation.Adaptation, example: dataset.Example) -> list:
        key = (example.recording_id, candidate.decoding_key)
        if key not in cache:
            if example.recording_id not in samples:
                samples[example.recording_id] = _audio(services, db, example.recording_id)
            decoded = registry.decode_alternatives(services.recognizer, samples[example.recording_id], candidate)
            cache[key] = [(t.words, score) for t, score in decoded]
            progress("decoding held-out clips", len(cache), len(holdout) * keys)
        return cache[key]

    counted: dict[tuple[str, str], tuple[int, int]] = {}  # most candidates give most clips the same text

    def text_of(candidate: adaptation.Adaptation, example: dataset.Example) -> str:
        """What the product would show: with the runaway fallback to the base decode (cached too:
        it is the grid's no-prompt, greedy point)."""
        decoded = candidates(candidate, example)
        base = candidates(BASE, example)[0][0] if candidate.steers_decoding else None
        return candidate.text(decoded, len(samples[example.recording_id]) / SAMPLE_RATE, base)

    def validate(candidate: adaptation.Adaptation) -> float:
        calls[0] += 1
        progress("scoring settings and rules", calls[0], None)
        errors = words = 0
        for e in holdout:
            text = text_of(candidate, e)
            if (e.recording_id, text) not in counted:
                counted[(e.recording_id, text)] = error_counts(e.text, text)
            errors, words = errors + counted[(e.recording_id, text)][0], words + counted[(e.recording_id, text)][1]
        return errors / words if words else (0.0 if not errors else float("inf"))  # as scoring.wer

    general = list(guard.general_text())
    chosen = adaptation.learn(fit, validate=validate if holdout and fit else None, general_text=general)
    selected = chosen.params.get("selected", {})
    progress("fitting on all train pairs", 0, 1)
    final = adaptation.learn([(e.hypothesis, e.text) for e in examples], general_text=general, **{k: v for k, v in selected.items() if k in adaptation.DEFAULTS})
    final.params["validation"] = chosen.params.get("validation")
    progress("fitting on all train pairs", 1, 1)
    registry.ensure_base(services, db)
    version = registry.add_candidate(services, db, final.to_json(), snap.id)
    if holdout and fit:
        version.metrics = json.dumps({"validation": _validation_figures(chosen, holdout, text_of)}, sort_keys=True)
    return version


BASE = adaptation.Adaptation(hotwords=None, initial_prompt=None, rewrites=[])


def _validation_figures(chosen: adaptation.Adaptation, holdout: list, text_of: Callable[..., str]) -> dict:
    """Held-out train figures of the chosen settings against the base (no prompt, greedy): WER
    with interval and per-clip better/worse counts. Decodes come from the validation cache."""
    mine = [error_counts(e.text, text_of(chosen, e)) for e in holdout]
    theirs = [error_counts(e.text, text_of(BASE, e)) for e in holdout]
    return {"clips": len(holdout), **_figures(mine), "base_wer": _figures(theirs)["wer"], **better_worse([e for e, _ in theirs], [e for e, _ in mine])}


def _figures(counts: list[tuple[int, int]]) -> dict:
    errors, words = [e for e, _ in counts], [n for _, n in counts]
    if not counts or not sum(words):
        return {"wer": None, "interval": None}
    low, high = bootstrap_interval(errors, words)
    return {"wer": round(sum(errors) / sum(words), 4), "interval": [round(low, 4), round(high, 4)]}


def guard_figures(services: Services, params: dict, progress: Progress | None = None, label: str = "") -> dict:
    """A version's result on the packaged guard set: WER, interval and per-clip error counts."""
    progress = progress or _quiet
    counts = []
    clips = guard.clips()
    for i, (_, samples, text) in enumerate(clips):
        counts.append(error_counts(text, decode(services, samples, params), split_digits=True))
        progress(f"{label} guard set".strip(), i + 1, len(clips))
    return {"set": guard.fingerprint(), "clips": len(counts), **_figures(counts), "errors": [e for e, _ in counts], "words": [n for _, n in counts]}


def evaluate(services: Services, db: Session, versions: Sequence[ModelVersion], snap: DatasetSnapshot, progress: Progress | None = None) -> dict:
    """Scores each version on the eval split and the guard set and stores the figures with it."""
    progress = progress or _quiet
    eval_examples = dataset.snapshot_examples(services, db, snap, "eval")
    report: dict[str, Any] = {"snapshot": snap.id, "eval_clips": len(eval_examples), "guard_clips": len(guard.clips()), "versions": {}}
    per_clip: dict[str, list[int]] = {}
    for version in versions:
        params = registry.params_of(services, version)
        counts = []
        for i, e in enumerate(eval_examples):
            counts.append(error_counts(e.text, decode(services, _audio(services, db, e.recording_id), params)))
            progress(f"{version.name} eval split", i + 1, len(eval_examples))
        figures = _figures(counts)
        before = json.loads(version.metrics or "{}")
        kept = {k: v for k, v in before.items() if k == "validation"}
        stored_guard = before.get("guard") or {}
        # The guard set is fixed: figures measured on the same set with the same sealed
        # parameters (a new seal, hence a new digest, on every change) are reused, not re-decoded.
        digest = hashlib.sha256(version.params.encode()).hexdigest()[:16]
        if stored_guard.get("set") == guard.fingerprint() and stored_guard.get("params") == digest:
            guard_result = stored_guard
        else:
            guard_result = {**guard_figures(services, params, progress, version.name), "params": digest}
        metrics = {
            **kept,
            "snapshot": snap.id,
            "eval_wer": figures["wer"],
            "eval_interval": figures["interval"],
            "eval_clips": len(counts),
            "guard": guard_result,
        }
        version.metrics = json.dumps(metrics, sort_keys=True)
        per_clip[version.name] = [e for e, _ in counts]
        report["versions"][version.name] = {"status": version.status, **gates.summary(metrics)}
    # Clip by clip against the active version: how many each other version fixes and breaks.
    live = [v for v in versions if v.status in (registry.ACTIVE, registry.NEEDS_RETRAIN) and v.activated_at is not None]
    active = max(live, key=lambda v: v.activated_at or datetime.min) if live else None
    others = [v for v in versions if v is not active]
    if active is not None and others:
        base_guard = json.loads(active.metrics)["guard"]["errors"]
        for version in others:
            row = report["versions"][version.name]
            row["eval_vs_active"] = better_worse(per_clip[active.name], per_clip[version.name])
            row["guard_vs_active"] = better_worse(base_guard, json.loads(version.metrics)["guard"]["errors"])
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
        fresh = adaptation.learn(pairs, general_text=list(guard.general_text()), **{k: v for k, v in old.items() if k in adaptation.DEFAULTS})
        registry.set_params(services, version, fresh.to_json())
        version.snapshot_id = snap.id
        version.metrics = "{}"
        version.status = registry.ACTIVE if version.activated_at and not _newer_active(db, version) else registry.CANDIDATE
        rebuilt.append(version.name)
    registry.bump_generation(db)
    registry.forget_active()
    return rebuilt


def _newer_active(db: Session, version: ModelVersion) -> bool:
    return db.scalar(select(ModelVersion.id).where(ModelVersion.status == registry.ACTIVE, ModelVersion.id != version.id)) is not None
