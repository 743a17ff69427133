"""Find personal data (PII) in speech-recognizer output.

Recognizer text is lower case, has no punctuation and spells numbers out
("call five five five one two three four", "john at example dot com"), so
the stock Presidio recognizers, which look for "555-1234" and "john@x.com",
miss most of it. This module calls Presidio recognizers directly (no
``AnalyzerEngine``, no spaCy pipeline per call: that was ~25 ms a sentence),
custom ones for spoken forms next to the stock numeral ones:

* ``PHONE``, ``CREDIT_CARD``, ``ACCOUNT_NUMBER``: runs of spoken digits
  ("five five five", "oh", "double five", "twelve thirty four", numerals),
  typed by the nearest context word ("card", "account", "phone" ...) or, with
  no context, by length (Luhn-valid 13-19 digits = card, 7/10/11 = phone,
  other runs of 6+ digits = account/ID number).
* ``EMAIL``: "name at domain dot com" (and literal ``name@domain``).
* ``ADDRESS``: house number + street name + street type ("twelve elm
  street", "forty two main road apartment five"); postcodes after "zip".
* ``DATE_OF_BIRTH``: a date after "born", "date of birth", "birthday".
* ``PERSON``: a built-in gazetteer of first names and surnames and cue phrases
  ("my name is X", "call X", "mr X"); first names that are also common words
  ("will", "may", "mark") only count after a cue, and a word after a cue that
  is not in the WordNet lemma list shipped with the spaCy model ("email
  enalen") is taken for a name. A title ("mr", "dr") is part of the name.
  Names without a cue, and health terms, come from the token model
  (privacy/pii_model.py) in :func:`pii_word_indices`.

Generic dates and times ("tomorrow at five") are not PII here and are not
reported. Nothing is downloaded at run time: Presidio's e-mail/URL
recognizers are left out because they fetch the public-suffix list.

Public API: :func:`find_pii`, :func:`pii_word_indices`,
:func:`placeholder_text`, :class:`PiiSpan`, :data:`ENTITIES`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import cast

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, PhoneRecognizer

from sottovoce.privacy.dictionary import dictionary_words

ENTITIES = ("PERSON", "PHONE", "CREDIT_CARD", "ACCOUNT_NUMBER", "EMAIL", "ADDRESS", "DATE_OF_BIRTH", "ALPHANUMERIC_ID", "HEALTH")

# When two detections overlap, the more specific one wins the shared words.
_PRIORITY = {
    "EMAIL": 7,
    "CREDIT_CARD": 6,
    "DATE_OF_BIRTH": 5,
    "ADDRESS": 5,
    "PHONE": 4,
    "ACCOUNT_NUMBER": 3,
    "PERSON": 1,
}
# Presidio's stock entity names mapped onto ours.
_ENTITY_ALIASES = {"PHONE_NUMBER": "PHONE", "EMAIL_ADDRESS": "EMAIL"}
_MIN_SCORE = 0.4


@dataclass(frozen=True)
class PiiSpan:
    """A detected piece of personal data: ``text[start:end]`` is ``entity``."""

    start: int  # char offset in text
    end: int  # exclusive
    entity: str  # one of ENTITIES
    score: float


# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

_UNITS = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0", "nil": "0",
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9",
}
_TEENS = {
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
}
_TENS = {
    "twenty": "2", "thirty": "3", "forty": "4", "fourty": "4", "fifty": "5",
    "sixty": "6", "seventy": "7", "eighty": "8", "ninety": "9",
}
_MAGNITUDES = {"hundred": "00", "thousand": "000", "million": "000000"}
_REPEATS = {"double": 2, "triple": 3}
_DIGIT_SEPARATORS = {"dash", "hyphen", "-", "slash", "/"}
_ORDINALS = {
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth", "twentieth", "thirtieth",
}
_MONTHS = {
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
}
_NUMERAL = re.compile(r"^\(?\d[\d\-./()]*$")
_ORDINAL_NUMERAL = re.compile(r"^\d{1,2}(st|nd|rd|th)$")

# Context words that type a digit run; the nearest one before the run wins.
_CONTEXT = {
    "CREDIT_CARD": {
        "card", "cards", "visa", "mastercard", "amex", "credit", "debit", "cvv", "cvc",
        "expiry", "discover",
    },
    "PHONE": {
        "phone", "call", "calling", "ring", "dial", "cell", "mobile", "telephone", "text",
        "reach", "fax", "landline", "extension", "contact", "whatsapp", "callback",
    },
    "ACCOUNT_NUMBER": {
        "account", "acct", "routing", "sort", "iban", "swift", "member", "membership",
        "policy", "customer", "reference", "ref", "id", "identification", "social",
        "security", "ssn", "passport", "license", "licence", "pin", "patient", "insurance",
        "employee", "student", "confirmation", "booking", "tax", "national", "medicare",
        "medicaid", "claim", "invoice", "tracking", "serial", "loyalty", "bank",
        "code", "password", "passcode", "voter",
    },
    "ADDRESS": {"zip", "postcode", "postal", "zipcode"},
}
_GENERIC_NUMBER_CONTEXT = {"number", "numbers", "no", "digits", "is", "it's", "its"}
_CONTEXT_WINDOW = 8

_STREET_TYPES = {
    "street", "st", "road", "rd", "avenue", "ave", "lane", "ln", "drive", "dr", "boulevard",
    "blvd", "court", "ct", "place", "pl", "way", "terrace", "crescent", "close", "highway",
    "hwy", "parkway", "circle", "square", "trail", "row", "grove", "gardens", "mews",
    "walk", "alley", "loop", "pike", "expressway", "freeway",
}
_UNIT_WORDS = {"apartment", "apt", "unit", "suite", "flat", "floor", "room"}

_STOPWORDS = set(
    """a an the and or but if then so of to in on at by for with from up down out over
    under about into onto off as is are was were be been being am do does did have has had
    i me my mine we us our you your he him his she her it its they them their this that
    these those there here what which who whom whose when where why how all any some no not
    nor only own same too very can will just should would could may might must shall now
    please thanks thank hi hey hello yes yeah ok okay oh what's it's i'm i'll you're that's
    let's don't can't won't isn't also again next last new old one two three four five six
    seven eight nine ten today tomorrow tonight yesterday morning evening night week month
    year time set turn play stop start remind call text email send tell ask find show get
    give make put take check open close add remove read reply forward go come see look
    alarm timer music song news weather light lights volume list meeting event calendar
    message mail number phone address name me back later soon know""".split()
)

# Cue words directly before a name.
_STRONG_NAME_CUES = {
    "mr", "mrs", "ms", "miss", "mister", "missus", "dr", "doctor", "prof", "professor",
    "dear", "uncle", "aunt", "auntie", "cousin", "grandma", "grandpa", "sir", "madam",
    "named", "name's",
}
_NAME_INTRO = [("my", "name", "is"), ("name", "is"), ("this", "is"), ("i", "am"), ("i'm",), ("it's",)]
_VERB_NAME_CUES = {
    "call", "calling", "text", "message", "email", "mail", "tell", "ask", "remind",
    "invite", "meet", "meeting", "contact", "ping", "ring", "notify", "inform", "cc",
    "thank", "phone", "with", "from", "to", "and", "for", "hi", "hey", "hello", "dear",
    "wish", "visit", "visiting", "brother", "sister", "friend", "wife", "husband", "son",
    "daughter", "mom", "dad", "mother", "father", "boss", "colleague", "coworker",
}
_TITLES = {"mr", "mrs", "ms", "miss", "mister", "missus", "dr", "doctor", "prof", "professor", "sir"}
# Words that follow a first name but are not surnames ("tell sarah dinner is ready").
_NOT_SURNAME = {
    "dinner", "lunch", "breakfast", "meeting", "today", "tonight", "tomorrow", "morning",
    "evening", "afternoon", "night", "week", "weekend", "thanks", "please", "happy", "sorry",
    "asap", "now", "yesterday", "something", "everything", "nothing", "message", "text",
    "hello", "hi", "bye", "party", "time", "news", "update", "reminder", "note", "info",
}
# Cue words after which an ambiguous first name ("will", "mark") still counts.
_AMBIGUOUS_NAME_CUES = _STRONG_NAME_CUES | {
    "call", "text", "message", "email", "tell", "ask", "remind", "invite", "meet",
    "contact", "ping", "notify", "inform", "cc", "thank", "hi", "hey", "hello", "with",
    "brother", "sister", "friend", "wife", "husband", "son", "daughter", "boss", "colleague",
}
# Wake words, assistant names and well-known services are not people to protect.
_NOT_PEOPLE = {
    "alexa", "siri", "cortana", "google", "olly", "jarvis", "bixby", "facebook", "twitter",
    "youtube", "instagram", "tumblr", "spotify", "netflix", "amazon", "uber", "lyft", "gmail",
    "whatsapp", "skype", "zoom", "linkedin", "snapchat", "tiktok", "reddit", "pinterest",
    "ebay", "paypal", "walmart", "tesco", "samsung", "apple", "microsoft", "comcast", "verizon",
    "bbc", "cnn", "pandora", "itunes", "hulu", "yelp", "starbucks", "mcdonalds", "dominos",
}
# An unknown word after these counts as a name only in the given company:
# "email to X", "emails from X", "lunch with X" (but not "train to X").
_WEAK_NAME_CUES = {
    "to": {
        "email", "mail", "message", "text", "reply", "write", "talk", "speak", "send", "tweet",
        "letter", "note", "through", "over", "transfer", "introduce", "hi", "hello", "married",
    },
    "from": {
        "email", "emails", "mail", "message", "messages", "text", "texts", "call", "calls",
        "anything", "news", "hear", "heard",
    },
    "with": {
        "meeting", "lunch", "dinner", "appointment", "call", "chat", "coffee", "date", "drinks",
        "meet", "met", "spoke", "speak", "talk", "talked", "speaking", "went", "working", "married",
    },
    "for": {"reminder", "gift", "present", "birthday", "appointment", "calling", "asking", "looking", "waiting"},
    "and": set(),
}

# A compact first-name gazetteer (common US/UK/international given names).
_FIRST_NAMES = set(
    """aaron abby abigail adam adrian aiden aisha alan albert alex alexander alexandra alexis
    alfred alice alicia alison allison alyssa amanda amelia amir amy ana andre andrea andrew
    andy angela angelica anita ann anna anne annie anthony antonio arjun arnold arthur ashley
    audrey ava barbara barry beatrice becky ben benjamin bernard beth betty beverly bianca
    billy blake bonnie brad bradley brandon brenda brendan brett brian bridget brittany bruce
    bruno bryan caleb cameron camila carl carla carlos carmen carol caroline carolyn
    cassandra catherine cathy cecilia charles charlie charlotte chelsea cheryl chloe chris
    christina christine christopher cindy claire clara claudia colin connor courtney craig
    cynthia daisy dale dan daniel daniela danielle danny darren dave david debbie deborah
    debra denise dennis derek diana diane diego dominic donald donna doris dorothy doug
    douglas dylan eddie edgar edith edward eileen elaine eleanor elena eli elijah elizabeth
    ella ellen ellie emily emma eric erica erik erin ethan eugene evan evelyn fatima felix
    fernando fiona frances francesca francis francisco fred freddie frederick gabriel
    gabriella gail gareth gary gavin george georgia gerald gina giovanni gloria gordon greg
    gregory hailey hannah harold harry hassan heidi helen henry howard hugh hugo ian irene
    isaac isabel isabella isaiah ivan jackie jackson jacob jacqueline jake james jamie jane
    janet janice jared jasmine jason javier jeff jeffrey jenna jennifer jenny jeremy jerry
    jesse jessica jesus jill jim jimmy joan joanna joanne joe joel johanna john johnny jon
    jonathan jose joseph josh joshua joyce juan judith judy julia julian julie justin kaitlyn
    karen karl kate katherine kathleen kathryn kathy katie katrina kayla keith kelly ken
    kenneth kevin kim kimberly kyle laura lauren leah leo leon leonard leslie liam linda lisa
    logan lois lorenzo lori louis louise lucas lucia lucy luis luke lydia madison maggie
    malcolm mandy manuel marcus margaret maria marie marilyn mario marion marissa martha
    martin mary matt matthew maureen megan melanie melissa mia michael michelle miguel mike
    mohammed muhammad molly monica nancy naomi natalie nathan neil nicholas nicola nicole
    nina noah norman oliver olivia omar oscar owen pamela patricia patrick paul paula pedro
    peggy peter philip phillip phyllis priya rachel rafael rahul ralph randy raj rajesh raju
    ramon raymond rebecca regina renee ricardo richard rick ricky rita robert roberto robin
    rodney roger ronald ronnie rosa rose ross roy russell ruth ryan sally sam samantha samuel
    sandra sara sarah scott sean sergio seth shannon sharon shawn sheila shirley simon sofia
    sophia sophie stacy stanley stephanie stephen steve steven stuart susan suzanne sylvia
    tamara tammy tanya tara teresa terry theresa thomas tiffany tim timothy tina todd tom
    tommy tony tracy travis trevor troy tyler valerie vanessa veronica vicky victor vincent
    virginia vivian walter wanda wayne wendy william willie xavier yasmin yolanda yvonne
    zachary zoe abdul ahmed ali amit anil deepak ganesh gita kavya lakshmi mei ming nikhil
    pooja ravi rohan sanjay sunil wei yuki hiroshi kenji akira sven lars ingrid olga igor
    dmitri sergei natasha pierre jacques francois amelie hans klaus jurgen giuseppe marco
    paolo luca matteo chiara sofia pablo carmen lucia mateo santiago valentina ines
    jack bob tom ted ned ed al ben sam max lee jay ray dean drew gene jean nick pete rob
    don pat sue kay dee emilia allen casey jen jenn jenna susie derrick clint britney brittney
    barack angelina brad christie jo joanne leonardo donald elvis bradley bobby dwayne denzel
    tyrone jamal darnell latoya keisha shanice deshawn marquis andre terrell ebony tanisha
    alan allan ashton brent bryce cody colton dustin garrett jace jaden
    jaxon kai kaden landon levi luca marco mateo nolan parker preston reid riley rowan
    ryder sawyer silas tristan wyatt zane addison alexa aubrey avery brooklyn claire delilah
    eliana emery everly gianna hadley harper hazel isla jade josephine kinsley layla
    leilani lila luna mackenzie madelyn maya mila naomi nevaeh nora paisley peyton piper quinn
    reagan savannah scarlett serenity skylar stella valentina willow ximena zoey aurora
    bella callie carly cora eden elise eloise esme faye freya georgina hollie imogen isobel
    jess kirsty lacey lola maisie millie nell orla phoebe poppy rosie tilly
    aidan callum declan eoin fraser harvey jamie kieran lewis niall oisin rory ross seamus
    alfie archie ellis finley reggie ronnie stanley teddy toby vincent""".split()
)
# Given names that are also everyday words; they need a cue to count.
_AMBIGUOUS_NAMES = {
    "will", "may", "june", "april", "august", "mark", "bill", "joy", "rose", "grace",
    "hope", "faith", "art", "sue", "pat", "rob", "don", "dawn", "eve", "guy", "ray",
    "sky", "summer", "amber", "ruby", "jade", "crystal", "violet", "lily", "daisy", "iris",
    "holly", "ivy", "cliff", "dean", "drew", "frank", "gene", "jean", "chase", "chance",
    "hunter", "mason", "carter", "cooper", "taylor", "jordan", "austin", "brook", "paris",
    "sydney", "victoria", "angel", "destiny", "harmony", "honey", "star", "sunny", "rich",
    "penny", "sandy", "wade", "miles", "max", "jack", "buck", "jay", "kay", "lee", "king",
    "rusty", "sage", "river", "autumn", "winter", "heather", "ginger", "candy", "misty",
    "sterling", "royal", "duke", "prince", "earl", "major", "reed", "bishop", "christian",
    "pearl", "melody", "trinity", "bay", "bud", "norm", "al", "ed", "dee", "robin",
}
_SURNAMES = set(
    """smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez
    lopez gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson
    white harris sanchez clark ramirez lewis robinson walker young allen king wright scott
    torres nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter
    roberts gomez phillips evans turner diaz parker cruz edwards collins reyes stewart
    morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed
    kelly howard ramos kim cox ward richardson watson brooks chavez wood james bennett gray
    mendoza ruiz hughes price alvarez castillo sanders patel myers long ross foster jimenez
    powell jenkins perry russell sullivan bell coleman butler henderson barnes gonzales
    fisher vasquez simmons romero jordan patterson alexander hamilton graham reynolds
    griffin wallace moreno west cole hayes bryant herrera gibson ellis tran medina aguilar
    stevens murray ford castro marshall owens harrison fernandez mcdonald woods washington
    kennedy wells vargas henry chen freeman webb tucker guzman burns crawford olson simpson
    porter hunter gordon mendez silva shaw snyder mason dixon munoz hunt hicks holmes palmer
    wagner black robertson boyd rose stone salazar fox warren mills meyer rice schmidt
    garza daniels ferguson nichols stephens soto weaver ryan gardner payne grant dunn
    kelley spencer hawkins arnold pierce vazquez hansen peters santos hart bradley knight
    elliott cunningham duncan armstrong hudson carroll lane riley andrews alvarado ray
    delgado berry perkins hoffman johnston matthews pena richards willis carpenter lawrence
    sandoval doe fields mars singh kumar sharma gupta khan ali wang li zhang liu yang huang
    zhao wu zhou xu sun ma zhu hu guo lin tanaka suzuki sato watanabe muller schneider
    fischer weber becker wagner schulz dubois laurent bernard rossi russo ferrari esposito
    bianchi romano colombo novak kowalski nowak ivanov petrov smirnov o'brien obrien
    mccarthy oconnor walsh byrne doyle kelly""".split()
)


# --------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Tok:
    start: int
    end: int
    norm: str  # lower case, edge punctuation stripped, possessive 's removed
    possessive: bool = False


_TOKEN_RE = re.compile(r"\S+")
_EDGE_PUNCT = ".,!?;:\"()[]{}<>"


def _tokens(text: str) -> list[_Tok]:
    toks = []
    for m in _TOKEN_RE.finditer(text):
        norm = m.group().lower().strip(_EDGE_PUNCT)
        possessive = norm.endswith("'s") and len(norm) > 2
        if possessive:
            norm = norm[:-2]
        toks.append(_Tok(m.start(), m.end(), norm, possessive))
    return toks


def _result(entity: str, toks: list[_Tok], i: int, j: int, score: float) -> RecognizerResult:
    """RecognizerResult covering tokens i..j inclusive."""
    return RecognizerResult(entity_type=entity, start=toks[i].start, end=toks[j].end, score=score)


# --------------------------------------------------------------------------
# Spoken digit runs: PHONE / CREDIT_CARD / ACCOUNT_NUMBER (/ zip -> ADDRESS)
# --------------------------------------------------------------------------

def _number_item(toks: list[_Tok], i: int) -> tuple[str, int] | None:
    """Digits spelled by the item starting at token i, and tokens consumed."""
    w = toks[i].norm
    nxt = toks[i + 1].norm if i + 1 < len(toks) else ""
    if w in _REPEATS and nxt in _UNITS:
        return _UNITS[nxt] * _REPEATS[w], 2
    if w in _TENS:
        if nxt in _UNITS and _UNITS[nxt] != "0" and nxt not in ("o", "oh"):
            return _TENS[w] + _UNITS[nxt], 2
        return _TENS[w] + "0", 1
    if w in _TEENS:
        return _TEENS[w], 1
    if w in _UNITS:
        return _UNITS[w], 1
    if w in _MAGNITUDES and i > 0:
        return _MAGNITUDES[w], 1
    if _NUMERAL.match(w):
        digits = re.sub(r"\D", "", w)
        return (digits, 1) if digits else None
    return None


@dataclass(frozen=True)
class _DigitRun:
    first: int  # token index
    last: int  # inclusive
    digits: str
    cardinal: bool  # contains hundred/thousand: more likely a quantity than an ID


def _digit_runs(toks: list[_Tok]) -> list[_DigitRun]:
    runs = []
    i = 0
    while i < len(toks):
        item = _number_item(toks, i)
        if item is None or toks[i].norm in _MAGNITUDES:
            i += 1
            continue
        first, digits, real_digit, cardinal = i, "", False, False
        last = i
        while i < len(toks):
            item = _number_item(toks, i)
            if item is None:
                # allow "five five five dash one two" style separators
                if toks[i].norm in _DIGIT_SEPARATORS and i + 1 < len(toks) and _number_item(toks, i + 1):
                    i += 1
                    continue
                break
            value, used = item
            if toks[i].norm not in ("oh", "o"):
                real_digit = True
            cardinal |= toks[i].norm in _MAGNITUDES
            digits += value
            last = i + used - 1
            i += used
        # "oh" alone is an interjection, not a zero
        if real_digit:
            runs.append(_DigitRun(first, last, digits, cardinal))
    return runs


def _luhn_ok(digits: str) -> bool:
    total = 0
    for k, ch in enumerate(reversed(digits)):
        d = int(ch)
        if k % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _context_entity(toks: list[_Tok], run: _DigitRun) -> tuple[str | None, bool]:
    """(entity named by the nearest context word, whether a generic 'number' cue is near)."""
    generic = False
    for k in range(run.first - 1, max(-1, run.first - 1 - _CONTEXT_WINDOW), -1):
        w = toks[k].norm
        if w in ("extension", "ext") and k == run.first - 1:
            return "EXTENSION", True
        if w == "code" and k > 0 and toks[k - 1].norm in _CONTEXT["ADDRESS"]:
            return "ADDRESS", True  # "zip code" is not an access code
        for entity, words in _CONTEXT.items():
            if w in words:
                return entity, True
        generic |= w in _GENERIC_NUMBER_CONTEXT
    return None, generic


def _classify_run(toks: list[_Tok], run: _DigitRun) -> tuple[str, float] | None:
    n = len(run.digits)
    entity, cued = _context_entity(toks, run)
    if entity == "CREDIT_CARD" and n >= 3:
        return "CREDIT_CARD", 0.9
    if entity == "PHONE" and n >= 5:
        return "PHONE", 0.9
    if entity == "EXTENSION" and n >= 2:
        return "PHONE", 0.8
    if entity == "ACCOUNT_NUMBER" and n >= 3:
        return "ACCOUNT_NUMBER", 0.85
    if entity == "ADDRESS" and n >= 4:
        return "ADDRESS", 0.85
    # No specific cue: decide by shape. Quantities ("two thousand five hundred")
    # need to be long before they look like identifiers.
    if run.cardinal and n < 10:
        return None
    if 13 <= n <= 19 and _luhn_ok(run.digits):
        return "CREDIT_CARD", 0.8
    if n in (7, 10, 11) or (n == 12 and run.digits.startswith("44")):
        return "PHONE", 0.75 if cued else 0.6
    if n >= 6 or (cued and n >= 5):
        return "ACCOUNT_NUMBER", 0.6
    return None


class SpokenDigitsRecognizer(EntityRecognizer):
    """Phone, card and account numbers read out digit by digit."""

    ENTITIES = ["PHONE", "CREDIT_CARD", "ACCOUNT_NUMBER", "ADDRESS"]

    def __init__(self) -> None:
        super().__init__(supported_entities=self.ENTITIES, name="SpokenDigitsRecognizer")

    def load(self) -> None:  # nothing to load
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        toks = _tokens(text)
        results: list[RecognizerResult] = []
        for run in _digit_runs(toks):
            found = _classify_run(toks, run)
            if found and found[0] in entities:
                results.append(_result(found[0], toks, run.first, run.last, found[1]))
        return results


# --------------------------------------------------------------------------
# E-mail addresses, spoken or written
# --------------------------------------------------------------------------

_NUMBER_WORDS_RE = "|".join(sorted(set(_UNITS) | set(_TEENS) | set(_TENS) | set(_REPEATS), key=len, reverse=True))
_LOCAL_WORD = r"[a-z0-9][a-z0-9._+\-]*"
_JOINER = r"(?:\s+(?:dot|underscore|dash|hyphen|period|point)\s+|[._\-])"
_DOMAIN_WORD = r"[a-z0-9][a-z0-9\-]*"
# Spoken top-level domains; written ones (".xyz") may be anything.
_SPOKEN_TLDS = (
    "com|org|net|edu|gov|io|co|uk|us|de|fr|es|it|nl|be|ch|at|se|no|dk|fi|ie|pl|pt|ca|au|nz|"
    "in|jp|cn|br|mx|za|info|biz|me|ai|app|dev|email|online|tech|eu"
)
# Words that cannot be the local part ("reach me at john at x dot com").
_NOT_LOCAL = "me|us|him|her|them|you|it|is|be|to|at|from|email|mail|address|and|or|the"
_EMAIL_RE = re.compile(
    rf"(?<![\w@.])(?!(?:{_NOT_LOCAL})\b)"
    rf"{_LOCAL_WORD}(?:{_JOINER}{_LOCAL_WORD})*(?:\s+(?:{_NUMBER_WORDS_RE})\b)*"
    rf"(?:\s+at\s+|\s*@\s*)"
    rf"{_DOMAIN_WORD}(?:(?:\s+dot\s+|\.){_DOMAIN_WORD})*"
    rf"(?:\s+dot\s+(?:{_SPOKEN_TLDS})|\.[a-z]{{2,6}})\b"
    rf"(?!\s+at\s|\s*@)",
    re.IGNORECASE,
)


class SpokenEmailRecognizer(EntityRecognizer):
    """'john dot smith at example dot com', 'jack@gmail dot com', 'a@b.com'."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["EMAIL"], name="SpokenEmailRecognizer")

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        if "EMAIL" not in entities:
            return []
        results: list[RecognizerResult] = []
        for m in _EMAIL_RE.finditer(text):
            results.append(RecognizerResult("EMAIL", m.start(), m.end(), 0.95))
        return results


