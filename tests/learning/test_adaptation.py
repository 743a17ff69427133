"""Learning a candidate version from (hypothesis, correction) pairs, without the recognizer."""

import json
from pathlib import Path

import pytest

from sottovoce.asr.scoring import wer
from sottovoce.learning.adaptation import Adaptation, learn, learn_rewrites, score_rule, word_edits

# A recognizer that keeps writing "ollie" for the wake word and "we mo" for the plug brand,
# across different sentences, plus one-off mistakes that should not become rules.
PAIRS = [
    ("Ollie, turn on the we mo plug.", "olly turn on the wemo plug"),
    ("ollie what time is it", "olly what time is it"),
    ("Ollie set an alarm for six", "olly set an alarm for six"),
    ("switch the we mo off", "switch the wemo off"),
    ("is the we mo plug on", "is the wemo plug on"),
    ("add eggs to my shopping list", "add eggs to my shopping list"),
    ("play some jazz", "play some jazz"),
    ("add milk to the grocery lift", "add milk to the grocery list"),
    ("the weather in paris", "what is the weather in paris"),
    ("a the timer", "the timer"),
    ("a the alarm", "the alarm"),
]


def test_word_edits_reports_merged_edits_with_positions():
    edits = word_edits("Ollie, turn on the we mo plug.", "olly turn on the wemo plug")
    assert edits == [
        {"op": "substitution", "hypothesis": "Ollie,", "correction": "olly", "hyp_start": 0, "hyp_end": 1, "corr_start": 0, "corr_end": 1},
        {"op": "substitution", "hypothesis": "we mo", "correction": "wemo", "hyp_start": 4, "hyp_end": 6, "corr_start": 4, "corr_end": 5},
    ]


def test_word_edits_names_deletions_and_insertions_from_the_recognizers_side():
    assert [e["op"] for e in word_edits("the weather", "what is the weather")] == ["deletion"]
    assert [e["op"] for e in word_edits("stop stop now", "stop now")] == ["insertion"]
    assert word_edits("Hello, World!", "hello world") == []
    assert word_edits("", "") == []
    assert word_edits("", "hi there")[0]["correction"] == "hi there"


def test_apply_rewrites_respects_word_boundaries_case_and_punctuation():
    a = Adaptation(None, None, [("we mo", "wemo"), ("ollie", "olly")])
    assert a.apply_rewrites("Ollie, turn on the We, mo plug.") == "olly, turn on the wemo plug."
    assert a.apply_rewrites("jollie towe mon") == "jollie towe mon"  # never inside a word
    assert Adaptation(None, None, [("x", r"\1 $0")]).apply_rewrites("x y") == r"\1 $0 y"


def test_postprocess_drops_low_confidence_trailing_sentences_then_rewrites():
    from sottovoce.asr.hypothesis import Word

    def w(text, confidence):
        return Word(text, 0.0, 0.0, confidence)

    words = [w("Ollie,", 0.9), w("stop.", 0.2), w("Play", 0.4), w("music.", 0.9), w("Thank", 0.3), w("you.", 0.2)]
    a = Adaptation(None, None, [("ollie", "olly")], {}, min_tail_confidence=0.5)
    # "Thank you." (mean 0.25) goes; "Play music." (0.65) stays, so trimming stops there.
    assert a.postprocess(words) == "olly, stop. Play music."
    assert a.postprocess(words[:2]) == "olly, stop."  # the first sentence is never dropped
    assert Adaptation(None, None, []).postprocess(words) == "Ollie, stop. Play music. Thank you."
    assert a.postprocess([]) == ""


