"""Learning from reviewers' corrections: what the recognizer keeps getting wrong, and how to score it.

``adaptation`` turns (hypothesis, corrected text) pairs into a candidate model version, an
:class:`~sottovoce.learning.adaptation.Adaptation` of decoding-time biasing (hotwords, initial prompt),
trimming of hallucinated trailing sentences, and phrase rewrite rules. ``scoring`` measures word error rate and the most frequent confusions the
same way for every candidate, so a new version is accepted only when it measurably helps.
"""
