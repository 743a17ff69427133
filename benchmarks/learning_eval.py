"""Does learning from corrections measurably improve the recognizer? The review loop, simulated.

1. Build the domain set (``domain_set.py``): adaptation clips, evaluation clips with other voices
   and other sentences (plus 31 real recordings), and a general non-domain set.
2. Decode everything with the baseline recognizer (Whisper tiny.en, int8, 2 threads).
3. Reviewers "correct" the first N adaptation clips (their reference transcripts), N = 50, 100,
   200, 400. The clips of one of the four adaptation voices are held out (by voice, not by clip)
   as the validation slice that chooses the prompt
   size, the number of alternatives, the language model weight, the tail threshold and the rules
   (``learn(..., validate=...)``); a candidate that makes
   the training-side guard set (non-domain speech) worse by more than 1 WER point is rejected.
   Then the chosen settings are refitted on all N corrections.
4. Score each candidate on the evaluation and general sets and on the product's packaged guard
   set (learning/guard, real speech, digits scored one per word), WER after Whisper
   normalization, and count per clip how many the candidate gets better and worse than the
   baseline (over-pull shows as clips made worse).
5. For the last candidate: what each part adds (ablations) and its decoding time per clip against
   the baseline's.

Recognizer outputs are cached on disk per (model version, beam, clip, decoding key), so reruns and
rewrite-only variations cost nothing. Prints aggregate tables only (or JSON with ``--json``).

    .venv/bin/python benchmarks/learning_eval.py            # full run
    .venv/bin/python benchmarks/learning_eval.py --quick    # small set, curve at 50 and 100
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import NamedTuple

import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import domain_set  # noqa: E402
from domain_set import GUARD_SCENARIOS, SLURP, Clip  # noqa: E402

from sottovoce.asr.scoring import better_worse, error_counts, paired_difference_interval, top_confusions, wer  # noqa: E402
from sottovoce.asr.whisper import WhisperRecognizer  # noqa: E402
from sottovoce.core.settings import Settings  # noqa: E402
from sottovoce.learning import guard  # noqa: E402
from sottovoce.learning.adaptation import Adaptation, describe, learn  # noqa: E402
from sottovoce.learning.registry import decode_alternatives, recognize  # noqa: E402

ASR_CACHE = Path(__file__).resolve().parent / ".cache" / "asr"
FULL_CURVE = (50, 100, 200, 400)
QUICK_CURVE = (50, 100)
VALIDATION_VOICE = "espeak:en-gb-x-rp+f2"  # one of the four adaptation voices, held out for validation
HOLDOUT = {"by": "voice"}
# ``--small-grid``: the settings earlier runs chose and their neighbours only (a run on a loaded
# machine); empty: the product's default grids.
SMALL_GRID = {
    "prompt_choices": (0, 8), "lm_weight_choices": (0.0, 0.5), "rescore_confidence_choices": (None, 0.8), "tail_choices": (None,),
}
GRID: dict = {}
GUARD_TOLERANCE = 0.01  # a candidate may not worsen the guard set by more than this (WER)
REJECTED = 1.0  # added to a rejected candidate's validation WER, so any allowed one wins
COST_CLIPS = 20  # adaptation clips timed (uncached) for the decoding cost of the final version


class CachedWord(NamedTuple):
    word: str
    confidence: float


Candidates = list[tuple[list[CachedWord], float]]  # (words, acoustic log-probability), best first


class Decoder:
    """The recognizer behind a disk cache keyed by model version, beam, decoding key and clip.

    Caching matters beyond speed: the recognizer falls back to sampling at higher temperatures
    when greedy decoding looks degenerate, so re-decoding the same clip can give another text.
    Each (clip, version) is decoded once and every comparison reuses that one result.
    """

    def __init__(self, recognizer: WhisperRecognizer, cache_dir: Path = ASR_CACHE):
        self.recognizer = recognizer
        self.cache_dir = cache_dir
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self._memory: dict[str, dict[str, list]] = {}
        self.decoded = 0
        self.decode_s = 0.0
        self.touched: set[tuple[str, str]] = set()  # (key, clip) pairs this run used

    def _file(self, key: str) -> Path:
        return self.cache_dir / f"{self.recognizer.model_version}-b{self.recognizer.beam_size}-{key}.json"

    def _table(self, key: str) -> dict[str, list]:
        if key not in self._memory:
            path = self._file(key)
            self._memory[key] = json.loads(path.read_text()) if path.exists() else {}
        return self._memory[key]

    def candidates(self, clips: list[Clip], adaptation: Adaptation) -> list[Candidates]:
        """The recognizer's output for each clip with the adaptation's prompt and number of
        alternatives (no post-processing). One greedy decode is cached as its word list, several
        alternatives as ``{"alts": [[score, words], ...]}``."""
        key = adaptation.decoding_key
        table = self._table(key)
        self.touched.update((key, c.id) for c in clips)
        missing = [c for c in clips if c.id not in table]
        for i, clip in enumerate(missing, 1):
            started = time.perf_counter()
            decoded = decode_alternatives(self.recognizer, domain_set.load_audio(clip.path), adaptation)
            self.decode_s += time.perf_counter() - started
            self.decoded += 1
            alts = [[score, [[w.word, w.confidence] for w in t.words]] for t, score in decoded]
            table[clip.id] = alts[0][1] if adaptation.alternatives == 1 else {"alts": alts}
            if i % 25 == 0 or i == len(missing):
                self._save(key, table)
        out = []
        for clip in clips:
            entry = table[clip.id]
            alts = entry["alts"] if isinstance(entry, dict) else [[0.0, entry]]
            out.append([([CachedWord(w, c) for w, c in words], score) for score, words in alts])
        return out

    def texts(self, clips: list[Clip], adaptation: Adaptation) -> list[str]:
        """What a reviewer would see: the adaptation's pick and post-processing, with the base
        decode where the adaptation's runs away (as ``registry.recognize`` does)."""
        decoded = self.candidates(clips, adaptation)
        if not (adaptation.steers_decoding and (adaptation.runaway_fallback or adaptation.needs_base)):
            return [adaptation.text(c) for c in decoded]
        base = self.candidates(clips, BASELINE)
        return [adaptation.text(c, seconds(clip), b[0][0]) for clip, c, b in zip(clips, decoded, base)]

    def fell_back(self, clips: list[Clip], adaptation: Adaptation) -> int:
        """How many of the clips the adaptation's runaway fallback gives the base decode."""
        return sum(adaptation.falls_back(c[adaptation.pick(c)][0], seconds(clip)) for clip, c in zip(clips, self.candidates(clips, adaptation)))

    def _save(self, key: str, table: dict[str, list]) -> None:
        path = self._file(key)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(table))
        tmp.replace(path)


