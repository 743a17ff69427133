"""Text assembly from the recognizer's word pieces (asr/hypothesis.assemble)."""

from sottovoce.asr.hypothesis import Transcript, Word, assemble


def test_pieces_without_a_leading_space_continue_the_word():
    words = assemble([(" At", 0.0, 0.2, 0.9), (" 9", 0.2, 0.4, 0.8), (" p", 0.4, 0.5, 0.7), (".m.", 0.5, 0.7, 0.6), (",", 0.7, 0.7, 0.99)])
    assert [w.word for w in words] == ["At", "9", "p.m.,"]
    assert words[-1] == Word("p.m.,", 0.4, 0.7, 0.6)  # spans its pieces, keeps the lowest confidence
    assert Transcript(words=words, engine="e", model="m", model_version="v").text == "At 9 p.m.,"


def test_hyphenated_and_apostrophe_pieces_and_blanks():
    words = assemble([(" 6", 0.0, 0.3, 0.9), ("-irby", 0.3, 0.6, 0.5), (" ", 0.6, 0.6, 0.1), (" don", 0.7, 0.8, 0.9), ("'t", 0.8, 0.9, 0.95)])
    assert [w.word for w in words] == ["6-irby", "don't"]
    assert words[0].confidence == 0.5


def test_a_first_piece_without_a_space_starts_a_word():
    assert [w.word for w in assemble([("Hello", 0, 0.5, 0.9), (" world.", 0.5, 1.0, 0.9)])] == ["Hello", "world."]
    assert assemble([]) == []
