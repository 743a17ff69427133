"""Benchmark the forensic watermark on real speech.

    .venv/bin/python benchmarks/watermark_eval.py            # full run (~7 CPU-minutes)
    .venv/bin/python benchmarks/watermark_eval.py --quick    # smoke run (30 clips, ~1 CPU-minute)
    .venv/bin/python benchmarks/watermark_eval.py --json     # JSON instead of the table
    .venv/bin/python benchmarks/watermark_eval.py --stress   # add harsher channels

100 reviewers x 5 tasks = 500 (reviewer, task) candidates.  Every 3-s clip is marked for one
of them, sent through each leak channel in ``channels.py`` and traced against all 500.
False accusations are counted on unmarked clips, through every channel, against the same 500.
Corpora (see their SOURCE.md): picovoice-speech-to-intent (3-s excerpts around the speech) and
speech-to-phrase-en (utterances concatenated to 3 s).
"""

from __future__ import annotations

import os

# Timing is per core: keep numpy/scipy from spreading over several.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from channels import ATTACKS, STRESS  # noqa: E402

from sottovoce.forensics import watermark as wm  # noqa: E402

RATE = 16_000
CLIP = 3 * RATE
KEY = b"sottovoce-benchmark-key-not-secret"
CORPUS = Path("/work/shared/corpus")
PICOVOICE = "picovoice-speech-to-intent/data/speech/clean"
PHRASES = "speech-to-phrase-en/tests/wav/en"


# --- clips -----------------------------------------------------------------------------------


def _read(path: Path) -> np.ndarray:
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    if sr != RATE:
        raise SystemExit(f"{path}: expected {RATE} Hz, got {sr}")
    return x.mean(axis=1)