_SECONDS: dict[str, float] = {}


def seconds(clip: Clip) -> float:
    """The clip's length (what the product's fallback compares a transcript's length with)."""
    if clip.path not in _SECONDS:
        _SECONDS[clip.path] = float(sf.info(clip.path).duration)
    return _SECONDS[clip.path]


def guard_text() -> list[str]:
    """Ordinary assistant requests for the rules' general-speech guard: scenarios that are neither
    the domain nor the general evaluation set (general/qa/news), so that set stays unseen."""
    sentences = []
    for name in ("devel.jsonl", "test.jsonl"):
        with (SLURP / name).open() as fh:
            for line in fh:
                row = json.loads(line)
                if row["scenario"] in GUARD_SCENARIOS:
                    sentences.append(row["sentence"])
    return sorted(set(sentences))


BASELINE = Adaptation(hotwords=None, initial_prompt=None, rewrites=[], params={"name": "baseline"})


def product_guard_clips() -> list[Clip]:
    """The general guard set shipped with the package (learning/guard): real speech; reported
    here, never used to choose anything, as ``promote`` uses it as a gate."""
    return [Clip("pkg-" + name, str(guard.HERE / "clips" / name), text, "product_guard", "real", "guard", "guard") for name, text in guard.references().items()]


SPLIT_DIGITS = {"product_guard"}  # scored one digit per word, as the product scores it


