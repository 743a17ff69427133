"""Collusion: copies served to several reviewers, averaged or spliced, name every colluder and
nobody else."""

from __future__ import annotations

import numpy as np
import pytest

from sottovoce.forensics.watermark import Mark, embed, trace, trace_all
from tests.forensics.test_watermark import KEY, RATE, channels, pool, speech_like

CANDIDATES = pool(20, 5)


def copies(seed: int, n: int) -> tuple[np.ndarray, list[Mark], list[np.ndarray]]:
    clip = speech_like(seed, seconds=4.0)
    colluders = [CANDIDATES[(seed * 7 + 11 * i) % len(CANDIDATES)] for i in range(n)]
    return clip, colluders, [embed(clip, RATE, KEY, m) for m in colluders]


def averaged(marked: list[np.ndarray]) -> np.ndarray:
    return np.mean(marked, axis=0).astype(np.float32)


def spliced(marked: list[np.ndarray]) -> np.ndarray:
    # Each colluder contributes one contiguous stretch of the same clip, joined end to end.
    edges = np.linspace(0, len(marked[0]), len(marked) + 1).astype(int)
    return np.concatenate([m[a:b] for m, a, b in zip(marked, edges[:-1], edges[1:])])


@pytest.mark.parametrize("combine", [averaged, spliced])
@pytest.mark.parametrize("n,seed", [(2, 1), (2, 2), (2, 3), (3, 4), (3, 5)])
def test_every_colluder_is_named(combine, n, seed):
    _, colluders, marked = copies(seed, n)
    found = trace_all(combine(marked), RATE, KEY, CANDIDATES)
    assert {r.mark for r in found} == set(colluders)
    assert [r.log_p for r in found] == sorted(r.log_p for r in found)  # strongest evidence first
    assert trace(combine(marked), RATE, KEY, CANDIDATES).mark == found[0].mark


@pytest.mark.parametrize("combine", [averaged, spliced])
def test_colluders_named_after_mp3(combine):
    _, colluders, marked = copies(6, 2)
    received = channels.mp3_32k(combine(marked), RATE)
    assert {r.mark for r in trace_all(received, RATE, KEY, CANDIDATES)} == set(colluders)


def test_a_single_leak_names_one_reviewer():
    clip, colluders, marked = copies(7, 1)
    found = trace_all(marked[0], RATE, KEY, CANDIDATES)
    assert [r.mark for r in found] == colluders
    assert trace_all(clip, RATE, KEY, CANDIDATES) == []
