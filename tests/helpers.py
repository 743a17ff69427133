"""Assertions shared by tests: what an instance holds, and raw byte scans of its data folder."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from sottovoce.db.models import Hypothesis, Job, Recording


def counts(services) -> dict:
    with services.sessions() as db:
        return {
            "recordings": db.scalar(select(func.count()).select_from(Recording)),
            "hypotheses": db.scalar(select(func.count()).select_from(Hypothesis)),
            "jobs": db.scalar(select(func.count()).select_from(Job)),
            "blobs": len(list(services.blobs.ids())),
        }


def files_containing(root: Path, needle: bytes) -> list[Path]:
    """Every file under root whose raw bytes contain needle (database, WAL, blobs, keys, temp)."""
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]
