"""Word error rate and confusions, measured the same way for every model version.

Both sides go through Whisper's English text normalizer first (case, punctuation, spelled-out vs
digit numbers, British vs American spelling, contractions), so a version is not credited or blamed
for formatting; then jiwer aligns the words. Nothing here logs or prints text: callers decide what
aggregate to show.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

import jiwer
import numpy as np
from whisper_normalizer.english import EnglishTextNormalizer


class Chunk(NamedTuple):
    """One piece of a word alignment, in jiwer's terms: ``equal``, ``substitute``, ``insert``, ``delete``.

    ``insert`` means the hypothesis has words the reference lacks; ``delete`` the reverse.
    """

    type: str
    ref_start: int
    ref_end: int
    hyp_start: int
    hyp_end: int


@lru_cache(maxsize=1)
def _normalizer() -> EnglishTextNormalizer:
    # Building it compiles many regular expressions; one per process is enough.
    return EnglishTextNormalizer()


def normalize(text: str) -> str:
    """Whisper's English normalization, with whitespace collapsed."""
    return " ".join(_normalizer()(text or "").split())


def align(reference: list[str], hypothesis: list[str]) -> list[Chunk]:
    """Minimum-edit alignment of two word lists (either may be empty)."""
    if not reference and not hypothesis:
        return []
    if not reference:
        return [Chunk("insert", 0, 0, 0, len(hypothesis))]
    if not hypothesis:
        return [Chunk("delete", 0, len(reference), 0, 0)]
    out = jiwer.process_words(" ".join(reference), " ".join(hypothesis))
    return [Chunk(a.type, a.ref_start_idx, a.ref_end_idx, a.hyp_start_idx, a.hyp_end_idx) for a in out.alignments[0]]


_DIGIT_WORDS = {w: str(i) for i, w in enumerate("zero one two three four five six seven eight nine".split())}


def _split_digits(words: list[str]) -> list[str]:
    # The normalizer joins spoken digit strings ("four seven one" -> "471") but leaves a lone
    # "1" as "one"; a guard clip of spoken digits is scored one digit per word instead, the same
    # on both sides, so one misheard digit is one error.
    return [piece for w in words for piece in (list(w) if w.isdigit() else [_DIGIT_WORDS.get(w, w)])]


def error_counts(reference: str, hypothesis: str, split_digits: bool = False) -> tuple[int, int]:
    """(word errors, reference words) for one utterance after normalization."""
    ref, hyp = normalize(reference).split(), normalize(hypothesis).split()
    if split_digits:
        ref, hyp = _split_digits(ref), _split_digits(hyp)
    errors = 0
    for chunk in align(ref, hyp):
        if chunk.type != "equal":
            errors += max(chunk.ref_end - chunk.ref_start, chunk.hyp_end - chunk.hyp_start)
    return errors, len(ref)


def wer(references: list[str], hypotheses: list[str], split_digits: bool = False) -> float:
    """Corpus WER: all word errors over all reference words, both sides normalized.

    A reference that normalizes to nothing still counts the hypothesis' words as insertions.
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    errors = words = 0
    for ref, hyp in zip(references, hypotheses):
        e, n = error_counts(ref, hyp, split_digits)
        errors += e
        words += n
    if words == 0:
        return 0.0 if errors == 0 else float("inf")
    return errors / words


def bootstrap_interval(errors: list[int], words: list[int], rounds: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% interval of corpus WER, resampling utterances (percentile bootstrap, fixed seed)."""
    e, n = np.asarray(errors, dtype=float), np.asarray(words, dtype=float)
    if len(e) == 0:
        raise ValueError("no utterances to resample")
    picks = np.random.default_rng(seed).integers(0, len(e), size=(rounds, len(e)))
    rates = e[picks].sum(axis=1) / np.maximum(1.0, n[picks].sum(axis=1))
    return float(np.percentile(rates, 2.5)), float(np.percentile(rates, 97.5))


def paired_difference_interval(errors_a: list[int], errors_b: list[int], words: list[int], rounds: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% interval of WER(b) - WER(a) on the same utterances, resampled together (paired)."""
    a, b, n = (np.asarray(x, dtype=float) for x in (errors_a, errors_b, words))
    if not (len(a) == len(b) == len(n)) or len(a) == 0:
        raise ValueError("paired errors need the same, non-empty utterances")
    picks = np.random.default_rng(seed).integers(0, len(a), size=(rounds, len(a)))
    diffs = (b[picks].sum(axis=1) - a[picks].sum(axis=1)) / np.maximum(1.0, n[picks].sum(axis=1))
    return float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))


def better_worse(errors_a: list[int], errors_b: list[int]) -> dict:
    """How many utterances b gets right-er / wrong-er than a (fewer / more word errors)."""
    return {"better": sum(y < x for x, y in zip(errors_a, errors_b)), "worse": sum(y > x for x, y in zip(errors_a, errors_b))}


def _confusion_pairs(reference: str, hypothesis: str) -> Iterable[tuple[str, str, str]]:
    ref, hyp = normalize(reference).split(), normalize(hypothesis).split()
    for chunk in align(ref, hyp):
        if chunk.type == "substitute":
            # jiwer's substitute chunks have equal lengths on both sides: pair them word by word.
            for r, h in zip(ref[chunk.ref_start : chunk.ref_end], hyp[chunk.hyp_start : chunk.hyp_end]):
                yield "substitution", r, h
        elif chunk.type == "delete":
            for r in ref[chunk.ref_start : chunk.ref_end]:
                yield "deletion", r, ""
        elif chunk.type == "insert":
            for h in hyp[chunk.hyp_start : chunk.hyp_end]:
                yield "insertion", "", h


def top_confusions(references: list[str], hypotheses: list[str], n: int = 20) -> list[dict]:
    """The n most frequent word-level errors, e.g. ``{"ref": "timer", "hyp": "tires", "count": 7}``.

    ``op`` says which kind: a substitution has both words, a deletion (recognizer missed the word)
    has ``hyp == ""`` and an insertion (recognizer added a word) has ``ref == ""``. Ties are broken
    alphabetically so the list is stable.
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    counts: Counter[tuple[str, str, str]] = Counter()
    for ref, hyp in zip(references, hypotheses):
        counts.update(_confusion_pairs(ref, hyp))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"ref": r, "hyp": h, "op": op, "count": c} for (op, r, h), c in ranked[:n]]