# --------------------------------------------------------------------------
# Street addresses
# --------------------------------------------------------------------------

def _is_number_token(tok: _Tok) -> bool:
    return (
        tok.norm in _UNITS or tok.norm in _TEENS or tok.norm in _TENS
        or tok.norm in _MAGNITUDES or bool(_NUMERAL.match(tok.norm))
    )


def _is_street_name_word(tok: _Tok) -> bool:
    w = tok.norm
    return (
        w.isalpha() or _ORDINAL_NUMERAL.match(w) is not None
    ) and w not in _STOPWORDS and w not in _STREET_TYPES and w not in _UNIT_WORDS


def _house_number_end(toks: list[_Tok], i: int) -> int | None:
    """Last token index of a house number starting at i ("one hundred and five", "221 b")."""
    if not _is_number_token(toks[i]) or toks[i].norm in ("oh", "o") or toks[i].norm in _MAGNITUDES:
        return None
    j = i
    while j + 1 < len(toks) and j - i < 6:
        nxt = toks[j + 1]
        if _is_number_token(nxt):
            j += 1
        elif nxt.norm == "and" and j + 2 < len(toks) and _is_number_token(toks[j + 2]) and toks[j].norm in _MAGNITUDES:
            j += 2
        else:
            break
    # optional single-letter suffix: "two two one b baker street"
    if j + 1 < len(toks) and len(toks[j + 1].norm) == 1 and toks[j + 1].norm in "abcdefgh":
        j += 1
    return j


