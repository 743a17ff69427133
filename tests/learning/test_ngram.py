"""The corrections' trigram model: it prefers the domain's word sequences, stays finite on
unseen words, is a proper distribution, and survives its JSON form."""

import math

from sottovoce.learning.ngram import VOCABULARY, TrigramModel

CORRECTIONS = [
    "turn off the bedroom lights",
    "turn on the kitchen lights",
    "add milk to my shopping list",
    "add eggs to my shopping list",
    "set an alarm for seven am",
]


def test_domain_wording_beats_a_misrecognition():
    lm = TrigramModel.fit(CORRECTIONS)
    assert lm.logprob("turn off the kitchen lights") > lm.logprob("turn of the kitchen lines")
    assert lm.logprob("add bread to my shopping list") > lm.logprob("at bread to my shopping missed")
    # Normalized like scoring: case and punctuation do not matter.
    assert math.isclose(lm.logprob("Turn off the bedroom lights."), lm.logprob("turn off the bedroom lights"))


def test_unseen_words_cost_a_lot_but_not_infinity():
    lm = TrigramModel.fit(CORRECTIONS)
    unseen = lm.logprob("quantum chromodynamics")
    assert math.isfinite(unseen)
    assert unseen < lm.logprob('turn on the lights') - 10
    empty = TrigramModel.fit([])
    assert math.isfinite(empty.logprob('anything at all'))
    assert len(empty) == 0


def test_each_context_is_a_probability_distribution():
    lm = TrigramModel.fit(CORRECTIONS)
    seen = {w for (_u, _v, w) in lm.counts}  # normalized words ("seven" is "7" here) and </s>
    for context in (("<s>", "<s>"), ("turn", "off"), ("my", "shopping"), ("never", "seen")):
        total = sum(lm.probability(*context, w) for w in seen)
        # The rest of the mass is the uniform floor over the other words of the vocabulary.
        rest = (VOCABULARY - len(seen)) * lm.probability(*context, "zzzunseen")
        assert 0.98 < total + rest < 1.02, context


def test_json_round_trip_keeps_every_probability():
    lm = TrigramModel.fit(CORRECTIONS)
    again = TrigramModel.from_json(lm.to_json())
    assert len(again) == len(lm) > 0
    for text in CORRECTIONS + ["set an alarm for the kitchen", "hello"]:
        assert again.logprob(text) == lm.logprob(text)
