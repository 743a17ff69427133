"""A small token classifier for personal data that rules cannot list: person names with no cue
word, health conditions, medications and test results.

Why not a spaCy NER: training one on this shared 2-core machine takes far longer than the time a
session has, and its inference (~5-10 ms a sentence on top of Presidio's) would eat the 20 ms
budget. A multinomial logistic regression over hashed features (the word, its character 2-4
grams, its shape, two words either side and their suffixes) is trained in about a minute on
spoken-form synthetic data (scripts/train_pii_model.py: Faker names from many locales, health
vocabularies, templates written like recognizer output), predicts a sentence in well under a
millisecond with numpy alone, and its character n-grams carry over to names and drug names it
never saw ("-olol", "-statin", "-ski", "-ova"). The weights ship inside the package
(``models/pii_tokens.npz``, float16); nothing is downloaded. Numbers stay with the rules
(privacy/pii_text.py), which are exact on them.
"""

from __future__ import annotations

import functools
import zlib
from importlib import resources

import numpy as np

N_FEATURES = 1 << 18
LABELS = ("O", "PERSON", "HEALTH")
MODEL_FILE = "pii_tokens.npz"


def _clean(word: str) -> str:
    return word.lower().strip(".,!?;:\"'()[]{}<>")


def _shape(w: str) -> str:
    if w.isdigit():
        return "num"
    if w.isalpha():
        return "alpha" + str(min(len(w), 8))
    return "mixed"


def features(words: list[str], i: int) -> list[str]:
    """The features of word ``i`` in context; the same function trains and predicts."""
    w = words[i]
    padded = f"<{w}>"
    out = [f"w={w}", f"s={_shape(w)}", "bias"]
    for n in (2, 3, 4):
        out += [f"c{n}={padded[k:k + n]}" for k in range(len(padded) - n + 1)]
    for offset in (-2, -1, 1, 2):
        j = i + offset
        other = words[j] if 0 <= j < len(words) else ("<s>" if j < 0 else "</s>")
        out.append(f"{offset}w={other}")
        out.append(f"{offset}x={other[-3:]}")
    out.append(f"-1w+w={words[i - 1] if i else '<s>'}|{w}")
    return out


def hashed(names: list[str]) -> np.ndarray:
    """Feature names to column indices (CRC-32: stable across processes, unlike ``hash``)."""
    return np.fromiter((zlib.crc32(n.encode()) % N_FEATURES for n in names), dtype=np.int64, count=len(names))


@functools.lru_cache(maxsize=1)
def _model() -> tuple[np.ndarray, np.ndarray, float]:
    with resources.files("sottovoce.privacy.models").joinpath(MODEL_FILE).open("rb") as fh:
        data = np.load(fh)
        return data["coef"].astype(np.float32), data["intercept"].astype(np.float32), float(data["threshold"])


def probabilities(words: list[str]) -> np.ndarray:
    """P(label) per word, shape (len(words), len(LABELS))."""
    coef, intercept, _ = _model()
    clean = [_clean(w) for w in words]
    scores = np.stack([coef[:, hashed(features(clean, i))].sum(axis=1) + intercept for i in range(len(clean))]) if clean else np.zeros((0, len(LABELS)), np.float32)
    scores -= scores.max(axis=1, keepdims=True) if len(clean) else 0
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


def model_runs(words: list[str]) -> list[tuple[int, int, str]]:
    """Runs (first, last, entity) of words the model labels PERSON or HEALTH with probability of
    at least the shipped threshold (chosen at training time to keep false positives on PII-free
    text under 2 % of words)."""
    if not words:
        return []
    _, _, threshold = _model()
    probs = probabilities(words)
    labels: list[str | None] = []
    for row in probs:
        k = int(row[1:].argmax()) + 1
        labels.append(LABELS[k] if row[k] >= threshold else None)
    runs: list[tuple[int, int, str]] = []
    for i, label in enumerate(labels):
        if label is None:
            continue
        if runs and runs[-1][1] == i - 1 and runs[-1][2] == label:
            runs[-1] = (runs[-1][0], i, label)
        else:
            runs.append((i, i, label))
    return runs
