"""A pre-screen on the hypothesis text: likely-distressing clips stay out of the general queue.

A small offline lexicon (no model, no download): phrases by category, each with a weight, matched
on the lower-cased hypothesis after household idioms that only sound violent are removed ("kill
the lights", "I'm dying to", "shoot me a text", media requests such as "play ... by ..."). A text
whose best category reaches ``THRESHOLD`` gets that category; the sampler stores it on the task
(``ReviewTask.sensitivity``) and the next-task query gives it only to reviewers who opted in to
that category (review/sensitive.py). Nothing but the category leaves this function: the text is
read in memory, from the sealed hypothesis, and never stored or logged.

Measured on a labelled set written for it (benchmarks/prescreen_set.py) and on SLURP's test
sentences: ``python benchmarks/prescreen_eval.py`` (figures in docs/review.md).
"""

from __future__ import annotations

import re
from functools import cache

DISTRESSING = "distressing"
DANGER = "danger"
INTIMATE = "intimate"
CATEGORIES = (DANGER, DISTRESSING, INTIMATE)  # ties go to the first
THRESHOLD = 1.0

# Idioms and requests that use the words without the meaning, removed before matching.
HARMLESS = (
    r"\b(kill|cut|turn off|shut off|stop)\s+(the|all the|my)?\s*(lights?|music|radio|tv|television|power|alarm|timer|volume|sound|engine|heat(ing)?|fan|app|noise)\b",
    r"\b(dying|die) (to|for) (see|try|know|hear|go|get|watch|have|a)\b",
    r"\bshoot (me|him|her|them|us) (a|an)\s+(text|message|email|e mail|mail|note|line)\b",
    r"^(please )?(play|put on|queue|shuffle|stream|search for the song|find the song|add)\b.*$",  # a media request names titles
    r"\b(help|assist) me (with|to|in|find|start|choose|pick|make|plan|set|write|cook|remember|understand|learn|decide)\b",
    r"\bcan you help\b",
    r"\b(fire up|fired up|on fire today|fire tv|fire stick|camp ?fire|fire ?place|fireworks?)\b",
    r"\b(dead ?line|dead ?lines|walking dead|grateful dead|dead or alive|red dead)\b",
    r"\b(death penalty|death valley|death metal)\b",
    r"\b(police station|police academy|police (show|series|drama))\b",
    r"\b(sex and the city|sex education|sex pistols)\b",
    r"\b(killer (app|deal|queen)s?|killing it|kill (time|it))\b",
    r"\b(hit me up|hit (the|a) (road|gym|button|jackpot|sack|snooze))\b",
    r"\b(when|how|where) did [a-z ]{2,30} die\b",
    r"\b(battery|phone|car|laptop|tablet|remote|plant|plants)('s| is| has)? (dead|died)\b",
)

