"""The general guard set shipped with the package: real speech a version must not get worse on.

106 clips, 508 reference words (one WER point is 5 words): 31 hand-recorded Home Assistant
commands (speech-to-phrase, Apache-2.0) and 75 spoken five-digit strings by four speakers with US,
Belgian and German accents (FSDD, CC BY-SA 4.0); see ATTRIBUTION.md and benchmarks/guard_set.py,
which built it. Digits are scored one per word (``split_digits``).

``general_text.txt`` is ordinary assistant-request text (SLURP, CC BY 4.0) in which no learned
rewrite rule's source phrase may occur.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from sottovoce.core import audio

HERE = Path(__file__).parent


@lru_cache(maxsize=1)
def references() -> dict[str, str]:
    """Clip file name -> reference transcript, in a fixed (sorted) order."""
    return dict(sorted(json.loads((HERE / "clips.json").read_text()).items()))


@lru_cache(maxsize=1)
def clips() -> list[tuple[str, np.ndarray, str]]:
    """(name, 16 kHz samples, reference) for every guard clip, decoded once per process."""
    return [(name, audio.decode((HERE / "clips" / name).read_bytes(), 60), text) for name, text in references().items()]


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """What the figures stored with a version were measured on: references and audio bytes."""
    digest = hashlib.sha256((HERE / "clips.json").read_bytes())
    for name in references():
        digest.update((HERE / "clips" / name).read_bytes())
    return digest.hexdigest()[:12]


@lru_cache(maxsize=1)
def general_text() -> tuple[str, ...]:
    return tuple(line for line in (HERE / "general_text.txt").read_text().splitlines() if line.strip())
