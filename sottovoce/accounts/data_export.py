"""Export everything held about one account as a zip, streamed: the dashboard's "download
everything" and `sottovoce accounts export ID --out FILE.zip`.

    README.txt          what the files are
    data.json           all data held, decrypted: account, consent and its history, devices,
                        deletion receipts, events about the account, and per recording its
                        metadata, every transcript (words, times, confidences), every human listen
                        (date and purpose), reviewers' corrected transcripts
    audio/<id>.wav      each recording's original audio (16 kHz mono PCM WAV)

Streaming: the zip is written to an in-memory sink that is drained after every piece (zipfile
writes data descriptors when its output cannot seek), recordings are read in batches of
``BATCH`` with a fresh session each, and data.json is written entry by entry. Memory stays flat
whatever the number of recordings (benchmarks/export_bench.py). Nothing touches the disk on the
server: an export is plaintext.

Starting an export is audited (``account.exported``) before the first byte leaves.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.accounts.dashboard import account_summary, human_listens
from sottovoce.accounts.deletion import receipt_dict, receipts_of
from sottovoce.core.audio import from_pcm16, to_wav
from sottovoce.core.audit import Actor
from sottovoce.core.crypto import open_sealed
from sottovoce.core.errors import NotFound
from sottovoce.core.services import Services
from sottovoce.db.models import (
    Account,
    Adjudication,
    Annotation,
    AuditEvent,
    ConsentChange,
    Device,
    GoldReference,
    Hypothesis,
    Recording,
)
from sottovoce.db.types import utcnow
from sottovoce.recordings.store import AUDIO, HYPOTHESIS, hypothesis_labels

FORMAT = "sottovoce-export-v1"
BATCH = 100
FLUSH_AT = 256 * 1024
README = """sottovoce export ({format})

data.json        everything sottovoce holds about your account, decrypted:
                 account, consent switches and their history, devices, deletion receipts,
                 events about your account, and for each recording: when and from which device,
                 every transcript with word times and confidences, each time a person listened
                 (date and purpose; reviewers are never named), and reviewers' corrections.
audio/<id>.wav   the original audio of each recording (16 kHz mono WAV); <id> matches
                 "id" in data.json.
"""


class _Sink:
    """A write-only, non-seekable file: zipfile appends, the generator drains."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:  # part of zipfile's writable-file protocol; ZipFile never closes a file it was handed
        pass

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        self.size = 0
        return data


def start_export(services: Services, db: Session, account_id: str, actor: Actor, channel: str) -> tuple[str, Iterator[bytes]]:
    """Check the account, audit the export (fail closed), and return (file name, chunk iterator)."""
    account = db.get(Account, account_id)
    if account is None:
        raise NotFound("account")
    services.audit.record(db, actor, "account.exported", account_id, {"channel": channel, "format": FORMAT})
    now = utcnow()
    return f"sottovoce-export-{now:%Y%m%d-%H%M%S}.zip", export_chunks(services, account_id, now)


def export_chunks(services: Services, account_id: str, now: datetime | None = None) -> Iterator[bytes]:
    """The zip, in pieces. Opens its own sessions: a response streams after the request's session ended."""
    now = now or utcnow()
    stamp = now.timetuple()[:6]
    sink = _Sink()

    def entry(name: str, compress: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=stamp)
        info.compress_type = compress
        info.external_attr = 0o600 << 16
        return info

    with zipfile.ZipFile(sink, "w", allowZip64=True) as zf:
        zf.writestr(entry("README.txt", zipfile.ZIP_DEFLATED), README.format(format=FORMAT))
        with zf.open(entry("data.json", zipfile.ZIP_DEFLATED), "w", force_zip64=True) as fh:
            for piece in _data_json(services, account_id, now):
                fh.write(piece)
                if sink.size >= FLUSH_AT:
                    yield sink.drain()
        yield sink.drain()
        for recording_id, wav in _audio(services, account_id):
            # WAV barely compresses; storing it keeps CPU for the next request.
            zf.writestr(entry(f"audio/{recording_id}.wav", zipfile.ZIP_STORED), wav)
            yield sink.drain()
    yield sink.drain()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _data_json(services: Services, account_id: str, now: datetime) -> Iterator[bytes]:
    with services.sessions() as db:
        account = db.get(Account, account_id)
        if account is None:
            raise NotFound("account")
        head = {
            "format": FORMAT,
            "exported_at": now.isoformat(),
            "account": account_summary(account),
            "consent_history": [
                {"purpose": c.purpose, "value": c.value, "channel": c.channel, "by": c.actor_role, "at": c.at.isoformat()}
                for c in db.scalars(select(ConsentChange).where(ConsentChange.account_id == account_id).order_by(ConsentChange.at, ConsentChange.id))
            ],
            "devices": [
                {"id": d.id, "name": d.name, "serial": d.serial, "created_at": d.created_at.isoformat(),
                 "revoked_at": d.revoked_at.isoformat() if d.revoked_at else None}
                for d in db.scalars(select(Device).where(Device.account_id == account_id).order_by(Device.created_at, Device.id))
            ],
            "deletion_receipts": [receipt_dict(r) for r in receipts_of(db, account_id)],
            # Events about the account (sign-ins, consent and retention changes, exports): who acted is
            # given as a role only.
            "account_events": [
                {"at": e.at, "action": e.action, "by": e.role}
                for e in db.scalars(select(AuditEvent).where(AuditEvent.subject == account_id).order_by(AuditEvent.seq))
            ],
        }
    opening = _dumps(head)
    yield (opening[:-1] + ', "recordings": [').encode()
    first = True
    for batch in _recording_batches(services, account_id):
        for item in batch:
            yield (("" if first else ",\n") + _dumps(item)).encode()
            first = False
    yield b"]}\n"


