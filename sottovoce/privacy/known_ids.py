"""Find an account's own identifiers (holder's name, device serials and names, e-mail) in
recognizer words, however they were said.

The system knows these strings, so it does not have to guess whether "S N dash four two seven
nine" is personal data: it compares what the words *spell* with each identifier. Every spoken
word is read as the characters it stands for: digit words ("four", "oh", "double five",
"forty two"), letter names ("ess", "en", "double you", "zed"), single letters and alphanumeric
tokens as written; separators ("dash", "dot", "at", "underscore") spell nothing. A run of words
whose characters are close to an identifier's (RapidFuzz ratio, so a letter or digit the
recognizer got wrong still matches) is reported. Case, punctuation and spacing never matter.

Pure functions, no model, microseconds per transcript: it can run on every path that shows or
plays words to a reviewer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.fuzz import ratio

KNOWN = "IDENTIFIER"  # the placeholder a reviewer sees: [IDENTIFIER]

_DIGITS = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0", "nil": "0", "one": "1", "won": "1", "two": "2",
    "to": "2", "too": "2", "three": "3", "four": "4", "for": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "ate": "8", "nine": "9",
}
_TEENS = {
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14", "fifteen": "15",
    "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
}
_TENS = {
    "twenty": "2", "thirty": "3", "forty": "4", "fourty": "4", "fifty": "5", "sixty": "6",
    "seventy": "7", "eighty": "8", "ninety": "9",
}
_LETTER_NAMES = {
    "ay": "a", "bee": "b", "be": "b", "see": "c", "sea": "c", "cee": "c", "dee": "d", "ee": "e",
    "ef": "f", "eff": "f", "gee": "g", "aitch": "h", "haitch": "h", "eye": "i", "jay": "j",
    "kay": "k", "el": "l", "ell": "l", "em": "m", "en": "n", "pee": "p", "cue": "q", "queue": "q",
    "are": "r", "ar": "r", "ess": "s", "es": "s", "tee": "t", "tea": "t", "you": "u", "vee": "v",
    "ex": "x", "why": "y", "wye": "y", "zed": "z", "zee": "z",
}
# Words that spell nothing inside an identifier.
_SEPARATORS = {"dash", "hyphen", "minus", "dot", "point", "period", "slash", "underscore", "at", "space", "and"}
_REPEATS = {"double": 2, "triple": 3}
_ALNUM = re.compile(r"[^a-z0-9]")

MIN_KEY = 4  # shorter codes ("tv") would match everyday words
MIN_NAME_PART = 3  # "Ann", "Lee": a part of a holder's name, matched exactly
MIN_SCORE = 84.0  # one wrong character in six still matches; two in six do not
# Long codes with digits (serials): tiny.en hears "S N 4 2 7 9 X Q" as "S and 427 i and x q"
# (ratio 80). Checked against random Faker accounts, 1 SLURP word in 20,314 was masked at these
# thresholds (benchmarks/pii_eval.py --only known).
MIN_CODE_SCORE = 75.0


def key_of(text: str) -> str:
    """The characters that matter in an identifier: lower-case letters and digits, with the letter
    o read as zero (a speaker says "oh" for both)."""
    return _ALNUM.sub("", text.lower()).replace("o", "0")


def _clean(word: str) -> str:
    return word.lower().strip(".,!?;:\"'()[]{}<>")


def spelled(words: list[str]) -> list[str]:
    """The characters each word contributes, read in context ("forty two" → "4", "2";
    "double five" → "", "55"). Same length as ``words``."""
    out: list[str] = []
    repeat = 1
    for i, raw in enumerate(words):
        w = _clean(raw)
        chars = ""
        if w in _REPEATS:
            repeat = _REPEATS[w]
            out.append("")
            continue
        if w == "double" or w in _SEPARATORS:
            chars = ""
        elif w in _TENS:
            following = _clean(words[i + 1]) if i + 1 < len(words) else ""
            # "forty two" is 42; "forty" alone is 40.
            chars = _TENS[w] if following in _DIGITS and _DIGITS[following] != "0" else _TENS[w] + "0"
        elif w in _TEENS:
            chars = _TEENS[w]
        elif w in _DIGITS:
            chars = _DIGITS[w]
        elif w in _LETTER_NAMES:
            chars = _LETTER_NAMES[w]
        elif w == "w" or w == "doubleyou":
            chars = "w"
        else:
            chars = _ALNUM.sub("", w)
        if repeat > 1 and len(chars) == 1:
            chars *= repeat
        repeat = 1
        out.append(chars.replace("o", "0"))
    # "double you" is the letter w, not two u's.
    for i in range(len(words) - 1):
        if _clean(words[i]) == "double" and _clean(words[i + 1]) == "you":
            out[i], out[i + 1] = "", "w"
    return out


@dataclass(frozen=True)
class Identifier:
    key: str
    whole_words_only: bool = False  # device names: "kitchen" alone is not the device
    short_ok: bool = False  # a part of a name may be shorter than MIN_KEY


def identifiers(names: Iterable[str] = (), codes: Iterable[str] = (), phrases: Iterable[str] = ()) -> list[Identifier]:
    """What to look for. ``names``: a holder's name, matched whole and by each part (a first name
    alone is still theirs); ``codes``: serials, e-mails, account names, matched whole;
    ``phrases``: device names, matched only as the whole phrase (their words are everyday words)."""
    found: dict[str, Identifier] = {}
    for name in names:
        parts = [name, *re.split(r"[\s\-_.@]+", name)]
        for part in parts:
            if len(key_of(part)) >= MIN_NAME_PART:
                found.setdefault(key_of(part), Identifier(key_of(part), short_ok=True))
    for code in codes:
        found.setdefault(key_of(code), Identifier(key_of(code)))
        # An e-mail's local part is said on its own too ("write to jane dot doe").
        if "@" in code:
            local = key_of(code.split("@", 1)[0])
            found.setdefault(local, Identifier(local))
    for phrase in phrases:
        found.setdefault(key_of(phrase), Identifier(key_of(phrase), whole_words_only=True))
    return [ident for ident in found.values() if len(ident.key) >= (MIN_NAME_PART if ident.short_ok else MIN_KEY)]


def _best_window(chars: list[str], start: int, ident: Identifier) -> tuple[float, int] | None:
    """The best-matching run of words that begins at ``start``: (score, last index)."""
    if not chars[start]:
        return None
    best: tuple[float, int] | None = None
    text = ""
    limit = len(ident.key) + 2
    for end in range(start, len(chars)):
        text += chars[end]
        if len(text) > limit:
            break
        if not chars[end]:
            continue
        if len(text) < len(ident.key) - 2:
            continue
        score = ratio(text, ident.key)
        if ident.whole_words_only or len(ident.key) < 6:
            score = 100.0 if text == ident.key else score - 10  # short keys and phrases: near-exact only
        if best is None or score > best[0]:
            best = (score, end)
    return best


def _threshold(ident: Identifier) -> float:
    if len(ident.key) >= 8 and any(c.isdigit() for c in ident.key) and not ident.whole_words_only:
        return MIN_CODE_SCORE
    return MIN_SCORE


def find_known(words: list[str], idents: list[Identifier]) -> list[tuple[int, int, str]]:
    """Runs (first, last, ``KNOWN``) of words that say one of ``idents``."""
    if not idents or not words:
        return []
    chars = spelled(words)
    candidates: list[tuple[int, float, int, int]] = []
    for ident in idents:
        for start in range(len(words)):
            found = _best_window(chars, start, ident)
            if found and found[0] >= _threshold(ident):
                candidates.append((len(ident.key), found[0], start, found[1]))
    # Longer identifiers first (the whole e-mail before its local part, "jayne doe" before "doe"),
    # then the best match of each; a word belongs to one run.
    taken = [False] * len(words)
    runs: list[tuple[int, int, str]] = []
    for _length, _score, first, last in sorted(candidates, key=lambda c: (-c[0], -c[1], c[2])):
        if any(taken[first : last + 1]):
            continue
        for i in range(first, last + 1):
            taken[i] = True
        runs.append((first, last, KNOWN))
    return sorted(runs)
