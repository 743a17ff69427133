"""A small word trigram language model of corrected transcripts, for rescoring alternatives.

Whisper's beam search often has the right words among its top few hypotheses and ranks another
first. The sentences reviewers wrote tell which word sequences this domain uses ("turn off the
bedroom lights", "add milk to my shopping list"), so a version may pick among the recognizer's
alternatives by acoustic score plus a weighted log-probability under this model
(``Adaptation.pick``).

Interpolated absolute discounting with Kneser-Ney continuation counts for the unigram level,
smoothed with a uniform floor so an unseen word costs a lot but not infinity. Text is normalized
with the same Whisper normalizer as scoring. Everything derives from the trigram counts, which is
all that is stored: they come from corrections, so they live only in the sealed version params.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable

from sottovoce.asr.scoring import normalize

DISCOUNT = 0.7  # absolute discount; the usual value for small counts
FLOOR = 0.05  # share of the unigram mass spread evenly over VOCABULARY words
VOCABULARY = 20_000  # rough size of spoken English vocabulary, for the uniform floor
START, END = "<s>", "</s>"


def trigrams(sentences: Iterable[str]) -> Counter:
    """Counts of (u, v, w) word triples, with two start symbols and one end symbol per sentence."""
    counts: Counter = Counter()
    for sentence in sentences:
        words = [START, START, *normalize(sentence).split(), END]
        counts.update(zip(words, words[1:], words[2:]))
    return counts


class TrigramModel:
    def __init__(self, counts: Counter):
        self.counts = counts
        self.bigrams: Counter = Counter()
        self.history2: Counter = Counter()  # c(u v .)
        self.history1: Counter = Counter()  # c(v .)
        followers2: dict[tuple[str, str], set] = defaultdict(set)
        followers1: dict[str, set] = defaultdict(set)
        preceders: dict[str, set] = defaultdict(set)
        for (u, v, w), c in counts.items():
            self.bigrams[(v, w)] += c
            self.history2[(u, v)] += c
            self.history1[v] += c
            followers2[(u, v)].add(w)
            followers1[v].add(w)
            preceders[w].add(v)
        self.types2 = {h: len(s) for h, s in followers2.items()}
        self.types1 = {h: len(s) for h, s in followers1.items()}
        self.continuation = {w: len(s) for w, s in preceders.items()}
        self.continuation_total = sum(self.continuation.values()) or 1

    @classmethod
    def fit(cls, sentences: Iterable[str]) -> TrigramModel:
        return cls(trigrams(sentences))

    def to_json(self) -> list:
        return [[u, v, w, c] for (u, v, w), c in sorted(self.counts.items())]

    @classmethod
    def from_json(cls, rows: list) -> TrigramModel:
        return cls(Counter({(u, v, w): int(c) for u, v, w, c in rows}))

    def __len__(self) -> int:
        return len(self.counts)

    def _unigram(self, w: str) -> float:
        return (1 - FLOOR) * self.continuation.get(w, 0) / self.continuation_total + FLOOR / VOCABULARY

    def _bigram(self, v: str, w: str) -> float:
        h = self.history1.get(v, 0)
        if not h:
            return self._unigram(w)
        return (max(self.bigrams.get((v, w), 0) - DISCOUNT, 0) + DISCOUNT * self.types1[v] * self._unigram(w)) / h

    def probability(self, u: str, v: str, w: str) -> float:
        h = self.history2.get((u, v), 0)
        if not h:
            return self._bigram(v, w)
        return (max(self.counts.get((u, v, w), 0) - DISCOUNT, 0) + DISCOUNT * self.types2[(u, v)] * self._bigram(v, w)) / h

    def logprob(self, text: str) -> float:
        """Natural-log probability of a whole sentence, end symbol included."""
        words = [START, START, *normalize(text).split(), END]
        return sum(math.log(self.probability(u, v, w)) for u, v, w in zip(words, words[1:], words[2:]))
