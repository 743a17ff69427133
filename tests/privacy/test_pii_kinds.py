"""The kinds added in issue 15: alphanumeric codes (rule), names with no cue and health (model)."""

import pytest

from sottovoce.privacy.alnum_ids import alnum_runs
from sottovoce.privacy.pii_model import model_runs
from sottovoce.privacy.pii_text import ENTITIES, pii_word_indices


def masked(text: str) -> set[str]:
    words = text.split()
    return {words[i] for a, b, _ in pii_word_indices(words) for i in range(a, b + 1)}


@pytest.mark.parametrize(
    "text, code",
    [
        ("my postcode is s w one a two", "s w one a two"),
        ("the plate is AB12 CDE", "AB12 CDE"),
        ("passport g four five x nine nine one thanks", "g four five x nine nine one"),
        ("the serial is ess en four two seven nine", "ess en four two seven nine"),
    ],
)
def test_alphanumeric_codes_are_found(text, code):
    words = text.split()
    assert [" ".join(words[a : b + 1]) for a, b, _ in alnum_runs(words)] == [code]
    assert set(code.split()) <= masked(text)


@pytest.mark.parametrize("text", ["set a timer for five minutes", "i have two cats and a dog", "turn on the tv at eight", "play track two on side a"])
def test_everyday_numbers_are_not_codes(text):
    assert alnum_runs(text.split()) == []


@pytest.mark.parametrize(
    "text, words",
    [
        ("call sibonelo khaba now", {"sibonelo", "khaba"}),  # no cue word needed after "call" either way
        ("text diarmuid courtney i am late", {"diarmuid", "courtney"}),
        ("so i met siobhan yesterday", {"siobhan"}),
        ("remind me to take my metoprolol", {"metoprolol"}),
        ("i was diagnosed with lupus last year", {"lupus"}),
    ],
)
def test_names_and_health_are_masked(text, words):
    assert words <= masked(text)


def test_the_model_leaves_everyday_commands_alone():
    for text in ("what is the weather in paris", "play some jazz in the kitchen", "hello there", "turn the lights off"):
        assert model_runs(text.split()) == [], text


def test_new_kinds_are_entities():
    assert {"ALPHANUMERIC_ID", "HEALTH"} <= set(ENTITIES)


def test_the_model_ships_inside_the_package():
    from importlib import resources

    assert resources.files("sottovoce.privacy.models").joinpath("pii_tokens.npz").is_file()
