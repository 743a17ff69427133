"""A small token classifier for personal data that rules cannot list: person names with no cue
word, health conditions, medications and test results.

Why not a spaCy NER: training one on this shared 2-core machine takes far longer than the time a
session has, and running a spaCy pipeline per transcript cost ~25 ms here, over the 20 ms budget
on its own. A multinomial logistic regression over hashed features is trained in minutes on
spoken-form synthetic data (scripts/train_pii_model.py) and predicts a sentence in well under a
millisecond with numpy alone. Its features, for each word:

* the word, its shape, prefix and suffix, its character 2-5 grams (which carry over to names and
  drug names never seen: "-olol", "-statin", "-ski", "-ova");
* the two words either side, their suffixes, and the bigrams with the word;
* gazetteer flags for the word and its neighbours: a first-name/surname list folded from Faker's
  person providers (locales the test generator does not use, see the training script), a health
  list (words of ICD-10-CM chapters A-R titles and the drug names of the MIT-licensed
  ``drug-named-entity-recognition`` dictionary), and whether the word is an English dictionary
  word (the spaCy model's lemma table). Training hides the gazetteer flags of a share of the PII
  words, so the model does not lean on the lists alone.

The weights and both lists ship inside the package (``models/pii_tokens.npz``); nothing is
downloaded. Numbers stay with the rules (privacy/pii_text.py), which are exact on them.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from importlib import resources

import numpy as np

N_FEATURES = 1 << 19
LABELS = ("O", "PERSON", "HEALTH")
MODEL_FILE = "pii_tokens.npz"
_STRIP = ".,!?;:\"()[]{}<>"


def clean(word: str) -> str:
    return word.lower().strip(_STRIP)


def _shape(w: str) -> str:
    if w.isdigit():
        return "num"
    if w.isalpha():
        return "alpha" + str(min(len(w), 9))
    return "mixed"


@dataclass(frozen=True)
class Flags:
    """Per-word gazetteer flags of one sentence."""

    name: list[bool]
    health: list[bool]
    dictionary: list[bool]


def flags_for(words: list[str], names: Collection[str], health: Collection[str], dictionary: Collection[str]) -> Flags:
    return Flags([w in names for w in words], [w in health for w in words], [w in dictionary for w in words])


def features(words: list[str], i: int, flags: Flags) -> list[str]:
    """The features of word ``i`` in context; the same function trains and predicts."""
    w = words[i]
    padded = f"<{w}>"
    out = [f"w={w}", f"s={_shape(w)}", "bias", f"p3={w[:3]}", f"x3={w[-3:]}", f"x4={w[-4:]}"]
    for n in (2, 3, 4, 5):
        out += [f"c{n}={padded[k:k + n]}" for k in range(len(padded) - n + 1)]
    for offset in (-2, -1, 1, 2):
        j = i + offset
        other = words[j] if 0 <= j < len(words) else ("<s>" if j < 0 else "</s>")
        out.append(f"{offset}w={other}")
        out.append(f"{offset}x={other[-3:]}")
        if 0 <= j < len(words) and abs(offset) == 1:
            out.append(f"{offset}gn={flags.name[j]}")
            out.append(f"{offset}gh={flags.health[j]}")
            out.append(f"{offset}gd={flags.dictionary[j]}")
    out.append(f"-1w+w={words[i - 1] if i else '<s>'}|{w}")
    out.append(f"w+1w={w}|{words[i + 1] if i + 1 < len(words) else '</s>'}")
    out.append(f"-2w-1w={words[i - 2] if i > 1 else '<s>'}|{words[i - 1] if i else '<s>'}")
    gn, gh, gd = flags.name[i], flags.health[i], flags.dictionary[i]
    out.append(f"g={gn}{gh}{gd}")
    out.append(f"g={gn}{gh}{gd}|s={_shape(w)}")
    out.append(f"g={gn}{gh}{gd}|-1w={words[i - 1] if i else '<s>'}")
    return out


def hashed(names: list[str]) -> np.ndarray:
    """Feature names to column indices (CRC-32: stable across processes, unlike ``hash``)."""
    return np.fromiter((zlib.crc32(n.encode()) % N_FEATURES for n in names), dtype=np.int64, count=len(names))


@dataclass(frozen=True)
class Model:
    weights: np.ndarray  # (N_FEATURES, len(LABELS)) float32, row per hashed feature
    intercept: np.ndarray  # (len(LABELS),)
    thresholds: np.ndarray  # (len(LABELS),): a word gets label k when P(k) >= thresholds[k]
    names: frozenset[str]
    health: frozenset[str]


@functools.lru_cache(maxsize=1)
def load() -> Model:
    """The shipped model, read once from the package with numpy."""
    with resources.files("sottovoce.privacy.models").joinpath(MODEL_FILE).open("rb") as fh:
        data = np.load(fh)
        return Model(
            weights=np.ascontiguousarray(data["coef"].astype(np.float32).T),
            intercept=data["intercept"].astype(np.float32),
            thresholds=data["thresholds"].astype(np.float32),
            names=frozenset(bytes(data["names"]).decode().split()),
            health=frozenset(bytes(data["health"]).decode().split()),
        )


def _dictionary() -> frozenset[str]:
    from sottovoce.privacy.dictionary import dictionary_words

    return dictionary_words()


def probabilities(words: list[str], dictionary: Callable[[], Collection[str]] = _dictionary) -> np.ndarray:
    """P(label) per word, shape (len(words), len(LABELS))."""
    model = load()
    if not words:
        return np.zeros((0, len(LABELS)), np.float32)
    clean_words = [clean(w) for w in words]
    flags = flags_for(clean_words, model.names, model.health, dictionary())
    scores = np.stack([model.weights[hashed(features(clean_words, i, flags))].sum(axis=0) for i in range(len(words))]) + model.intercept
    scores -= scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


def model_runs(words: list[str]) -> list[tuple[int, int, str]]:
    """Runs (first, last, entity) of words the model labels PERSON or HEALTH, each with its
    shipped threshold (chosen at training time on a validation split of the training generator to
    keep false positives on everyday text under 2 % of words)."""
    if not words:
        return []
    thresholds = load().thresholds
    runs: list[tuple[int, int, str]] = []
    for i, row in enumerate(probabilities(words)):
        passing = [k for k in range(1, len(LABELS)) if row[k] >= thresholds[k]]
        if not passing:
            continue
        label = LABELS[max(passing, key=lambda k: row[k])]
        if runs and runs[-1][1] == i - 1 and runs[-1][2] == label:
            runs[-1] = (runs[-1][0], i, label)
        else:
            runs.append((i, i, label))
    return runs
