"""Each PII kind in real-sounding recognizer output, names from several cultures with no cue word,
medications and conditions; the shipped token model loads from the package with numpy."""

import numpy as np
import pytest

from sottovoce.privacy import pii_model
from sottovoce.privacy.pii_text import pii_word_indices


def masked(text: str) -> set[int]:
    return {i for a, b, _ in pii_word_indices(text.split()) for i in range(a, b + 1)}


def assert_masked(text: str, secret: str) -> None:
    words, want = text.split(), secret.split()
    start = next(i for i in range(len(words)) if words[i : i + len(want)] == want)
    hidden = masked(text)
    missing = [words[i] for i in range(start, start + len(want)) if i not in hidden]
    assert not missing, f"{missing} left visible in {text!r}"


@pytest.mark.parametrize(
    "text, secret",
    [
        # phone
        ("you can reach me on oh seven nine one one double four five six seven eight", "oh seven nine one one double four five six seven eight"),
        ("my mobile is 07700 900123", "07700 900123"),
        # national id
        ("my social security number is one two three four five six seven eight nine", "one two three four five six seven eight nine"),
        ("national insurance q q one two three four five six c", "q q one two three four five six c"),
        # card
        ("the card number is four five three nine one four eight eight oh three four three six four six seven", "four five three nine one four eight eight oh three four three six four six seven"),
        # date of birth
        ("i was born on the fourth of july nineteen seventy six", "fourth of july nineteen seventy six"),
        ("date of birth twelve oh three nineteen eighty eight", "twelve oh three nineteen eighty eight"),
        # e-mail
        ("email me at anna dot kowalska at gmail dot com", "anna dot kowalska at gmail dot com"),
        # address
        ("i live at twenty two acacia avenue", "twenty two acacia avenue"),
        ("my postcode is s w one a two a a", "s w one a two a a"),
        # plates and other alphanumeric ids
        ("the licence plate was l b zero seven s e o", "l b zero seven s e o"),
        ("my passport number is g four five x nine nine one two", "g four five x nine nine one two"),
    ],
)
def test_each_rule_kind_is_masked(text, secret):
    assert_masked(text, secret)


@pytest.mark.parametrize(
    "text, name",
    [
        ("chidinma okonkwo wants the car back", "chidinma okonkwo"),  # Igbo
        ("so i was talking to agnieszka wisniewska yesterday", "agnieszka wisniewska"),  # Polish
        ("forward this to giuseppe esposito", "giuseppe esposito"),  # Italian
        ("ingrid johansson will pick up the kids", "ingrid johansson"),  # Swedish
        ("let oluwaseun know the door is open", "oluwaseun"),  # Yoruba
        ("is mehmet yilmaz coming tonight", "mehmet yilmaz"),  # Turkish
        ("ask priyanka raghunathan about the report", "priyanka raghunathan"),  # Indian
        ("siobhan said she would be late", "siobhan"),  # Irish
    ],
)
def test_names_without_a_cue_from_several_cultures(text, name):
    assert_masked(text, name)


@pytest.mark.parametrize(
    "text, term",
    [
        ("remind me to take my metoprolol", "metoprolol"),
        ("the doctor put me on sertraline last month", "sertraline"),
        ("can you order more levothyroxine", "levothyroxine"),
        ("i keep forgetting the atorvastatin", "atorvastatin"),
        ("my father has parkinson's", "parkinson's"),
        ("i was diagnosed with lupus last year", "lupus"),
        ("she is being treated for leukemia", "leukemia"),
        ("my son's asthma got worse", "asthma"),
    ],
)
def test_medications_and_conditions_are_masked(text, term):
    assert_masked(text, term)


@pytest.mark.parametrize(
    "text",
    [
        "set an alarm for seven tomorrow morning",
        "what is the weather like in london",
        "play some jazz in the kitchen",
        "turn the lights off in the living room",
        "add milk and eggs to the shopping list",
        "how long will it take to drive to work",
    ],
)
def test_everyday_commands_stay_visible(text):
    assert masked(text) == set(), text


def test_the_model_loads_from_the_package_with_numpy():
    pii_model.load.cache_clear()
    model = pii_model.load()
    assert model.weights.shape == (pii_model.N_FEATURES, len(pii_model.LABELS))
    assert model.weights.dtype == np.float32
    assert 0 < float(model.thresholds[1]) < 1 and 0 < float(model.thresholds[2]) < 1
    # The gazetteers ship with the weights: names from many locales, drug and condition words.
    assert {"agnieszka", "giuseppe"} <= model.names
    assert {"sertraline", "leukemia"} <= model.health
    probs = pii_model.probabilities(["call", "agnieszka", "now"])
    assert probs.shape == (3, 3)
    assert np.allclose(probs.sum(axis=1), 1.0)