def test_tail_trimming_drops_a_decoding_loop_even_with_high_confidence():
    from sottovoce.asr.hypothesis import Word

    def sentence(text, confidence=0.95):
        return [Word(t, 0.0, 0.0, confidence) for t in text.split()]

    said = sentence("Change the opacity of the color.")
    loop = sentence("Change the light color.") * 3 + sentence("Change the light")  # cut off by the window
    a = Adaptation(None, None, [], {}, min_tail_confidence=0.5)
    # The first copy of the looping sentence stays: only what repeats an earlier sentence is a loop.
    assert a.postprocess(said + loop) == "Change the opacity of the color. Change the light color."
    assert a.postprocess(said + said) == "Change the opacity of the color."
    different = sentence("Lights off.")
    assert a.postprocess(said + different) == "Change the opacity of the color. Lights off."
    assert Adaptation(None, None, []).postprocess(said + said) == "Change the opacity of the color. Change the opacity of the color."
    # A version that prompts or rescores removes loops even without a confidence threshold; the
    # untouched recognizer (no prompt, one alternative) keeps what it decoded.
    prompted = Adaptation("Change the light color.", None, [])
    assert prompted.postprocess(said + loop) == "Change the opacity of the color. Change the light color."
    rescoring = Adaptation(None, None, [], alternatives=5)
    assert rescoring.postprocess(said + said) == "Change the opacity of the color."
    assert prompted.postprocess(said + different) == "Change the opacity of the color. Lights off."


def test_adaptation_round_trips_through_json():
    a = Adaptation("olly turn on the wemo plug.", None, [("ollie", "olly")], {"pairs": 3}, 0.03)
    again = Adaptation.from_json(json.loads(json.dumps(a.to_json())))
    assert again == a
    assert again.decoding_key == a.decoding_key
    assert Adaptation("other", None, []).decoding_key != a.decoding_key


def test_learn_finds_recurring_errors_but_not_one_offs():
    a = learn(PAIRS, prompt_sentences=2)
    assert ("ollie", "olly") in a.rewrites
    assert ("we mo", "wemo") in a.rewrites
    assert not any("lift" in src for src, _ in a.rewrites)  # seen once
    assert not any(src in ("a the", "a") for src, _ in a.rewrites)  # function words only
    hyps = [a.apply_rewrites(h) for h, _ in PAIRS]
    assert wer([r for _, r in PAIRS], hyps) < wer([r for _, r in PAIRS], [h for h, _ in PAIRS])


def test_learn_puts_corrected_domain_sentences_in_hotwords():
    a = learn(PAIRS, prompt_sentences=2)
    assert a.initial_prompt is None
    assert "Olly turn on the wemo plug." in a.hotwords  # written the way Whisper writes
    assert a.params['selected']['prompt_sentences'] == 2
    assert a.params['pairs'] == len(PAIRS)
    assert learn(PAIRS, prompt_sentences=0).hotwords is None


def test_general_text_blocks_rules_that_would_fire_on_ordinary_speech():
    a = learn(PAIRS, general_text=["ollie is my dog"])
    assert ('ollie', 'olly') not in a.rewrites
    assert ('we mo', 'wemo') in a.rewrites


def test_rules_need_precision():
    # "ollie" is right as often as wrong here: a rule would break as much as it fixes.
    pairs = PAIRS + [("ollie is my dog", "ollie is my dog")] * 4
    rules, _stats = learn_rewrites(pairs, min_support=2, min_precision=0.75)
    assert ("ollie", "olly") not in rules
    assert score_rule(("ollie", "olly"), pairs)["broken"] == 4


def test_learn_chooses_sizes_and_rules_by_validation():
    calls = []

    def validate(candidate: Adaptation) -> float:
        calls.append(candidate)
        # Pretend held-out data likes a 1-sentence prompt and dislikes the "we mo" rule.
        # Pretend held-out data likes a 1-sentence prompt, trimming at 0.05, and not the "we mo" rule.
        size = 0 if candidate.hotwords is None else candidate.hotwords.count(".")
        score = abs(size - 1) * 0.01 + (0.0 if candidate.min_tail_confidence == 0.05 else 0.002)
        score += 0.05 if ("we mo", "wemo") in candidate.rewrites else 0.0
        return round(score - 0.01 * len(candidate.rewrites), 5)

    a = learn(PAIRS, validate=validate, prompt_choices=(0, 1, 2), tail_choices=(None, 0.05), alternatives_choices=(1,), base_keep_choices=(None,))
    assert a.params["selected"]["prompt_sentences"] == 1
    assert a.min_tail_confidence == a.params["selected"]["min_tail_confidence"] == 0.05
    assert ('we mo', 'wemo') not in a.rewrites
    assert ('ollie', 'olly') in a.rewrites
    # One sentence already covers both learned words, so 2 ties with 1 and the smaller wins.
    assert a.params["validation"]["prompt_wer"] == {
        "0/1/0.0/None/None/None": 0.012, "0/1/0.0/None/0.05/None": 0.01, "1/1/0.0/None/None/None": 0.002, "1/1/0.0/None/0.05/None": 0.0,
        "2/1/0.0/None/None/None": 0.002, "2/1/0.0/None/0.05/None": 0.0,
    }
    assert len(calls) <= 6 + len(learn(PAIRS).rewrites) + 3
    refit = learn(PAIRS, **a.params["selected"])
    assert refit.hotwords == a.hotwords


