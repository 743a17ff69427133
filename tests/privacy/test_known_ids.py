"""The account's own identifiers are found however they are said, and everyday speech is left alone."""

import pytest

from sottovoce.privacy.known_ids import KNOWN, find_known, identifiers, spelled

IDS = identifiers(names=["Jane Doe"], codes=["SN-42A7-B9X1", "jane.doe@example.com"], phrases=["kitchen speaker"])


def said(text: str) -> list[str]:
    words = text.split()
    return [" ".join(words[a : b + 1]) for a, b, kind in find_known(words, IDS) if kind == KNOWN]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("my serial is s n dash four two a seven b nine x one thanks", "s n dash four two a seven b nine x one"),
        ("my serial is ess en forty two ay seven bee nine ex won", "ess en forty two ay seven bee nine ex won"),
        ("serial SN-42A7 B9X1 please", "SN-42A7 B9X1"),
        ("it says SN42A7B9X1", "SN42A7B9X1"),
        ("serial s m four two a seven b nine x one", "s m four two a seven b nine x one"),  # one letter misheard
        ("serial s n four two a seven nine x one", "s n four two a seven nine x one"),  # one letter dropped
        ("write to jane dot doe at example dot com", "jane dot doe at example dot com"),
        ("play it on the kitchen speaker please", "kitchen speaker"),
        ("jayne doe called", "jayne doe"),  # a recognizer spelling of the holder's name
        ("tell doe i am late", "doe"),
    ],
)
def test_spoken_forms_of_the_identifiers_are_found(text, expected):
    assert said(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "the kitchen is cold",  # a device name's word alone is not the device
        "set a timer for four minutes and two seconds",
        "call five five five one two three four",
        "what is the weather like in new york",
        "and the dog ate my speaker cable",
        "add eggs to the shopping list",
    ],
)
def test_everyday_speech_is_not_an_identifier(text):
    assert said(text) == []


def test_spelling_reads_numbers_letters_and_repeats():
    assert spelled("double five forty two forty ess double you".split()) == ["", "55", "4", "2", "40", "s", "", "w"]


def test_short_codes_are_not_matched():
    assert identifiers(codes=["tv"]) == []