def _unit_end(toks: list[_Tok], k: int) -> int:
    """Extend past 'apartment five' / 'unit twelve b' right after a street type at k."""
    def unit_part(tok: _Tok) -> bool:  # "five", "12", "b"
        return _is_number_token(tok) or (len(tok.norm) == 1 and tok.norm.isalpha())

    if k + 2 < len(toks) and toks[k + 1].norm in _UNIT_WORDS:
        j = k + 2
        if toks[j].norm == "number" and j + 1 < len(toks):
            j += 1
        if unit_part(toks[j]):
            while j + 1 < len(toks) and unit_part(toks[j + 1]):
                j += 1
            return j
    return k


class StreetAddressRecognizer(EntityRecognizer):
    """House number + one to three name words + a street type."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["ADDRESS"], name="StreetAddressRecognizer")

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        if "ADDRESS" not in entities:
            return []
        toks = _tokens(text)
        results: list[RecognizerResult] = []
        i = 0
        while i < len(toks):
            end = self._match_at(toks, i)
            if end is None:
                i += 1
                continue
            results.append(_result("ADDRESS", toks, i, end, 0.9))
            i = end + 1
        return results

    @staticmethod
    def _match_at(toks: list[_Tok], i: int) -> int | None:
        if i > 0 and _is_number_token(toks[i - 1]) and toks[i - 1].norm not in ("oh", "o"):
            return None  # only start at the beginning of a number phrase
        num_end = _house_number_end(toks, i)
        if num_end is None:
            return None
        for n_name in (1, 2, 3):
            k = num_end + n_name + 1  # index of the street type
            if k >= len(toks):
                break
            if not _is_street_name_word(toks[num_end + n_name]):
                break
            if toks[k].norm in _STREET_TYPES:
                return _unit_end(toks, k)
        return None


# --------------------------------------------------------------------------
# Dates of birth
# --------------------------------------------------------------------------

_DOB_FILLER = {"is", "was", "on", "in", "the", "of", ":", "it's", "its", "date", "day"}
_DATE_WORDS = _MONTHS | _ORDINALS | set(_UNITS) | set(_TEENS) | set(_TENS) | {
    "hundred", "thousand", "first", "second", "third",
}
_DATE_JOINERS = {"of", "the", "and", "slash", "/", "-", "dash"}


def _is_date_word(tok: _Tok) -> bool:
    w = tok.norm
    if w in _DATE_WORDS or _ORDINAL_NUMERAL.match(w) or _NUMERAL.match(w):
        return True
    # compound ordinals: "twenty-third", "thirty first"
    return "-" in w and all(p in _DATE_WORDS for p in w.split("-"))


def _dob_cue_end(toks: list[_Tok], i: int) -> int | None:
    """Index of the last cue token if a DOB cue starts at i."""
    w = toks[i].norm
    nxt = toks[i + 1].norm if i + 1 < len(toks) else ""
    nxt2 = toks[i + 2].norm if i + 2 < len(toks) else ""
    if w in ("born", "dob", "birthday", "birthdate"):
        return i
    if w == "date" and nxt == "of" and nxt2 == "birth":
        return i + 2
    if w == "birth" and nxt == "date":
        return i + 1
    if w == "d" and nxt == "o" and nxt2 == "b":
        return i + 2
    return None


class DateOfBirthRecognizer(EntityRecognizer):
    """A date spoken after 'born', 'date of birth', 'birthday', 'd o b'."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["DATE_OF_BIRTH"], name="DateOfBirthRecognizer")

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        if "DATE_OF_BIRTH" not in entities:
            return []
        toks = _tokens(text)
        results: list[RecognizerResult] = []
        for i in range(len(toks)):
            cue_end = _dob_cue_end(toks, i)
            if cue_end is None:
                continue
            j = cue_end + 1
            while j < len(toks) and j - cue_end <= 3 and toks[j].norm in _DOB_FILLER and not _is_date_word(toks[j]):
                j += 1
            first = last = None
            k = j
            while k < len(toks) and k - j < 12:
                if _is_date_word(toks[k]):
                    first = k if first is None else first
                    last = k
                elif not (toks[k].norm in _DATE_JOINERS and first is not None):
                    break
                k += 1
            if first is not None and last is not None:  # set together
                results.append(_result("DATE_OF_BIRTH", toks, first, last, 0.9))
        return results