def subsets(clips: list[Clip]) -> dict[str, list[Clip]]:
    evals = [c for c in clips if c.split == "eval"]
    general = [c for c in clips if c.split == "general"]
    return {
        "product_guard": product_guard_clips(),
        "eval": evals,
        "eval_synth": [c for c in evals if c.source == "synth"],
        "eval_real": [c for c in evals if c.source == "real"],
        "eval_clean": [c for c in evals if c.source == "synth" and c.snr_db is None],
        "eval_snr20": [c for c in evals if c.snr_db == 20.0],
        "eval_snr10": [c for c in evals if c.snr_db == 10.0],
        "general": general,
        "general_synth": [c for c in general if c.source == "synth"],
        "general_digits": [c for c in general if c.source == "real"],
    }


def score(decoder: Decoder, groups: dict[str, list[Clip]], adaptation: Adaptation, with_guard: bool = True) -> dict[str, float]:
    # Decode the top-level sets once; the subsets reuse the cached texts.
    groups = groups if with_guard else {k: v for k, v in groups.items() if k != "product_guard"}
    decoder.candidates(groups["eval"] + groups["general"] + groups.get("product_guard", []), adaptation)
    return {name: wer([c.text for c in clips], decoder.texts(clips, adaptation), name in SPLIT_DIGITS) for name, clips in groups.items() if clips}


def changed_clips(decoder: Decoder, groups: dict[str, list[Clip]], adaptation: Adaptation) -> dict[str, dict]:
    """Per clip against the baseline: how many clips the adaptation gets better (fewer word
    errors) and worse, per set: the over-pull a WER average hides."""
    out = {}
    for name in ("eval", "eval_real", "eval_snr10", "general", "product_guard"):
        clips = groups[name]
        split = name in SPLIT_DIGITS
        counted = [error_counts(c.text, t, split) for c, t in zip(clips, decoder.texts(clips, BASELINE))]
        before, words = [e for e, _ in counted], [n for _, n in counted]
        after = [error_counts(c.text, t, split)[0] for c, t in zip(clips, decoder.texts(clips, adaptation))]
        low, high = paired_difference_interval(before, after, words)
        # The change in WER points with its paired 95% interval; the largest error gain of one clip
        # over its reference words (above 1: a runaway transcript).
        out[name] = better_worse(before, after) | {
            "change_interval": [round(100 * low, 1), round(100 * high, 1)],
            "worst_gain_per_word": round(max((a - b) / max(1, n) for b, a, n in zip(before, after, words)), 2),
        }
    return out


def adapt_at(
    decoder: Decoder, adapt_clips: list[Clip], guard_clips: list[Clip], baseline_text: dict[str, str], n: int, guard: list[str]
) -> Adaptation:
    """One review-loop step: learn from the first n corrected clips, validated on a slice of them."""
    corrected = adapt_clips[:n]
    # Held out by voice, not by clip: the chosen settings must carry over to a voice they never
    # heard (``--holdout clip``: every 5th clip, the earlier method).
    held_out = [c for c in corrected if c.voice == VALIDATION_VOICE] if HOLDOUT["by"] == "voice" else corrected[4::5]
    held_ids = {c.id for c in held_out}
    fit = [c for c in corrected if c.id not in held_ids]
    guard_refs = [c.text for c in guard_clips]
    guard_before = wer(guard_refs, decoder.texts(guard_clips, BASELINE))

    def validate(candidate: Adaptation) -> float:
        score = wer([c.text for c in held_out], decoder.texts(held_out, candidate))
        if candidate.steers_decoding or candidate.rewrites or candidate.min_tail_confidence:
            # Domain validation cannot see harm to ordinary speech; the guard set can.
            if wer(guard_refs, decoder.texts(guard_clips, candidate)) > guard_before + GUARD_TOLERANCE:
                score += REJECTED
        return score

    pairs = [(baseline_text[c.id], c.text) for c in fit]
    chosen = learn(pairs, validate=validate, general_text=guard, **GRID)
    all_pairs = [(baseline_text[c.id], c.text) for c in corrected]
    final = learn(all_pairs, general_text=guard, **chosen.params["selected"])
    final.params["validation"] = chosen.params.get("validation", {})
    final.params["validation_clips"] = len(held_out)
    return final