class W:
    def __init__(self, word, confidence=0.9):
        self.word, self.confidence = word, confidence


def alternatives(*texts_and_scores):
    return [([W(w) for w in text.split()], score) for text, score in texts_and_scores]


def test_pick_lets_the_corrections_language_model_overrule_a_close_acoustic_score():
    a = learn(PAIRS, prompt_sentences=0, alternatives=5, lm_weight=0.3, rewrites=False)
    assert a.lm is not None
    assert len(a.lm) > 0
    close = alternatives(("add milk to my shopping lift.", -3.0), ("add milk to my shopping list.", -3.4))
    assert a.pick(close) == 1
    assert a.text(close) == 'add milk to my shopping list.'
    # A clear acoustic winner stays; without a weight (or one alternative) the beam's first stays.
    clear = alternatives(("add milk to my shopping lift.", -3.0), ("add milk to my shopping list.", -30.0))
    assert a.pick(clear) == 0
    assert learn(PAIRS, prompt_sentences=0, alternatives=5, lm_weight=0.0).pick(close) == 0
    assert learn(PAIRS, prompt_sentences=0).lm is None
    assert learn(PAIRS, prompt_sentences=0).pick(close) == 0
    assert a.text([]) == ""


def test_pick_scores_the_text_that_survives_tail_trimming():
    # The first alternative is right but ends in a low-confidence hallucinated tail; scored with
    # its tail it would lose to the misrecognition. The model scores what the reviewer would see.
    trimmed = learn(PAIRS, prompt_sentences=0, alternatives=5, lm_weight=1.0, min_tail_confidence=0.5, rewrites=False)
    tail = [W(w, 0.1) for w in "Thank you for watching. Thank you for watching.".split()]
    right, wrong = [W("Play"), W("some"), W("jazz."), *tail], [W("Play"), W("some"), W("jars.")]
    assert trimmed.pick([(right, -2.0), (wrong, -2.0)]) == 0
    untrimmed = learn(PAIRS, prompt_sentences=0, alternatives=5, lm_weight=1.0, rewrites=False)
    assert untrimmed.pick([(right, -2.0), (wrong, -2.0)]) == 1


def test_pick_never_prefers_saying_nothing():
    a = learn(PAIRS, prompt_sentences=0, alternatives=5, lm_weight=0.5, rewrites=False)
    # The empty hypothesis scores well acoustically and a sentence model likes short sentences.
    candidates = alternatives(("what is the news for today", -2.4), ("", -4.3))
    candidates[1] = ([], -1.0)
    assert a.pick(candidates) == 0
    assert a.pick([([], -1.0), ([], -2.0)]) == 0


def test_a_phrase_loop_without_punctuation_is_cut_after_its_first_copy():
    prompted = Adaptation("Check the lights.", None, [])
    looped = [W(w) for w in ("I'm going to " + "check it with " * 12 + "check it wi").split()]
    assert prompted.postprocess(looped) == "I'm going to check it with"
    # Repeats that real speech makes stay: short runs, and runs that do not reach the end.
    for said in ("no no no", "play la la la", "turn it up up up up up up up up please"):
        assert prompted.postprocess([W(w) for w in said.split()]) == said
    assert Adaptation(None, None, []).postprocess(looped) == " ".join(w.word for w in looped)  # the untouched recognizer


