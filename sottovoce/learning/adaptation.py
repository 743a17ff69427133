"""Learning a candidate model version from reviewers' corrections.

Input: (hypothesis text, corrected text) pairs from the TRAIN split. Output: an :class:`Adaptation`,
the candidate's parameters, which are pure data (JSON) and cost nothing to roll back:

* ``hotwords``: a decoding-time prompt for faster-whisper made of a few *corrected sentences*,
  written the way Whisper writes, that cover the words reviewers most often had to fix. Bare
  comma-separated word lists were tried and make Whisper tiny hallucinate the list; real sentences
  bias it towards the domain without that. The text goes into ``hotwords`` and not
  ``initial_prompt`` because, in faster-whisper 1.2.1 with ``condition_on_previous_text=False``,
  the initial prompt only conditions the first 30-second window while hotwords condition every
  window (``get_prompt`` in ``faster_whisper/transcribe.py``; hotwords are ignored only when a
  ``prefix`` is given, not when an initial prompt is). For one window both give the same prompt.
* ``min_tail_confidence``: a prompt makes Whisper tiny append hallucinated sentences after the
  speech ("Thank you.", "We'll see you next time."); trailing sentences with a low mean word
  confidence are dropped (:meth:`Adaptation.postprocess`).
* ``alternatives`` / ``lm_weight`` / ``lm``: with ``alternatives`` > 1 the recognizer returns that
  many hypotheses of a beam search, and the version picks the one with the best acoustic score
  plus ``lm_weight`` times its log-probability under a trigram model of the corrected sentences
  (``learning/ngram.py``): Whisper's beam often holds the domain's wording a rank or two down.
* ``rewrites``: phrase rules (what the recognizer wrote -> what reviewers wrote) applied after
  recognition. A rule is kept only if, on the training pairs themselves, it fixes at least
  ``min_support`` distinct utterances with precision ``min_precision`` (fixed / fired), its source
  phrase is not made only of function words, and it never occurs in the optional general-speech
  text sample (``general_text``), so that it cannot fire on ordinary speech.
* ``params``: how it was learned (sizes, thresholds, validation scores), for the audit trail.

When a ``validate`` callback is given (WER of a candidate on held-out TRAIN data, never on the
evaluation data), :func:`learn` chooses the prompt size, the number of alternatives, the language
model weight and the tail threshold by it and drops the
rules that make the held-out WER worse. Nothing here logs or prints transcripts.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sottovoce.asr.edits import regions as _regions
from sottovoce.asr.edits import word_edits  # noqa: F401  (re-exported: rules are mined from the same edits)
from sottovoce.asr.scoring import align, error_counts, normalize
from sottovoce.learning.ngram import TrigramModel

# Words too common to be evidence of domain vocabulary, and too common to rewrite safely.
FUNCTION_WORDS = frozenset(
    """a an the i i'm you your yours it it's its to and or but of in on at by for from with as is are
    was were be been am do does did done can could will would should shall may might must have has
    had not no yes so if then than that this these those there here what which who whom whose
    when where why how me my mine we us our he him his she her they them their all any some just
    up down out off over into about please oh okay ok yeah hey um uh""".split()
)

DEFAULTS: dict[str, Any] = {
    "prompt_sentences": 8,  # corrected sentences in the hotwords prompt (0 = no biasing)
    "prompt_choices": (0, 4, 8, 16, 32),  # sizes tried when a validate callback is given
    "min_tail_confidence": None,  # drop trailing sentences below this mean confidence (None = off)
    "tail_choices": (None, 0.3, 0.5, 0.7, 0.9),  # thresholds tried when a validate callback is given
    "alternatives": 1,  # hypotheses asked of the recognizer's beam search (1 = its greedy best only)
    "alternatives_choices": (1, 5),  # tried when a validate callback is given
    # More alternatives are tried only with this many prompt sizes, the best with the fewest
    # alternatives (greedy): 7 decoding keys instead of 10 with the default grids.
    "beam_prompt_choices": 2,
    "lm_weight": 0.0,  # weight of the corrections' trigram log-probability when picking an alternative
    "lm_weight_choices": (0.0, 0.1, 0.2, 0.3, 0.5),  # tried for alternatives > 1
    # The language model may replace only words the recognizer was unsure of: an alternative is
    # eligible only if every word of the beam's first choice it changes has a confidence below
    # this (None: no gate). Stops a confidently heard name being pulled to a trained one.
    "rescore_max_confidence": None,
    "rescore_confidence_choices": (None, 0.5, 0.8),  # tried for alternatives > 1 with an LM weight
    "base_keep_confidence": None,  # keep the base decode's words heard at least this confidently
    "base_keep_choices": (None, 0.9, 0.7),  # tried for versions that prompt or rescore
    "min_word_errors": 2,  # a word must have been fixed this often to count as learned vocabulary
    "min_support": 2,  # distinct utterances a rule must fix
    "min_precision": 0.75,  # fixed / fired on the training pairs
    "max_rule_words": 4,  # longest phrase on either side of a rule
    "rewrites": True,
    "exclude_rules": (),  # (src, dst) rules never to ship, e.g. ones validation found harmful
}

_TOKEN = re.compile(r"[\w']+")


@dataclass
class Adaptation:
    hotwords: str | None
    initial_prompt: str | None
    rewrites: list[tuple[str, str]]
    params: dict = field(default_factory=dict)
    # Trailing sentences whose mean word confidence is below this are dropped (None: keep all).
    min_tail_confidence: float | None = None
    # More than 1: decode that many beam-search hypotheses and pick one with the language model.
    alternatives: int = 1
    lm_weight: float = 0.0
    lm: TrigramModel | None = None
    rescore_max_confidence: float | None = None
    # When the prompted or rescored decode runs away (see :func:`runs_away`), the version's text
    # comes from the base decode (no prompt, greedy) instead: a hallucinated paragraph is never
    # what was said, and the base decode of that clip is what the base version would have shown.
    runaway_fallback: bool = True
    # Over-pull guard on the decoding side: where the prompted or rescored decode changes or drops
    # words the base decode heard with at least this confidence, the base decode's words are kept
    # (None: off). Needs the base decode of every clip as well (one greedy decode more).
    base_keep_confidence: float | None = None

    def to_json(self) -> dict:
        return {
            "hotwords": self.hotwords,
            "initial_prompt": self.initial_prompt,
            "rewrites": [[src, dst] for src, dst in self.rewrites],
            "params": self.params,
            "min_tail_confidence": self.min_tail_confidence,
            "alternatives": self.alternatives,
            "lm_weight": self.lm_weight,
            "lm": self.lm.to_json() if self.lm is not None else None,
            "rescore_max_confidence": self.rescore_max_confidence,
            "runaway_fallback": self.runaway_fallback,
            "base_keep_confidence": self.base_keep_confidence,
        }

    @classmethod
    def from_json(cls, d: dict) -> Adaptation:
        return cls(
            hotwords=d.get("hotwords"),
            initial_prompt=d.get("initial_prompt"),
            rewrites=[(src, dst) for src, dst in d.get("rewrites", [])],
            params=dict(d.get("params", {})),
            min_tail_confidence=d.get("min_tail_confidence"),
            alternatives=int(d.get("alternatives") or 1),
            lm_weight=float(d.get("lm_weight") or 0.0),
            lm=TrigramModel.from_json(d["lm"]) if d.get("lm") else None,
            rescore_max_confidence=d.get("rescore_max_confidence"),
            # Versions stored before the fallback existed get it too: it only ever replaces a
            # runaway transcript by the base decode.
            runaway_fallback=bool(d.get("runaway_fallback", True)),
            base_keep_confidence=d.get("base_keep_confidence"),
        )

    def postprocess(self, words: Sequence) -> str:
        """The text to show for a recognized transcript's words (``.word``, ``.confidence``).

        With a prompt, Whisper tiny often appends a hallucinated sentence after the speech ends
        ("Thank you.", "We'll see you next time.", a sentence of the prompt) with low word
        probabilities, or loops on one sentence. Trailing sentences (never the first) that repeat
        all or the start of an earlier sentence of the same transcript are dropped whenever the
        version prompts or rescores (:attr:`steers_decoding`) or sets ``min_tail_confidence``; with
        ``min_tail_confidence`` set, so are trailing sentences whose mean word confidence is below
        it. Then a phrase loop left inside the last sentence is cut after its first copy (see
        ``_phrase_loop_start``), and the rewrites are applied.
        """
        return self.apply_rewrites(" ".join(w.word for w in self.trim_tail(words)))

    def pick(self, candidates: Sequence[tuple[Sequence, float]]) -> int:
        """Index of the alternative to keep among (words, acoustic log-probability) pairs, best
        first: the highest acoustic score plus ``lm_weight`` times the language model's
        log-probability of its text after tail trimming (a hallucinated tail is not scored),
        among the alternatives that say something."""
        lm = self.lm
        if len(candidates) < 2 or lm is None or not self.lm_weight:
            return 0
        texts = [" ".join(w.word for w in self.trim_tail(words)) for words, _ in candidates]
        # The recognizer only decodes what its VAD kept as speech, and a sentence model gives
        # saying nothing a high probability: an empty alternative is kept only if all are empty.
        spoken = [i for i, text in enumerate(texts) if text.strip()] or [0]
        if self.rescore_max_confidence is not None:
            spoken = [i for i in spoken if i == 0 or _changes_only_unsure(candidates[0][0], candidates[i][0], self.rescore_max_confidence)] or [0]
        return max(spoken, key=lambda i: candidates[i][1] + self.lm_weight * lm.logprob(texts[i]))

    def text(self, candidates: Sequence[tuple[Sequence, float]], seconds: float | None = None, base: Sequence | None = None) -> str:
        """:meth:`postprocess` of the alternative :meth:`pick` keeps; or, when it runs away on
        audio of ``seconds`` (:meth:`falls_back`) and the ``base`` decode's words are given, of
        those (what :func:`registry.recognize` does, decoding the base only then)."""
        if not candidates:
            return ""
        return self.postprocess(self.choose_words(candidates[self.pick(candidates)][0], seconds, base))

    def choose_words(self, words: Sequence, seconds: float | None, base: Sequence | None) -> Sequence:
        """The decode's ``words``, or the ``base`` decode's when they run away, or the two merged
        where the version keeps the base's confident words (:attr:`base_keep_confidence`)."""
        if base is None:
            return words
        if self.falls_back(words, seconds):
            return base
        if self.needs_base:
            assert self.base_keep_confidence is not None
            return keep_confident(base, words, self.base_keep_confidence)
        return words

    @property
    def needs_base(self) -> bool:
        """Whether every decode needs the base decode too (to keep its confident words)."""
        return self.steers_decoding and self.base_keep_confidence is not None

    def falls_back(self, words: Sequence, seconds: float | None) -> bool:
        """Whether this version's decode ``words`` (before post-processing) of ``seconds`` of
        audio is replaced by the base decode: the version steers decoding, has the fallback on,
        and what is left after tail trimming :func:`runs_away`."""
        if not (self.runaway_fallback and self.steers_decoding) or seconds is None:
            return False
        return runs_away(" ".join(w.word for w in self.trim_tail(words)), seconds)

    def trim_tail(self, words: Sequence) -> list:
        """The words that survive the tail trimming, as the same objects (times kept)."""
        sentences = _sentences(list(words))
        threshold = self.min_tail_confidence
        if threshold is None and not self.steers_decoding:
            return [w for sentence in sentences for w in sentence]
        keys = [_sentence_key(s) for s in sentences]  # normalized once, not once per comparison
        while len(sentences) > 1 and (_repeats(keys) or (threshold is not None and _mean_confidence(sentences[-1]) < threshold)):
            sentences.pop()
            keys.pop()
        kept = [w for sentence in sentences for w in sentence]
        # Then a loop inside what is left, one with no sentence punctuation to split on, and one
        # inside a single word (pieces joined without spaces: "7-0-0-1-0-0-0-0-...").
        return [_cut_word_loop(w) for w in kept[: _phrase_loop_start(kept)]]

    @property
    def steers_decoding(self) -> bool:
        """Whether the version changes what the recognizer decodes (a prompt or alternatives).
        Such versions always remove decoding loops: a loop is never speech, and validation
        clips that happen not to loop cannot show the harm of keeping them (a loop of "Fifth."
        filled a whole window on non-domain speech when this depended on the threshold)."""
        return bool(self.hotwords or self.initial_prompt or self.alternatives > 1)

    @property
    def decoding_key(self) -> str:
        """A hash of what changes the recognizer's output, so decodes can be cached per version."""
        what = [self.hotwords, self.initial_prompt] + ([self.alternatives] if self.alternatives > 1 else [])
        return hashlib.sha256(json.dumps(what).encode()).hexdigest()[:16]

    def apply_rewrites(self, text: str) -> str:
        """Applies the rules in order, on word boundaries, ignoring case and punctuation between words."""
        for src, dst in self.rewrites:
            text = _rule_pattern(src).sub(_replacement(dst), text)
        return " ".join(text.split())