def decoding_cost(recognizer: WhisperRecognizer, clips: list[Clip], final: Adaptation) -> dict:
    """Seconds per clip, uncached, of the baseline and of the final version (prompt, alternatives
    and the language model's pick), on the same clips, interleaved so load affects both alike."""
    seconds: dict[str, list[float]] = {"baseline": [], "final": []}
    for clip in clips:
        samples = domain_set.load_audio(clip.path)
        for name, params in (("baseline", BASELINE.to_json()), ("final", final.to_json())):
            started = time.perf_counter()
            recognize(recognizer, samples, params)
            seconds[name].append(time.perf_counter() - started)
    ratios = [f / b for f, b in zip(seconds["final"], seconds["baseline"])]
    return {
        "clips": len(clips),
        "baseline_median_s": round(statistics.median(seconds["baseline"]), 3),
        "final_median_s": round(statistics.median(seconds["final"]), 3),
        "median_ratio": round(statistics.median(ratios), 2),
    }


def gate_comparison(decoder: Decoder, groups: dict[str, list[Clip]], final: Adaptation) -> dict:
    """The final version with each confidence gate on rescoring (same decodes, another pick):
    WER and clips better/worse than the baseline, per set: what the gate does to over-pull."""
    if final.alternatives < 2 or final.lm is None or not final.lm_weight:
        return {}
    out = {}
    for gate in adaptation_defaults()["rescore_confidence_choices"]:
        variant = replace(final, params={}, rescore_max_confidence=gate)
        scores = score(decoder, groups, variant)
        out[str(gate)] = {k: scores[k] for k in ("eval", "eval_real", "eval_snr10", "general", "product_guard")} | {"changed": changed_clips(decoder, groups, variant)}
    return out


def fallback_comparison(decoder: Decoder, groups: dict[str, list[Clip]], final: Adaptation) -> dict:
    """The final version with and without the runaway fallback (same decodes): WER, clips
    better/worse than the baseline and clips that fell back, per set."""
    if not final.steers_decoding:
        return {}
    out = {}
    for name, variant in (("off", replace(final, params={}, runaway_fallback=False)), ("on", replace(final, params={}, runaway_fallback=True))):
        scores = score(decoder, groups, variant)
        out[name] = {k: scores[k] for k in ("eval", "eval_real", "eval_snr10", "general", "product_guard")} | {
            "changed": changed_clips(decoder, groups, variant),
            "fell_back": {k: decoder.fell_back(groups[k], variant) for k in ("eval", "general", "product_guard")} if name == "on" else {},
        }
    return out


def adaptation_defaults() -> dict:
    from sottovoce.learning.adaptation import DEFAULTS

    return DEFAULTS


