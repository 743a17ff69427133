"""Alphanumeric identifiers said aloud: serials, passports, postcodes, licence plates, booking
codes ("s w one a two a a", "AB12 CDE", "passport g four five x nine nine one").

A rule, not the model: a run of words that each spell one or a few characters (single letters,
letter names, digit words, mixed letter-digit tokens, capitalised short tokens as Whisper writes
codes) that together spell at least five characters with both letters and digits. Runs of digits
alone stay with the number rules in pii_text.py.
"""

from __future__ import annotations

import re

from sottovoce.privacy.known_ids import spelled

ALNUM_ID = "ALPHANUMERIC_ID"

_DIGIT_WORDS = {
    "zero", "oh", "nought", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty",
    "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "double", "triple",
}
# Letter names that are not also everyday words ("are", "you", "see" are left out).
_LETTER_NAMES = {"bee", "cee", "dee", "ee", "ef", "eff", "gee", "aitch", "jay", "kay", "el", "ell", "em", "en", "pee", "cue", "ess", "tee", "vee", "ex", "zed", "zee", "wye"}
_SEPARATORS = {"dash", "hyphen", "slash"}
_MIXED = re.compile(r"^(?=.*[a-z])(?=.*\d)[a-z0-9\-]+$")
_CAPS = re.compile(r"^[A-Z]{1,4}$")
_EVERYDAY_CAPS = {"I", "A", "OK", "TV", "AM", "PM", "US", "UK", "DJ"}


def _code_like(raw: str) -> bool:
    w = raw.strip(".,!?;:\"'()")
    low = w.lower()
    if not low:
        return False
    if low in _DIGIT_WORDS or low in _LETTER_NAMES or low in _SEPARATORS or low.isdigit() or _MIXED.match(low):
        return True
    if len(low) == 1 and low.isalpha() and low not in {"a", "i"}:
        return True
    return bool(_CAPS.match(w)) and w not in _EVERYDAY_CAPS


def _looks_like_code(text: str) -> bool:
    """Already four characters with letters and digits: a following "a" is a letter of the code
    ("s w one a two a a" = SW1A 2AA), not the article."""
    return len(text) >= 4 and any(c.isalpha() for c in text) and any(c.isdigit() for c in text)


def alnum_runs(words: list[str]) -> list[tuple[int, int, str]]:
    """Runs (first, last, ALNUM_ID) of words that spell a code with letters and digits."""
    chars = spelled(words)
    runs: list[tuple[int, int, str]] = []
    i = 0
    while i < len(words):
        if not _code_like(words[i]):
            i += 1
            continue
        j = i
        while j + 1 < len(words) and (
            _code_like(words[j + 1])
            or (words[j + 1].lower() in {"a", "i"} and ((j + 2 < len(words) and _code_like(words[j + 2])) or _looks_like_code("".join(chars[i : j + 1]))))
        ):
            j += 1
        text = "".join(chars[i : j + 1])
        letters = sum(c.isalpha() for c in text)
        digits = sum(c.isdigit() for c in text)
        if len(text) >= 5 and letters >= 1 and digits >= 1 and (letters >= 2 or digits >= 2):
            runs.append((i, j, ALNUM_ID))
        i = j + 1
    return runs