# A transcript is a runaway when it says more than anyone can in the audio's time: over
# RUNAWAY_WORDS_PER_S words (or RUNAWAY_CHARS_PER_S letters) per second of audio, silence
# included, beyond a few words of slack; or when it compresses like a loop does (Whisper's own
# ``compression_ratio_threshold``). Fast conversational speech is 3-4 words (15-20 letters) per
# second; the runaways seen on the quick benchmark were over 20 words per second. The slack was 4
# words at first; 2 also catches a one-word digit clip given four extra words (docs/learning.md).
RUNAWAY_WORDS_PER_S = 5.0
RUNAWAY_CHARS_PER_S = 25.0
RUNAWAY_SLACK_WORDS = 2
MAX_COMPRESSION_RATIO = 2.4


def compression_ratio(text: str) -> float:
    """Bytes of the text over bytes of its zlib compression, as Whisper computes it."""
    data = text.encode()
    return len(data) / len(zlib.compress(data)) if data else 0.0


def runs_away(text: str, seconds: float) -> bool:
    """Whether a transcript of ``seconds`` of audio is too long (or too repetitive) to be speech."""
    words = text.split()
    letters = sum(len(w) for w in words)
    return (
        len(words) > RUNAWAY_WORDS_PER_S * seconds + RUNAWAY_SLACK_WORDS
        or letters > RUNAWAY_CHARS_PER_S * seconds + 6 * RUNAWAY_SLACK_WORDS
        or compression_ratio(text) > MAX_COMPRESSION_RATIO
    )


