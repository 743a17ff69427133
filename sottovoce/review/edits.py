"""Word-level edits between the recognizer's hypothesis and a reviewer's correction.

Stored with every submission (sealed) and used by learning/ to find what the recognizer keeps
getting wrong. Words are compared case-insensitively with surrounding punctuation stripped, so
"Timer." and "timer" are the same word and only real corrections count.
"""

from __future__ import annotations

import string

from sottovoce.learning.scoring import align

_STRIP = string.punctuation + "“”‘’…"


def _tokens(text: str) -> list[str]:
    return [w.strip(_STRIP).lower() for w in text.split() if w.strip(_STRIP)]


def word_edits(hypothesis: str, correction: str) -> list[dict]:
    """Substitutions, insertions and deletions turning the hypothesis into the correction.

    Each edit: {"op": "substitute"|"insert"|"delete", "hyp_pos": i, "hyp": [...], "ref": [...]},
    where "hyp" are the recognizer's words and "ref" the reviewer's (an insertion adds words the
    recognizer missed; a deletion removes words it invented).
    """
    hyp, ref = _tokens(hypothesis), _tokens(correction)
    edits = []
    # align(reference, hypothesis): in its terms "insert" = words only in the hypothesis.
    for chunk in align(ref, hyp):
        if chunk.type == "equal":
            continue
        op = {"substitute": "substitute", "insert": "delete", "delete": "insert"}[chunk.type]
        edits.append({"op": op, "hyp_pos": chunk.hyp_start, "hyp": hyp[chunk.hyp_start : chunk.hyp_end], "ref": ref[chunk.ref_start : chunk.ref_end]})
    return edits