def test_the_confidence_gate_keeps_confidently_heard_words_from_the_language_model():
    a = learn(PAIRS, prompt_sentences=0, alternatives=5, lm_weight=0.3, rewrites=False, rescore_max_confidence=0.8)
    # "lift" heard with confidence 0.95: the model's "list" may not replace it...
    sure = [([W("add"), W("milk"), W("to"), W("my"), W("shopping"), W("lift.", 0.95)], -3.0), ([W(w) for w in "add milk to my shopping list.".split()], -3.4)]
    assert a.pick(sure) == 0
    # ...but it may when the recognizer was unsure of it; an inserted word changes nothing heard.
    unsure = [([W("add"), W("milk"), W("to"), W("my"), W("shopping"), W("lift.", 0.4)], -3.0), sure[1]]
    assert a.pick(unsure) == 1
    assert a.pick([sure[0], ([W(w) for w in "add milk to my shopping lift. please".split()], -3.1)]) in (0, 1)
    assert Adaptation.from_json(a.to_json()).rescore_max_confidence == 0.8
    assert learn(PAIRS, prompt_sentences=0, alternatives=5, lm_weight=0.3, rewrites=False).pick(sure) == 1  # no gate


def test_learn_chooses_alternatives_and_language_model_weight_by_validation():
    def validate(candidate: Adaptation) -> float:
        # Pretend held-out data likes 5 alternatives picked with weight 0.3.
        return 0.1 if candidate.alternatives == 1 else 0.05 + abs(candidate.lm_weight - 0.3)

    a = learn(PAIRS, validate=validate, prompt_choices=(0, 1), tail_choices=(None,), base_keep_choices=(None,))
    assert (a.alternatives, a.lm_weight) == (5, 0.3)
    assert a.lm is not None
    assert a.params['selected']['alternatives'] == 5
    assert a.params['selected']['lm_weight'] == 0.3
    # prompts x (greedy + weight 0 + 4 weights x 3 confidence gates)
    assert len(a.params["validation"]["prompt_wer"]) == 2 * (1 + 1 + 4 * 3)
    assert a.rescore_max_confidence == 0.5  # a tie: the strictest gate wins
    refit = learn(PAIRS, **a.params["selected"])
    assert (refit.alternatives, refit.lm_weight) == (5, 0.3)
    assert refit.to_json()['lm'] == a.to_json()['lm']


def test_alternatives_change_the_decoding_key_and_survive_json():
    greedy = learn(PAIRS, prompt_sentences=1)
    beam = learn(PAIRS, prompt_sentences=1, alternatives=5, lm_weight=0.2)
    assert greedy.decoding_key != beam.decoding_key
    assert beam.decoding_key == learn(PAIRS, prompt_sentences=1, alternatives=5, lm_weight=0.5).decoding_key
    again = Adaptation.from_json(json.loads(json.dumps(beam.to_json())))
    assert (again.alternatives, again.lm_weight, again.lm.to_json()) == (5, 0.2, beam.lm.to_json())
    old = Adaptation.from_json({"hotwords": None, "rewrites": []})  # params stored before alternatives existed
    assert (old.alternatives, old.lm_weight, old.lm) == (1, 0.0, None)


def test_rules_must_help_held_out_data_as_a_set():
    a = learn(PAIRS, validate=lambda c: 0.1, prompt_choices=(0,), tail_choices=(None,), alternatives_choices=(1,))
    assert a.rewrites == []
    assert a.params['selected']['rewrites'] is False


def test_learn_is_deterministic_quiet_and_strict_about_options(capsys):
    assert learn(PAIRS).to_json() == learn(list(PAIRS)).to_json()
    assert capsys.readouterr() == ("", "")  # never prints transcripts
    with pytest.raises(TypeError):
        learn(PAIRS, top_k=3)
    assert learn([]).rewrites == []
    assert learn([]).hotwords is None


