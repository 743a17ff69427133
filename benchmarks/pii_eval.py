"""PII evaluation on text the detectors were not shaped on.

Sections (``--only`` picks some; all by default):

* ``known``: the account's own identifiers (privacy/known_ids.py). Random serials, e-mails and
  holder names from Faker (several locales), said the ways people spell codes (digit words,
  letter names, "double", dashes, numerals, run-together), with simulated recognizer errors (one
  character substituted or dropped, "n" heard as "and"), inside SLURP commands. Reports token
  recall per identifier kind, the share of SLURP words (no identifier in them) masked when every
  sentence is checked against a random account's identifiers, and latency.

Reproduce: ``python benchmarks/pii_eval.py [--only known] [--n 2000] [--json]``.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=["known"], help="sections to run (default: all)")
    parser.add_argument("--n", type=int, default=3000, help="utterances per section")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sections = args.only or ["known"]
    out = {}
    if "known" in sections:
        out["known"] = known_section(args.n)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
