"""Benchmark the forensic watermark on real speech.

    .venv/bin/python benchmarks/watermark_eval.py                    # 500 candidates (~35 CPU-minutes)
    .venv/bin/python benchmarks/watermark_eval.py --candidates 5000 --clips 30   # 5,000 candidates
    .venv/bin/python benchmarks/watermark_eval.py --quick            # smoke run (12 clips)
    .venv/bin/python benchmarks/watermark_eval.py --json             # JSON instead of the table
    .venv/bin/python benchmarks/watermark_eval.py --stress           # add harsher channels
    .venv/bin/python benchmarks/watermark_eval.py --seconds 10 --only "none,amr-nb 4.75 kbit/s"  # 10-s clips

N/5 reviewers x 5 tasks = N (reviewer, task) candidates (N = 500 or 5,000).  Every 3-s clip
is marked for one of them, sent through each leak channel in ``channels.py`` (the issue-7
channels, then tempo / speed / pitch / AMR-NB / GSM) and traced against all N.  Collusion:
the same clip marked for 2 or 3 reviewers, averaged sample by sample or spliced end to end.
False accusations are counted on unmarked clips (through several channels), on clips marked
for someone outside the candidates, and on every marked trial (any innocent listed).
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

from channels import ATTACKS, DISGUISE, STRESS  # noqa: E402

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


def picovoice_joined(root: Path, limit: int) -> list[np.ndarray]:
    """Clips longer than one picovoice utterance (``--seconds``): each file's speech span
    followed by the next files' until the clip is filled."""
    spans = []
    for path in sorted((root / PICOVOICE).glob("*.wav"))[: limit + 8]:
        x = _read(path)
        lo, hi = _speech_span(x)
        spans.append(x[lo:hi])
    clips = []
    for i in range(min(limit, len(spans))):
        parts, j = [], i
        while sum(map(len, parts)) < CLIP:
            parts.append(spans[j % len(spans)])
            j += 1
        clips.append(np.concatenate(parts)[:CLIP])
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


def excitation_change_db(host: np.ndarray, marked: np.ndarray) -> tuple[float, float]:
    """How far the mark moves the ear's excitation pattern: per 32-ms frame and critical
    (Bark) band, the level change |10 log10(E_marked / E_host)| of the spread band energy,
    over speech frames.  Returns (95th percentile in dB, share of (frame, band) cells
    changed by more than 1 dB, about the just-noticeable level difference in a band).

    This is the measure that fits layer two, a gain change of the speech itself: the
    additive-noise NMR counts every band's +-2 dB in full, but the ear integrates over the
    critical band, where the pairs' changes largely cancel.  A proxy, not a listening test.
    """
    window = np.hanning(512)
    host_p = np.abs(np.fft.rfft(_frames(host, 512, 256) * window, axis=1)) ** 2
    marked_p = np.abs(np.fft.rfft(_frames(marked, 512, 256) * window, axis=1)) ** 2
    freqs = np.fft.rfftfreq(512, 1 / RATE)
    bark = np.floor(13 * np.arctan(0.00076 * freqs) + 3.5 * np.arctan((freqs / 7500) ** 2)).astype(int)
    onehot = (bark[:, None] == np.arange(bark.max() + 1)[None, :]).astype(float)
    dz = np.arange(onehot.shape[1])[:, None] - np.arange(onehot.shape[1])[None, :] + 0.474
    spreading = (10 ** ((15.81 + 7.5 * dz - 17.5 * np.sqrt(1 + dz**2)) / 10)).T
    e_host, e_marked = (host_p @ onehot) @ spreading, (marked_p @ onehot) @ spreading
    energy = host_p.sum(axis=1)
    active = energy > energy.max() * 1e-4
    # Bands that matter in the frame: within 40 dB of its loudest band.
    loud = e_host[active] > e_host[active].max(axis=1, keepdims=True) * 1e-4
    change = np.abs(10 * np.log10((e_marked[active] + 1e-20) / (e_host[active] + 1e-20)))[loud]
    return float(np.percentile(change, 95)), float(np.mean(change > 1.0))


# --- runs ------------------------------------------------------------------------------------


