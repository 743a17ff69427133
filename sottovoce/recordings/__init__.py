"""Recordings: ingest (ingest.py), the stored form and reading it back (store.py)."""
