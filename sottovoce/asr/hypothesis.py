"""The engine-neutral shape of a transcript: words with times and confidences.

Both paths produce it: the local recognizer (asr/whisper.py) and an external hypothesis sent by a
device at ingest. It is serialized to JSON only to be sealed (crypto.py) before storage.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    confidence: float


@dataclass(frozen=True)
class Transcript:
    words: list[Word]
    engine: str
    model: str
    model_version: str
    text: str = field(default="")

    def __post_init__(self) -> None:
        if not self.text:
            object.__setattr__(self, "text", " ".join(w.word for w in self.words))

    @property
    def min_confidence(self) -> float | None:
        return min((w.confidence for w in self.words), default=None)

    @property
    def mean_confidence(self) -> float | None:
        return sum(w.confidence for w in self.words) / len(self.words) if self.words else None

    def content_json(self) -> bytes:
        return json.dumps({"text": self.text, "words": [asdict(w) for w in self.words]}, separators=(",", ":")).encode()