@pytest.mark.slow
def test_learned_hotwords_decode_with_the_real_recognizer():
    from sottovoce.asr.whisper import WhisperRecognizer
    from sottovoce.core.audio import decode
    from sottovoce.core.settings import Settings

    clip = Path(__file__).parent.parent.parent / "sottovoce" / "demo" / "clips" / "set-a-timer-for-5-minutes.wav"
    samples = decode(clip.read_bytes(), max_duration_s=60)
    recognizer = WhisperRecognizer(Settings().resolved_asr_model_path, cpu_threads=2)
    pairs = [("set a time for ten minutes", "set a timer for ten minutes"), ("cancel the time", "cancel the timer")] * 2
    adaptation = learn(pairs, prompt_sentences=2)
    text = adaptation.apply_rewrites(recognizer.transcribe(samples, hotwords=adaptation.hotwords).text)
    assert wer(["set a timer for 5 minutes"], [text]) <= 0.2


def test_a_loop_inside_one_word_is_cut():
    from sottovoce.asr.hypothesis import Word

    prompted = learn(PAIRS, prompt_sentences=1)
    runaway = [Word("7-0-0-1" + "-0" * 100, 0.0, 3.5, 0.11)]  # the recognizer's pieces, joined
    assert [w.word for w in prompted.trim_tail(runaway)] == ["7-0-0-1-0"]
    assert prompted.trim_tail([Word("10000000000", 0, 1, 0.9)])[0].word == "10000000000"  # a number stays
    assert [w.word for w in prompted.trim_tail([W("hello"), W("ab" * 20)])] == ["hello", "ab"]


# --- the runaway fallback -------------------------------------------------------------------


def test_runs_away_flags_more_words_than_the_audio_can_hold_and_loops_not_speech():
    from sottovoce.learning.adaptation import compression_ratio, runs_away

    sentence = "Set an alarm for seven in the morning and turn on the kitchen lights."
    assert not runs_away(sentence, 4.0)  # 14 words in 4 s: fast but speech
    assert not runs_away("Five, two, nine, one, four.", 2.5)
    assert not runs_away("", 0.5)
    paragraph = (  # a hallucinated paragraph, 36 words, on a 3-second clip
        "Thank you for watching. Please subscribe to my channel and leave a comment below. We will see "
        "you next time, when we talk about gardening, cooking dinner, travel plans, weather forecasts "
        "and whatever else comes up."
    )
    assert compression_ratio(paragraph) < 2.4  # not a loop: its length gives it away
    assert runs_away(paragraph, 3.0)
    assert not runs_away(paragraph, 12.0)
    assert runs_away("908172635456473829101029384756", 0.2)  # one long "word": too many letters for the time
    assert not runs_away("908172635456473829101029384756", 1.0)
    loop = "I'm going to check it with " * 12
    assert compression_ratio(loop) > 2.4
    assert runs_away(loop, 60.0)  # a minute would hold the words, not the repetition
    assert compression_ratio(sentence) < 1.5


def _words(text, confidence=0.9):
    from sottovoce.asr.hypothesis import Word

    return [Word(w, 0.0, 0.0, confidence) for w in text.split()]


def test_a_runaway_decode_falls_back_to_the_base_decode_with_the_rewrites_applied():
    runaway = _words("Turn on the we mo. Thank you for watching, please subscribe to my channel and leave a comment below.")
    base = _words("Turn on the we mo plug.")
    version = Adaptation("Turn on the wemo plug.", None, [("we mo", "wemo")])
    assert version.falls_back(runaway, 2.0)
    assert version.text([(runaway, 0.0)], 2.0, base) == "Turn on the wemo plug."
    assert version.text([(runaway, 0.0)], 20.0, base).startswith("Turn on the wemo. Thank you")  # 20 s could hold it
    assert "comment below." in version.text([(runaway, 0.0)])  # no length or base given: nothing to compare
    off = Adaptation("Turn on the wemo plug.", None, [], runaway_fallback=False)
    assert not off.falls_back(runaway, 2.0)
    plain = Adaptation(None, None, [("we mo", "wemo")])  # decodes like the base: nothing to fall back to
    assert not plain.falls_back(runaway, 2.0)


