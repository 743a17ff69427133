"""PII evaluation on text the detectors were not shaped on.

Sections (``--only`` picks some; all by default):

* ``known``: the account's own identifiers (privacy/known_ids.py). Random serials, e-mails and
  holder names from Faker (several locales), said the ways people spell codes (digit words,
  letter names, "double", dashes, numerals, run-together), with simulated recognizer errors (one
  character substituted or dropped, "n" heard as "and"), inside SLURP commands. Reports token
  recall per identifier kind, the share of SLURP words (no identifier in them) masked when every
  sentence is checked against a random account's identifiers, and latency.

* ``kinds``: the default detector (privacy/pii_text.py ``pii_word_indices``: rules, alphanumeric
  codes, token model) on a set built unlike the model's training data
  (scripts/train_pii_model.py). Differences: other Faker locales (EVAL_LOCALES, none in
  TRAIN_LOCALES), names drawn with Faker's ``first_name_*``/``last_name`` parts and half of them
  prefixed by a relation word ("uncle", "coach"); health terms from other lists (no condition or
  medication in common with training); other templates (longer, with fillers "um", "like", "so");
  alphanumeric codes (plates, postcodes, passports) made by ``Faker.bothify``/``postcode`` and
  spoken here; PII-free text from SLURP *test* (training saw SLURP *devel*). The kinds the rules
  cover (phone, national id, card and card fragments, date of birth with and without "born",
  e-mail in several spoken forms, street addresses of EVAL_LOCALES' forms, postcodes, PO boxes,
  licence plates) get their own templates (EVAL_RULE_TEMPLATES) and Faker's EVAL_LOCALES values,
  unlike benchmarks/pii_dataset.py, where the rules were shaped. Reports token recall per kind
  (a word counts if it gets any PII label: it is hidden either way) and the share of SLURP-test
  words with no PII label that were masked, each with a bootstrap 95 % interval (utterances
  resampled, 1,000 rounds), and latency per transcript (every call timed, SLURP included).

Reproduce: ``python benchmarks/pii_eval.py [--only known] [--only kinds] [--n 2000]``.
Needs /work/shared/corpus/slurp-text (SLURP text, CC BY 4.0) and Faker.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import string
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.pii_dataset import slurp_examples  # noqa: E402
from sottovoce.privacy.known_ids import find_known, identifiers  # noqa: E402

SEED = 20261201
LOCALES = ["en_US", "en_GB", "en_IN", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "pt_BR", "tr_TR", "en_AU"]
DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
LETTER_NAMES = {"b": "bee", "c": "see", "d": "dee", "f": "ef", "g": "gee", "j": "jay", "k": "kay", "p": "pee", "q": "cue", "r": "are", "s": "ess", "t": "tee", "v": "vee", "x": "ex", "z": "zed", "n": "en", "m": "em", "l": "el"}


def spoken_code(code: str, rng: random.Random) -> list[str]:
    """How someone might say a code, and how a recognizer might write it down."""
    style = rng.choice(["words", "names", "numerals", "chunks"])
    if style == "chunks":
        return [part.lower() for part in code.split("-")]
    out: list[str] = []
    chars = list(code.lower())
    i = 0
    while i < len(chars):
        c = chars[i]
        if c == "-":
            if rng.random() < 0.5:
                out.append(rng.choice(["dash", "hyphen"]))
        elif c.isdigit():
            if i + 1 < len(chars) and chars[i + 1] == c and rng.random() < 0.4:
                out += ["double", DIGIT_WORDS[int(c)] if style != "numerals" else c]
                i += 1
            elif c == "0" and rng.random() < 0.5:
                out.append("oh")
            else:
                out.append(DIGIT_WORDS[int(c)] if style != "numerals" else c)
        else:
            out.append(LETTER_NAMES.get(c, c) if style == "names" and rng.random() < 0.6 else c)
        i += 1
    return out


def recognizer_noise(words: list[str], rng: random.Random) -> list[str]:
    """One recognizer slip in half of the codes: a token dropped, a letter swapped, "n" → "and"."""
    words = list(words)
    if rng.random() < 0.5 and len(words) > 4:
        j = rng.randrange(len(words))
        kind = rng.choice(["drop", "swap", "and"])
        if kind == "drop":
            del words[j]
        elif kind == "swap" and len(words[j]) == 1 and words[j].isalpha():
            words[j] = rng.choice(string.ascii_lowercase)
        elif "n" in words:
            words[words.index("n")] = "and"
    return words


def faker_account(fake, rng: random.Random) -> dict:
    serial = "-".join("".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(rng.choice([2, 3, 4]))) for _ in range(rng.choice([2, 3])))
    return {"name": fake.name(), "serial": serial, "email": fake.email()}


def spoken_email(email: str) -> list[str]:
    local, domain = email.lower().split("@")
    out: list[str] = []
    for part in local.replace("_", " underscore ").replace(".", " dot ").split():
        out.append(part)
    out.append("at")
    out += domain.replace(".", " dot ").split()
    return out


def known_section(n: int) -> dict:
    from faker import Faker

    rng = random.Random(SEED)
    fakes = [Faker(loc) for loc in LOCALES]
    for i, fake in enumerate(fakes):
        fake.seed_instance(SEED + i)
    slurp = [e.words for e in slurp_examples()]
    found: dict[str, list[int]] = {"serial": [0, 0], "email": [0, 0], "name": [0, 0]}
    fp_words = total_words = 0
    times: list[float] = []
    for k in range(n):
        account = faker_account(rng.choice(fakes), rng)
        idents = identifiers(names=[account["name"]], codes=[account["name"], account["serial"], account["email"]])
        carrier = rng.choice(slurp)
        # PII-free text: a SLURP command against this account's identifiers.
        runs = find_known(carrier, idents)
        fp_words += sum(b - a + 1 for a, b, _ in runs)
        total_words += len(carrier)
        kind = ["serial", "email", "name"][k % 3]
        if kind == "serial":
            said = recognizer_noise(spoken_code(account["serial"], rng), rng)
        elif kind == "email":
            said = spoken_email(account["email"])
        else:
            said = account["name"].lower().replace(".", "").split()
        cut = rng.randrange(len(carrier) + 1)
        words = carrier[:cut] + ["it's"] + said + carrier[cut:]
        start = time.perf_counter()
        runs = find_known(words, idents)
        times.append((time.perf_counter() - start) * 1000)
        masked = {i for a, b, _ in runs for i in range(a, b + 1)}
        span = range(cut + 1, cut + 1 + len(said))
        found[kind][0] += sum(1 for i in span if i in masked)
        found[kind][1] += len(span)
    times.sort()
    return {
        "n": n,
        "recall": {kind: round(hit / max(1, total), 4) for kind, (hit, total) in found.items()},
        "words": {kind: total for kind, (_hit, total) in found.items()},
        "slurp_words_masked": round(fp_words / max(1, total_words), 5),
        "slurp_words": total_words,
        "ms_median": round(statistics.median(times), 3),
        "ms_p95": round(times[int(0.95 * (len(times) - 1))], 3),
    }


EVAL_LOCALES = ["en_AU", "en_IE", "da_DK", "no_NO", "sk_SK", "hr_HR", "lt_LT", "lv_LV", "et_EE", "sl_SI", "ig_NG", "ha_NG", "tw_GH", "pt_PT", "fr_CA", "de_AT", "fil_PH", "en_NZ"]
EVAL_CONDITIONS = ["gout", "shingles", "scoliosis", "anemia", "cystic fibrosis", "sickle cell anemia", "hypothyroidism", "angina", "vertigo", "tinnitus", "ulcerative colitis", "hemophilia", "fibromyalgia", "gonorrhea", "syphilis", "melanoma", "lymphoma", "obsessive compulsive disorder", "panic attacks", "atrial fibrillation"]
EVAL_MEDICATIONS = ["rosuvastatin", "pantoprazole", "carvedilol", "ramipril", "trazodone", "duloxetine", "clonazepam", "buprenorphine", "methadone", "tamoxifen", "letrozole", "spironolactone", "allopurinol", "colchicine", "hydroxychloroquine", "valacyclovir", "mirtazapine", "aripiprazole", "lamotrigine", "topiramate"]
EVAL_TEMPLATES = {
    "PERSON": ["um can you ring {x} for me", "so i was talking to {x} yesterday and", "please let {x} know the door is open", "like {x} wants the car back", "{x} will pick up the kids at three", "forward this to {x} please"],
    "HEALTH": ["so the doctor thinks it might be {x}", "um where can i buy {x} near me", "can you note that i stopped taking {x}", "my mother was treated for {x} last spring", "is {x} covered by my plan", "like i keep forgetting the {x} every morning"],
    "ALPHANUMERIC_ID": ["the licence plate was {x}", "um my passport number is {x}", "ship it to postcode {x}", "the booking reference is {x} i think", "so the code on the box says {x}", "enter {x} as the voucher"],
}
RELATIONS = ["uncle", "aunt", "coach", "cousin", "grandma", "neighbour", "boss"]


def eval_person(fake, rng: random.Random) -> list[str]:
    from scripts.train_pii_model import fold

    parts = [rng.choice([fake.first_name_male, fake.first_name_female])(), fake.last_name()] if rng.random() < 0.6 else [fake.first_name()]
    return fold(" ".join(parts)).split() or ["ola"]


def eval_code(fake, rng: random.Random) -> list[str]:
    pattern = rng.choice(["??## ???", "?########", "??#? #??", "#???###", "?#? #?#"])
    code = fake.bothify(pattern, letters="ABCDEFGHJKLMNPRSTUVWXYZ")
    return spoken_code(code.replace(" ", "-"), rng) if rng.random() < 0.7 else [part for part in code.split()]


# Templates and spoken forms for the kinds the rules cover, written for this test set (the rules
# were shaped on benchmarks/pii_dataset.py's templates). Values come from Faker's EVAL_LOCALES
# providers (phone, ssn/national id, card, date of birth, e-mail, street address, postcode,
# licence plate), spoken here.
EVAL_RULE_TEMPLATES = {
    "PHONE": ["you can get me on {x}", "um the number's {x}", "{x} that's my mobile", "try {x} after six", "so ring me back at {x} yeah"],
    "NATIONAL_ID": ["my social is {x}", "the id number on the form is {x}", "um {x} is my national insurance number", "personal code {x} okay", "tax number {x}"],
    "CREDIT_CARD": ["charge it to {x}", "my visa is {x}", "card number {x} please", "the card ending in {x}", "um put it on {x} the mastercard"],
    "DATE_OF_BIRTH": ["i was born {x}", "my birthday is {x}", "{x} is my date of birth", "d o b {x}", "she was born on {x} in the north"],
    "EMAIL": ["my email is {x}", "send it over to {x}", "{x} is the best address", "um write to {x} thanks", "the login is {x}"],
    "LICENCE_PLATE": ["the licence plate was {x}", "um a blue van reg {x}", "it's parked as {x} outside", "so the car is {x} i think"],
    "ADDRESS": ["i live at {x}", "deliver to {x} please", "the new place is {x}", "um it's {x} near the church", "the parcel goes to {x}"],
}
MONTH_NAMES = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"]


def _number_words(n: int) -> list[str]:
    from benchmarks.pii_dataset import cardinal_words

    return cardinal_words(n).split()


def spoken_digits(text: str, rng: random.Random) -> list[str]:
    """Digits of ``text`` read one by one ("oh" for some zeros, "double" for some pairs); other
    characters become letters or "dash"; a few runs stay numerals as Whisper writes them."""
    if rng.random() < 0.15:
        return [part for part in re.split(r"[\s]+", text) if part]
    return spoken_code(re.sub(r"[^0-9A-Za-z-]", "", text.replace(" ", "-")).strip("-"), rng)


def spoken_date(day: int, month: int, year: int, rng: random.Random) -> list[str]:
    from benchmarks.pii_dataset import ORDINALS

    yw = _number_words(year // 100) + (["oh"] + _number_words(year % 100) if 0 < year % 100 < 10 else _number_words(year % 100) if year % 100 else ["hundred"])
    style = rng.randrange(4)
    if style == 0:
        return ORDINALS[day - 1].split() + ["of", MONTH_NAMES[month - 1]] + yw
    if style == 1:
        return [MONTH_NAMES[month - 1]] + ORDINALS[day - 1].split() + yw
    if style == 2:
        return ["the"] + ORDINALS[day - 1].split() + ["of", MONTH_NAMES[month - 1]]
    return _number_words(day) + _number_words(month) + yw


def spoken_email_variant(email: str, rng: random.Random) -> list[str]:
    at = rng.choice([["at"], ["at"], ["at", "sign"]])
    dot = rng.choice([["dot"], ["dot"], ["point"]])
    local, domain = email.lower().split("@")
    out: list[str] = []
    for part in re.split(r"([._-])", local):
        if part == ".":
            out += dot
        elif part == "_":
            out += ["underscore"]
        elif part == "-":
            out += ["dash"]
        elif part:
            out += [DIGIT_WORDS[int(c)] for c in part] if part.isdigit() else [part]
    out += at
    for k, part in enumerate(domain.split(".")):
        out += (dot if k else []) + [part]
    return out


def spoken_address(text: str, rng: random.Random) -> list[str]:
    from scripts.train_pii_model import fold

    out: list[str] = []
    for tok in fold(text.replace("/", " ")).split():
        if tok.isdigit() and len(tok) <= 3 and rng.random() < 0.8:
            out += _number_words(int(tok))
        elif tok.isdigit():
            out += [DIGIT_WORDS[int(c)] for c in tok]
        else:
            out.append(tok)
    return out


def _faker_value(fakes: list, attr: str, rng: random.Random) -> tuple[object, str]:
    for _ in range(20):
        fake = rng.choice(fakes)
        try:
            return getattr(fake, attr)(), fake.locales[0] if hasattr(fake, "locales") else ""
        except AttributeError:
            continue
    raise RuntimeError(attr)


def rule_kind_value(kind: str, fakes: list, rng: random.Random) -> list[str]:
    if kind == "PHONE":
        return spoken_digits(str(_faker_value(fakes, "phone_number", rng)[0]).split("x")[0], rng)
    if kind == "NATIONAL_ID":
        return spoken_digits(str(_faker_value(fakes, "ssn", rng)[0]), rng)
    if kind == "CREDIT_CARD":
        number = str(_faker_value(fakes, "credit_card_number", rng)[0])
        return spoken_digits(number[-4:] if rng.random() < 0.25 else number, rng)
    if kind == "DATE_OF_BIRTH":
        d = _faker_value(fakes, "date_of_birth", rng)[0]
        return spoken_date(d.day, d.month, d.year, rng)  # type: ignore[attr-defined]
    if kind == "EMAIL":
        return spoken_email_variant(str(_faker_value(fakes, "email", rng)[0]), rng)
    if kind == "ADDRESS":
        if rng.random() < 0.3:
            return spoken_address(str(_faker_value(fakes, "postcode", rng)[0]), rng) if rng.random() < 0.5 else ["p", "o", "box"] + _number_words(rng.randrange(1, 999))
        return spoken_address(str(_faker_value(fakes, "street_address", rng)[0]), rng)
    raise ValueError(kind)


def eval_plate(fakes: list, rng: random.Random) -> list[str]:
    plate = str(_faker_value(fakes, "license_plate", rng)[0])
    return spoken_code(re.sub(r"[^0-9A-Za-z]+", "-", plate).strip("-"), rng)


def bootstrap(hits: list[tuple[int, int]], rng: random.Random, rounds: int = 1000) -> tuple[float, float, float]:
    """Ratio sum(hit)/sum(total) over utterances, with a percentile bootstrap 95 % interval
    (utterances resampled)."""
    arr = np.array(hits, dtype=np.float64).reshape(-1, 2)
    point = arr[:, 0].sum() / max(1.0, arr[:, 1].sum())
    gen = np.random.default_rng(rng.randrange(1 << 30))
    idx = gen.integers(0, len(arr), size=(rounds, len(arr)))
    ratios = arr[idx, 0].sum(axis=1) / np.maximum(1.0, arr[idx, 1].sum(axis=1))
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    return round(float(point), 4), round(float(lo), 4), round(float(hi), 4)


def kinds_section(n: int) -> dict:
    import json as _json

    from faker import Faker

    from benchmarks.pii_dataset import SLURP_DIR, parse_slurp_annotation
    from sottovoce.privacy.pii_text import pii_word_indices

    rng = random.Random(SEED + 1)
    fakes = [Faker(loc) for loc in EVAL_LOCALES]
    for i, fake in enumerate(fakes):
        fake.seed_instance(SEED + 100 + i)
    pii_word_indices(["warm", "up"])
    kinds = [*EVAL_TEMPLATES, *EVAL_RULE_TEMPLATES]
    hits: dict[str, list[tuple[int, int]]] = {kind: [] for kind in kinds}
    times: list[float] = []
    cpu_times: list[float] = []  # CPU time: on a shared machine wall time mostly measures the queue
    for k in range(n):
        kind = kinds[k % len(kinds)]
        fake = rng.choice(fakes)
        before: list[str] = []
        if kind == "PERSON":
            before, target = ([rng.choice(RELATIONS)] if rng.random() < 0.5 else []), eval_person(fake, rng)
        elif kind == "HEALTH":
            target = rng.choice(EVAL_CONDITIONS + EVAL_MEDICATIONS).split()
        elif kind == "ALPHANUMERIC_ID":
            target = eval_code(fake, rng)
        elif kind == "LICENCE_PLATE":
            target = eval_plate(fakes, rng)
        else:
            target = rule_kind_value(kind, fakes, rng)
        template = rng.choice(EVAL_TEMPLATES.get(kind) or EVAL_RULE_TEMPLATES[kind])
        head, tail = template.split("{x}")
        words = head.split() + before + target + tail.split()
        start, cpu = time.perf_counter(), time.process_time()
        runs = pii_word_indices(words)
        times.append((time.perf_counter() - start) * 1000)
        cpu_times.append((time.process_time() - cpu) * 1000)
        masked = {i for a, b, _ in runs for i in range(a, b + 1)}
        offset = len(head.split()) + len(before)
        hits[kind].append((sum(1 for i in range(offset, offset + len(target)) if i in masked), len(target)))
    fp: list[tuple[int, int]] = []
    lines = (SLURP_DIR / "test.jsonl").read_text().splitlines()
    for line in lines[: max(n, 1000)]:
        words, labels = parse_slurp_annotation(_json.loads(line)["sentence_annotation"])
        start, cpu = time.perf_counter(), time.process_time()
        runs = pii_word_indices(words)
        times.append((time.perf_counter() - start) * 1000)
        cpu_times.append((time.process_time() - cpu) * 1000)
        masked = {i for a, b, _ in runs for i in range(a, b + 1)}
        fp.append((sum(1 for i, label in enumerate(labels) if label == "O" and i in masked), sum(label == "O" for label in labels)))
    times.sort()
    cpu_times.sort()
    brng = random.Random(SEED + 2)
    return {
        "n": n,
        "recall_ci95": {kind: bootstrap(h, brng) for kind, h in hits.items()},
        "words": {kind: sum(t for _h, t in h) for kind, h in hits.items()},
        "pii_free_words_masked_ci95": bootstrap(fp, brng),
        "pii_free_words": sum(t for _h, t in fp),
        "transcripts_timed": len(times),
        "ms_median": round(statistics.median(times), 2),
        "ms_p95": round(times[int(0.95 * (len(times) - 1))], 2),
        "ms_max": round(times[-1], 2),
        "cpu_ms_median": round(statistics.median(cpu_times), 2),
        "cpu_ms_p95": round(cpu_times[int(0.95 * (len(cpu_times) - 1))], 2),
        "cpu_ms_max": round(cpu_times[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=["known", "kinds"], help="sections to run (default: all)")
    parser.add_argument("--n", type=int, default=3000, help="utterances per section")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sections = args.only or ["known", "kinds"]
    out = {}
    if "known" in sections:
        out["known"] = known_section(args.n)
    if "kinds" in sections:
        out["kinds"] = kinds_section(args.n)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
