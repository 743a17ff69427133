"""Speaker corpus for the voice-anonymization benchmark.

Real speakers:
  * fsdd (Free Spoken Digit Dataset, 4 speakers, 8 kHz): single digits are
    0.1-2 s long, too short for speaker verification, so several clips of one
    speaker are concatenated (150 ms gaps) into 3-5 s utterances; no clip is
    used twice.
  * speech-to-phrase-en (31 commands, probably one speaker, 16 kHz): pairs of
    clips are concatenated into ~5 s utterances.
Synthetic speakers (for volume only; they are text-to-speech voices, not
people): flite voices awb, rms, slt, kal16 and eight espeak-ng voice variants,
each reading different SLURP sentences. Generated audio is cached under
``benchmarks/.cache/`` so reruns are cheap and identical.

Everything is returned at 16 kHz, float32 mono.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

SR = 16000
CORPUS = Path(os.environ.get("BENCH_CORPUS_DIR", "/work/shared/corpus"))  # where the corpora were unpacked
FSDD_DIR = CORPUS / "fsdd" / "recordings"
STP_DIR = CORPUS / "speech-to-phrase-en" / "tests" / "wav" / "en"
SLURP_DIR = CORPUS / "slurp-text" / "dataset" / "slurp"
CACHE = Path(__file__).resolve().parent / ".cache"

FLITE_VOICES = ["awb", "rms", "slt", "kal16"]
ESPEAK_VOICES = [
    "en-us+m1", "en-us+m3", "en-us+m7", "en-us+f2",
    "en-us+f4", "en-gb-x-rp+m2", "en-gb-scotland+m5", "en-029+f1",
]


@dataclass(frozen=True)
class Utterance:
    speaker: str
    kind: str  # "real" or "synthetic"
    audio: np.ndarray  # float32, 16 kHz
    text: str | None = None


def load_wav_16k(path: Path) -> np.ndarray:
    audio, sr = sf.read(str(path), dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if sr != SR:
        g = np.gcd(sr, SR)
        audio = resample_poly(audio, SR // g, sr // g).astype(np.float32)
    return audio


def _concat(clips: list[np.ndarray], gap_s: float = 0.15) -> np.ndarray:
    gap = np.zeros(int(gap_s * SR), dtype=np.float32)
    parts = []
    for c in clips:
        parts += [c, gap]
    return np.concatenate(parts[:-1])


def fsdd_utterances(per_speaker: int, rng: random.Random) -> list[Utterance]:
    """Concatenate 3-5 s of digits per utterance, ``per_speaker`` per speaker."""
    by_speaker: dict[str, list[Path]] = {}
    for p in sorted(FSDD_DIR.glob("*.wav")):
        by_speaker.setdefault(p.stem.split("_")[1], []).append(p)
    out = []
    for spk, paths in sorted(by_speaker.items()):
        paths = paths[:]
        rng.shuffle(paths)
        for _ in range(per_speaker):
            clips, dur = [], 0.0
            target = rng.uniform(3.0, 5.0)
            while dur < target and paths:
                c = load_wav_16k(paths.pop())
                clips.append(c)
                dur += len(c) / SR + 0.15
            out.append(Utterance(f"fsdd-{spk}", "real", _concat(clips)))
    return out


def stp_utterances(per_speaker: int, rng: random.Random) -> list[Utterance]:
    paths = sorted(STP_DIR.glob("*.wav"))
    rng.shuffle(paths)
    out = []
    for i in range(min(per_speaker, len(paths) // 2)):
        pair = paths[2 * i : 2 * i + 2]
        out.append(Utterance("stp-1", "real", _concat([load_wav_16k(p) for p in pair])))
    return out


def slurp_sentences(n: int, rng: random.Random, min_words: int = 7, max_words: int = 14) -> list[str]:
    sents = []
    for name in ("devel.jsonl", "test.jsonl"):
        with open(SLURP_DIR / name, encoding="utf-8") as fh:
            for line in fh:
                s = json.loads(line)["sentence"]
                if min_words <= len(s.split()) <= max_words and s.isascii():
                    sents.append(s)
    sents = sorted(set(sents))
    rng.shuffle(sents)
    return sents[:n]


def synthesize(voice: str, text: str) -> np.ndarray:
    """TTS one sentence with flite (``voice`` in FLITE_VOICES) or espeak-ng; cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(f"{voice}|{text}".encode()).hexdigest()[:16]
    path = CACHE / f"tts-{key}.wav"
    if not path.exists():
        tmp = path.with_suffix(".tmp.wav")
        if voice in FLITE_VOICES:
            cmd = ["flite", "-voice", voice, "-t", text, "-o", str(tmp)]
        else:
            cmd = ["espeak-ng", "-v", voice, "-w", str(tmp), text]
        subprocess.run(cmd, check=True, capture_output=True)
        tmp.rename(path)
    return load_wav_16k(path)


def synthetic_utterances(per_speaker: int, rng: random.Random) -> list[Utterance]:
    voices = FLITE_VOICES + ESPEAK_VOICES
    texts = slurp_sentences(per_speaker * len(voices), rng)
    out = []
    for i, voice in enumerate(voices):
        for text in texts[i * per_speaker : (i + 1) * per_speaker]:
            kind = "flite" if voice in FLITE_VOICES else "espeak"
            out.append(Utterance(f"{kind}-{voice}", "synthetic", synthesize(voice, text), text))
    return out


def speaker_corpus(per_speaker: int, seed: int, synthetic: bool = True) -> list[Utterance]:
    rng = random.Random(seed)
    utts = fsdd_utterances(per_speaker, rng) + stp_utterances(per_speaker, rng)
    if synthetic:
        utts += synthetic_utterances(per_speaker, rng)
    return utts