def keep_confident(base: Sequence, adapted: Sequence, threshold: float) -> list:
    """The adapted decode's words, except where it substitutes or drops words the base decode
    heard with confidence >= ``threshold``: there the base decode's words stay. What the prompt
    or the language model pulls in replaces only what the base recognizer was unsure of (a
    confidently heard "kitchen" is not pulled to a trained "bedroom"); words the adapted decode
    adds where the base heard nothing are kept."""
    def key(w: Any) -> str:
        return re.sub(r"[^\w']", "", w.word.lower())

    b = [w for w in base if key(w)]
    a = [w for w in adapted if key(w)]
    out: list = []
    for chunk in align([key(w) for w in b], [key(w) for w in a]):
        theirs = b[chunk.ref_start : chunk.ref_end]
        mine = a[chunk.hyp_start : chunk.hyp_end]
        if chunk.type in ("substitute", "delete") and theirs and all(w.confidence >= threshold for w in theirs):
            out.extend(theirs)
        else:
            out.extend(mine)
    return out


def _changes_only_unsure(first: Sequence, other: Sequence, threshold: float) -> bool:
    """Whether ``other`` differs from ``first`` (the beam's best) only in words of ``first`` whose
    confidence is below ``threshold``; words ``other`` inserts change nothing ``first`` heard."""
    keyed = [(re.sub(r"[^\w']", "", w.word.lower()), w.confidence) for w in first]
    keyed = [(k, c) for k, c in keyed if k]
    theirs = [k for k in (re.sub(r"[^\w']", "", w.word.lower()) for w in other) if k]
    for chunk in align([k for k, _ in keyed], theirs):
        if chunk.type in ("substitute", "delete") and any(c >= threshold for _, c in keyed[chunk.ref_start : chunk.ref_end]):
            return False
    return True


