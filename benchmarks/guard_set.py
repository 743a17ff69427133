"""Builds the packaged general guard set (sottovoce/learning/guard/) from real, licensed clips.

    python benchmarks/guard_set.py --corpus /work/shared/corpus

- all 31 hand-recorded speech-to-phrase clips (Apache-2.0), transcript = file name;
- 75 five-digit strings spoken by the 4 FSDD speakers (CC BY-SA 4.0): each clip joins five single
  digit recordings of one speaker with short pauses, like a spoken code or phone number. Scored
  with digits split (scoring.wer(..., split_digits=True)), so each digit is one word.

Written as 16 kHz mono FLAC with ``clips.json`` (file -> reference). Deterministic (seeded).

Also ``general_text.txt``: the SLURP sentences (CC BY 4.0, text only) of the scenarios that are
neither the benchmark's domain nor its general evaluation set, in which no learned rewrite rule's
source phrase may occur (``learning/loop.adapt``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sottovoce.core import audio  # noqa: E402

DIGITS = "zero one two three four five six seven eight nine".split()
SPEAKERS = ("jackson", "nicolas", "theo", "yweweler")
OUT = Path(__file__).parent.parent / "sottovoce" / "learning" / "guard"


def build(corpus: Path, out: Path = OUT, digit_clips: int = 75, per_clip: int = 5, seed: int = 17) -> dict:
    (out / "clips").mkdir(parents=True, exist_ok=True)
    references: dict[str, str] = {}
    s2p = corpus / "speech-to-phrase-en" / "tests" / "wav" / "en"
    for i, path in enumerate(sorted(s2p.glob("*.wav"))):
        name = f"phrase-{i:02d}.flac"
        _write(out / "clips" / name, audio.decode(path.read_bytes(), 60))
        references[name] = path.stem
    rng = random.Random(seed)
    unused = {(s, d): list(range(25)) for s in SPEAKERS for d in range(10)}
    for pool in unused.values():
        rng.shuffle(pool)
    pause = np.zeros(int(0.25 * audio.SAMPLE_RATE), dtype=np.float32)
    for k in range(digit_clips):
        speaker = SPEAKERS[k % len(SPEAKERS)]
        digits = [rng.randrange(10) for _ in range(per_clip)]
        parts = [pause]
        for d in digits:
            index = unused[(speaker, d)].pop()
            wav = corpus / "fsdd" / "recordings" / f"{d}_{speaker}_{index}.wav"
            parts += [audio.decode(wav.read_bytes(), 10), pause]
        name = f"digits-{k:02d}.flac"
        _write(out / "clips" / name, np.concatenate(parts))
        references[name] = " ".join(DIGITS[d] for d in digits)
    (out / "clips.json").write_text(json.dumps(references, indent=1, sort_keys=True) + "\n")
    (out / "general_text.txt").write_text("\n".join(general_text(corpus)) + "\n")
    return references


def general_text(corpus: Path) -> list[str]:
    from domain_set import GUARD_SCENARIOS

    sentences = set()
    for name in ("devel.jsonl", "test.jsonl"):
        with (corpus / "slurp-text" / "dataset" / "slurp" / name).open() as fh:
            for line in fh:
                row = json.loads(line)
                if row["scenario"] in GUARD_SCENARIOS:
                    sentences.add(row["sentence"])
    return sorted(sentences)


def _write(path: Path, samples: np.ndarray) -> None:
    soundfile.write(path, samples, audio.SAMPLE_RATE, format="FLAC", subtype="PCM_16")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("/work/shared/corpus"))
    refs = build(parser.parse_args().corpus)
    print(f"{len(refs)} clips written to {OUT}")
