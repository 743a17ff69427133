"""Builds and caches the voice-assistant domain set used by ``learning_eval.py``.

Three parts, with no voice and no sentence on two sides:

* ``adapt``: SLURP sentences (iot, lists, music, alarm, takeaway) synthesized with four voices.
  Their reference transcripts play the reviewers' corrections.
* ``eval``: other SLURP sentences from the same scenarios, synthesized with four *other* voices,
  plus the 31 real recordings of speech-to-phrase (one human speaker, Home Assistant commands).
* ``general``: the non-domain check. SLURP sentences from the general/qa/news scenarios spoken by
  the eval voices, plus real spoken digits from fsdd (speakers jackson and nicolas). Adaptation
  must not make these worse.
* ``guard``: a small non-domain set on the TRAINING side, which validation may use to reject a
  candidate that hurts ordinary speech: SLURP sentences from other scenarios (weather, email,
  social, ...) spoken by the adaptation voices, plus digits of the two other fsdd speakers.

A third of the synthesized clips stay clean, a third get real background noise at 20 dB SNR and a
third at 10 dB, so the recognizer makes realistic acoustic mistakes and not only TTS ones.
Everything is deterministic (fixed seeds) and cached under ``benchmarks/.cache/domain/``; a manifest
hash covers the recipe, so changing it rebuilds and an unchanged recipe never re-synthesizes.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

CORPUS = Path("/work/shared/corpus")
SLURP = CORPUS / "slurp-text/dataset/slurp"
REAL_CLIPS = CORPUS / "speech-to-phrase-en/tests/wav/en"
NOISE_DIR = CORPUS / "speech-commands-background-noise/data/_background_noise_"
FSDD = CORPUS / "fsdd/recordings"
CACHE = Path(__file__).resolve().parent / ".cache" / "domain"

RATE = 16_000
DOMAIN_SCENARIOS = ("iot", "lists", "music", "alarm", "takeaway")
GENERAL_SCENARIOS = ("general", "qa", "news")
GUARD_SCENARIOS = ("weather", "email", "social", "recommendation", "transport", "cooking", "datetime")
# Two flite and two espeak-ng voices on each side, so both sides mix the same kinds of synthesis.
ADAPT_VOICES = (("flite", "awb"), ("flite", "slt"), ("espeak", "en-us+m3"), ("espeak", "en-gb-x-rp+f2"))
EVAL_VOICES = (("flite", "rms"), ("flite", "kal16"), ("espeak", "en+f3"), ("espeak", "en-gb"))
NOISE_LEVELS = (None, 20.0, 10.0)  # SNR in dB; None = clean
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

FULL_SIZES = {"adapt": 400, "eval": 200, "general": 100, "digits": 40, "guard": 20, "guard_digits": 10}
# The quick set is the first clips of each part of the full set, so both share one cache.
QUICK_SIZES = {("adapt", "synth"): 100, ("eval", "synth"): 60, ("eval", "real"): 31, ("general", "synth"): 40,
               ("general", "real"): 20, ("guard", "synth"): 12, ("guard", "real"): 6}
GENERAL_DIGIT_SPEAKERS = ("jackson", "nicolas")
GUARD_DIGIT_SPEAKERS = ("theo", "yweweler")
RECIPE_VERSION = 2  # bump when the plan changes (which clips exist)
AUDIO_VERSION = 1  # bump when synthesis changes (what a clip sounds like): renames every clip


@dataclass(frozen=True)
class Clip:
    id: str
    path: str
    text: str  # reference transcript
    split: str  # adapt | eval | general
    source: str  # synth | real
    voice: str
    scenario: str
    noise: str | None = None
    snr_db: float | None = None


def load_audio(path: str | Path) -> np.ndarray:
    """16 kHz mono float32 samples, as the recognizer expects."""
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    if rate != RATE:
        mono = resample_poly(mono, RATE, rate).astype(np.float32)
    return mono.astype(np.float32)


def _slurp_sentences(scenarios: tuple[str, ...]) -> dict[str, list[str]]:
    """Unique sentences per scenario, 3 to 16 words, sorted so sampling is reproducible."""
    by_scenario: dict[str, set[str]] = {s: set() for s in scenarios}
    for name in ("devel.jsonl", "test.jsonl"):
        with (SLURP / name).open() as fh:
            for line in fh:
                row = json.loads(line)
                sentence = " ".join(row["sentence"].split())
                if row["scenario"] in by_scenario and 3 <= len(sentence.split()) <= 16:
                    by_scenario[row["scenario"]].add(sentence)
    return {s: sorted(v) for s, v in by_scenario.items()}


def _stratified(by_scenario: dict[str, list[str]], n: int, rng: random.Random) -> list[tuple[str, str]]:
    """n (scenario, sentence) pairs drawn round-robin over shuffled scenarios, so small ones count."""
    pools = {s: rng.sample(v, len(v)) for s, v in by_scenario.items()}
    picked: list[tuple[str, str]] = []
    while len(picked) < n and any(pools.values()):
        for scenario in sorted(pools):
            if pools[scenario] and len(picked) < n:
                picked.append((scenario, pools[scenario].pop()))
    return picked


def _synthesize(engine: str, voice: str, text: str, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        if engine == "flite":
            cmd = ["flite", "-voice", voice, "-t", text, "-o", str(raw)]
        else:
            cmd = ["espeak-ng", "-v", voice, "-w", str(raw), text]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
        samples = load_audio(raw)
    sf.write(str(out), samples, RATE, subtype="PCM_16")


def _mix_noise(path: Path, noise_file: Path, snr_db: float, seed: int) -> None:
    """Adds a random stretch of real background noise at the given SNR (speech power over the clip)."""
    speech = load_audio(path)
    noise = load_audio(noise_file)
    start = random.Random(seed).randrange(0, len(noise) - len(speech))
    segment = noise[start : start + len(speech)]
    speech_power = float(np.mean(speech**2)) or 1e-12
    noise_power = float(np.mean(segment**2)) or 1e-12
    gain = np.sqrt(speech_power / (noise_power * 10 ** (snr_db / 10)))
    mixed = speech + gain * segment
    peak = float(np.max(np.abs(mixed))) or 1.0
    if peak > 0.99:  # keep it from clipping in 16-bit
        mixed = mixed * (0.99 / peak)
    sf.write(str(path), mixed.astype(np.float32), RATE, subtype="PCM_16")


def _clip_id(*parts: object) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:12]


def _plan(sizes: dict[str, int]) -> list[dict]:
    """The recipe: which sentence, voice and noise each clip gets (no audio yet)."""
    rng = random.Random(20240611)
    domain = _slurp_sentences(DOMAIN_SCENARIOS)
    # Disjoint sentence sets: one stratified draw, then split, so no sentence is on both sides.
    drawn = _stratified(domain, sizes["adapt"] + sizes["eval"], rng)
    rng.shuffle(drawn)
    sides = {"adapt": drawn[: sizes["adapt"]], "eval": drawn[sizes["adapt"] :]}
    general = _stratified(_slurp_sentences(GENERAL_SCENARIOS), sizes["general"], rng)
    guard = _stratified(_slurp_sentences(GUARD_SCENARIOS), sizes["guard"], rng)
    noises = sorted(NOISE_DIR.glob("*.wav"))
    plan: list[dict] = []
    for split, sentences, voices in (
        ("adapt", sides["adapt"], ADAPT_VOICES),
        ("eval", sides["eval"], EVAL_VOICES),
        ("general", general, EVAL_VOICES),
        ("guard", guard, ADAPT_VOICES),
    ):
        for i, (scenario, text) in enumerate(sentences):
            engine, voice = voices[i % len(voices)]
            snr = NOISE_LEVELS[(i // len(voices)) % len(NOISE_LEVELS)]
            noise = noises[i % len(noises)] if snr is not None else None
            plan.append(
                {
                    "split": split,
                    "source": "synth",
                    "scenario": scenario,
                    "text": text,
                    "engine": engine,
                    "voice": f"{engine}:{voice}",
                    "noise": noise.name if noise else None,
                    "snr_db": snr,
                }
            )
    return plan


def _real_clips() -> list[Clip]:
    clips = []
    for wav in sorted(REAL_CLIPS.glob("*.wav")):
        clips.append(Clip(_clip_id("real", wav.name), str(wav), wav.stem, "eval", "real", "speech-to-phrase", "home-assistant"))
    return clips


def _digit_clips(n: int, speakers: tuple[str, ...], split: str) -> list[Clip]:
    """Real spoken digits, spread over the given fsdd speakers and all ten digits."""
    clips = []
    for i in range(n):
        digit, speaker, index = i % 10, speakers[(i // 10) % len(speakers)], i // (10 * len(speakers))
        wav = FSDD / f"{digit}_{speaker}_{index}.wav"
        clips.append(Clip(_clip_id("fsdd", wav.name), str(wav), DIGITS[digit], split, "real", f"fsdd:{speaker}", "digits"))
    return clips


def build(quick: bool = False, cache: Path = CACHE) -> list[Clip]:
    """All clips of the set (or the quick subset), synthesizing only what the cache lacks."""
    clips = _build_full(cache)
    if not quick:
        return clips
    taken: dict[tuple[str, str], int] = {}
    subset = []
    for clip in clips:
        group = (clip.split, clip.source)
        if taken.get(group, 0) < QUICK_SIZES[group]:
            taken[group] = taken.get(group, 0) + 1
            subset.append(clip)
    return subset


def _build_full(cache: Path) -> list[Clip]:
    sizes = FULL_SIZES
    recipe_hash = _clip_id(RECIPE_VERSION, sorted(sizes.items()), ADAPT_VOICES, EVAL_VOICES, NOISE_LEVELS)
    manifest = cache / f"manifest-{recipe_hash}.json"
    if manifest.exists():
        return [Clip(**c) for c in json.loads(manifest.read_text())]
    if not (shutil.which("flite") and shutil.which("espeak-ng")):
        raise RuntimeError("flite and espeak-ng are needed to synthesize the domain set")
    audio_dir = cache / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    clips: list[Clip] = []
    for item in _plan(sizes):
        cid = _clip_id(AUDIO_VERSION, item["text"], item["voice"], item["noise"], item["snr_db"])
        path = audio_dir / f"{cid}.wav"
        if not path.exists():
            tmp = path.with_suffix(".tmp.wav")
            _synthesize(item["engine"], item["voice"].split(":", 1)[1], item["text"], tmp)
            if item["noise"]:
                _mix_noise(tmp, NOISE_DIR / item["noise"], item["snr_db"], seed=int(cid, 16) % 2**31)
            tmp.replace(path)
        fields = {k: v for k, v in item.items() if k != "engine"}
        clips.append(Clip(id=cid, path=str(path), **fields))
    clips += _real_clips()
    clips += _digit_clips(sizes["digits"], GENERAL_DIGIT_SPEAKERS, "general")
    clips += _digit_clips(sizes["guard_digits"], GUARD_DIGIT_SPEAKERS, "guard")
    _check_disjoint(clips)
    manifest.write_text(json.dumps([asdict(c) for c in clips], indent=1))
    return clips


def _check_disjoint(clips: list[Clip]) -> None:
    """The promise of the set: the training side (adapt, guard) shares no voice and no sentence
    with what is scored (eval, general)."""
    adapt = [c for c in clips if c.split in ("adapt", "guard")]
    scored = [c for c in clips if c.split in ("eval", "general")]
    shared_voices = {c.voice for c in adapt} & {c.voice for c in scored}
    # The ten digit words are the same on both sides by nature; their speakers differ.
    shared_text = {c.text.lower() for c in adapt if c.scenario != "digits"} & {c.text.lower() for c in scored}
    if shared_voices or shared_text:
        raise AssertionError(f"adaptation overlaps the scored sets: {len(shared_voices)} voices, {len(shared_text)} sentences")


if __name__ == "__main__":
    import argparse
    from collections import Counter

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    built = build(quick=args.quick)
    counts = Counter((c.split, c.source) for c in built)
    for (split, source), n in sorted(counts.items()):
        print(f"{split:8s} {source:6s} {n:4d}")