def _sentences(words: list) -> list[list]:
    """Splits recognized words into sentences after words ending in . ? or !"""
    out: list[list] = [[]]
    for word in words:
        out[-1].append(word)
        if word.word.endswith((".", "?", "!")):
            out.append([])
    return [s for s in out if s]


def _sentence_key(sentence: list) -> list[str]:
    return normalize(" ".join(w.word for w in sentence)).split()


def _repeats(keys: list[list[str]]) -> bool:
    """Whether the last sentence (as normalized words) says again all or the start of an earlier one.

    Whisper's decoding loops repeat a sentence verbatim until the window ends, often cut off
    mid-sentence: "Change the light color. Change the light color. Change the light".
    """
    last = keys[-1]
    return bool(last) and any(key[: len(last)] == last for key in keys[:-1])


LOOP_COPIES = 3  # a phrase said this many times in a row up to the end is a decoding loop...
LOOP_MIN_WORDS = 8  # ...if the repeats run this long ("no no no" and "la la la" are speech)
LOOP_PHRASE_WORDS = 8  # longest phrase looked for


def _phrase_loop_start(words: list) -> int | None:
    """Where to cut a loop that runs to the end of the transcript without sentence punctuation
    ("I'm going to check it with check it with check it with ... check it wi"): just after the
    first copy of the repeated phrase. A loop is a run, up to the end, that repeats a phrase of
    up to LOOP_PHRASE_WORDS words at least LOOP_COPIES times and LOOP_MIN_WORDS words (the
    last word may be cut off, as the window ended). None when there is no loop."""
    keys = [re.sub(r"[^\w']", "", w.word.lower()) for w in words]
    n = len(keys)
    cut = None
    for size in range(1, LOOP_PHRASE_WORDS + 1):
        j = n - 1
        # Walk back while every word equals the one a period earlier (the last may be a prefix).
        while j - size >= 0 and keys[j] and (keys[j] == keys[j - size] or (j == n - 1 and keys[j - size].startswith(keys[j]))):
            j -= 1
        run = n - (j + 1 - size)  # words of the periodic run, first copy included
        if run >= max(LOOP_COPIES * size, LOOP_MIN_WORDS) and (cut is None or j + 1 < cut):
            cut = j + 1
    return cut