def candidates(n: int = 500, tasks_each: int = 5) -> list[wm.Mark]:
    return [wm.Mark(f"reviewer-{r:04d}", f"task-{r:04d}-{t}") for r in range(n // tasks_each) for t in range(tasks_each)]


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval for k successes in n trials."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, float(centre - half)), min(1.0, float(centre + half)))


def _row() -> dict:
    return {"right": 0, "right_task": 0, "all_named": 0, "innocent_named": 0, "missed": 0, "trials": 0,
            "scores": [], "layers": {}}


def _record(row: dict, found: list, truth: list[wm.Mark]) -> None:
    row["trials"] += 1
    named = {r.mark for r in found}
    reviewers = {m.reviewer_id for m in truth}
    row["innocent_named"] += any(m.reviewer_id not in reviewers for m in named)
    if not found:
        row["missed"] += 1
        return
    best = found[0]
    row["scores"].append(best.score)
    row["layers"][best.layer] = row["layers"].get(best.layer, 0) + 1
    if best.mark.reviewer_id in reviewers:
        row["right"] += 1
        row["right_task"] += best.mark in truth
    row["all_named"] += reviewers <= {m.reviewer_id for m in named}


def collude(marked: list[np.ndarray], how: str) -> np.ndarray:
    if how == "average":
        return np.mean(marked, axis=0).astype(np.float32)
    edges = np.linspace(0, len(marked[0]), len(marked) + 1).astype(int)
    return np.concatenate([m[a:b] for m, a, b in zip(marked, edges[:-1], edges[1:])]).astype(np.float32)


COLLUSION = {"collusion: average of 2": ("average", 2), "collusion: splice of 2": ("splice", 2),
             "collusion: average of 3": ("average", 3), "collusion: splice of 3": ("splice", 3)}


def run_marked(clips, pool, rng, attacks, collusion=True) -> tuple[dict, dict]:
    names = list(attacks) + (list(COLLUSION) if collusion else [])
    per_attack = {name: _row() for name in names}
    quality = {"snr": [], "segsnr": [], "nmr": [], "disturbed": [], "embed_ms": [], "trace_s": [],
               "excitation_p95": [], "excitation_over_1db": []}
    n_reviewers = len({m.reviewer_id for m in pool})
    tasks_each = len(pool) // n_reviewers
    for clip in clips:
        truth = pool[int(rng.integers(len(pool)))]
        # CPU time of this (single-threaded) process: the benchmark machine may be shared.
        t0 = time.process_time()
        marked = wm.embed(clip, RATE, KEY, truth)
        quality["embed_ms"].append(1000 * (time.process_time() - t0))
        mark = marked.astype(np.float64) - clip
        quality["snr"].append(snr_db(clip, mark))
        quality["segsnr"].append(segmental_snr_db(clip, mark))
        nmr, disturbed = masking_nmr(clip, mark)
        quality["nmr"].append(nmr)
        quality["disturbed"].append(disturbed)
        p95, over = excitation_change_db(clip, marked)
        quality["excitation_p95"].append(p95)
        quality["excitation_over_1db"].append(over)
        for name, attack in attacks.items():
            received = attack(marked, RATE, rng)
            t0 = time.process_time()
            found = wm.trace_all(received, RATE, KEY, pool)
            quality["trace_s"].append(time.process_time() - t0)
            _record(per_attack[name], found, [truth])
        if not collusion:
            continue
        for name, (how, n) in COLLUSION.items():
            reviewers = rng.choice(n_reviewers, size=n, replace=False)
            colluders = [pool[int(r) * tasks_each + int(rng.integers(tasks_each))] for r in reviewers]
            copies = [wm.embed(clip, RATE, KEY, m) for m in colluders]
            _record(per_attack[name], wm.trace_all(collude(copies, how), RATE, KEY, pool), colluders)
    return per_attack, quality


UNMARKED_CHANNELS = ("none", "mp3 32 kbit/s", "white noise 20 dB", "tempo +4%", "pitch -100 cents", "amr-nb 4.75 kbit/s", "gsm 8 kHz")


def run_unmarked(clips, pool, rng) -> dict:
    """Innocent audio: every accusation is false.  Unmarked clips through several channels,
    and clips marked for someone who is not a candidate (the mark of a reviewer outside the
    pool must not be pinned on one inside it).

    Also records, per unmarked trial, the layer-one bound at the best innocent score (the
    p-value ``trace`` would attach to it), to check the null model at looser levels, where
    events are frequent enough to count: at level alpha at most a fraction alpha of trials
    may fall at or below alpha.
    """
    channels = {**ATTACKS, **DISGUISE}
    accused, p_values, best = [], [], []
    spectra = np.stack([wm._sequence_spectrum(KEY, m) for m in pool])
    trials = outsider_trials = 0
    for index, clip in enumerate(clips):
        for name in UNMARKED_CHANNELS:
            received = channels[name](clip.astype(np.float32), RATE, rng)
            found = wm.trace_all(received, RATE, KEY, pool)
            trials += 1
            if found:
                accused.append({"clip": index, "attack": name, "kind": "unmarked", "marks": [vars(f.mark) for f in found]})
            if name == "none":
                folded = wm._folded_spectra(wm._whiten(received.astype(np.float64)))
                score = float(wm._best_match(folded, spectra)[0].max())
                best.append(score)
                p_values.append(min(1.0, wm._n_tests(len(pool), len(received)) * np.exp(-(score**2) / 2)))
        outsider = wm.Mark(f"outsider-{index}", f"task-x-{index}")
        marked = wm.embed(clip, RATE, KEY, outsider)
        for name in ("none", "tempo +4%"):
            found = wm.trace_all(channels[name](marked, RATE, rng), RATE, KEY, pool)
            outsider_trials += 1
            if found:
                accused.append({"clip": index, "attack": name, "kind": "outsider", "marks": [vars(f.mark) for f in found]})
    p_values = np.array(p_values)
    unmarked_accused = sum(a["kind"] == "unmarked" for a in accused)
    return {
        "trials": trials,
        "accused": unmarked_accused,
        "interval": wilson(unmarked_accused, trials),
        "outsider_trials": outsider_trials,
        "outsider_accused": len(accused) - unmarked_accused,
        "outsider_interval": wilson(len(accused) - unmarked_accused, outsider_trials),
        "accusations": accused,
        "max_innocent_score": float(max(best)) if best else float("nan"),
        "calibration": {f"{alpha:g}": float(np.mean(p_values <= alpha)) for alpha in (0.5, 0.1, 0.01)},
    }


def timing(n_candidates: int) -> float:
    rng = np.random.default_rng(1)
    clip = (0.1 * rng.standard_normal(CLIP)).astype(np.float32)
    pool = candidates(n_candidates)
    marked = wm.embed(clip, RATE, KEY, pool[len(pool) // 2])
    t0 = time.process_time()
    wm.trace_all(marked, RATE, KEY, pool)
    return time.process_time() - t0


def embed_cost_ms(clips, repeats: int = 3) -> dict:
    """CPU milliseconds to mark one clip as the review audio route does it
    (``tracing.mark_wav_bytes``: WAV bytes in, marked WAV bytes out), median and 95th
    percentile, 3-s and 10-s clips, 4 reviewers' marks in turn (the per-process caches of a
    (reviewer, task) sequence are warm after a reviewer's first clip, as on a server)."""
    from sottovoce.core import audio
    from sottovoce.forensics.tracing import mark_wav_bytes

    out = {}
    for seconds in (3, 10):
        costs = []
        for index, clip in enumerate(clips[:20]):
            wav = audio.to_wav(np.resize(clip, seconds * RATE).astype(np.float32), RATE)
            for _ in range(repeats):
                t0 = time.process_time()
                mark_wav_bytes(wav, KEY, f"r{index % 4}", "t")
                costs.append(1000 * (time.process_time() - t0))
        out[f"{seconds}s"] = {"median_ms": float(np.median(costs)), "p95_ms": float(np.percentile(costs, 95))}
    # The clip the lead's load benchmark serves (benchmarks/load_bench.py), 2.1 s.
    demo = Path(__file__).resolve().parent.parent / "sottovoce" / "demo" / "clips" / "lock-the-front-door.wav"
    if demo.exists():
        wav = audio.to_wav(_read(demo), RATE)
        costs = []
        for index in range(60):
            t0 = time.process_time()
            mark_wav_bytes(wav, KEY, f"r{index % 4}", "t")
            costs.append(1000 * (time.process_time() - t0))
        out["load_bench_clip"] = {"median_ms": float(np.median(costs)), "p95_ms": float(np.percentile(costs, 95))}
    return out


# --- report ----------------------------------------------------------------------------------


def summarise(per_attack, quality, innocent, n_marked, pool_size, seconds, embed_cost) -> dict:
    attacks = {}
    for name, row in per_attack.items():
        scores = np.array(row["scores"]) if row["scores"] else np.array([np.nan])
        n = row["trials"]
        key = "all_named" if name.startswith("collusion") else "right"
        attacks[name] = {
            "trials": n,
            "identified": row["right"] / n,
            "task_right": row["right_task"] / n,
            "all_colluders_named": row["all_named"] / n,
            "success_interval": wilson(row[key], n),
            "innocent_named": row["innocent_named"],
            "missed": row["missed"],
            "median_score": float(np.nanmedian(scores)),
            "min_score": float(np.nanmin(scores)),
            "found_by": row["layers"],
        }
    return {
        "date": datetime.date.today().isoformat(),
        "clips_marked": n_marked,
        "candidates": pool_size,
        "clip_seconds": CLIP / RATE,
        "threshold_layer_one": wm.detection_threshold(pool_size, CLIP / RATE),
        "threshold_layer_two": float(np.sqrt(2 * np.log(2 * pool_size * wm.patchwork.n_hypotheses(CLIP) * 2 / wm.FALSE_ACCUSATION))),
        "attacks": attacks,
        "false_accusation": innocent,
        "marked_traces": sum(a["trials"] for a in attacks.values()),
        "marked_traces_innocent_named": sum(a["innocent_named"] for a in attacks.values()),
        "embed_ms_mean": float(np.mean(quality["embed_ms"])),
        "embed_cost": embed_cost,
        "trace_seconds_mean": float(np.mean(quality["trace_s"])),
        "trace_seconds_clean_clip": timing(pool_size),
        "snr_db_median": float(np.median(quality["snr"])),
        "snr_db_min": float(np.min(quality["snr"])),
        "segmental_snr_db_median": float(np.median(quality["segsnr"])),
        "nmr_db_median": float(np.median(quality["nmr"])),
        "nmr_db_max": float(np.max(quality["nmr"])),
        "disturbed_frames_median": float(np.median(quality["disturbed"])),
        "excitation_change_p95_db_median": float(np.median(quality["excitation_p95"])),
        "excitation_cells_over_1db_median": float(np.median(quality["excitation_over_1db"])),
        "amr_wb": "not measured: no AMR-WB encoder offline (FFmpeg has decoders only; sox built without it)",
        "wall_seconds": seconds,
    }


def print_table(r: dict) -> None:
    print(f"{r['clips_marked']} marked {r['clip_seconds']:g}-s speech clips, {r['candidates']} candidates "
          f"({r['candidates'] // 5} reviewers x 5 tasks), thresholds {r['threshold_layer_one']:.2f} (layer one) / "
          f"{r['threshold_layer_two']:.2f} (layer two)")
    print(f"{'attack':<26} {'right':>6} {'95% interval':>13} {'task':>6} {'innoc.':>6} {'missed':>6} {'score med/min':>14} found by")
    for name, a in r["attacks"].items():
        if name == next(iter(DISGUISE)):
            print("-- disguise (issue 19) --")
        if name.startswith("collusion") and name == next(iter(COLLUSION)):
            print("-- collusion: 'right' = every colluder named --")
        if name in STRESS and name == next(iter(STRESS)):
            print("-- stress (beyond the targets) --")
        rate = a["all_colluders_named"] if name.startswith("collusion") else a["identified"]
        lo, hi = a["success_interval"]
        layers = ", ".join(f"{k} {v}" for k, v in sorted(a["found_by"].items()))
        print(f"{name:<26} {rate:>6.1%} {lo:>6.1%}-{hi:<6.1%} {a['task_right']:>6.1%} {a['innocent_named']:>6} {a['missed']:>6} "
              f"{a['median_score']:>8.1f}/{a['min_score']:<5.1f} {layers}")
    fa = r["false_accusation"]
    marked_trials = sum(a["trials"] for a in r["attacks"].values())
    marked_innocent = sum(a["innocent_named"] for a in r["attacks"].values())
    lo, hi = wilson(marked_innocent, marked_trials)
    print(f"innocent named       {marked_innocent} / {marked_trials} traces of marked clips (each clip marked for someone "
          f"else than the other {r['candidates'] - 1} candidates), 95% interval {lo:.2%}-{hi:.2%}")
    lo, hi = fa["interval"]
    print(f"false accusations    {fa['accused']} / {fa['trials']} unmarked trials (clips x {len(UNMARKED_CHANNELS)} channels, "
          f"each vs {r['candidates']}), 95% interval {lo:.2%}-{hi:.2%}; target <= 0.1 %")
    lo, hi = fa["outsider_interval"]
    print(f"                     {fa['outsider_accused']} / {fa['outsider_trials']} clips marked for a non-candidate "
          f"(clean, tempo +4%), 95% interval {lo:.2%}-{hi:.2%}; max innocent layer-one score {fa['max_innocent_score']:.2f}")
    print("null-model check     share of unmarked trials whose best innocent candidate (layer one) reaches "
          "bound <= alpha: " + ", ".join(f"alpha {a}: {c:.2%}" for a, c in fa["calibration"].items()))
    cost = r["embed_cost"]
    print(f"marking cost         3-s clip median {cost['3s']['median_ms']:.1f} ms (p95 {cost['3s']['p95_ms']:.1f}); "
          f"10-s clip median {cost['10s']['median_ms']:.1f} ms (p95 {cost['10s']['p95_ms']:.1f}) (CPU time, one core)")
    if "load_bench_clip" in cost:
        print(f"                     load_bench.py's 2.1-s clip median {cost['load_bench_clip']['median_ms']:.1f} ms "
              f"(p95 {cost['load_bench_clip']['p95_ms']:.1f}); WAV in, marked WAV out, as the audio route")
    print(f"trace                {r['trace_seconds_mean']:.2f} s CPU per clip x {r['candidates']} candidates (mean over trials)")
    print(f"mark SNR             median {r['snr_db_median']:.1f} dB, min {r['snr_db_min']:.1f} dB; "
          f"segmental SNR median {r['segmental_snr_db_median']:.1f} dB")
    print(f"masking proxy        NMR median {r['nmr_db_median']:.1f} dB (max {r['nmr_db_max']:.1f}); "
          f"disturbed frames median {r['disturbed_frames_median']:.1%}")
    print(f"excitation change    95th percentile per clip, median {r['excitation_change_p95_db_median']:.2f} dB; "
          f"cells changed > 1 dB, median {r['excitation_cells_over_1db_median']:.1%}")
    print(f"amr-wb               {r['amr_wb']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="8+4 marked clips; a smoke run")
    parser.add_argument(
        "--json", nargs="?", const="-", metavar="PATH",
        help="print the result as JSON instead of the table, or with PATH also write it there",
    )
    parser.add_argument("--stress", action="store_true", help="add harsher channels (not targets) to the table")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder holding the two corpora")
    parser.add_argument("--candidates", type=int, default=500, help="candidate (reviewer, task) pairs: 500 or 5000")
    parser.add_argument("--clips", type=int, default=0, help="use only the first N marked clips (0: all 131)")
    parser.add_argument("--unmarked", type=int, default=0, help="unmarked clips (0: all 331)")
    parser.add_argument("--only", default="", help="comma-separated channel names to run (default: all)")
    parser.add_argument("--no-collusion", action="store_true", help="skip the collusion rows")
    parser.add_argument("--no-unmarked", action="store_true", help="skip the unmarked and outsider trials")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=int, default=3,
                        help="clip length (default 3; longer clips join utterances, see picovoice_joined)")
    args = parser.parse_args(argv)
    global CLIP
    CLIP = args.seconds * RATE
    if not (args.corpus / PICOVOICE).is_dir() or not (args.corpus / PHRASES).is_dir():
        print(f"corpora not found under {args.corpus}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    n_pico, n_phrase = (8, 4) if args.quick else (100, 31)
    if args.seconds > 3:
        marked = picovoice_joined(args.corpus, n_pico) + phrase_clips(args.corpus, n_phrase)
        unmarked = marked
    else:
        marked = picovoice_clips(args.corpus, n_pico, 1) + phrase_clips(args.corpus, n_phrase)
        unmarked = marked if args.quick else picovoice_clips(args.corpus, n_pico, 3) + phrase_clips(args.corpus, n_phrase)
    if args.clips:
        # Spread over both corpora: every k-th clip.
        marked = marked[:: max(1, len(marked) // args.clips)][: args.clips]
    if args.unmarked:
        unmarked = unmarked[:: max(1, len(unmarked) // args.unmarked)][: args.unmarked]
    pool = candidates(args.candidates)
    start = time.perf_counter()
    attacks = {**ATTACKS, **DISGUISE, **(STRESS if args.stress else {})}
    if args.only:
        attacks = {name: attacks[name] for name in args.only.split(",")}
    per_attack, quality = run_marked(marked, pool, rng, attacks, collusion=not args.no_collusion)
    innocent = run_unmarked([] if args.no_unmarked else unmarked, pool, rng)
    result = summarise(per_attack, quality, innocent, len(marked), len(pool), time.perf_counter() - start,
                       embed_cost_ms(marked))
    if args.json == "-":
        print(json.dumps(result, indent=2))
        return 0
    print_table(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
