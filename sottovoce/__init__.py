"""sottovoce: privacy-first human review of speech recognition.

Read docs/design.md for the flows and the privacy invariants; the package layout follows them:
ingest (recordings/) -> transcribe (asr/) -> sample and review (review/) -> de-identify (privacy/)
-> learn (learning/), with every staff read recorded by audit.py.
"""

__version__ = "0.1.0"
