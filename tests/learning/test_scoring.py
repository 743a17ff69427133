"""WER and confusions are measured after Whisper's English normalization, on both sides."""

import pytest

from sottovoce.asr.scoring import align, error_counts, normalize, top_confusions, wer


def test_normalize_removes_formatting_differences():
    assert normalize("Set the lights to fifty percent.") == normalize("set the Lights to 50%")
    assert normalize("What's the  weather?") == "what is the weather"
    assert normalize("") == ""


def test_wer_is_zero_for_formatting_only_differences():
    assert wer(["wake me up at six am"], ["Wake me up at 6 AM."]) == 0.0


def test_wer_counts_errors_over_all_reference_words():
    # 1 substitution in 4 words + 1 deletion in 2 words = 2 / 6.
    refs = ["turn on the lights", "next song"]
    hyps = ["turn on the light", "next"]
    assert wer(refs, hyps) == pytest.approx(2 / 6)


def test_wer_counts_insertions_against_an_empty_reference():
    assert wer(["", "stop"], ["thank you", "stop"]) == pytest.approx(2 / 1)
    assert wer([""], [""]) == 0.0
    assert wer([""], ["hello"]) == float("inf")


def test_wer_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        wer(["a"], [])


def test_error_counts_per_utterance():
    assert error_counts("add milk to my shopping list", "add milk to my shopping") == (1, 6)


def test_align_handles_empty_sides():
    assert [c.type for c in align([], ["a"])] == ["insert"]
    assert [c.type for c in align(["a"], [])] == ["delete"]
    assert align([], []) == []


def test_top_confusions_ranks_by_count_and_names_the_kind():
    refs = ["set a timer", "cancel the timer", "olly stop", "next"]
    hyps = ["set a tires", "cancel the tires", "stop", "next please"]
    top = top_confusions(refs, hyps, n=3)
    assert top[0] == {"ref": "timer", "hyp": "tires", "op": "substitution", "count": 2}
    kinds = {(c["op"], c["ref"], c["hyp"]) for c in top}
    assert ('deletion', 'olly', '') in kinds
    assert ('insertion', '', 'please') in kinds
    assert top_confusions(refs, refs) == []
