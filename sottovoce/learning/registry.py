"""The model registry: every recognizer version with its parameters, training snapshot, metrics and
status (``active``, ``candidate``, ``retired``, ``needs_retrain``).

A version is the bundled faster-whisper model plus what was learned from corrections: decoding
bias (hotwords / initial prompt), beam-search alternatives picked by a language model of the
corrections, and phrase rewrites (learning/adaptation.py). New hypotheses record the id of the
version that produced them.

What a version learned is users' corrected text (prompt sentences, the language model's trigram
counts, rewrite phrases), so its
parameters are sealed at rest (AES-256-GCM under a key derived from the master key, bound to the
version id) and read only through :func:`params_of`. A deletion that touches a version's training
data strips that text at once (:func:`mark_needs_retrain`); ``learn rebuild`` refits it later.

Versions are shared state across processes (web server, workers, CLI): whatever changes which
version decodes or what it holds (promotion, rollback, a deletion strip, a rebuild) bumps the
``learning_state.generation`` counter in the same transaction, and :func:`active_params` compares
it with the generation its per-process cache was filled at before every transcription job (one
primary-key SELECT). So a promotion or strip committed by any process is used by every other
process from its next job on.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import weakref
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sottovoce.asr.hypothesis import Transcript, Word
from sottovoce.core.crypto import open_sealed, seal
from sottovoce.core.errors import Conflict, IntegrityFailure, NotFound
from sottovoce.core.purposes import Purpose
from sottovoce.core.services import Services
from sottovoce.db.engine import rowcount
from sottovoce.db.models import DatasetItem, LearningState, ModelVersion
from sottovoce.db.types import new_id, utcnow

if TYPE_CHECKING:
    import numpy as np

    from sottovoce.asr.whisper import WhisperRecognizer
    from sottovoce.learning.adaptation import Adaptation

ACTIVE, CANDIDATE, RETIRED, NEEDS_RETRAIN = "active", "candidate", "retired", "needs_retrain"
PARAMS_PURPOSE = Purpose.MODEL_PARAMS
_cache_lock = threading.Lock()
# Per database (engine): (generation it was read at, (version id, params)).
_active_cache: weakref.WeakKeyDictionary[object, tuple[int, tuple[str, dict]]] = weakref.WeakKeyDictionary()


def generation(db: Session) -> int:
    return db.scalar(select(LearningState.generation).where(LearningState.id == 1)) or 0


def bump_generation(db: Session) -> None:
    """Tells every process to reload the active version at its next job; commits with the caller."""
    if not rowcount(db.execute(update(LearningState).where(LearningState.id == 1).values(generation=LearningState.generation + 1))):
        db.add(LearningState(id=1, generation=1))
    db.flush()


def ensure_base(services: Services, db: Session) -> ModelVersion:
    """The first version (v1): the bundled model with nothing learned, active until promoted over."""
    active = db.scalar(select(ModelVersion).where(ModelVersion.status == ACTIVE))
    if active is not None:
        return active
    base = ModelVersion(id=new_id(), name=_next_name(db), status=ACTIVE, base_model=_base_model(services), activated_at=utcnow())
    set_params(services, base, {})
    db.add(base)
    db.flush()
    return base


def _base_model(services: Services) -> str:
    from sottovoce.asr.whisper import model_fingerprint

    return model_fingerprint(services.settings.resolved_asr_model_path)


def _next_name(db: Session) -> str:
    return f"v{(db.scalar(select(func.count()).select_from(ModelVersion)) or 0) + 1}"


def add_candidate(services: Services, db: Session, params: dict, snapshot_id: str) -> ModelVersion:
    version = ModelVersion(id=new_id(), name=_next_name(db), status=CANDIDATE, base_model=_base_model(services), snapshot_id=snapshot_id)
    set_params(services, version, params)
    db.add(version)
    db.flush()
    return version


def _params_key(services: Services) -> bytes:
    return services.keys.derived_key(PARAMS_PURPOSE)


def set_params(services: Services, version: ModelVersion, params: dict) -> None:
    """Seals a version's parameters (they hold users' corrected text) into ``version.params``."""
    sealed = seal(_params_key(services), json.dumps(params, sort_keys=True).encode(), PARAMS_PURPOSE, version.id)
    version.params = base64.b64encode(sealed).decode("ascii")


def params_of(services: Services, version: ModelVersion) -> dict:
    """A version's parameters, opened; a version sealed for another id or tampered with fails."""
    if version.params == "{}":
        # The base version as written before params were sealed: nothing learned, nothing to hide.
        # Any other unsealed value is refused, so a row edited in the database cannot inject a
        # prompt or rewrite rules.
        return {}
    try:
        sealed = base64.b64decode(version.params, validate=True)
    except binascii.Error:
        raise IntegrityFailure("model version params are not sealed") from None
    return json.loads(open_sealed(_params_key(services), sealed, PARAMS_PURPOSE, version.id))