def run(quick: bool, steps: tuple[int, ...] | None = None, ablation: bool = True) -> dict:
    started = time.perf_counter()
    clips = domain_set.build(quick=quick)
    built_s = time.perf_counter() - started
    recognizer = WhisperRecognizer(Settings().resolved_asr_model_path, cpu_threads=2)
    decoder = Decoder(recognizer)
    groups = subsets(clips)
    adapt_clips = [c for c in clips if c.split == "adapt"]
    guard_clips = [c for c in clips if c.split == "guard"]
    baseline_text = dict(zip((c.id for c in adapt_clips), decoder.texts(adapt_clips, BASELINE)))
    guard = guard_text()

    rows = [{"corrected": 0, **score(decoder, groups, BASELINE), "adaptation": describe(BASELINE)}]
    adaptations = {}
    for n in steps or (QUICK_CURVE if quick else FULL_CURVE):
        _progress(f"learning from {n} corrected clips", started)
        adaptation = adapt_at(decoder, adapt_clips, guard_clips, baseline_text, n, guard)
        adaptations[n] = adaptation
        row = {"corrected": n, **score(decoder, groups, adaptation), "changed": changed_clips(decoder, groups, adaptation), "adaptation": describe(adaptation)}
        row["adaptation"]["validation"] = adaptation.params.get("validation", {})
        rows.append(row)

    last = adaptations[max(adaptations)]
    # What each part of the final candidate adds (post-processing variants reuse cached decodes).
    variants = {} if not ablation else {
        "without_confidence_trimming": replace(last, params={}, min_tail_confidence=None),  # loops still go
        "prompt_only": replace(last, params={}, rewrites=[], min_tail_confidence=None, alternatives=1, lm=None, lm_weight=0.0),
    }
    if ablation and last.alternatives > 1:
        # What the language model adds over the beam's own first choice, and what the beam alone
        # (no prompt, no language model) does to the baseline: decodes that cost extra time.
        variants["without_language_model"] = replace(last, params={}, lm_weight=0.0)
        variants["greedy_same_prompt"] = replace(last, params={}, alternatives=1, lm=None, lm_weight=0.0)
        variants["baseline_beam_top1"] = replace(BASELINE, alternatives=last.alternatives)
    ablation = {name: {k: v for k, v in score(decoder, groups, a, with_guard=False).items() if k in ("eval", "general")} for name, a in variants.items()}
    evals = groups["eval"]
    before, after = rows[0], rows[-1]
    return {
        "date": date.today().isoformat(),
        "quick": quick,
        "holdout": HOLDOUT["by"],
        "recognizer": {"model": recognizer.model_name, "version": recognizer.model_version, "beam": recognizer.beam_size, "cpu_threads": 2},
        "sizes": {name: len(c) for name, c in groups.items()} | {"adapt": len(adapt_clips), "guard": len(guard_clips), "validation_voice_clips": len([c for c in adapt_clips if c.voice == VALIDATION_VOICE])},
        "curve": rows,
        "relative_reduction_eval": (before["eval"] - after["eval"]) / before["eval"] if before["eval"] else 0.0,
        "general_change_points": 100 * (after["general"] - before["general"]),
        "top_confusions_before": top_confusions([c.text for c in evals], decoder.texts(evals, BASELINE), n=10),
        "top_confusions_after": top_confusions([c.text for c in evals], decoder.texts(evals, last), n=10),
        "final_ablation": ablation,
        "final_gates": gate_comparison(decoder, groups, last),
        "final_fallback": fallback_comparison(decoder, groups, last),
        "decoding_cost": decoding_cost(recognizer, adapt_clips[-COST_CLIPS:], last) if ablation else None,
        "final_adaptation": {"hotwords_words": len((last.hotwords or "").split()), "rewrites": len(last.rewrites), "params": last.params},
        "runtime_s": {
            "total": round(time.perf_counter() - started, 1),
            "build_set": round(built_s, 1),
            "decode": round(decoder.decode_s, 1),
            # What a run with an empty cache would spend decoding, at this run's speed.
            "cold_decode_estimate": round(len(decoder.touched) * decoder.decode_s / decoder.decoded, 1) if decoder.decoded else None,
        },
        "decodes": {"new": decoder.decoded, "needed": len(decoder.touched)},
    }