# --------------------------------------------------------------------------
# Person names
# --------------------------------------------------------------------------

def _name_cue(toks: list[_Tok], i: int) -> str | None:
    """'intro' / 'strong' / 'verb' when a cue for a name ends right before token i."""
    prev = toks[i - 1].norm if i > 0 else ""
    for pattern in _NAME_INTRO:
        n = len(pattern)
        if i >= n and tuple(t.norm for t in toks[i - n : i]) == pattern:
            return "intro"
    if prev in _STRONG_NAME_CUES:
        return "strong"
    if prev in _VERB_NAME_CUES:
        return "verb"
    return None


def _could_be_name(w: str) -> bool:
    return w.isalpha() and len(w) > 1 and w not in _STOPWORDS and w not in _NOT_PEOPLE


# Words after which a possessive unknown word is probably a person ("enalen's birthday").
_POSSESSED = {
    "email", "emails", "birthday", "bday", "party", "wedding", "number", "phone", "address",
    "house", "place", "message", "messages", "graduation", "anniversary", "funeral", "car",
    "meeting", "call", "calls", "mail", "contact", "office", "home", "flight",
}


_SUFFIXES = (("ies", "y"), ("ied", "y"), ("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"), ("es", ""), ("s", ""), ("er", ""), ("ly", ""))


