"""Silencing that does not trust the transcript's times, and the check of what was rendered.

A device may send its own hypothesis, and its word times can be wrong (another clock, another
segmentation, a bug): silencing "the times of the PII words" then silences the wrong stretch while
the text shows ``[PHONE]``. So the render does not take the hypothesis at its word:

1. **Local alignment.** The bundled recognizer transcribes the stored audio (its word times are
   measured on this clip). Each hypothesis word gets the time of the local word(s) it lines up
   with (a word-level sequence alignment; runs said differently, "five five five" against
   "555", share the times of the local run they replace). Every masked word is silenced at the
   hypothesis's time *and* at its aligned time. The PII detector and the account's identifiers
   also run on the local words, so what the hypothesis lacks (a garbled e-mail) is silenced too,
   and every masked entity is looked for in the local words by what it spells (digit words,
   letter names, numerals; RapidFuzz, as for the account's own identifiers).
2. **Post-render check.** The silenced clip is transcribed again. If any masked entity is
   recovered (the same fuzzy, spoken-form match, and the account's identifiers), the silence is extended (the recovered words' own times and every span, with
   wider padding) and the clip is checked again. Still recovered: the render is withheld
   (``RenderWithheld``) and the task is not served.

The check listens to the silenced clip *before* the voice transform: the transform keeps every
word where it was (length-preserving) and only makes the recognizer worse, so checking after it
would be the weaker test. Nothing here keeps text: the render records counts and times only.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Sequence

import numpy as np

from sottovoce.privacy.known_ids import MIN_NAME_PART, Identifier, find_known, key_of, spelled

Transcribe = Callable[[np.ndarray], list[dict]]  # samples -> [{"word", "start", "end", "confidence"}]
Run = tuple[int, int, str]
Span = tuple[float, float]

EXTEND_PAD_S = 0.3  # padding of the second try, around every span and every recovered word
EXTEND_ROUNDS = 1  # extend-and-recheck rounds before the render is withheld


class RenderWithheld(Exception):
    """The rendered clip still said a masked entity after the silence was extended: not served."""

    def __init__(self, reason: str, recovered: int, report: dict | None = None):
        super().__init__(reason)
        self.reason, self.recovered, self.report = reason, recovered, report or {}


def _clean(word: str) -> str:
    return "".join(spelled([word])) or word.lower()


def aligned_times(hyp_words: Sequence[dict], local_words: Sequence[dict]) -> list[Span]:
    """The time of each hypothesis word on the stored audio, from the local words it lines up with.

    Equal words take their partner's time; a replaced run ("five five five" / "555") shares the
    local run's span in proportion; a hypothesis word with no local partner sits in the gap
    between its neighbours. Without local words the hypothesis's own times are kept."""
    if not local_words:
        return [(float(w["start"]), float(w["end"])) for w in hyp_words]
    a, b = [_clean(w["word"]) for w in hyp_words], [_clean(w["word"]) for w in local_words]
    times: list[Span] = [(0.0, 0.0)] * len(hyp_words)
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "insert":
            continue
        if op == "equal":
            for k in range(i2 - i1):
                times[i1 + k] = (float(local_words[j1 + k]["start"]), float(local_words[j1 + k]["end"]))
            continue
        if j2 > j1:  # replace: the local run's span, split evenly over the hypothesis words
            start, end = float(local_words[j1]["start"]), float(local_words[j2 - 1]["end"])
        else:  # delete: the gap between the neighbouring local words
            start = float(local_words[j1 - 1]["end"]) if j1 > 0 else 0.0
            end = float(local_words[j1]["start"]) if j1 < len(local_words) else max(start, float(local_words[-1]["end"]))
            end = max(end, start)
        step = (end - start) / (i2 - i1)
        for k in range(i2 - i1):
            times[i1 + k] = (start + k * step, start + (k + 1) * step)
    return times


def targets(texts: Sequence[str], runs: Sequence[Run]) -> list[Identifier]:
    """What each masked run spells, as identifiers to look for in other transcripts: the whole run
    and, for runs of several words, each word long enough to be matched on its own (a first name
    recovered without the surname is still a leak)."""
    chars = spelled(list(texts))
    found: dict[str, Identifier] = {}
    for first, last, _entity in runs:
        parts = [chars[first : last + 1]] + ([[c] for c in chars[first : last + 1]] if last > first else [])
        for part in parts:
            key = key_of("".join(part))
            if len(key) >= MIN_NAME_PART and not key.isdigit() or len(key) >= 4:
                found.setdefault(key, Identifier(key, short_ok=True))
    return list(found.values())


def find_entities(texts: Sequence[str], known: Sequence[Identifier], detect: Callable[[list[str]], list[Run]]) -> list[Run]:
    """Runs of personal data in ``texts``: the detector's and the identifiers' (known and masked)."""
    return [*detect(list(texts)), *find_known(list(texts), list(known))]


def spans_of(words: Sequence[dict], runs: Sequence[Run]) -> list[Span]:
    return [(float(words[i]["start"]), float(words[i]["end"])) for first, last, _ in runs for i in range(first, min(last, len(words) - 1) + 1)]


Silence = Callable[[np.ndarray, list[Span], float], np.ndarray]


def check_and_extend(
    original: np.ndarray,
    silenced: np.ndarray,
    spans: list[Span],
    pad_s: float,
    look_for: Sequence[Identifier],
    transcribe: Transcribe,
    silence: Silence,
    rounds: int = EXTEND_ROUNDS,
) -> tuple[np.ndarray, dict]:
    """Transcribe ``silenced``; while a masked entity is recovered, extend the silence (up to
    ``rounds`` times) and check again. Returns the clip to keep and a report (counts and CPU time,
    no text); raises ``RenderWithheld`` when the last check still recovers something."""
    started = time.process_time()
    report: dict = {"checks": 0, "recovered": [], "extended": 0}
    clip, spans = silenced, list(spans)
    for attempt in range(rounds + 1):
        heard = transcribe(clip)
        report["checks"] += 1
        # The masked entities and the account's identifiers only: the detector is not asked again,
        # since on a clip with holes the recognizer invents words ("Mr. Rat") it would flag.
        runs = find_known([w["word"] for w in heard], list(look_for))
        report["recovered"].append(len(runs))
        if not runs:
            report["cpu_s"] = round(time.process_time() - started, 3)
            return clip, report
        if attempt == rounds:
            break
        # Extend: the recovered words where the check heard them, and every span, padded wider.
        spans = [*spans, *spans_of(heard, runs)]
        clip = silence(original, spans, EXTEND_PAD_S)
        report["extended"] += 1
    report["cpu_s"] = round(time.process_time() - started, 3)
    raise RenderWithheld(f"a masked entity was still recovered from the rendered clip after {report['extended']} extension(s)", report["recovered"][-1], report)