def adapt_timing(corrections: int, per_account: int = 8) -> dict:
    """``learn adapt`` through the product on ``corrections`` train examples: a fresh instance
    (temporary SQLite home), adaptation clips ingested by accounts with training consent with
    the baseline decode as the device's hypothesis, reviewed through the review queue with the
    reference as the correction, ``learn dataset``; then ``loop.adapt`` is timed (wall and CPU
    seconds of this process, all threads) with its own uncached decodes."""
    import os
    import resource
    import tempfile

    from sottovoce.accounts.registry import add_device, create_account
    from sottovoce.app_services import open_services
    from sottovoce.core.audit import Actor
    from sottovoce.learning import dataset, loop, registry
    from sottovoce.recordings.ingest import commit_ingest, ingest
    from sottovoce.recordings.metadata import parse_metadata
    from sottovoce.review import leases
    from sottovoce.review.sampler import create_tasks
    from sottovoce.review.submissions import Submission, submit

    clips = [c for c in domain_set.build() if c.split == "adapt"]
    recognizer = WhisperRecognizer(Settings().resolved_asr_model_path, cpu_threads=2)
    decoder = Decoder(recognizer)
    # About a fifth of the accounts land in the eval split: ingest enough for ``corrections`` in train.
    wanted = min(len(clips), int(corrections * 1.4))
    clips = clips[:wanted]
    _progress(f"baseline decodes of {len(clips)} clips (cached)", time.perf_counter())
    baseline = decoder.candidates(clips, BASELINE)
    with tempfile.TemporaryDirectory() as home:
        services = open_services(Settings(home=Path(home) / "home", asr_workers=0, asr_cpu_threads=2))
        try:
            train = 0
            for start in range(0, len(clips), per_account):
                with services.sessions() as db:
                    account = create_account(db, services.keys, f"timing-{start}", True, True)
                    device, _ = add_device(db, account.id, f"SN-T{start}")
                    db.commit()
                in_train = dataset.split_of(services, account.id) == "train"
                for clip, alts in zip(clips[start : start + per_account], baseline[start : start + per_account]):
                    if train >= corrections and in_train:
                        break
                    words = [{"word": w.word, "start": 0.1 * i, "end": 0.1 * i + 0.1, "confidence": w.confidence} for i, w in enumerate(alts[0][0])]
                    with services.sessions() as db:
                        recording = ingest(services, db, device, Path(clip.path).read_bytes(), parse_metadata(json.dumps({"hypothesis": {"words": words}})))
                        commit_ingest(services, db, recording)
                        create_tasks(db, recording.id, account.id, "uncertainty", 0.5)
                        db.commit()
                        task = leases.lease_next(services, db, "timing-reviewer")
                        assert task is not None and task.recording_id == recording.id
                        submit(services, db, task, Actor("timing-reviewer", "reviewer"), Submission(text=clip.text))
                        db.commit()
                    train += in_train
                if train >= corrections:
                    break
            with services.sessions() as db:
                snap = dataset.snapshot(services, db)
                db.commit()
                decodes = [0]

                def progress(what: str, done: int, total: int | None) -> None:
                    if what == "decoding held-out clips":
                        decodes[0] = done
                        if done % 25 == 0 or done == total:  # partial figures survive a bounded run
                            now = resource.getrusage(resource.RUSAGE_SELF)
                            cpu = now.ru_utime + now.ru_stime - usage.ru_utime - usage.ru_stime
                            print(f"[adapt timing] {done}/{total} held-out decodes, {time.perf_counter() - wall:.0f} s wall, {cpu:.0f} s CPU",
                                  file=sys.stderr, flush=True)

                _progress(f"timing learn adapt on {snap.train_count} train examples", time.perf_counter())
                usage = resource.getrusage(resource.RUSAGE_SELF)
                wall = time.perf_counter()
                version = loop.adapt(services, db, snap, progress)
                wall = time.perf_counter() - wall
                after = resource.getrusage(resource.RUSAGE_SELF)
                selected = describe(Adaptation.from_json(registry.params_of(services, version))).get("selected")
            return {
                "train_examples": snap.train_count, "eval_examples": snap.eval_count, "held_out_decodes": decodes[0],
                "wall_s": round(wall, 1), "cpu_s": round(after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime, 1),
                "selected": selected, "load_average_1min": round(os.getloadavg()[0], 1),
            }
        finally:
            services.close()