class _Lexicon:
    """Everyday-word knowledge: the WordNet lemmas shipped with the spaCy model's lemmatizer, and
    a few inflection rules ("running" -> "run"). A word that is not an English dictionary word, in
    a slot where a name is expected, is most likely a name. No spaCy pipeline runs per call (it
    cost ~25 ms a sentence here); only its lemma table, loaded once, is used."""

    def __init__(self, toks: list[_Tok]) -> None:
        self.words = dictionary_words()
        self.toks = toks

    def known(self, k: int) -> bool:
        """Is token k an ordinary English word (or a stopword)?"""
        w = self.toks[k].norm
        if w in _STOPWORDS or w in self.words:
            return True
        return any(w.endswith(end) and len(w) - len(end) >= 3 and w[: len(w) - len(end)] + add in self.words for end, add in _SUFFIXES)


def _cue_expects_name(toks: list[_Tok], i: int) -> bool:
    """Is the cue before token i one after which an unknown word is a name?"""
    prev = toks[i - 1].norm if i > 0 else ""
    if prev not in _WEAK_NAME_CUES:
        return True
    before = {t.norm for t in toks[max(0, i - 4) : i - 1]}
    return bool(before & _WEAK_NAME_CUES[prev])


class NameGazetteerRecognizer(EntityRecognizer):
    """First names from a built-in list, surnames after them, names after cues."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["PERSON"], name="NameGazetteerRecognizer")

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        if "PERSON" not in entities:
            return []
        toks = _tokens(text)
        lex = _Lexicon(toks)
        results: list[RecognizerResult] = []
        i = 0
        while i < len(toks):
            found = self._name_at(toks, i, lex)
            if found is None:
                i += 1
                continue
            end, score, first = found
            results.append(_result("PERSON", toks, first, end, score))
            i = end + 1
        return results

    @staticmethod
    def _name_at(toks: list[_Tok], i: int, lex: _Lexicon) -> tuple[int, float, int] | None:
        """(last token, score, first token incl. title) of a name starting at i."""
        w = toks[i].norm
        if w in _NOT_PEOPLE or not w.isalpha():
            return None
        cue = _name_cue(toks, i)
        known = w in _FIRST_NAMES or w in _AMBIGUOUS_NAMES
        ambiguous = w in _AMBIGUOUS_NAMES or w in _STOPWORDS or w in _MONTHS
        if known and not ambiguous:
            score = 0.8
        elif known and (
            cue in ("intro", "strong")
            or (cue == "verb" and toks[i - 1].norm in _AMBIGUOUS_NAME_CUES)
            or (toks[i - 1].norm in _WEAK_NAME_CUES and _cue_expects_name(toks, i))
            or (toks[i].possessive and i + 1 < len(toks) and toks[i + 1].norm in _POSSESSED)
        ):
            score = 0.7  # "tell will ...", "email from mark", "mark's email"
        elif cue == "strong" and _could_be_name(w):
            score = 0.6  # "mr okafor", "doctor nakamura"
        elif cue == "intro" and i >= 2 and (toks[i - 2].norm, toks[i - 1].norm) == ("name", "is") and _could_be_name(w):
            score = 0.6  # "my name is tendai"
        elif w in _SURNAMES and not ambiguous and i + 1 < len(toks) and toks[i + 1].norm in _SURNAMES:
            score = 0.5
        elif _could_be_name(w) and len(w) > 2 and not lex.known(i) and (
            (cue is not None and _cue_expects_name(toks, i))
            or (toks[i].possessive and i + 1 < len(toks) and toks[i + 1].norm in _POSSESSED)
        ):
            score = 0.55  # "email enalen", "reveca's birthday": not a dictionary word
        else:
            return None
        # Extend over a following surname / second given name; a possessive
        # ("susan's") ends the name. Surnames that are dictionary words ("tom hanks") are left to
        # the token model (privacy/pii_model.py), which runs after the rules.
        end = i
        while end + 1 < len(toks) and end - i < 2 and not toks[end].possessive:
            nxt = toks[end + 1].norm
            if nxt in _NOT_PEOPLE or nxt in _STOPWORDS or nxt in _MONTHS or not nxt.isalpha():
                break
            if nxt in _POSSESSED or nxt in _NOT_SURNAME:
                break
            if (
                nxt in _SURNAMES
                or (nxt in _FIRST_NAMES and nxt not in _AMBIGUOUS_NAMES)
                or (len(nxt) > 2 and not lex.known(end + 1))
            ):
                end += 1
            else:
                break
        # A title belongs to the name: "mr richards", "dr smith".
        if i > 0 and toks[i - 1].norm in _TITLES:
            return end, score, i - 1
        return end, score, i





# --------------------------------------------------------------------------
# Engine and public API
# --------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def recognizers() -> tuple[EntityRecognizer, ...]:
    """The rule recognizers, built once. Presidio's stock recognizers catch numerals ("4111 1111
    ...", "555-123-4567"); both work offline. They are called directly, not through Presidio's
    ``AnalyzerEngine``, whose spaCy pipeline was most of the detector's time."""
    return (
        CreditCardRecognizer(),
        PhoneRecognizer(),
        SpokenDigitsRecognizer(),
        SpokenEmailRecognizer(),
        StreetAddressRecognizer(),
        DateOfBirthRecognizer(),
        NameGazetteerRecognizer(),
    )