# (pattern, weight) by category. One strong phrase is enough; weak ones need company.
LEXICON: dict[str, tuple[tuple[str, float], ...]] = {
    DANGER: (
        (r"\b(call|get|phone|ring) (the )?(police|cops|ambulance|nine one one|911|emergency services?|an ambulance)\b", 1.0),
        (r"\b(somebody|someone|anybody|anyone) help\b", 0.8),
        (r"\bhelp (me|us)\b", 0.5),
        (r"\bplease help\b", 0.5),
        (r"\b(won'?t|doesn'?t|will not|does not) stop\b", 0.4),
        (r"\b(let me go|get off me|leave me alone|don'?t touch me|stop hitting|stop hurting)\b", 1.0),
        (r"\b(he|she|they|you)('s| is| are| was| were)? (going to|gonna) (kill|hurt|hit)\b", 1.0),
        (r"\b(he|she|they|(my )?(dad|father|mom|mother|husband|wife|boyfriend|girlfriend|partner|brother|sister|son|uncle|step ?dad)) (hit|hits|punched|kicked|choked|strangled|beat|beats|slapped|stabbed|shot) (me|her|him|us|my)\b", 1.0),
        (r"\b(has|got|with|holding) (a|the) (gun|knife|weapon)\b", 1.0),
        (r"\b(broke|breaking|broken) in(to)?\b|\bintruder\b|\bsomeone('s| is) in the house\b", 1.0),
        (r"\b(can'?t|cannot) breathe\b|\bnot breathing\b|\b(he|she)('s| is) (unconscious|not moving|bleeding)\b", 1.0),
        (r"\b(bleeding|overdos(e|ed|ing)|unconscious|choking|stroke|heart attack|seizure)\b", 0.6),
        (r"\bhouse('s| is) on fire\b|\bthere('s| is) a fire\b|\bsmell(s)? (smoke|gas)\b", 1.0),
        (r"\b(i'?m|i am) (scared|afraid|terrified)\b", 0.5),
        (r"\b(kill|hurt|stab|shoot) (you|him|her|them|me)\b", 0.7),
        (r"\b(screaming|scream|crying)\b", 0.3),
    ),
    DISTRESSING: (
        (r"\b(kill myself|killing myself|end my life|end it all|take my (own )?life|suicid(e|al)|self harm|cut myself|cutting myself)\b", 1.0),
        (r"\b(want|wanna|wish i (could|would)|going) (to )?die\b|\bbetter off dead\b|\bno reason to live\b", 1.0),
        (r"\b(passed away|died|has died|is dead|funeral|miscarriage|stillborn|cremation|terminal|diagnosed with)\b", 1.0),
        (r"\b(cancer|tumou?r|chemo(therapy)?|hospice|dementia)\b", 0.5),
        (r"\b(panic attack|can'?t (go on|cope|take it))\b", 1.0),
        (r"\b(depressed|depression|hopeless)\b", 0.6),
        (r"\b(worthless|useless|a failure)\b", 0.5),
        (r"\b(abuse[ds]?|abusing|abusive|molest(ed)?|assault(ed)?|rape[ds]?|raping|grooming)\b", 1.0),
        (r"\b(crying|sobbing|grief|grieving|mourning|lonely|alone)\b", 0.35),
        (r"\b(i hate myself|nobody (cares|loves me)|i can'?t do this anymore)\b", 0.8),
    ),
    INTIMATE: (
        (r"\b(sex|sexual|sexy|naked|nude|nudes|porn|porno|pornography|orgasm|horny|make love|making love)\b", 1.0),
        (r"\b(condoms?|lube|vibrator|erectile|viagra|std|stds|sti|herpes|chlamydia|gonorrh?oea|syphilis|hiv)\b", 1.0),
        (r"\b(pregnancy test|pregnant)\b", 0.8),
        (r"\bperiod (is )?late\b", 0.5),
        (r"\b(morning after pill|abortion)\b", 1.0),
        (r"\b(contraception|birth control)\b", 0.8),
        (r"\b(undress|undressed|bedroom|in bed|kiss me|take (it|them|your clothes) off)\b", 0.4),
        (r"\b(my (penis|vagina|breasts?|genitals|private parts))\b", 1.0),
    ),
}


@cache
def _compiled() -> tuple[re.Pattern[str], dict[str, list[tuple[re.Pattern[str], float]]]]:
    harmless = re.compile("|".join(f"(?:{p})" for p in HARMLESS))
    return harmless, {c: [(re.compile(p), w) for p, w in patterns] for c, patterns in LEXICON.items()}


def scores(text: str) -> dict[str, float]:
    """Each category's score: the sum of the weights of its phrases found (each phrase once)."""
    harmless, lexicon = _compiled()
    cleaned = harmless.sub(" ", " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()))
    return {category: sum(w for pattern, w in patterns if pattern.search(cleaned)) for category, patterns in lexicon.items()}


def screen(text: str) -> str:
    """The category a text is likely to belong to, or "" when nothing reaches the threshold."""
    found = scores(text)
    best = max(CATEGORIES, key=lambda c: (found[c], -CATEGORIES.index(c)))
    return best if found[best] >= THRESHOLD else ""