def _progress(what: str, started: float) -> None:
    print(f"[learning_eval {time.perf_counter() - started:7.1f}s] {what}", file=sys.stderr, flush=True)


def print_table(result: dict) -> None:
    cols = ("eval", "eval_synth", "eval_real", "eval_clean", "eval_snr20", "eval_snr10", "general", "general_synth", "general_digits", "product_guard")
    print(f"sizes: {result['sizes']}")
    print("corrected | " + " | ".join(f"{c:>14s}" for c in cols) + " | prompt words | alternatives/LM weight | rules")
    for row in result["curve"]:
        a = row["adaptation"]
        cells = " | ".join(f"{100 * row[c]:13.1f}%" if c in row else f"{'-':>14s}" for c in cols)
        print(f"{row['corrected']:9d} | {cells} | {a['hotwords_words']:12d} | {a['alternatives']:>15d} / {a['lm_weight']:<4} | {a['rewrites']:5d}")
    print("clips better / worse than the baseline: " + "; ".join(
        f"{row['corrected']}: " + ", ".join(f"{k} {v['better']}/{v['worse']}" for k, v in row["changed"].items()) for row in result["curve"] if "changed" in row))
    print(f"relative WER reduction on eval after {result['curve'][-1]['corrected']} corrections: {100 * result['relative_reduction_eval']:.1f}%")
    print(f"general set change: {result['general_change_points']:+.2f} WER points")
    print(f"final version without parts (eval / general): {json.dumps(result['final_ablation'])}")
    print(f"decoding cost: {result['decoding_cost']}")
    for gate, row in result.get("final_gates", {}).items():
        print(f"final version, rescoring gate {gate}: " + ", ".join(f"{k} {100 * row[k]:.1f}%" for k in ("eval", "eval_real", "eval_snr10", "general", "product_guard"))
              + "; better/worse: " + ", ".join(f"{k} {v['better']}/{v['worse']}" for k, v in row["changed"].items()))
    for name, row in result.get("final_fallback", {}).items():
        print(f"final version, runaway fallback {name}: " + ", ".join(f"{k} {100 * row[k]:.1f}%" for k in ("eval", "eval_real", "eval_snr10", "general", "product_guard"))
              + "; better/worse: " + ", ".join(f"{k} {v['better']}/{v['worse']}" for k, v in row["changed"].items())
              + (f"; fell back: {row['fell_back']}" if row["fell_back"] else ""))
    print(f"runtime: {result['runtime_s']} (decodes: {result['decodes']})")


def main() -> None:
    parser = argparse.ArgumentParser(description="Learning-from-corrections benchmark")
    parser.add_argument("--quick", action="store_true", help="small set, curve at 50 and 100 corrections")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.add_argument("--steps", type=int, nargs="+", help="numbers of corrections to learn from (default: the curve)")
    parser.add_argument("--holdout", choices=("voice", "clip"), default="voice", help="validation slice: one adaptation voice (default) or every 5th clip")
    parser.add_argument("--no-ablation", action="store_true", help="skip the ablations and the decoding-cost timing")
    parser.add_argument("--small-grid", action="store_true", help="validation searches only around earlier choices (see SMALL_GRID)")
    parser.add_argument("--adapt-timing", type=int, metavar="N", help="only time `learn adapt` through the product on N train corrections")
    args = parser.parse_args()
    if args.adapt_timing:
        print(json.dumps(adapt_timing(args.adapt_timing), indent=1))
        return
    HOLDOUT["by"] = args.holdout
    if args.small_grid:
        GRID.update(SMALL_GRID)
    result = run(args.quick, tuple(args.steps) if args.steps else None, not args.no_ablation)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_table(result)


if __name__ == "__main__":
    main()
