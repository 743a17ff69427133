"""PII detection on recognizer-style text (lower case, numbers spelled out), real Presidio."""

import time

import pytest

from sottovoce.privacy.pii_text import ENTITIES, PiiSpan, find_pii, pii_word_indices, placeholder_text


def _found(text: str) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.entity) for s in find_pii(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call five five five one two three four", ("five five five one two three four", "PHONE")),
        ("my number is oh seven seven double nine one two three four five six", ("oh seven seven double nine one two three four five six", "PHONE")),
        ("you can reach me on 555-123-4567", ("555-123-4567", "PHONE")),
        ("my card is four one one one one one one one one one one one one one one one",
         ("four one one one one one one one one one one one one one one one", "CREDIT_CARD")),
        ("my account number is double seven three oh nine two one four", ("double seven three oh nine two one four", "ACCOUNT_NUMBER")),
        ("social security number one two three four five six seven eight nine",
         ("one two three four five six seven eight nine", "ACCOUNT_NUMBER")),
        ("email john at example dot com", ("john at example dot com", "EMAIL")),
        ("send it to mary dot jones seventy two at gmail dot co dot uk", ("mary dot jones seventy two at gmail dot co dot uk", "EMAIL")),
        ("add jack@gmail dot com as a contact", ("jack@gmail dot com", "EMAIL")),
        ("i live at twelve elm street", ("twelve elm street", "ADDRESS")),
        ("ship it to forty two main road apartment five", ("forty two main road apartment five", "ADDRESS")),
        ("the zip code is nine oh two one oh", ("nine oh two one oh", "ADDRESS")),
        ("i was born on the third of may nineteen eighty", ("third of may nineteen eighty", "DATE_OF_BIRTH")),
        ("date of birth twelve oh four nineteen ninety one", ("twelve oh four nineteen ninety one", "DATE_OF_BIRTH")),
        ("my name is tendai moyo", ("tendai moyo", "PERSON")),
        ("meeting with mr okafor at three", ("mr okafor", "PERSON")),
    ],
)
def test_finds_spoken_identifiers(text, expected):
    assert expected in _found(text)


def test_names_from_gazetteer_and_cues():
    assert ("sarah", "PERSON") in _found("call sarah at six")
    assert ("will", "PERSON") in _found("tell will that the meeting moved")
    assert ("enalen", "PERSON") in _found("send email to enalen about the files")


@pytest.mark.parametrize(
    "text",
    [
        "set an alarm for five thirty tomorrow",
        "ten thousand eight hundred and eighty seven",
        "order eleven pizzas for six fifteen",
        "i will be there in may",
        "turn the volume to seven",
        "alexa play the news",
        "it happened in nineteen ninety nine",
        "train tickets to poughkeepsie please",
        "",
        "   ",
    ],
)
def test_ignores_ordinary_numbers_dates_and_words(text):
    assert find_pii(text) == []


def test_spans_are_sorted_merged_whole_words():
    text = "hi this is sarah my email is sarah at example dot com and my phone is five five five one two one two"
    spans = find_pii(text)
    assert [s.entity for s in spans] == ["PERSON", "EMAIL", "PHONE"]
    assert all(isinstance(s, PiiSpan) and s.entity in ENTITIES and 0 < s.score <= 1 for s in spans)
    for a, b in zip(spans, spans[1:]):
        assert a.end <= b.start
    for s in spans:
        assert s.start == 0 or text[s.start - 1] == ' '
        assert s.end == len(text) or text[s.end] == ' '


def test_overlap_goes_to_the_more_specific_entity():
    # the gazetteer sees a name inside the e-mail; the e-mail wins every word
    assert _found("write to john at example dot com") == [("john at example dot com", "EMAIL")]


def test_word_indices_and_placeholders():
    words = "call sarah at five five five one two three four tomorrow".split()
    assert pii_word_indices(words) == [(1, 1, "PERSON"), (3, 9, "PHONE")]
    replaced, spans = placeholder_text(words)
    assert replaced == ["call", "[PERSON]", "at", "[PHONE]", "tomorrow"]
    assert spans == [(1, 1, "PERSON"), (3, 9, "PHONE")]
    assert placeholder_text([]) == ([], [])
    assert placeholder_text(["hello", "there"]) == (["hello", "there"], [])


def test_fast_after_warm_up():
    find_pii("warm up with john")
    text = "hi it's sarah jones my card is four one one one one one one one one one one one one one one one thanks"
    t0 = time.perf_counter()
    for _ in range(10):
        find_pii(text)
    per_call = (time.perf_counter() - t0) / 10
    assert per_call < 0.2  # target 50 ms; slack for a loaded machine