def get(db: Session, name_or_id: str) -> ModelVersion:
    version = db.scalar(select(ModelVersion).where((ModelVersion.name == name_or_id) | (ModelVersion.id == name_or_id)))
    if version is None:
        raise NotFound("model version")
    return version


def promote(db: Session, candidate: ModelVersion) -> ModelVersion:
    """Activate a candidate only if it beats the active version on the eval split and is not worse
    on the guard set beyond the bootstrap interval of the difference (both measured by
    ``learn evaluate``). A gate that cannot be computed refuses (:class:`Conflict`)."""
    from sottovoce.learning import gates

    if candidate.status != CANDIDATE:
        raise Conflict(f"only a candidate can be promoted; {candidate.name} is {candidate.status}")
    active = db.scalar(select(ModelVersion).where(ModelVersion.status.in_((ACTIVE, NEEDS_RETRAIN))).order_by(ModelVersion.activated_at.desc().nullslast()).limit(1))
    if active is not None:
        gates.check_eval(active, candidate)
        gates.check_guard(active, candidate)
        active.status = RETIRED
    return _activate(db, candidate)


def rollback(services: Services, db: Session, target: ModelVersion | None = None) -> tuple[ModelVersion, ModelVersion]:
    """Re-activate an earlier version (default: the one activated before the current one).

    Gates: the target was active once and is retired, still holds what it learned (not stripped
    by a deletion), runs on the installed base model, and is not worse on the guard set than the
    version it replaces (or, when that one was stripped by a deletion, than the base model)
    beyond the bootstrap interval. Returns (replaced, restored)."""
    from sottovoce.learning import gates

    current = db.scalar(select(ModelVersion).where(ModelVersion.status.in_((ACTIVE, NEEDS_RETRAIN))).order_by(ModelVersion.activated_at.desc().nullslast()).limit(1))
    if current is None:
        raise Conflict("no active version to roll back")
    if target is None:
        target = db.scalar(
            select(ModelVersion)
            .where(ModelVersion.status == RETIRED, ModelVersion.activated_at.is_not(None), ModelVersion.id != current.id)
            .order_by(ModelVersion.activated_at.desc())
            .limit(1)
        )
        if target is None:
            raise Conflict("no earlier version to roll back to")
    if target.id == current.id:
        raise Conflict(f"{target.name} is already active")
    if target.status != RETIRED or target.activated_at is None:
        raise Conflict(f"refused: {target.name} is {target.status}; only a retired, once-active version can be rolled back to (promote candidates)")
    if params_of(services, target).get("stripped_by_deletion"):
        raise Conflict(f"refused: {target.name} was stripped by a deletion; rebuild it first")
    if target.base_model != _base_model(services):
        raise Conflict(f"refused: {target.name} was learned on another base model ({target.base_model})")
    # A version stripped by a deletion decodes like the base model, and its figures were cleared:
    # the target is compared with the base model's figures instead.
    compared = current if current.status != NEEDS_RETRAIN else _base_version(db)
    if compared.id != target.id:
        gates.check_guard(compared, target)
    current.status = RETIRED
    return current, _activate(db, target)


def _base_version(db: Session) -> ModelVersion:
    """The first version: the bundled model with nothing learned (no training snapshot)."""
    return db.scalars(select(ModelVersion).where(ModelVersion.snapshot_id.is_(None)).order_by(ModelVersion.created_at).limit(1)).one()


def _activate(db: Session, version: ModelVersion) -> ModelVersion:
    version.status, version.activated_at = ACTIVE, utcnow()
    bump_generation(db)
    forget_active()
    return version


def mark_needs_retrain(services: Services, db: Session, recording_ids: list[str]) -> int:
    """Versions trained on any of these recordings forget what they learned now (deletion cascade).

    Their prompt sentences, language model and rewrite phrases (kept and excluded ones) may quote the deleted
    corrections, so every such version, retired ones included, keeps only its sizes and
    thresholds; until
    ``learn rebuild`` refits it without the deleted data it decodes like the base model. Active
    and candidate versions are marked ``needs_retrain``.
    """
    snapshots = select(DatasetItem.snapshot_id).where(DatasetItem.recording_id.in_(recording_ids), DatasetItem.split == "train")
    versions = db.scalars(select(ModelVersion).where(ModelVersion.snapshot_id.in_(snapshots))).all()
    marked = 0
    for version in versions:
        learned = params_of(services, version).get("params", {})
        kept = {"selected": {**learned["selected"], "exclude_rules": []}} if "selected" in learned else {}
        set_params(services, version, {"params": kept, "stripped_by_deletion": True})
        version.metrics = "{}"  # its figures describe what it no longer holds
        if version.status in (ACTIVE, CANDIDATE):
            version.status = NEEDS_RETRAIN
            marked += 1
    if versions:
        bump_generation(db)  # other processes drop the stripped text from their cache at their next job
    forget_active()
    return marked


