"""The engine-neutral shape of a transcript: words with times and confidences.

Both paths produce it: the local recognizer (asr/whisper.py) and an external hypothesis sent by a
device at ingest. It is serialized to JSON only to be sealed (crypto.py) before storage.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
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


def assemble(pieces: Iterable[tuple[str, float, float, float]]) -> list[Word]:
    """Words from a recognizer's word pieces ``(text as decoded, start, end, probability)``.

    Whisper's word splitting starts a new piece at a leading space and at punctuation, so
    "9 p.m." arrives as " 9", " p", ".m." and a hyphenated word as " 6", "-irby". A piece that does
    not start with whitespace continues the previous word: it is joined to it without a space,
    the word spanning both pieces with the lower confidence (a doubtful piece keeps the word
    doubtful for the reviewer). Blank pieces are dropped.
    """
    words: list[Word] = []
    for text, start, end, probability in pieces:
        if not text.strip():
            continue
        start, end, probability = round(float(start), 3), round(float(end), 3), round(float(probability), 4)
        if words and not text[0].isspace():
            last = words[-1]
            words[-1] = Word(last.word + text.strip(), last.start, max(last.end, end), min(last.confidence, probability))
        else:
            words.append(Word(text.strip(), start, end, probability))
    return words