def test_the_fallback_is_on_for_versions_stored_before_it_existed_and_survives_json():
    stored = Adaptation("Lock the door.", None, []).to_json()
    assert stored["runaway_fallback"] is True
    del stored["runaway_fallback"]
    assert Adaptation.from_json(stored).runaway_fallback is True
    assert Adaptation.from_json({**stored, "runaway_fallback": False}).runaway_fallback is False


def test_more_alternatives_are_tried_only_with_the_best_greedy_prompt_sizes():
    tried = set()

    def validate(candidate):
        n = candidate.params.get("selected", {}).get("prompt_sentences", 1)  # the final check has no params
        tried.add((n, candidate.alternatives))
        # Prompt size 1 is best greedy, then 2; size 0 is worst.
        return {0: 0.5, 1: 0.1, 2: 0.2}[n] - (0.01 if candidate.alternatives > 1 else 0.0)

    a = learn(PAIRS, validate=validate, prompt_choices=(0, 1, 2), alternatives_choices=(1, 5), tail_choices=(None,), lm_weight_choices=(0.0,))
    assert tried == {(0, 1), (1, 1), (2, 1), (1, 5), (2, 5)}  # 5 decoding keys, not 6
    assert (a.params["selected"]["prompt_sentences"], a.alternatives) == (1, 5)
    one = set()
    learn(PAIRS, validate=lambda c: one.add((c.params.get("selected", {}).get("prompt_sentences", 1), c.alternatives)) or 0.1,
          prompt_choices=(0, 1, 2), alternatives_choices=(1, 5), tail_choices=(None,), lm_weight_choices=(0.0,), beam_prompt_choices=1)
    assert {k for _, k in one} == {1, 5}
    assert len([n for n, k in one if k == 5]) == 1


def test_keep_confident_keeps_the_base_words_heard_confidently_and_takes_the_rest_from_the_version():
    from sottovoce.learning.adaptation import keep_confident

    base = [W("Play", 0.99), W("Adele", 0.95), W("in", 0.9), W("the", 0.9), W("kitchen.", 0.97), W("now", 0.3)]
    pulled = [W("Play", 0.99), W("Coldplay", 0.6), W("in", 0.9), W("the", 0.9), W("bedroom.", 0.5), W("now", 0.4), W("please", 0.4)]
    assert [w.word for w in keep_confident(base, pulled, 0.9)] == ["Play", "Adele", "in", "the", "kitchen.", "now", "please"]
    assert [w.word for w in keep_confident(base, pulled, 0.99)] == ["Play", "Coldplay", "in", "the", "bedroom.", "now", "please"]
    unsure = [W("Play", 0.99), W("a", 0.4), W("dell", 0.5), W("in", 0.9), W("the", 0.9), W("kitchen.", 0.97)]
    fixed = [W("Play", 0.99), W("Adele", 0.7), W("in", 0.9), W("the", 0.9), W("kitchen.", 0.97)]
    assert [w.word for w in keep_confident(unsure, fixed, 0.9)] == ["Play", "Adele", "in", "the", "kitchen."]  # the version's fix stays
    assert [w.word for w in keep_confident(base[:5], base[:2], 0.9)] == [w.word for w in base[:5]]  # confident words it dropped come back


def test_learn_chooses_whether_to_keep_the_base_decode_s_confident_words_by_validation():
    def validate(candidate: Adaptation) -> float:
        return 0.1 if candidate.base_keep_confidence != 0.7 else 0.05

    a = learn(PAIRS, validate=validate, prompt_choices=(0, 1), tail_choices=(None,), alternatives_choices=(1,))
    assert a.base_keep_confidence == a.params["selected"]["base_keep_confidence"] == 0.7
    assert a.needs_base
    assert Adaptation.from_json(a.to_json()).base_keep_confidence == 0.7
    tie = learn(PAIRS, validate=lambda c: 0.1, prompt_choices=(0, 1), tail_choices=(None,), alternatives_choices=(1,))
    assert tie.base_keep_confidence is None  # a tie: no merge, no second decode