def active_params(services: Services) -> tuple[str | None, dict]:
    """(version id, params) of the active version, cached per process and re-read whenever the
    shared generation counter moved (checked on every call: one primary-key SELECT)."""
    with services.sessions() as db:
        current = generation(db)
        with _cache_lock:
            cached = _active_cache.get(services.engine)
        if cached is not None and cached[0] == current:
            return cached[1]
        version = db.scalar(select(ModelVersion).where(ModelVersion.status.in_((ACTIVE, NEEDS_RETRAIN))).order_by(ModelVersion.activated_at.desc().nullslast()).limit(1))
        if version is None:
            version = ensure_base(services, db)
            db.commit()
        value = (version.id, params_of(services, version))
    with _cache_lock:
        _active_cache[services.engine] = (current, value)
    return value


def forget_active() -> None:
    """Drops this process's cache (other processes notice the generation counter instead)."""
    with _cache_lock:
        _active_cache.clear()


def decode_alternatives(recognizer: WhisperRecognizer, samples: np.ndarray, adaptation: Adaptation) -> list[tuple[Transcript, float]]:
    """What the recognizer gives for a version: (transcript, acoustic score) pairs, best first;
    one greedy transcript unless the version asks for beam-search alternatives to rescore."""
    if adaptation.alternatives > 1:
        return recognizer.alternatives(samples, adaptation.alternatives, hotwords=adaptation.hotwords, initial_prompt=adaptation.initial_prompt)
    return [(recognizer.transcribe(samples, hotwords=adaptation.hotwords, initial_prompt=adaptation.initial_prompt), 0.0)]


def recognize(recognizer: WhisperRecognizer, samples: np.ndarray, params: dict) -> Transcript:
    """Recognize audio the way a version says: its prompt, its alternatives picked by its language
    model (or the base decode when that runs away: ``Adaptation.falls_back``), then its
    post-recognition steps (``apply_version``)."""
    from sottovoce.core.audio import SAMPLE_RATE
    from sottovoce.learning.adaptation import Adaptation

    adaptation = Adaptation.from_json(params)
    candidates = decode_alternatives(recognizer, samples, adaptation)
    chosen = candidates[adaptation.pick([(t.words, score) for t, score in candidates])][0]
    seconds = len(samples) / SAMPLE_RATE
    if adaptation.falls_back(chosen.words, seconds):
        # The prompted or rescored decode ran away (a hallucinated paragraph): the base decode,
        # run only now, replaces it; the version's rewrites still apply (they were learned on
        # base decodes).
        chosen = recognizer.transcribe(samples)
    elif adaptation.needs_base:
        base = recognizer.transcribe(samples)
        words = list(adaptation.choose_words(chosen.words, seconds, base.words))
        chosen = Transcript(words=words, engine=chosen.engine, model=chosen.model, model_version=chosen.model_version)
    return apply_version(chosen, adaptation)


def apply_version(transcript: Transcript, adaptation: Adaptation) -> Transcript:
    """Post-recognition steps of a version (learning/adaptation.py), on words with their times:
    drop decoding loops and a low-confidence tail (Whisper's prompt-induced hallucinations), then
    rewrite phrases. A replacement inherits the replaced words' span and their lowest confidence, so the
    reviewer still sees it as doubtful if it was. Same rule semantics as Adaptation.apply_rewrites
    (case-insensitive, whole words, punctuation ignored), kept on words so times survive."""
    words = list(adaptation.trim_tail(transcript.words))  # same rule as learning used
    for source, target in adaptation.rewrites:
        src, dst = source.lower().split(), target.split()
        i = 0
        while src and i + len(src) <= len(words):
            window = [w.word.strip(".,?!").lower() for w in words[i : i + len(src)]]
            if window != src:
                i += 1
                continue
            start, end = words[i].start, words[i + len(src) - 1].end
            confidence = min(w.confidence for w in words[i : i + len(src)])
            step = (end - start) / max(1, len(dst))
            words[i : i + len(src)] = [Word(d, round(start + k * step, 3), round(start + (k + 1) * step, 3), confidence) for k, d in enumerate(dst)]
            i += max(1, len(dst))
    if words == list(transcript.words):
        return transcript
    return Transcript(words=words, engine=transcript.engine, model=transcript.model, model_version=transcript.model_version)


def describe(services: Services, version: ModelVersion) -> dict:
    """What operators see of a version: sizes and settings, never the learned text."""
    from sottovoce.learning.adaptation import Adaptation
    from sottovoce.learning.adaptation import describe as shape
    from sottovoce.learning.gates import summary

    params = params_of(services, version)
    metrics = json.loads(version.metrics)
    return {
        "id": version.id, "name": version.name, "status": version.status, "base_model": version.base_model,
        "params": {**shape(Adaptation.from_json(params)), "stripped_by_deletion": bool(params.get("stripped_by_deletion"))},
        "snapshot": version.snapshot_id, "figures": summary(metrics),
        "metrics": {k: ({kk: vv for kk, vv in v.items() if kk not in ("errors", "words")} if k == "guard" else v) for k, v in metrics.items()},
        "created_at": version.created_at.isoformat(), "activated_at": version.activated_at.isoformat() if version.activated_at else None,
    }