def _speech_span(x: np.ndarray) -> tuple[int, int]:
    """First and last sample whose 100-ms energy is within 13 dB of the loudest."""
    energy = np.convolve(x.astype(np.float64) ** 2, np.ones(RATE // 10), mode="same")
    active = np.flatnonzero(energy > 0.05 * energy.max())
    return int(active[0]), int(active[-1])


def _window_at(x: np.ndarray, centre: int) -> np.ndarray:
    start = int(np.clip(centre - CLIP // 2, 0, max(0, len(x) - CLIP)))
    return np.pad(x[start : start + CLIP], (0, max(0, CLIP - len(x))))


def picovoice_clips(root: Path, limit: int, per_file: int) -> list[np.ndarray]:
    """3-s excerpts centred on the speech (per_file > 1: spread along the speech)."""
    clips = []
    for path in sorted((root / PICOVOICE).glob("*.wav"))[:limit]:
        x = _read(path)
        lo, hi = _speech_span(x)
        for centre in np.linspace(lo + CLIP // 2, hi - CLIP // 2, per_file + 2)[1:-1] if per_file > 1 else [
            (lo + hi) // 2
        ]:
            clips.append(_window_at(x, int(centre)))
    return clips


def phrase_clips(root: Path, limit: int) -> list[np.ndarray]:
    """Each utterance followed by the next ones until 3 s are filled."""
    utterances = [_read(p) for p in sorted((root / PHRASES).glob("*.wav"))]
    clips = []
    for i in range(min(limit, len(utterances))):
        parts, j = [], i
        while sum(map(len, parts)) < CLIP:
            parts.append(utterances[j % len(utterances)])
            j += 1
        clips.append(np.concatenate(parts)[:CLIP])
    return clips


# --- inaudibility ----------------------------------------------------------------------------


def snr_db(host: np.ndarray, mark: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(host.astype(np.float64) ** 2) / np.sum(mark.astype(np.float64) ** 2)))


def _frames(x: np.ndarray, frame: int, hop: int) -> np.ndarray:
    n = 1 + (len(x) - frame) // hop
    return x[np.arange(frame)[None, :] + hop * np.arange(n)[:, None]].astype(np.float64)


def segmental_snr_db(host: np.ndarray, mark: np.ndarray) -> float:
    """Mean per-frame SNR over 20-ms frames with speech (within 40 dB of the loudest),
    each clamped to [-10, 35] dB as is customary."""
    h = np.sum(_frames(host, 320, 320) ** 2, axis=1)
    m = np.sum(_frames(mark, 320, 320) ** 2, axis=1) + 1e-20
    active = h > h.max() * 1e-4
    return float(np.mean(np.clip(10 * np.log10(h[active] / m[active] + 1e-20), -10, 35)))


def masking_nmr(host: np.ndarray, mark: np.ndarray) -> tuple[float, float]:
    """Noise-to-mask ratio of the mark against a Johnston-style simultaneous-masking threshold.

    An independent re-implementation with Hann windows and 32-ms frames (the embedder uses
    16-ms sqrt-Hann frames), no temporal masking, no absolute threshold of hearing.  Returns
    (total NMR in dB, fraction of speech frames in which some band exceeds its threshold by
    more than 1.5 dB: PEAQ's "relative disturbed frames").  Below 0 dB is masked; lower is
    safer.  A proxy, not a listening test.
    """
    window = np.hanning(512)
    host_p = np.abs(np.fft.rfft(_frames(host, 512, 256) * window, axis=1)) ** 2
    mark_p = np.abs(np.fft.rfft(_frames(mark, 512, 256) * window, axis=1)) ** 2
    freqs = np.fft.rfftfreq(512, 1 / RATE)
    bark = np.floor(13 * np.arctan(0.00076 * freqs) + 3.5 * np.arctan((freqs / 7500) ** 2)).astype(int)
    onehot = (bark[:, None] == np.arange(bark.max() + 1)[None, :]).astype(float)
    host_b, mark_b = host_p @ onehot, mark_p @ onehot
    dz = np.arange(onehot.shape[1])[:, None] - np.arange(onehot.shape[1])[None, :] + 0.474
    spread = host_b @ (10 ** ((15.81 + 7.5 * dz - 17.5 * np.sqrt(1 + dz**2)) / 10)).T
    flatness = 10 * np.log10(
        np.exp(np.mean(np.log(host_p + 1e-20), axis=1)) / (np.mean(host_p, axis=1) + 1e-20)
    )
    tonal = np.clip(flatness / -60, 0, 1)[:, None]
    offset = tonal * (14.5 + np.arange(onehot.shape[1])) + (1 - tonal) * 5.5
    threshold = spread * 10 ** (-offset / 10) + 1e-20
    energy = host_b.sum(axis=1)
    active = energy > energy.max() * 1e-4
    ratio = mark_b[active] / threshold[active]
    disturbed = np.max(10 * np.log10(ratio + 1e-20), axis=1) > 1.5
    return float(10 * np.log10(np.mean(ratio))), float(np.mean(disturbed))


# --- runs ------------------------------------------------------------------------------------


def candidates(n_reviewers: int = 100, tasks_each: int = 5) -> list[wm.Mark]:
    return [wm.Mark(f"reviewer-{r:03d}", f"task-{r:03d}-{t}") for r in range(n_reviewers) for t in range(tasks_each)]


def run_marked(clips, pool, rng, attacks) -> tuple[dict, dict]:
    per_attack = {name: {"right": 0, "right_task": 0, "wrong": 0, "missed": 0, "scores": []} for name in attacks}
    quality = {"snr": [], "segsnr": [], "nmr": [], "disturbed": [], "rtf": [], "trace_s": []}
    for clip in clips:
        truth = pool[int(rng.integers(len(pool)))]
        # CPU time of this (single-threaded) process: the benchmark machine may be shared.
        t0 = time.process_time()
        marked = wm.embed(clip, RATE, KEY, truth)
        quality["rtf"].append((time.process_time() - t0) / (len(clip) / RATE))
        mark = marked.astype(np.float64) - clip
        quality["snr"].append(snr_db(clip, mark))
        quality["segsnr"].append(segmental_snr_db(clip, mark))
        nmr, disturbed = masking_nmr(clip, mark)
        quality["nmr"].append(nmr)
        quality["disturbed"].append(disturbed)
        for name, attack in attacks.items():
            received = attack(marked, RATE, rng)
            t0 = time.process_time()
            found = wm.trace(received, RATE, KEY, pool)
            quality["trace_s"].append(time.process_time() - t0)
            row = per_attack[name]
            if found is None:
                row["missed"] += 1
                continue
            row["scores"].append(found.score)
            if found.mark.reviewer_id == truth.reviewer_id:
                row["right"] += 1
                row["right_task"] += found.mark == truth
            else:
                row["wrong"] += 1
    return per_attack, quality


def run_unmarked(clips, pool, rng) -> dict:
    """Innocent audio: every accusation is false.

    Also records, per trial, the false-accusation bound at the best innocent score (the
    p-value ``trace`` would attach to it), to check the null model at looser levels, where
    events are frequent enough to count: at level alpha at most a fraction alpha of trials
    may fall at or below alpha.
    """
    accused, best, p_values = [], [], []
    spectra = np.stack([wm._sequence_spectrum(KEY, m) for m in pool])
    for index, clip in enumerate(clips):
        for name, attack in ATTACKS.items():
            received = attack(clip.astype(np.float32), RATE, rng)
            found = wm.trace(received, RATE, KEY, pool)
            if found is not None:
                accused.append({"clip": index, "attack": name, "mark": vars(found.mark), "score": found.score})
            folded = wm._folded_spectra(wm._whiten(received.astype(np.float64)))
            score = float(wm._best_match(folded, spectra)[0].max())
            best.append(score)
            p_values.append(min(1.0, wm._n_tests(len(pool), len(received)) * np.exp(-(score**2) / 2)))
    p_values = np.array(p_values)
    return {
        "trials": len(best),
        "accused": len(accused),
        "accusations": accused,
        "max_innocent_score": float(max(best)),
        "calibration": {f"{alpha:g}": float(np.mean(p_values <= alpha)) for alpha in (0.5, 0.1, 0.01)},
    }


def timing_5000() -> float:
    rng = np.random.default_rng(1)
    clip = (0.1 * rng.standard_normal(CLIP)).astype(np.float32)
    pool = [wm.Mark(f"reviewer-{i % 100:03d}", f"task-{i}") for i in range(5000)]
    marked = wm.embed(clip, RATE, KEY, pool[4321])
    t0 = time.process_time()
    wm.trace(marked, RATE, KEY, pool)
    return time.process_time() - t0


# --- report ----------------------------------------------------------------------------------


def summarise(per_attack, quality, innocent, n_marked, pool_size, seconds) -> dict:
    attacks = {}
    for name, row in per_attack.items():
        scores = np.array(row["scores"]) if row["scores"] else np.array([np.nan])
        attacks[name] = {
            "identified": row["right"] / n_marked,
            "task_right": row["right_task"] / n_marked,
            "wrong": row["wrong"],
            "missed": row["missed"],
            "median_score": float(np.nanmedian(scores)),
            "min_score": float(np.nanmin(scores)),
        }
    return {
        "date": datetime.date.today().isoformat(),
        "clips_marked": n_marked,
        "candidates": pool_size,
        "threshold": wm.detection_threshold(pool_size),
        "attacks": attacks,
        "false_accusation": innocent,
        "embed_rtf_mean": float(np.mean(quality["rtf"])),
        "embed_rtf_max": float(np.max(quality["rtf"])),
        "trace_seconds_mean": float(np.mean(quality["trace_s"])),
        "trace_seconds_5000_candidates": timing_5000(),
        "snr_db_median": float(np.median(quality["snr"])),
        "snr_db_min": float(np.min(quality["snr"])),
        "segmental_snr_db_median": float(np.median(quality["segsnr"])),
        "nmr_db_median": float(np.median(quality["nmr"])),
        "nmr_db_max": float(np.max(quality["nmr"])),
        "disturbed_frames_median": float(np.median(quality["disturbed"])),
        "wall_seconds": seconds,
    }


def print_table(r: dict) -> None:
    print(f"{r['clips_marked']} marked 3-s speech clips, {r['candidates']} candidates "
          f"(100 reviewers x 5 tasks), threshold {r['threshold']:.2f} (3-s clip)")
    print(f"{'attack':<24} {'reviewer found':>14} {'task found':>10} {'wrong':>5} {'missed':>6} {'score med/min':>14}")
    for i, (name, a) in enumerate(r["attacks"].items()):
        if i == len(ATTACKS):
            print("-- stress (beyond the targets) --")
        print(f"{name:<24} {a['identified']:>13.1%} {a['task_right']:>10.1%} {a['wrong']:>5} {a['missed']:>6} "
              f"{a['median_score']:>8.1f}/{a['min_score']:<5.1f}")
    fa = r["false_accusation"]
    print(f"false accusations    {fa['accused']} / {fa['trials']} unmarked trials (clips x attacks, "
          f"each vs {r['candidates']} candidates); target <= 0.1 %; max innocent score {fa['max_innocent_score']:.2f}")
    print("null-model check     share of unmarked trials whose best innocent candidate reaches "
          "bound <= alpha: " + ", ".join(f"alpha {a}: {c:.2%}" for a, c in fa["calibration"].items()))
    print(f"embed RTF            mean {r['embed_rtf_mean']:.4f}, max {r['embed_rtf_max']:.4f} (CPU time, one core)")
    print(f"trace                {r['trace_seconds_mean']:.3f} s CPU per 3-s clip x {r['candidates']} candidates; "
          f"{r['trace_seconds_5000_candidates']:.2f} s x 5000 candidates")
    print(f"mark SNR             median {r['snr_db_median']:.1f} dB, min {r['snr_db_min']:.1f} dB; "
          f"segmental SNR median {r['segmental_snr_db_median']:.1f} dB")
    print(f"masking proxy        NMR median {r['nmr_db_median']:.1f} dB (max {r['nmr_db_max']:.1f}); "
          f"disturbed frames median {r['disturbed_frames_median']:.1%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20+10 marked clips; a smoke run")
    parser.add_argument(
        "--json", nargs="?", const="-", metavar="PATH",
        help="print the result as JSON instead of the table, or with PATH also write it there",
    )
    parser.add_argument("--stress", action="store_true", help="add harsher channels (not targets) to the table")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder holding the two corpora")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not (args.corpus / PICOVOICE).is_dir() or not (args.corpus / PHRASES).is_dir():
        print(f"corpora not found under {args.corpus}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    n_pico, n_phrase = (20, 10) if args.quick else (100, 31)
    marked = picovoice_clips(args.corpus, n_pico, 1) + phrase_clips(args.corpus, n_phrase)
    unmarked = marked if args.quick else picovoice_clips(args.corpus, n_pico, 3) + phrase_clips(args.corpus, n_phrase)
    pool = candidates()
    start = time.perf_counter()
    attacks = {**ATTACKS, **STRESS} if args.stress else ATTACKS
    per_attack, quality = run_marked(marked, pool, rng, attacks)
    innocent = run_unmarked(unmarked, pool, rng)
    result = summarise(per_attack, quality, innocent, len(marked), len(pool), time.perf_counter() - start)
    if args.json == "-":
        print(json.dumps(result, indent=2))
        return 0
    print_table(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