# A unit of up to 8 characters said 16 times or more in a row inside one word is a decoding loop
# (ten zeros of a written number are not).
_WORD_LOOP = re.compile(r"(.{1,8}?)\1{15,}")


def _cut_word_loop(word: Any) -> Any:
    """The word with a loop inside it cut after the loop's first unit; the same object otherwise."""
    match = _WORD_LOOP.search(word.word)
    if match is None:
        return word
    text = word.word[: match.start() + len(match.group(1))]
    if hasattr(word, "_replace"):  # a NamedTuple (the benchmark's cached words)
        return word._replace(word=text)
    if dataclasses.is_dataclass(word) and not isinstance(word, type):
        return dataclasses.replace(word, word=text)
    clone = copy.copy(word)
    clone.word = text
    return clone


def _mean_confidence(words: list) -> float:
    return sum(w.confidence for w in words) / len(words)


def _replacement(dst: str) -> Callable[[re.Match], str]:
    # A function, not a template string: the target must never be read as a regex backreference.
    return lambda _m: dst


_PATTERNS: dict[str, re.Pattern] = {}


def _rule_pattern(src: str) -> re.Pattern:
    if src not in _PATTERNS:
        words = [re.escape(w) for w in tokens(src)]
        # Between words allow any run of spaces/punctuation ("settle, on"); never match inside a word.
        _PATTERNS[src] = re.compile(r"(?<![\w'])" + r"[^\w']+".join(words) + r"(?![\w'])", re.IGNORECASE)
    return _PATTERNS[src]


def tokens(text: str) -> list[str]:
    """The words rules are learned on: lower case, punctuation dropped, apostrophes kept."""
    return _TOKEN.findall((text or "").lower())


# --- vocabulary and prompt --------------------------------------------------------------------


def fixed_word_weights(pairs: list[tuple[str, str]], min_word_errors: int = 2) -> dict[str, float]:
    """Content words reviewers had to insert or substitute, weighted errors x log(1 + frequency).

    Counting both how often a word was fixed and how common it is in corrections favours recurring
    domain vocabulary over one-off mishearings. Digits are left out: the normalizer already maps
    spoken and written numbers together.
    """
    errors: Counter[str] = Counter()
    freq: Counter[str] = Counter()
    for hyp, ref in pairs:
        ref_n, hyp_n = normalize(ref).split(), normalize(hyp).split()
        freq.update(set(ref_n))
        for chunk in align(ref_n, hyp_n):
            if chunk.type in ("substitute", "delete"):
                errors.update(ref_n[chunk.ref_start : chunk.ref_end])
    return {
        w: errors[w] * math.log(1 + freq[w])
        for w in errors
        if errors[w] >= min_word_errors and w not in FUNCTION_WORDS and not any(ch.isdigit() for ch in w)
    }


def prompt_sentences(pairs: list[tuple[str, str]], weights: dict[str, float], n: int) -> list[str]:
    """Greedily picks n corrected sentences covering the most weight not yet covered.

    Dividing by sqrt(length) prefers short sentences, so the prompt stays small (it costs decoder
    context and CPU time on every window).
    """
    pool = sorted({" ".join(tokens(ref)) for _hyp, ref in pairs if tokens(ref)})
    covered: set[str] = set()
    chosen: list[str] = []
    while pool and len(chosen) < n:
        def gain(sentence: str) -> float:
            words = set(normalize(sentence).split()) - covered
            return sum(weights.get(w, 0.0) for w in words) / math.sqrt(len(sentence.split()))

        best = max(pool, key=lambda s: (gain(s), s))
        if gain(best) <= 0:
            break
        chosen.append(best)
        covered |= set(normalize(best).split())
        pool.remove(best)
    return chosen


_QUESTION_STARTS = frozenset(
    "what what's who who's when where where's why how how's which is are do does did can could will would should".split()
)


def whisper_style(sentence: str) -> str:
    """A corrected sentence written the way Whisper writes: capital, "I", final punctuation.

    Reviewers' text is often lower case and unpunctuated; as a prompt that style made Whisper tiny
    worse on held-out clips than the same sentences in its own style.
    """
    words = ["I" + w[1:] if w == "i" or w.startswith("i'") else w for w in sentence.split()]
    if not words:
        return ""
    text = " ".join(words)
    return text[0].upper() + text[1:] + ("?" if words[0].lower() in _QUESTION_STARTS else ".")


