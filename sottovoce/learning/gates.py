"""The gates a version must pass to become active, from the metrics ``learn evaluate`` stored.

- eval gate (promotion): lower WER than the active version on the eval split of the same
  dataset snapshot;
- guard gate (promotion and rollback): on the packaged general guard set (learning/guard.py), not
  worse than the version it replaces beyond the 95% paired-bootstrap interval of the difference,
  i.e. refused when the whole interval of WER(new) - WER(old) lies above zero, or when any one
  guard clip gains more errors than it has reference words (a runaway, hallucinated transcript,
  which a bootstrap interval over clips does not see).

A gate that cannot be computed (no eval examples, a version never evaluated, a guard set that
changed since) refuses with a message saying what to do, rather than letting the version through.
"""

from __future__ import annotations

import json

from sottovoce.asr.scoring import paired_difference_interval
from sottovoce.core.errors import Conflict
from sottovoce.db.models import ModelVersion


def metrics(version: ModelVersion) -> dict:
    return json.loads(version.metrics or "{}")


def check_eval(old: ModelVersion, new: ModelVersion) -> None:
    mine, theirs = metrics(new), metrics(old)
    for v, m in ((new, mine), (old, theirs)):
        if "eval_wer" not in m:
            raise Conflict(f"refused: {v.name} has not been evaluated; run `sottovoce learn evaluate` first")
    if mine.get("snapshot") != theirs.get("snapshot"):
        raise Conflict(f"refused: {new.name} and {old.name} were evaluated on different datasets; run `sottovoce learn evaluate` again")
    if mine["eval_wer"] is None or theirs["eval_wer"] is None:
        raise Conflict(
            "refused: the eval gate cannot be computed because the eval split has no examples "
            "(every account hashed to train); collect reviews from more accounts and run `learn dataset` again"
        )
    if not mine["eval_wer"] < theirs["eval_wer"]:
        raise Conflict(f"refused: eval WER {mine['eval_wer']:.3f} does not improve on {theirs['eval_wer']:.3f}")


def check_guard(old: ModelVersion, new: ModelVersion) -> None:
    mine, theirs = metrics(new).get("guard"), metrics(old).get("guard")
    for v, g in ((new, mine), (old, theirs)):
        if not g or not g.get("errors"):
            raise Conflict(f"refused: {v.name} has no guard-set figures; run `sottovoce learn evaluate --version {v.name}` first")
    assert mine is not None and theirs is not None  # checked just above
    if mine["set"] != theirs["set"] or mine["words"] != theirs["words"]:
        raise Conflict(f"refused: {new.name} and {old.name} were scored on different guard sets; evaluate both again")
    # One runaway transcript (a hallucinated paragraph on a short clip) hides inside a bootstrap
    # interval, as it is a single clip; it is refused on its own: no guard clip may gain more
    # errors than it has reference words.
    runaway = sum(new_e - old_e > words for old_e, new_e, words in zip(theirs["errors"], mine["errors"], mine["words"]))
    if runaway:
        raise Conflict(f"refused: {new.name} makes {runaway} guard clip(s) run away (more new errors than reference words: a hallucinated transcript)")
    low, high = paired_difference_interval(theirs["errors"], mine["errors"], mine["words"])
    if low > 0:
        raise Conflict(
            f"refused: guard-set WER {mine['wer']:.3f} is worse than {theirs['wer']:.3f} beyond the bootstrap interval "
            f"(difference 95% interval +{low:.3f} to +{high:.3f})"
        )


def summary(metrics: dict) -> dict:
    """The figures worth showing of a version's metrics (no per-clip lists)."""
    out = {k: metrics.get(k) for k in ("eval_wer", "eval_interval", "eval_clips", "snapshot") if k in metrics}
    if "guard" in metrics:
        out["guard_wer"], out["guard_interval"] = metrics["guard"].get("wer"), metrics["guard"].get("interval")
    if "validation" in metrics:
        v = metrics["validation"]
        out["validation_wer"], out["validation_interval"] = v.get("wer"), v.get("interval")
        out["validation_base_wer"] = v.get("base_wer")
    return out
