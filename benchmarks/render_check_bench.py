"""Issue 15: what the render's local alignment and post-render check cost, how often the check
fires, and what minimum-necessary listening buys (how much of a clip is heard, tiny.en WER on
what the reviewer hears, windows against the whole clip).

    nice -n 19 .venv/bin/python benchmarks/render_check_bench.py [--quick] [--json]

Part 1, the check: sentences with a phone number, a serial or a name, said by espeak-ng voices
(synthetic speech; real callers' PII is not in any corpus here), rendered by the product's own
steps (review/deidentify.py DEIDENTIFY, McAdams included) under two hypotheses: the bundled
recognizer's own (times measured on the clip) and a device's with the same words but wrong times
(squeezed into the first second). For each render: whether the first check recovered a masked
entity (fired), whether the clip was withheld, the CPU seconds of alignment and of the check, and
whether a transcription of the *served* (voice-transformed) clip still says 4 or more consecutive
digits of the number or the name (leak). Part 2, listening: the 31 real speech-to-phrase-en
commands (one real speaker, reference = file name), rendered as in production from the bundled
recognizer's hypothesis; the listening windows (review/listening.py) are cut from the render and
transcribed; WER on the reference words the windows cover, against WER of the whole render on all
words, with bootstrap 95% intervals over clips. Prints no transcript text.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import voice_data  # noqa: E402

from sottovoce.asr.scoring import bootstrap_interval, error_counts, normalize  # noqa: E402
from sottovoce.privacy.known_ids import find_known, identifiers  # noqa: E402
from sottovoce.review import deidentify  # noqa: E402
from sottovoce.review.alignment import RenderWithheld  # noqa: E402
from sottovoce.review.listening import attention, cut, plan  # noqa: E402
from sottovoce.review.projection import ReviewWord  # noqa: E402

SR = 16_000
VOICES = ["en-us+m1", "en-us+f2", "en-gb-x-rp+m2", "en-us+m3"]
# (spoken text, hypothesis words, the entity as characters, kind)
SENTENCES = [
    ("Please call my sister at five five five, eight six seven, five three oh nine, tomorrow.",
     "please call my sister at five five five eight six seven five three oh nine tomorrow", "5558675309", "phone"),
    ("My phone number is two one two, four four six, nine one three two. Thanks.",
     "my phone number is two one two four four six nine one three two thanks", "2124469132", "phone"),
    ("The serial on the back says K, seven, four, nine, two, X, B. Can you check it?",
     "the serial on the back says k seven four nine two x b can you check it", "k7492xb", "serial"),
    ("Remind Margaret Okonkwo about the dentist on Friday.",
     "remind margaret okonkwo about the dentist on friday", "margaret okonkwo", "name"),
]


class Recognizer:
    def __init__(self) -> None:
        from sottovoce.app_services import make_recognizer
        from sottovoce.core.settings import Settings

        self.r = make_recognizer(Settings(asr_cpu_threads=1))

    def words(self, samples: np.ndarray) -> list[dict]:
        return [{"word": w.word, "start": w.start, "end": w.end, "confidence": w.confidence} for w in self.r.transcribe(samples).words]


def render(recognizer: Recognizer, samples: np.ndarray, words: list[dict], local: bool, known: list) -> tuple[np.ndarray | None, dict]:
    context = deidentify.RenderContext(None, words, known, transcribe=recognizer.words)  # type: ignore[arg-type]
    if local:
        context.local_words = words
    try:
        for step in deidentify.DEIDENTIFY:
            samples = step(samples, context)
    except RenderWithheld as withheld:
        context.params["check"] = withheld.report
        return None, context.params
    return samples, context.params


def leaked(recognizer: Recognizer, served: np.ndarray, entity: str) -> bool:
    heard = [w["word"] for w in recognizer.words(served)]
    if find_known(heard, identifiers(names=[entity]) if " " in entity else identifiers(codes=[entity])):
        return True
    digits = re.sub(r"\D", "", entity)
    said = re.sub(r"\D", "", " ".join(heard))
    return any(digits[i : i + 4] in said for i in range(len(digits) - 3)) if len(digits) >= 4 else False


def part_check(recognizer: Recognizer, quick: bool) -> dict:
    rows = []
    voices = VOICES[:2] if quick else VOICES
    for voice in voices:
        for text, hyp_text, entity, kind in SENTENCES:
            audio = voice_data.synthesize(voice, text)
            audio = np.concatenate([np.zeros(SR // 2, np.float32), audio, np.zeros(SR // 2, np.float32)])
            local_words = recognizer.words(audio)
            wrong = [{"word": w, "start": 0.05 * i, "end": 0.05 * i + 0.04, "confidence": 0.9} for i, w in enumerate(hyp_text.split())]
            for condition, words, local in (("local hypothesis", local_words, True), ("device, wrong times", wrong, False)):
                served, params = render(recognizer, audio, words, local, [])
                check = params.get("check", {})
                rows.append({
                    "condition": condition, "kind": kind, "voice": voice, "seconds": len(audio) / SR,
                    "masked": params.get("spans", 0) > 0, "fired": bool(check.get("recovered", [0])[0]) if check.get("checks") else False,
                    "withheld": served is None, "align_cpu_s": params.get("aligned", {}).get("cpu_s", 0.0) if not local else 0.0,
                    "check_cpu_s": check.get("cpu_s", 0.0), "checks": check.get("checks", 0),
                    "leak": (served is not None) and leaked(recognizer, served, entity),
                })
    out: dict = {"clips": len(rows)}
    for condition in ("local hypothesis", "device, wrong times"):
        sub = [r for r in rows if r["condition"] == condition]
        out[condition] = {
            "n": len(sub), "masked": sum(r["masked"] for r in sub), "fired": sum(r["fired"] for r in sub),
            "withheld": sum(r["withheld"] for r in sub), "leaks_in_served": sum(r["leak"] for r in sub),
            "align_cpu_s_median": round(statistics.median(r["align_cpu_s"] for r in sub), 3),
            "check_cpu_s_median": round(statistics.median(r["check_cpu_s"] for r in sub), 3),
            "check_cpu_per_audio_s": round(sum(r["check_cpu_s"] for r in sub) / sum(r["seconds"] for r in sub), 3),
        }
    return out


def _covered_reference(ref: list[str], hyp: list[str], covered_hyp: set[int]) -> list[str]:
    """The reference words lined up with the hypothesis words the windows cover."""
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ref, hyp, autojunk=False).get_opcodes():
        for k in range(i1, i2):
            if op in ("equal", "replace"):
                j = j1 + min(k - i1, max(0, j2 - j1 - 1)) if j2 > j1 else j1
                if j in covered_hyp:
                    out.append(ref[k])
            elif op == "delete" and ({j1 - 1, j1} & covered_hyp):
                out.append(ref[k])
    return out


def part_listening(recognizer: Recognizer, quick: bool) -> dict:
    paths = sorted(voice_data.STP_DIR.glob("*.wav"))[: 10 if quick else None]
    whole_e, whole_n, win_e, win_n, heard_s, total_s = [], [], [], [], [], []
    for path in paths:
        audio = voice_data.load_wav_16k(path)
        reference = normalize(path.stem)
        words = recognizer.words(audio)
        served, params = render(recognizer, audio, words, True, [])
        if served is None or not words:
            continue
        entities = deidentify.pii_entities([w["word"] for w in words], [])
        shown = [ReviewWord(i, w["word"], w["start"], w["end"], w["confidence"], w["confidence"] < 0.6 and not e, e, i, i) for i, (w, e) in enumerate(zip(words, entities))]
        times = {w.index: (w.start, w.end) for w in shown}
        listening = plan(shown, times, attention(shown, set()), len(audio) / SR)
        windows_clip = cut(served, listening.windows)
        covered = {i for w in listening.windows for i in w.words}
        hyp_norm = [normalize(w["word"]) for w in words]
        ref_window = normalize(" ".join(_covered_reference(reference.split(), [h for h in hyp_norm], covered)))
        e, n = error_counts(reference, normalize(" ".join(w["word"] for w in recognizer.words(served))))
        whole_e.append(e)
        whole_n.append(n)
        e, n = error_counts(ref_window, normalize(" ".join(w["word"] for w in recognizer.words(windows_clip)))) if ref_window else (0, 0)
        win_e.append(e)
        win_n.append(n)
        heard_s.append(sum(w.end - w.start for w in listening.windows))
        total_s.append(len(audio) / SR)

    def rate(errors: list[int], n: list[int]) -> dict:
        low, high = bootstrap_interval(errors, n)
        return {"wer": round(sum(errors) / max(1, sum(n)), 3), "ci95": [round(low, 3), round(high, 3)], "words": sum(n)}

    return {
        "clips": len(whole_n), "speech_heard_fraction": round(sum(heard_s) / sum(total_s), 3),
        "speech_heard_fraction_median": round(statistics.median(h / t for h, t in zip(heard_s, total_s)), 3),
        "wer_whole_render": rate(whole_e, whole_n), "wer_windows_render": rate(win_e, win_n),
    }


def _eer(scores: list[float], labels: list[int]) -> float:
    s, y = np.asarray(scores), np.asarray(labels)
    y = y[np.argsort(-s)]
    fnr = 1 - np.cumsum(y) / y.sum()
    fpr = np.cumsum(1 - y) / (1 - y).sum()
    k = int(np.argmin(np.abs(fnr - fpr)))
    return float((fnr[k] + fpr[k]) / 2)


def _eer_with_interval(trials: list[tuple[str, np.ndarray]], models: dict[str, np.ndarray], rounds: int = 1000) -> dict:
    """EER over (speaker, embedding) trials scored against every enrolled speaker, with a
    bootstrap 95% interval that resamples trials."""
    def scored(sample: list[tuple[str, np.ndarray]]) -> float:
        scores, labels = [], []
        for spk, emb in sample:
            for model_spk, model in models.items():
                scores.append(float(model @ emb))
                labels.append(int(spk == model_spk))
        return _eer(scores, labels)

    rng = np.random.default_rng(SEED)
    boots = [scored([trials[i] for i in rng.integers(0, len(trials), len(trials))]) for _ in range(rounds)]
    return {"eer": round(scored(trials), 3), "ci95": [round(float(np.percentile(boots, 2.5)), 3), round(float(np.percentile(boots, 97.5)), 3)], "trials": len(trials)}


SEED = 20240601


def part_eer(recognizer: Recognizer, quick: bool) -> dict:
    """Speaker verification on what the reviewer hears: the default render (McAdams), whole clip
    against listening windows; resemblyzer attacker enrolled on 3 original utterances (ignorant)
    or on 3 rendered whole clips (lazy-informed). Real speakers only (fsdd, speech-to-phrase)."""
    import random

    import torch
    from resemblyzer import VoiceEncoder, preprocess_wav

    torch.set_num_threads(1)
    encoder = VoiceEncoder("cpu", verbose=False)

    def embed(audio: np.ndarray) -> np.ndarray | None:
        # resemblyzer normalizes the level first: audio that is (nearly) all silence has none.
        if len(audio) < SR // 4 or float(np.max(np.abs(audio))) < 1e-4:
            return None
        emb = encoder.embed_utterance(preprocess_wav(audio, source_sr=SR))
        return emb if np.all(np.isfinite(emb)) else None

    utts = voice_data.fsdd_utterances(6 if quick else 10, random.Random(SEED)) + voice_data.stp_utterances(6 if quick else 10, random.Random(SEED))
    rows = []
    for u in utts:
        words = recognizer.words(u.audio)
        served, _params = render(recognizer, u.audio, words, True, [])
        if served is None:
            continue
        entities = deidentify.pii_entities([w["word"] for w in words], [])
        shown = [ReviewWord(i, w["word"], w["start"], w["end"], w["confidence"], w["confidence"] < 0.6 and not e, e, i, i) for i, (w, e) in enumerate(zip(words, entities))]
        listening = plan(shown, {w.index: (w.start, w.end) for w in shown}, attention(shown, set()), len(u.audio) / SR)
        windows = cut(served, listening.windows)
        original, whole = embed(u.audio), embed(served)
        if original is None or whole is None:
            continue
        rows.append((u.speaker, original, whole, embed(windows), len(windows) / len(u.audio)))
    speakers = sorted({r[0] for r in rows})
    n_enroll = 3
    enroll: dict[str, dict[str, np.ndarray]] = {"original": {}, "rendered": {}}
    trials: dict[str, list[tuple[str, np.ndarray]]] = {"original": [], "whole": [], "windows": []}
    for spk in speakers:
        mine = [r for r in rows if r[0] == spk]
        for key, col in (("original", 1), ("rendered", 2)):
            m = np.mean([r[col] for r in mine[:n_enroll]], axis=0)
            enroll[key][spk] = m / np.linalg.norm(m)
        for r in mine[n_enroll:]:
            trials["original"].append((spk, r[1]))
            trials["whole"].append((spk, r[2]))
            # Windows with too little audio to embed give the attacker nothing: a score of 0 for everyone.
            trials["windows"].append((spk, r[3] if r[3] is not None else np.zeros_like(r[2])))
    return {
        "speakers": len(speakers), "utterances": len(rows),
        "heard_fraction_median": round(statistics.median(r[4] for r in rows), 3),
        "original": _eer_with_interval(trials["original"], enroll["original"]),
        "ignorant_whole": _eer_with_interval(trials["whole"], enroll["original"]),
        "ignorant_windows": _eer_with_interval(trials["windows"], enroll["original"]),
        "lazy_informed_whole": _eer_with_interval(trials["whole"], enroll["rendered"]),
        "lazy_informed_windows": _eer_with_interval(trials["windows"], enroll["rendered"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--only", choices=["check", "listening", "eer"], action="append", help="run only these parts")
    args = ap.parse_args()
    started = time.time()
    recognizer = Recognizer()
    parts = {"check": part_check, "listening": part_listening, "eer": part_eer}
    result: dict = {name: run(recognizer, args.quick) for name, run in parts.items() if not args.only or name in args.only}
    result["wall_s"] = round(time.time() - started, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
