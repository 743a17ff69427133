"""Labelled ASR-style utterances for the PII benchmark (word-level labels).

Two sources, both lower case without punctuation, numbers mostly spelled out:

1. SLURP devel+test (5,007 voice-assistant commands, CC BY 4.0), entity
   annotations inline as ``[person : john]``. SLURP types that count as PII:
   ``person`` -> PERSON, ``email_address`` -> EMAIL. ``artist_name`` and
   ``audiobook_author`` are names of public figures: redacting them is
   harmless and not redacting them is no leak, so their words are scored as
   "don't care" (neither true nor false positive). Every other SLURP type
   (dates, times, places, businesses, relations ...) is scored as not PII;
   SLURP has no phone, card, account, address or birth-date values.
2. Template sentences for the identifiers SLURP lacks: phone, card, account
   numbers, e-mails, street addresses, dates of birth, plus names (drawn
   from a name list that deliberately includes many names absent from the
   detector's gazetteer) and hard negatives (times, quantities, room
   numbers, years, prices) that must not be flagged. Numbers are spelled out
   in varied ways ("oh", "double five", pairs "twelve thirty four"), and 15 %
   are written as numerals the way Whisper often prints them.

Every word carries one label: an entity name, ``O`` or ``IGNORE``.
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

SLURP_DIR = Path(os.environ.get("BENCH_CORPUS_DIR", "/work/shared/corpus")) / "slurp-text" / "dataset" / "slurp"
SLURP_PII = {"person": "PERSON", "email_address": "EMAIL"}
SLURP_DONT_CARE = {"artist_name", "audiobook_author"}
IGNORE = "IGNORE"


@dataclass(frozen=True)
class Example:
    words: list[str]
    labels: list[str]
    source: str  # "slurp" or "template:<kind>"


# --------------------------------------------------------------------------
# SLURP
# --------------------------------------------------------------------------

_ANNOT = re.compile(r"\[\s*([\w]+)\s*:\s*([^\]]*)\]")


def _clean(word: str) -> str:
    return word.lower().strip(".,!?;:\"")


def parse_slurp_annotation(annotation: str) -> tuple[list[str], list[str]]:
    words, labels = [], []
    pos = 0
    for m in _ANNOT.finditer(annotation):
        for w in annotation[pos : m.start()].split():
            words.append(_clean(w))
            labels.append("O")
        slurp_type = m.group(1)
        label = SLURP_PII.get(slurp_type, IGNORE if slurp_type in SLURP_DONT_CARE else "O")
        for w in m.group(2).split():
            words.append(_clean(w))
            labels.append(label)
        pos = m.end()
    for w in annotation[pos:].split():
        words.append(_clean(w))
        labels.append("O")
    keep = [k for k, w in enumerate(words) if w]
    return [words[k] for k in keep], [labels[k] for k in keep]


def slurp_examples() -> list[Example]:
    out = []
    for name in ("devel.jsonl", "test.jsonl"):
        with open(SLURP_DIR / name, encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                words, labels = parse_slurp_annotation(rec["sentence_annotation"])
                if words:
                    out.append(Example(words, labels, "slurp"))
    return out


# --------------------------------------------------------------------------
# Spoken numbers
# --------------------------------------------------------------------------

UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
         "seventeen", "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
            "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth",
            "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth",
            "twenty first", "twenty second", "twenty third", "twenty fourth", "twenty fifth",
            "twenty sixth", "twenty seventh", "twenty eighth", "twenty ninth", "thirtieth",
            "thirty first"]


def two_digit_words(n: int) -> str:
    if n < 10:
        return UNITS[n]
    if n < 20:
        return TEENS[n - 10]
    return TENS[n // 10] + ("" if n % 10 == 0 else " " + UNITS[n % 10])


def cardinal_words(n: int) -> str:
    """0..9999 as words ("one hundred and five", "two thousand twelve")."""
    if n < 100:
        return two_digit_words(n)
    if n < 1000:
        rest = n % 100
        return UNITS[n // 100] + " hundred" + ("" if rest == 0 else " and " + two_digit_words(rest))
    rest = n % 1000
    return two_digit_words(n // 1000) + " thousand" + ("" if rest == 0 else " " + cardinal_words(rest))


def spell_digits(digits: str, rng: random.Random, oh: float = 0.5, doubles: float = 0.25) -> str:
    """Digit by digit, with "oh" for zero and "double"/"triple" for repeats."""
    words = []
    k = 0
    while k < len(digits):
        d = int(digits[k])
        run = 1
        while k + run < len(digits) and digits[k + run] == digits[k] and run < 3:
            run += 1
        word = "oh" if d == 0 and rng.random() < oh else UNITS[d]
        if run >= 2 and rng.random() < doubles:
            words.append(("triple " if run == 3 else "double ") + word)
            k += run
            continue
        words.append(word)
        k += 1
    return " ".join(words)


def spell_pairs(digits: str, rng: random.Random) -> str:
    """Groups of two read as numbers ("twelve thirty four"), zeros as "oh five"."""
    words = []
    for k in range(0, len(digits), 2):
        pair = digits[k : k + 2]
        if len(pair) == 1 or pair[0] == "0":
            words.append(spell_digits(pair, rng, oh=0.9, doubles=0))
        else:
            words.append(two_digit_words(int(pair)))
    return " ".join(words)


def say_number(digits: str, rng: random.Random, groups: list[int], numeral_p: float = 0.15) -> str:
    """Read an identifier in groups, each spelled or paired; sometimes numerals."""
    parts, k = [], 0
    for g in groups:
        parts.append(digits[k : k + g])
        k += g
    if rng.random() < numeral_p:
        sep = rng.choice([" ", "-", " "])
        return sep.join(parts) if sep != " " else " ".join(parts)
    out = []
    for part in parts:
        if len(part) % 2 == 0 and rng.random() < 0.2:
            out.append(spell_pairs(part, rng))
        else:
            out.append(spell_digits(part, rng))
    return " ".join(out)


def _digits(rng: random.Random, n: int, first: str = "") -> str:
    return first + "".join(str(rng.randrange(10)) for _ in range(n - len(first)))


def luhn_complete(prefix: str) -> str:
    total = 0
    for k, ch in enumerate(reversed(prefix)):
        d = int(ch)
        if k % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return prefix + str((10 - total % 10) % 10)


# --------------------------------------------------------------------------
# Value generators
# --------------------------------------------------------------------------

# Names for templates; about half are NOT in the detector's gazetteer.
TEMPLATE_FIRST = """john sarah michael emma david olivia james sophia robert mia daniel emily
joseph grace kevin laura brian rachel steven megan tendai oluwaseun siobhan niamh xochitl
anand priyanka chidi ngozi kwame ama aroha tane keanu leilani bjorn astrid dmitry anastasia
yusuf zainab farhan nadia tariq layla hamid noor arash shirin tomasz agnieszka mateusz
zuzana ondrej katarzyna radu ioana bogdan mirela kofi abena dariusz ewa jorge lucia camila
thiago joao beatriz rui ines mehmet elif emre aylin kenta haruka sora yui minh linh quang
thao raj sunita vikram ananya""".split()
TEMPLATE_LAST = """smith johnson brown garcia miller wilson taylor anderson thomas moore
martin lee white harris clark lewis walker hall young king okafor moyo adeyemi mensah
asante nakamura kobayashi nguyen tran pham kowalczyk wisniewski dvorak novotny popescu
ionescu yilmaz kaya ozturk demir haddad khoury nasser farouk oconnell mcguire fitzgerald
gallagher dubois moreau lefebvre rossi bianchi esposito santos oliveira pereira ferreira
silva kapoor iyer menon reddy chatterjee banerjee lindqvist johansson virtanen""".split()
STREET_NAMES = """elm main oak maple baker high church park station victoria washington
lincoln cedar pine mill king queen london north west lake hill river spring willow chestnut
sunset jefferson madison franklin highland meadow orchard forest harbor bridge greenwood
ashford kingsley rosewood fairview hawthorne sycamore riverside""".split()
STREET_TYPES = ["street", "road", "avenue", "lane", "drive", "boulevard", "court", "place",
                "way", "terrace", "crescent", "close", "parkway", "circle", "street", "road"]
DOMAINS = ["gmail", "yahoo", "outlook", "hotmail", "example", "icloud", "protonmail", "aol",
           "company", "acme", "fastmail", "mail"]
TLDS = ["com", "com", "com", "org", "net", "co dot uk", "io", "de", "edu"]


def gen_name(rng: random.Random, full_p: float = 0.5) -> str:
    name = rng.choice(TEMPLATE_FIRST)
    if rng.random() < full_p:
        name += " " + rng.choice(TEMPLATE_LAST)
    return name


def gen_phone(rng: random.Random) -> str:
    style = rng.random()
    if style < 0.6:  # US ten digits
        digits = _digits(rng, 10, rng.choice(["2", "3", "4", "5", "6", "7", "8", "9"]))
        if rng.random() < 0.15:  # toll free "one eight hundred"
            return "one eight hundred " + say_number(digits[3:], rng, [3, 4], 0)
        return say_number(digits, rng, [3, 3, 4])
    if style < 0.8:  # seven digits
        return say_number(_digits(rng, 7, "5"), rng, [3, 4])
    return say_number(_digits(rng, 11, "07"), rng, [5, 3, 3])  # UK mobile


def gen_card(rng: random.Random) -> str:
    if rng.random() < 0.15:  # amex
        number = luhn_complete(_digits(rng, 14, rng.choice(["34", "37"])))
        return say_number(number, rng, [4, 6, 5])
    number = luhn_complete(_digits(rng, 15, rng.choice(["4", "51", "52", "55"])))
    return say_number(number, rng, [4, 4, 4, 4])


def gen_account(rng: random.Random) -> str:
    n = rng.choice([6, 8, 8, 9, 10, 12])
    g = [3] * (n // 3) if n % 3 == 0 else [4] * (n // 4) if n % 4 == 0 else [n]
    return say_number(_digits(rng, n), rng, g)


def gen_email(rng: random.Random) -> str:
    first = rng.choice(TEMPLATE_FIRST)
    style = rng.random()
    if style < 0.35:
        local = first
    elif style < 0.65:
        local = f"{first} {rng.choice(['dot', 'underscore', 'dot'])} {rng.choice(TEMPLATE_LAST)}"
    elif style < 0.85:
        local = f"{first} {two_digit_words(rng.randrange(1, 99))}"
    else:
        local = first[0] + rng.choice(TEMPLATE_LAST)
    domain = rng.choice(DOMAINS)
    tld = rng.choice(TLDS)
    if rng.random() < 0.1:  # recognizer printed the symbol
        return f"{local.replace(' dot ', '.').replace(' underscore ', '_').replace(' ', '')}@{domain} dot {tld}"
    return f"{local} at {domain} dot {tld}"


def gen_house_number(rng: random.Random) -> str:
    style = rng.random()
    n = rng.choice([rng.randrange(1, 100), rng.randrange(100, 1000), rng.randrange(1000, 9999)])
    if style < 0.15:
        return str(n)
    if style < 0.55 or n < 100:
        return cardinal_words(n) if n < 100 or rng.random() < 0.5 else spell_pairs(str(n), rng)
    if style < 0.8:
        return spell_digits(str(n), rng, oh=0.7, doubles=0) + (" " + rng.choice("ab") if rng.random() < 0.15 else "")
    return cardinal_words(n)


def gen_address(rng: random.Random) -> str:
    name = " ".join(rng.sample(STREET_NAMES, rng.choice([1, 1, 1, 2])))
    out = f"{gen_house_number(rng)} {name} {rng.choice(STREET_TYPES)}"
    if rng.random() < 0.2:
        out += f" {rng.choice(['apartment', 'unit', 'flat', 'suite'])} {cardinal_words(rng.randrange(1, 40))}"
    return out


def gen_dob(rng: random.Random) -> str:
    year = rng.randrange(1935, 2010)
    year_words = (two_digit_words(year // 100) + " " + (two_digit_words(year % 100) if year % 100 >= 10 else "oh " + UNITS[year % 10])
                  if year < 2000 else cardinal_words(year))
    month = rng.randrange(12)
    day = rng.randrange(28)
    style = rng.random()
    if style < 0.35:
        return f"the {ORDINALS[day]} of {MONTHS[month]} {year_words}"
    if style < 0.6:
        return f"{MONTHS[month]} {ORDINALS[day]} {year_words}"
    if style < 0.85:
        m = spell_digits(f"{month + 1:02d}", rng, oh=0.9, doubles=0)
        d = two_digit_words(day + 1) if day >= 9 else spell_digits(f"{day + 1:02d}", rng, oh=0.9, doubles=0)
        return f"{m} {d} {year_words}"
    return f"{month + 1:02d}/{day + 1:02d}/{year}"


# --------------------------------------------------------------------------
# Templates: {X} is a slot, filled and labelled
# --------------------------------------------------------------------------

TEMPLATES: dict[str, list[str]] = {
    "PHONE": [
        "my phone number is {PHONE}", "you can call me on {PHONE}", "call {PERSON} at {PHONE}",
        "my cell is {PHONE}", "the best number to reach me is {PHONE}", "text me at {PHONE}",
        "it's {PHONE}", "dial {PHONE} please", "ring me back on {PHONE} after lunch",
        "my mobile number {PHONE}", "yeah so that's {PHONE}", "save {PHONE} as {PERSON}",
        "my work line is {PHONE} extension {EXTENSION}", "the number is {PHONE}",
        "i'm on {PHONE} any time", "please contact me at {PHONE} thank you",
    ],
    "CREDIT_CARD": [
        "my card number is {CREDIT_CARD}", "the visa is {CREDIT_CARD}",
        "i'll pay with {CREDIT_CARD}", "card ending in {CARD_LAST4} no wait the full number is {CREDIT_CARD}",
        "it's a mastercard {CREDIT_CARD}", "credit card {CREDIT_CARD} expiry {EXPIRY}",
        "charge it to {CREDIT_CARD}", "the long number on the front is {CREDIT_CARD}",
        "number on my debit card is {CREDIT_CARD}", "{CREDIT_CARD} is the card",
    ],
    "ACCOUNT_NUMBER": [
        "my account number is {ACCOUNT_NUMBER}", "the member id is {ACCOUNT_NUMBER}",
        "policy number {ACCOUNT_NUMBER}", "my customer reference is {ACCOUNT_NUMBER}",
        "social security number {SSN}", "my passport number is {ACCOUNT_NUMBER}",
        "routing number {ACCOUNT_NUMBER} and account {ACCOUNT_NUMBER}",
        "the claim is {ACCOUNT_NUMBER}", "my patient number is {ACCOUNT_NUMBER}",
        "it's under {ACCOUNT_NUMBER}", "the reference on the letter says {ACCOUNT_NUMBER}",
        "my driver's license is {ACCOUNT_NUMBER}", "employee number {ACCOUNT_NUMBER}",
    ],
    "EMAIL": [
        "my email is {EMAIL}", "send it to {EMAIL}", "email {EMAIL} about the invoice",
        "you can reach me at {EMAIL}", "it's {EMAIL}", "forward that to {EMAIL} please",
        "the address is {EMAIL}", "cc {EMAIL} on the reply", "write to {PERSON} at {EMAIL}",
        "contact {EMAIL}",
    ],
    "ADDRESS": [
        "i live at {ADDRESS}", "my address is {ADDRESS}", "send it to {ADDRESS}",
        "ship to {ADDRESS} please", "the house is {ADDRESS}", "we moved to {ADDRESS} last year",
        "deliver to {ADDRESS} {CITY}", "pick me up from {ADDRESS}", "it's {ADDRESS}",
        "my home is at {ADDRESS} zip code {ZIP}", "the office is at {ADDRESS}",
    ],
    "DATE_OF_BIRTH": [
        "i was born on {DATE_OF_BIRTH}", "my date of birth is {DATE_OF_BIRTH}",
        "date of birth {DATE_OF_BIRTH}", "born {DATE_OF_BIRTH}",
        "my birthday is {DATE_OF_BIRTH}", "d o b {DATE_OF_BIRTH}",
        "he was born on {DATE_OF_BIRTH} in {CITY}", "and my date of birth is {DATE_OF_BIRTH} okay",
    ],
    "PERSON": [
        "my name is {PERSON}", "this is {PERSON} calling", "can i speak to {PERSON}",
        "i spoke with {PERSON} yesterday", "tell {PERSON} i'll be late",
        "set up a meeting with {PERSON} on friday", "please put me through to {PERSON}",
        "{PERSON} said the order was wrong", "i'm calling for {PERSON}",
        "remind me to email {PERSON} tomorrow", "the account is in {PERSON}'s name",
        "hi {PERSON} it's {PERSON} from the bank", "ask {PERSON} to call me back",
    ],
    "NEGATIVE": [
        "set a timer for {QTY} minutes", "wake me up at {TIME}", "the meeting is at {TIME}",
        "turn the volume to {SMALL}", "i need {QTY} grams of flour", "it costs {QTY} dollars",
        "room {ROOM} on the third floor", "the score was {SMALL} to {SMALL}",
        "take the number {SMALL} bus", "go to page {QTY}", "in {YEAR} we went to spain",
        "there are {QTY} people in the queue", "it was {QTY} degrees yesterday",
        "play track {SMALL}", "i'll be there in {SMALL} minutes", "order {SMALL} pizzas for {TIME}",
        "the flight leaves at {TIME} from gate {ROOM}", "my son turns {SMALL} in may",
        "channel {QTY} please", "add {SMALL} eggs and {SMALL} cups of milk",
        "it happened in {YEAR}", "walk {QTY} steps", "the train at {TIME} is late",
        "set the thermostat to {SMALL}", "call me in {SMALL} minutes",
        "we need {QTY} chairs for the party", "the bill came to {QTY} pounds {SMALL}",
    ],
}


def _fill(slot: str, rng: random.Random) -> tuple[str, str]:
    """(text, label) for a slot."""
    generators = {
        "PHONE": gen_phone, "CREDIT_CARD": gen_card, "ACCOUNT_NUMBER": gen_account,
        "EMAIL": gen_email, "ADDRESS": gen_address, "DATE_OF_BIRTH": gen_dob, "PERSON": gen_name,
    }
    if slot in generators:
        return generators[slot](rng), slot
    if slot == "SSN":
        return say_number(_digits(rng, 9), rng, [3, 2, 4]), "ACCOUNT_NUMBER"
    if slot == "ZIP":
        return spell_digits(_digits(rng, 5), rng), "ADDRESS"
    if slot == "CITY":
        return rng.choice(["springfield", "leeds", "boston", "denver", "manchester", "austin"]), "O"
    # Card fragments and phone extensions are part of the identifier.
    if slot == "CARD_LAST4":
        return spell_digits(_digits(rng, 4), rng), "CREDIT_CARD"
    if slot == "EXPIRY":
        return spell_digits(f"{rng.randrange(1, 13):02d}", rng, oh=0.9, doubles=0) + " " + two_digit_words(rng.randrange(24, 33)), "CREDIT_CARD"
    if slot == "EXTENSION":
        return spell_digits(_digits(rng, rng.choice([3, 4])), rng), "PHONE"
    if slot == "SHORT":
        return spell_digits(_digits(rng, 4), rng), "O"
    if slot == "SMALL":
        return two_digit_words(rng.randrange(1, 30)), "O"
    if slot == "QTY":
        return cardinal_words(rng.choice([rng.randrange(2, 100), rng.randrange(100, 5000)])), "O"
    if slot == "TIME":
        h, m = rng.randrange(1, 13), rng.choice([0, 15, 30, 45, 5, 10, 20])
        tail = "" if m == 0 else " " + (two_digit_words(m) if m >= 10 else "oh " + UNITS[m])
        return UNITS[h] if h < 10 and m == 0 and rng.random() < 0.5 else two_digit_words(h) + tail + rng.choice(["", " am", " pm"]), "O"
    if slot == "ROOM":
        return spell_digits(_digits(rng, 3, str(rng.randrange(1, 9))), rng, oh=1.0, doubles=0), "O"
    if slot == "YEAR":
        y = rng.randrange(1950, 2025)
        return (two_digit_words(y // 100) + " " + two_digit_words(y % 100)) if y < 2000 else cardinal_words(y), "O"
    raise KeyError(slot)


def render_template(template: str, rng: random.Random, kind: str) -> Example:
    words, labels = [], []
    for piece in re.split(r"(\{\w+\}(?:'s)?)", template):
        if not piece:
            continue
        m = re.fullmatch(r"\{(\w+)\}('s)?", piece)
        if m:
            text, label = _fill(m.group(1), rng)
            ws = text.split()
            if m.group(2):
                ws[-1] += "'s"
            words += ws
            labels += [label] * len(ws)
            if label == "DATE_OF_BIRTH" and ws[0] == "the":
                labels[len(words) - len(ws)] = "O"  # "the" is filler, not the date
        else:
            for w in piece.split():
                words.append(w)
                labels.append("O")
    return Example(words, labels, f"template:{kind}")


def template_examples(per_kind: int, negatives: int, rng: random.Random) -> list[Example]:
    out = []
    for kind, templates in TEMPLATES.items():
        n = negatives if kind == "NEGATIVE" else per_kind
        for k in range(n):
            out.append(render_template(templates[k % len(templates)], rng, kind))
    return out


def build(seed: int = 20240601, quick: bool = False) -> list[Example]:
    """The labelled set: SLURP (all, or 600 sampled when quick) + templates."""
    rng = random.Random(seed)
    slurp = slurp_examples()
    if quick:
        slurp = rng.sample(slurp, 600)
    per_kind, negatives = (40, 40) if quick else (200, 300)
    return slurp + template_examples(per_kind, negatives, rng)