def _recording_batches(services: Services, account_id: str) -> Iterator[list[dict]]:
    from sottovoce.review.quality import ADJUDICATED, GOLD
    from sottovoce.review.submissions import ANNOTATION

    after = ""
    while True:
        with services.sessions() as db:
            recordings = list(
                db.scalars(
                    select(Recording).where(Recording.account_id == account_id, Recording.id > after).order_by(Recording.id).limit(BATCH)
                )
            )
            if not recordings:
                return
            ids = [r.id for r in recordings]
            keys = services.keys

            def unseal(sealed: bytes, purpose: str, owner: str) -> bytes:
                return keys.open(db, account_id, sealed, purpose, owner)

            hypotheses: dict[str, list[dict]] = {i: [] for i in ids}
            for h in db.scalars(select(Hypothesis).where(Hypothesis.recording_id.in_(ids)).order_by(Hypothesis.created_at, Hypothesis.id)):
                content = json.loads(unseal(h.sealed_content, HYPOTHESIS, h.recording_id))
                hypotheses[h.recording_id].append(
                    {"source": h.source, **hypothesis_labels(h, content),
                     "created_at": h.created_at.isoformat(), "text": content["text"], "words": content["words"]}
                )
            corrections: dict[str, list[dict]] = {i: [] for i in ids}
            for a in db.scalars(
                select(Annotation).where(Annotation.recording_id.in_(ids), Annotation.outcome == "submitted", Annotation.sealed_content.is_not(None))
                .order_by(Annotation.submitted_at, Annotation.id)
            ):
                assert a.sealed_content is not None  # the query selects only annotations with content
                text = json.loads(unseal(a.sealed_content, ANNOTATION, a.id)).get("text", "")
                corrections[a.recording_id].append({"at": a.submitted_at.isoformat(), "kind": "reviewer correction", "text": text})
            for adj in db.scalars(select(Adjudication).where(Adjudication.recording_id.in_(ids)).order_by(Adjudication.at)):
                corrections[adj.recording_id].append(
                    {"at": adj.at.isoformat(), "kind": "final transcript (supervisor)", "text": unseal(adj.sealed_text, ADJUDICATED, adj.group_id).decode()}
                )
            for gold in db.scalars(select(GoldReference).where(GoldReference.recording_id.in_(ids))):
                corrections[gold.recording_id].append(
                    {"at": gold.created_at.isoformat(), "kind": "reference transcript", "text": unseal(gold.sealed_text, GOLD, gold.recording_id).decode()}
                )
            listens = human_listens(db, account_id, ids)
            batch = [
                {
                    "id": r.id,
                    "device_id": r.device_id,
                    "captured_at": r.captured_at.isoformat(),
                    "received_at": r.received_at.isoformat(),
                    "duration_s": round(r.duration_s, 3),
                    "status": r.status,
                    "failure_reason": r.failure_reason,
                    "likely_accidental": r.likely_accidental,
                    "sampled_for_review_at": r.sampled_at.isoformat() if r.sampled_at else None,
                    "audio_file": f"audio/{r.id}.wav",
                    "transcripts": hypotheses[r.id],
                    "corrections": corrections[r.id],
                    "human_listens": listens[r.id],
                }
                for r in recordings
            ]
            after = ids[-1]
        yield batch


def _audio(services: Services, account_id: str) -> Iterator[tuple[str, bytes]]:
    after = ""
    while True:
        # The session (and its read snapshot) ends before any audio is yielded: a slow download
        # must not hold back the WAL truncation that deletions rely on.
        with services.sessions() as db:
            rows = db.execute(
                select(Recording.id, Recording.audio_blob_id)
                .where(Recording.account_id == account_id, Recording.id > after)
                .order_by(Recording.id)
                .limit(BATCH)
            ).all()
            if not rows:
                return
            key = services.keys.data_key(db, account_id)
        after = rows[-1].id
        for recording_id, blob_id in rows:
            try:
                sealed = services.blobs.get(blob_id)
            except NotFound:
                continue  # deleted while the export ran: gone means gone
            yield recording_id, to_wav(from_pcm16(open_sealed(key, sealed, AUDIO, recording_id)))
