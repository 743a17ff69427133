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
  spoken here; PII-free text from SLURP *test* (training saw SLURP *devel*). Reports token recall
  per kind (a word counts if it gets any PII label: it is hidden either way), the share of
  SLURP-test words with no PII label that were masked, and latency per transcript.

Reproduce: ``python benchmarks/pii_eval.py [--only known] [--only kinds] [--n 2000]``.
Needs /work/shared/corpus/slurp-text (SLURP text, CC BY 4.0) and Faker.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import string
import sys
import time
from pathlib import Path

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
    found = {kind: [0, 0] for kind in EVAL_TEMPLATES}
    times: list[float] = []
    for k in range(n):
        kind = list(EVAL_TEMPLATES)[k % 3]
        fake = rng.choice(fakes)
        if kind == "PERSON":
            filler = (([rng.choice(RELATIONS)] if rng.random() < 0.5 else []), eval_person(fake, rng))
        elif kind == "HEALTH":
            filler = ([], rng.choice(EVAL_CONDITIONS + EVAL_MEDICATIONS).split())
        else:
            filler = ([], eval_code(fake, rng))
        before, target = filler
        template = rng.choice(EVAL_TEMPLATES[kind])
        head, tail = template.split("{x}")
        words = head.split() + before + target + tail.split()
        start = time.perf_counter()
        runs = pii_word_indices(words)
        times.append((time.perf_counter() - start) * 1000)
        masked = {i for a, b, _ in runs for i in range(a, b + 1)}
        offset = len(head.split()) + len(before)
        found[kind][0] += sum(1 for i in range(offset, offset + len(target)) if i in masked)
        found[kind][1] += len(target)
    fp = total = 0
    lines = (SLURP_DIR / "test.jsonl").read_text().splitlines()
    for line in lines[: max(n, 1000)]:
        words, labels = parse_slurp_annotation(_json.loads(line)["sentence_annotation"])
        start = time.perf_counter()
        runs = pii_word_indices(words)
        times.append((time.perf_counter() - start) * 1000)
        masked = {i for a, b, _ in runs for i in range(a, b + 1)}
        for i, label in enumerate(labels):
            if label == "O":
                total += 1
                fp += i in masked
    times.sort()
    return {
        "n": n,
        "recall": {kind: round(hit / max(1, t), 4) for kind, (hit, t) in found.items()},
        "words": {kind: t for kind, (_hit, t) in found.items()},
        "pii_free_words_masked": round(fp / max(1, total), 4),
        "pii_free_words": total,
        "ms_median": round(statistics.median(times), 2),
        "ms_p95": round(times[int(0.95 * (len(times) - 1))], 2),
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