def _prompt_text(sentences: list[str]) -> str | None:
    return " ".join(whisper_style(s) for s in sentences) if sentences else None


# --- rewrite rules ------------------------------------------------------------------------------


def _candidate_rules(pairs: list[tuple[str, str]], max_words: int) -> Counter[tuple[str, str]]:
    """Phrase pairs seen at error regions, bare and with one word of context on either side.

    Context turns insertions/deletions into rules with a non-empty source and lets a rule be
    specific ("settle on" -> "set alarm" rather than "on" -> "alarm"); the support and precision
    tests decide which variant survives. Counted once per utterance.
    """
    counts: Counter[tuple[str, str]] = Counter()
    for hyp_text, ref_text in pairs:
        hyp, ref = tokens(hyp_text), tokens(ref_text)
        seen = set()
        for hs, he, rs, re_ in _regions(hyp, ref):
            for left in (0, 1):
                for right in (0, 1):
                    a, b, c, d = hs - left, he + right, rs - left, re_ + right
                    if a < 0 or c < 0 or b > len(hyp) or d > len(ref) or b <= a:
                        continue
                    if b - a > max_words or d - c > max_words:
                        continue
                    seen.add((" ".join(hyp[a:b]), " ".join(ref[c:d])))
        counts.update(seen)
    return counts


