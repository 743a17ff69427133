"""Word-level edits between a hypothesis and its correction: what a reviewer changed, as stored
with each review (review/submissions.py) and mined for rewrite rules (learning/adaptation.py)."""

from __future__ import annotations

import re

from sottovoce.asr.scoring import align

_TOKEN = re.compile(r"[\w']+")


def regions(hyp: list[str], ref: list[str]) -> list[tuple[int, int, int, int]]:
    """Maximal runs of non-matching alignment chunks as (hyp_start, hyp_end, ref_start, ref_end)."""
    out: list[list[int]] = []
    previous_end = None
    for chunk in align(ref, hyp):
        if chunk.type == "equal":
            previous_end = None
            continue
        if previous_end is not None and out:
            out[-1][1], out[-1][3] = chunk.hyp_end, chunk.ref_end
        else:
            out.append([chunk.hyp_start, chunk.hyp_end, chunk.ref_start, chunk.ref_end])
        previous_end = chunk.hyp_end
    return [(a, b, c, d) for a, b, c, d in out]


def word_edits(hypothesis: str, correction: str) -> list[dict]:
    """The word-level edits a reviewer made, for storing with the review.

    Words are split on whitespace and compared ignoring case and surrounding punctuation; runs of
    adjacent changes are merged into one edit. Positions are word indices (end exclusive) in each
    text. ``op`` uses the recognizer's point of view, as WER does: ``substitution`` (words replaced),
    ``deletion`` (the recognizer missed words the reviewer added: ``hypothesis`` is empty) and
    ``insertion`` (the recognizer produced words the reviewer removed: ``correction`` is empty).
    """
    hyp_words, ref_words = hypothesis.split(), correction.split()
    edits = []
    for hs, he, rs, re_ in regions([_key(w) for w in hyp_words], [_key(w) for w in ref_words]):
        op = "substitution" if he > hs and re_ > rs else ("insertion" if he > hs else "deletion")
        edits.append(
            {
                "op": op,
                "hypothesis": " ".join(hyp_words[hs:he]),
                "correction": " ".join(ref_words[rs:re_]),
                "hyp_start": hs,
                "hyp_end": he,
                "corr_start": rs,
                "corr_end": re_,
            }
        )
    return edits


def _key(word: str) -> str:
    # jiwer splits on whitespace, so an all-punctuation token still needs a non-empty stand-in.
    return "".join(_TOKEN.findall(word.lower())) or word