# The recognizers here take no spaCy artifacts (None at run time; typed as Presidio declares it).
_NO_NLP = cast(NlpArtifacts, None)
_REQUESTED = ["PERSON", "PHONE_NUMBER", "CREDIT_CARD", "PHONE", "ACCOUNT_NUMBER", "EMAIL", "ADDRESS", "DATE_OF_BIRTH"]


def find_pii(text: str) -> list[PiiSpan]:
    """PII spans found by the rules in ``text``: whole words, merged, non-overlapping, sorted.

    Where detections overlap, each word goes to the more specific entity
    (e-mail over person, and so on); adjacent words with the same entity form
    one span.
    """
    if not text.strip():
        return []
    results = [r for rec in recognizers() for r in rec.analyze(text, _REQUESTED, _NO_NLP) if r.score >= _MIN_SCORE]
    toks = _tokens(text)
    best: list[tuple[int, float, str] | None] = [None] * len(toks)
    for r in results:
        entity = _ENTITY_ALIASES.get(r.entity_type, r.entity_type)
        start, end = r.start, r.end
        rank = (_PRIORITY[entity], r.score, entity)
        for k, t in enumerate(toks):
            held = best[k]
            if t.start < end and t.end > start and (held is None or rank[:2] > held[:2]):
                best[k] = rank
    spans: list[PiiSpan] = []
    k = 0
    while k < len(toks):
        here = best[k]
        if here is None:
            k += 1
            continue
        entity, score, j = here[2], here[1], k
        while j + 1 < len(toks) and (following := best[j + 1]) is not None and following[2] == entity:
            j += 1
            score = max(score, following[1])
        spans.append(PiiSpan(toks[k].start, toks[j].end, entity, round(float(score), 3)))
        k = j + 1
    return spans