def _contains(words: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def score_rule(rule: tuple[str, str], pairs: list[tuple[str, str]]) -> dict:
    """How a rule does on pairs: utterances it fires on, fixes, breaks, and net word errors saved."""
    src_words = tokens(rule[0])
    one = Adaptation(None, None, [rule])
    fired = fixed = broken = saved = 0
    for hyp, ref in pairs:
        if not _contains(tokens(hyp), src_words):
            continue
        fired += 1
        before, _ = error_counts(ref, hyp)
        after, _ = error_counts(ref, one.apply_rewrites(hyp))
        saved += before - after
        fixed += after < before
        broken += after > before
    return {"fired": fired, "fixed": fixed, "broken": broken, "saved": saved}


def learn_rewrites(
    pairs: list[tuple[str, str]],
    min_support: int = 2,
    min_precision: float = 0.75,
    max_rule_words: int = 4,
    general_text: Iterable[str] = (),
    exclude: Iterable[tuple[str, str]] = (),
) -> tuple[list[tuple[str, str]], dict]:
    """Rules that pass support, precision and the general-speech guard, most useful first."""
    general = [tokens(t) for t in general_text]
    excluded = {(src, dst) for src, dst in exclude}
    stats = {"candidates": 0, "tested": 0, "kept": 0}
    kept: list[tuple[tuple[str, str], int]] = []
    for (src, dst), count in _candidate_rules(pairs, max_rule_words).items():
        stats["candidates"] += 1
        if count < min_support or (src, dst) in excluded or normalize(src) == normalize(dst):
            continue
        src_words = src.split()
        if all(w in FUNCTION_WORDS for w in src_words):
            continue
        if any(_contains(g, src_words) for g in general):
            continue
        stats["tested"] += 1
        s = score_rule((src, dst), pairs)
        if s["fixed"] >= min_support and s["fixed"] >= min_precision * s["fired"] and s["saved"] > 0:
            kept.append(((src, dst), s["saved"]))
    # Most useful first; among equals the shortest source, which generalizes to unseen sentences
    # (the context variants then add nothing and are dropped); alphabetical to be reproducible.
    kept.sort(key=lambda r: (-r[1], len(r[0][0].split()), r[0]))
    rules = _drop_shadowed([r for r, _ in kept], pairs)
    stats["kept"] = len(rules)
    return rules, stats


def _drop_shadowed(rules: list[tuple[str, str]], pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Keeps a rule only if it still helps after the rules before it have been applied.

    apply_rewrites runs the rules in this same order, so what is measured here is what ships.
    """
    out: list[tuple[str, str]] = []
    texts = [(hyp, ref) for hyp, ref in pairs]
    for rule in rules:
        s = score_rule(rule, texts)
        if s["saved"] > 0 and s["fixed"] > s["broken"]:
            out.append(rule)
            one = Adaptation(None, None, [rule])
            texts = [(one.apply_rewrites(hyp), ref) for hyp, ref in texts]
    return out


# --- putting it together ---------------------------------------------------------------------


def _build(pairs: list[tuple[str, str]], opts: dict, general_text: list[str]) -> Adaptation:
    weights = fixed_word_weights(pairs, opts["min_word_errors"])
    sentences = prompt_sentences(pairs, weights, opts["prompt_sentences"])
    rules: list[tuple[str, str]] = []
    rule_stats: dict[str, Any] = {}
    if opts["rewrites"]:
        rules, rule_stats = learn_rewrites(
            pairs, opts["min_support"], opts["min_precision"], opts["max_rule_words"], general_text, opts["exclude_rules"]
        )
    params = {
        "pairs": len(pairs),
        "selected": {
            **{
                k: opts[k]
                for k in (
                    "prompt_sentences", "min_tail_confidence", "alternatives", "lm_weight", "rescore_max_confidence",
                    "base_keep_confidence", "min_word_errors", "min_support", "min_precision", "max_rule_words", "rewrites",
                )
            },
            "exclude_rules": [list(r) for r in opts["exclude_rules"]],
        },
        "vocabulary": len(weights),
        "prompt_sentences_used": len(sentences),
        "rules": rule_stats,
    }
    # The language model only matters when there are alternatives to pick from; without them no
    # more correction text is kept than needed.
    lm = TrigramModel.fit(r for _, r in pairs) if opts["alternatives"] > 1 else None
    return Adaptation(
        hotwords=_prompt_text(sentences),
        initial_prompt=None,
        rewrites=rules,
        params=params,
        min_tail_confidence=opts["min_tail_confidence"],
        alternatives=opts["alternatives"],
        lm_weight=opts["lm_weight"] if lm is not None else 0.0,
        lm=lm,
        rescore_max_confidence=opts["rescore_max_confidence"] if lm is not None else None,
        base_keep_confidence=opts["base_keep_confidence"],
    )


def learn(
    pairs: list[tuple[str, str]],
    validate: Callable[[Adaptation], float] | None = None,
    **opts: Any,
) -> Adaptation:
    """Learns an Adaptation from (hypothesis, corrected) pairs.

    ``validate`` must score a candidate on held-out TRAIN data that is not in ``pairs`` (lower is
    better). With it, the prompt size, the number of alternatives, the language model weight and the
    tail threshold are chosen jointly among ``prompt_choices`` x ``alternatives_choices`` x
    ``lm_weight_choices`` (for alternatives > 1) x ``tail_choices``, each rule is kept only if removing it would not lower
    the held-out WER, and the rules ship only if together they lower it. The chosen settings are
    in ``params["selected"]`` (rules validation dropped go to ``exclude_rules``), so a caller can
    refit on all its data with ``learn(all_pairs, **params["selected"])``. More alternatives are
    tried only with the ``beam_prompt_choices`` best prompt sizes (coarse to fine, :func:`_grid`).
    It is called about 100 times with the default grids but with only
    ``len(prompt_choices) + beam_prompt_choices * (len(alternatives_choices) - 1)`` (7)
    distinct :attr:`Adaptation.decoding_key` values: cache decodes by that key and re-apply only
    :meth:`Adaptation.text` (or :meth:`Adaptation.postprocess` for one alternative).

    Other options: see ``DEFAULTS``; ``general_text`` is a sample of ordinary (non-domain) speech
    text in which no rule's source phrase may occur.
    """
    unknown = set(opts) - set(DEFAULTS) - {"general_text"}
    if unknown:
        raise TypeError(f"unknown options: {sorted(unknown)}")
    general_text = list(opts.pop("general_text", ()))
    settings = {**DEFAULTS, **opts}
    pairs = [(h or "", r or "") for h, r in pairs]
    if validate is None:
        return _build(pairs, settings, general_text)

    scores: dict[tuple[int, int, float, float | None, float | None, float | None], float] = {}
    for n, k in _grid(settings, scores):  # one decoding key per (n, k)
        candidate = _build(pairs, {**settings, "prompt_sentences": n, "alternatives": k, "rewrites": False}, general_text)
        for weight in settings["lm_weight_choices"] if k > 1 else (0.0,):
            for gate in settings["rescore_confidence_choices"] if k > 1 and weight else (None,):
                for tail in settings["tail_choices"]:
                    for keep in settings["base_keep_choices"] if candidate.steers_decoding else (None,):
                        # Same decoding key for every weight, gate and threshold: the callback re-decodes nothing.
                        candidate.lm_weight, candidate.rescore_max_confidence, candidate.min_tail_confidence = weight, gate, tail
                        candidate.base_keep_confidence = keep
                        scores[(n, k, weight, gate, tail, keep)] = validate(candidate)
    # Ties go to the smaller prompt (cheaper to decode, less to go wrong on general speech), fewer
    # alternatives, the lighter language model, the stricter gate (it changes fewer clips) and
    # then the gentler trimming, then no base merge (it costs a decode).
    best = min(scores, key=lambda key: (scores[key], key[0], key[1], key[2], 2.0 if key[3] is None else key[3], key[4] or 0.0, -2.0 if key[5] is None else -key[5]))
    best_n, best_k, best_weight, best_gate, best_tail, best_keep = best
    adaptation = _build(
        pairs,
        {
            **settings, "prompt_sentences": best_n, "alternatives": best_k, "lm_weight": best_weight,
            "rescore_max_confidence": best_gate, "min_tail_confidence": best_tail, "base_keep_confidence": best_keep,
        },
        general_text,
    )
    validation: dict[str, Any] = {"prompt_wer": {"/".join(str(x) for x in key): round(s, 5) for key, s in scores.items()}}
    if adaptation.rewrites:
        learned = list(adaptation.rewrites)
        adaptation.rewrites, validation["rules"] = _validate_rules(adaptation, validate)
        if adaptation.rewrites:
            dropped = [list(r) for r in learned if r not in adaptation.rewrites]
            adaptation.params["selected"]["exclude_rules"] += dropped
        else:
            adaptation.params["selected"]["rewrites"] = False
    validation["final_wer"] = round(validate(adaptation), 5)
    adaptation.params["validation"] = validation
    return adaptation


def _grid(settings: dict, scores: dict) -> Iterator[tuple[int, int]]:
    """The (prompt size, alternatives) pairs to try, coarse to fine: every prompt size with the
    fewest alternatives first, then more alternatives only with the ``beam_prompt_choices`` prompt
    sizes that scored best so far (beam-search decodes cost several greedy ones each). Reads
    ``scores`` as the caller fills it."""
    ks = sorted(settings["alternatives_choices"])
    for n in settings["prompt_choices"]:
        yield n, ks[0]
    best: dict[int, float] = {}
    for key, value in scores.items():
        best[key[0]] = min(value, best.get(key[0], math.inf))
    # Ties to the smaller prompt, as the final choice does.
    kept = sorted(best, key=lambda n: (best[n], n))[: settings["beam_prompt_choices"]]
    for k in ks[1:]:
        for n in settings["prompt_choices"]:
            if n in kept:
                yield n, k


def _validate_rules(adaptation: Adaptation, validate: Callable[[Adaptation], float]) -> tuple[list, dict]:
    """Backward elimination: drop each rule whose removal lowers the held-out WER; then, unless
    the remaining rules together lower it, drop them all. Rules the slice never triggers stay:
    they passed support and precision on the training pairs."""
    rules = list(adaptation.rewrites)
    current = validate(adaptation)
    dropped = 0
    for rule in list(rules):
        score = validate(replace(adaptation, rewrites=[r for r in rules if r != rule], params={}))
        if score < current:  # the rule hurt on held-out data
            rules.remove(rule)
            current = score
            dropped += 1
    without = validate(replace(adaptation, rewrites=[], params={}))
    if rules and current >= without:
        # As a set the rules must help on held-out data, or none ship.
        dropped += len(rules)
        rules = []
    return rules, {"dropped": dropped, "kept": len(rules), "wer_with": round(current, 5), "wer_without": round(without, 5)}


def describe(adaptation: Adaptation) -> dict:
    """Aggregate shape of an Adaptation for reports (sizes only, no text).

    The selected settings are shown, except ``exclude_rules``: those are phrase pairs taken from
    corrections, so only their number is.
    """
    shape = {
        "hotwords_words": len((adaptation.hotwords or "").split()),
        "min_tail_confidence": adaptation.min_tail_confidence,
        "alternatives": adaptation.alternatives,
        "lm_weight": adaptation.lm_weight,
        "rescore_max_confidence": adaptation.rescore_max_confidence,
        "runaway_fallback": adaptation.runaway_fallback,
        "base_keep_confidence": adaptation.base_keep_confidence,
        "lm_trigrams": len(adaptation.lm) if adaptation.lm is not None else 0,
        "initial_prompt_words": len((adaptation.initial_prompt or "").split()),
        "rewrites": len(adaptation.rewrites),
        **{k: v for k, v in adaptation.params.items() if k == "pairs"},
    }
    if "selected" in adaptation.params:
        selected = adaptation.params["selected"]
        shape["selected"] = {**selected, "exclude_rules": len(selected.get("exclude_rules", []))}
    return shape


__all__ = ["Adaptation", "learn", "runs_away", "compression_ratio", "word_edits", "learn_rewrites", "score_rule", "fixed_word_weights", "prompt_sentences", "tokens", "describe", "whisper_style", "DEFAULTS"]
