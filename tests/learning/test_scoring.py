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


def test_split_digits_counts_each_spoken_digit():
    from sottovoce.asr.scoring import error_counts

    assert error_counts("four seven one two", "4712")[1] == 1  # the normalizer joins the digits
    assert error_counts("four seven one two", "4, 7, 1, 2.", split_digits=True) == (0, 4)
    assert error_counts("four seven one two", "four seven one", split_digits=True) == (1, 4)


def test_bootstrap_intervals():
    from sottovoce.asr.scoring import better_worse, bootstrap_interval, paired_difference_interval

    low, high = bootstrap_interval([1] * 10 + [0] * 90, [5] * 100)
    assert low < 0.02 < high
    assert high - low < 0.03
    assert bootstrap_interval([2] * 10, [5] * 10) == (0.4, 0.4)
    # Paired: the same extra error on 30 of 100 clips is a difference the interval excludes zero for.
    low, high = paired_difference_interval([0] * 100, [1] * 30 + [0] * 70, [5] * 100)
    assert 0 < low < 0.06 < high
    low, high = paired_difference_interval([0] * 100, [1] + [0] * 99, [5] * 100)
    assert low <= 0 < high
    assert better_worse([1, 0, 2], [0, 1, 2]) == {"better": 1, "worse": 1}
    with pytest.raises(ValueError):
        paired_difference_interval([], [], [])