_CUE_WORDS = frozenset().union(*_CONTEXT.values(), _GENERIC_NUMBER_CONTEXT, _STREET_TYPES, _UNIT_WORDS, _STOPWORDS)


def pii_word_indices(words: list[str]) -> list[tuple[int, int, str]]:
    """PII as (first_word, last_word_inclusive, entity) over ``" ".join(words)``.

    The rules above come first; then alphanumeric codes (privacy/alnum_ids.py) and the token
    model (privacy/pii_model.py: names without a cue, health) label the words still unlabelled.
    """
    from sottovoce.privacy.alnum_ids import alnum_runs
    from sottovoce.privacy.pii_model import model_runs

    offsets = []
    pos = 0
    for w in words:
        offsets.append((pos, pos + len(w)))
        pos += len(w) + 1
    labels: list[str | None] = [None] * len(words)
    for span in find_pii(" ".join(words)):
        for k, (s, e) in enumerate(offsets):
            if s < span.end and e > span.start:
                labels[k] = span.entity
    for first, last, entity in alnum_runs(words):
        for k in range(first, last + 1):
            if labels[k] is None:
                labels[k] = entity
    for first, last, entity in model_runs(words):
        for k in range(first, last + 1):
            # The rules' own cue words ("serial", "card", "street") name a kind; they are not one.
            if labels[k] is None and _tokens(words[k])[:1] and _tokens(words[k])[0].norm not in _CUE_WORDS:
                labels[k] = entity
    out: list[tuple[int, int, str]] = []
    for k, label in enumerate(labels):
        if label is None:
            continue
        if out and out[-1][1] == k - 1 and out[-1][2] == label:
            out[-1] = (out[-1][0], k, label)
        else:
            out.append((k, k, label))
    return out


def placeholder_text(words: list[str]) -> tuple[list[str], list[tuple[int, int, str]]]:
    """Words with each PII run replaced by one "[ENTITY]" token, plus the spans."""
    spans = pii_word_indices(words)
    out: list[str] = []
    k = 0
    for first, last, entity in spans:
        out.extend(words[k:first])
        out.append(f"[{entity}]")
        k = last + 1
    out.extend(words[k:])
    return out, spans
