"""Import a Label Studio audio-transcription export: recordings, hypotheses, corrections.

``predictions`` become the recording's hypothesis (engine ``labelstudio``; words spread evenly over
their region or the clip, since Label Studio has no word times; confidence from the result's or
prediction's ``score``, else ``UNKNOWN_CONFIDENCE``). A task without predictions is queued for
local recognition like any ingest. ``annotations`` (not cancelled; the ``ground_truth`` one, else
the most recent) become the recording's final transcript: an ``Adjudication`` row, the row a
supervisor's settled transcript makes, so it enters datasets and exports only while the account
consents to training, and leaves with the recording on deletion. Parsing and checking of the
export itself is in labelstudio_tasks.py.

All or nothing per file, in three steps:

1. **check** every task in memory (structure, account, audio found and within the size limit,
   predictions and annotations well formed, capture time); nothing is written if one fails;
2. **audio**: each clip is read, decoded once, normalized to 16 kHz mono, its hypothesis checked
   against its duration, and it is sealed with the account's data key (unwrapped once per account)
   and written as a blob. A pool of threads does this so that the blob store's writes (an fsync
   each on a local folder, a PUT on S3) overlap; no database transaction is open meanwhile;
3. **write**: one transaction inserts every row in bulk (executemany per table, in chunks), sets
   consent as the operator stated it, appends the audit event and commits.

A failure in step 2 or 3 removes every blob written (a crash in between leaves blobs that the
orphan sweep removes on the next start). A long step 2 could outlast the sweep's grace period
(``orphan_grace_s``) if a server starts meanwhile, so before committing such an import checks that
its blobs are all still there. Errors name the task id and the field, never the text.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.orm import Session

from sottovoce.accounts.consent import HUMAN_REVIEW, TRAINING, set_consent
from sottovoce.core import audio
from sottovoce.core.audit import Actor
from sottovoce.core.crypto import seal
from sottovoce.core.errors import SottovoceError
from sottovoce.core.services import Services
from sottovoce.db.enums import JobKind, JobStatus, RecordingStatus
from sottovoce.db.models import Account, Adjudication, Hypothesis, Job, Recording
from sottovoce.db.types import new_id, utcnow
from sottovoce.interop.labelstudio_tasks import (
    ENGINE,
    LabelStudioImportError,
    Prediction,
    _fail,
    correction,
    created_at,
    find_account,
    load_tasks,
    prediction,
    read_map,
    resolve_audio,
    task_id,
)
from sottovoce.recordings.store import AUDIO, EXTERNAL_LABEL, HYPOTHESIS
from sottovoce.review.quality import ADJUDICATED

__all__ = ["LabelStudioImportError", "Planned", "import_export", "plan", "read_map"]

CONSENT_CHANNEL = "import"
DEFAULT_WORKERS = 8  # blob writes in flight: enough for fsyncs (or S3 PUTs) to overlap
INSERT_CHUNK = 500  # rows per executemany

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: "storing audio" as clips are stored, then "writing rows" once (counts only)."""


@dataclass(frozen=True)
class Planned:
    task_id: str
    path: Path
    size: int
    account_id: str
    prediction: Prediction | None
    correction: str | None
    passed_over: int  # other usable annotations of the task, not imported
    captured_at: datetime


@dataclass
class Stored:
    """One task's rows, ready to insert; its audio blob is already written."""

    recording: dict[str, Any]
    hypothesis: dict[str, Any] | None
    adjudication: dict[str, Any] | None


# --- 1. check -----------------------------------------------------------------------------------

def plan(services: Services, db: Session, export_path: Path, *, account: str | None = None, mapping: dict[str, str] | None = None,
         audio_key: str = "audio", media_root: Path | None = None, local_files_root: Path | None = None,
         text_from: str | None = None) -> list[Planned]:
    """Check every task and return what would be imported; writes nothing, decodes no audio."""
    if (account is None) == (mapping is None):
        raise LabelStudioImportError("give exactly one of --account and --map")
    tasks = load_tasks(export_path)
    accounts: dict[str, str] = {}

    def account_of(ref: str, tid: str) -> str:
        if ref not in accounts:
            found = find_account(db, ref)
            if found is None:
                problem = f"no account with id or name '{ref[:60]}'"
                raise _fail(tid, "account", problem) if mapping is not None else LabelStudioImportError(problem)
            accounts[ref] = found.id
        return accounts[ref]

    if account is not None:
        account_of(account, "-")
    planned = []
    max_bytes = services.settings.max_upload_bytes
    base = export_path.resolve().parent
    now = utcnow()
    for i, task in enumerate(tasks):
        tid = task_id(task, i)
        if mapping is not None and tid not in mapping:
            raise _fail(tid, "account", "not in the --map file")
        account_id = account_of(account if account is not None else (mapping or {})[tid], tid)
        field = f"data.{audio_key}"
        path = resolve_audio(task["data"].get(audio_key), tid, field, base, media_root, local_files_root)
        size = path.stat().st_size
        if size > max_bytes:
            raise _fail(tid, field, f"the audio is {size} bytes; the limit is {max_bytes}")
        text, passed_over = correction(task, tid, text_from)
        planned.append(Planned(tid, path, size, account_id, prediction(task, tid, text_from), text, passed_over, created_at(task, tid, now)))
    return planned


# --- 2. audio -----------------------------------------------------------------------------------

class _AudioWriter:
    """Decode, check, seal and store one task's audio; builds its rows. Safe to run on many threads."""

    def __init__(self, services: Services, keys: dict[str, bytes], audio_key: str, now: datetime):
        self.services, self.keys, self.field, self.now = services, keys, f"data.{audio_key}", now
        self.written: list[str] = []  # every blob id put, whatever happens next (list.append is atomic)
        self.stop = threading.Event()

    def __call__(self, p: Planned) -> Stored | None:
        if self.stop.is_set():
            return None
        limits = self.services.settings
        try:
            data = p.path.read_bytes()
        except OSError as exc:
            raise _fail(p.task_id, self.field, f"cannot read ({exc.strerror})") from None
        if len(data) > limits.max_upload_bytes:  # changed since it was checked
            raise _fail(p.task_id, self.field, f"the audio is {len(data)} bytes; the limit is {limits.max_upload_bytes}")
        try:
            samples = audio.decode(data, limits.max_duration_s)
        except SottovoceError as exc:
            raise _fail(p.task_id, self.field, exc.message) from None
        del data
        duration_s = samples.size / audio.SAMPLE_RATE
        if duration_s < limits.min_duration_s:
            raise _fail(p.task_id, self.field, f"the recording is {duration_s:.3f} s; the minimum is {limits.min_duration_s:g} s")
        hypothesis = p.prediction.hypothesis(duration_s) if p.prediction is not None else None
        key = self.keys[p.account_id]
        recording_id = new_id()
        # The same stored form as ingest (recordings/ingest.py): sealed 16-bit PCM, bound to the recording id.
        sealed = seal(key, audio.to_pcm16(samples), AUDIO, recording_id)
        del samples
        if self.stop.is_set():
            return None
        blob_id = self.services.blobs.put(sealed)
        self.written.append(blob_id)
        recording = {
            "id": recording_id, "account_id": p.account_id, "device_id": None, "captured_at": p.captured_at, "received_at": self.now,
            "duration_s": duration_s, "audio_blob_id": blob_id, "status": RecordingStatus.TRANSCRIBED if hypothesis else RecordingStatus.PENDING,
            "likely_accidental": False, "audio_kept": True,
        }
        hypothesis_row = None
        if hypothesis is not None:
            # As recordings/store.add_hypothesis stores a device's hypothesis: engine and model are
            # free text from outside, sealed with the words; the columns say only "external".
            words = [w.model_dump() for w in hypothesis.words]
            content = json.dumps({"text": " ".join(w["word"] for w in words), "words": words,
                                  "labels": {"engine": hypothesis.engine, "model": hypothesis.model, "model_version": hypothesis.model_version}},
                                 separators=(",", ":")).encode()
            confidences = [w["confidence"] for w in words]
            hypothesis_row = {
                "id": new_id(), "recording_id": recording_id, "source": "external", "engine": EXTERNAL_LABEL, "model": EXTERNAL_LABEL,
                "model_version": EXTERNAL_LABEL, "created_at": self.now, "sealed_content": seal(key, content, HYPOTHESIS, recording_id),
                "word_count": len(words), "min_confidence": min(confidences), "mean_confidence": sum(confidences) / len(confidences),
                "version_id": None,
            }
        adjudication = None
        if p.correction is not None:
            group_id = new_id()
            adjudication = {"group_id": group_id, "recording_id": recording_id, "supervisor_id": ENGINE, "at": self.now,
                            "sealed_text": seal(key, p.correction.encode(), ADJUDICATED, group_id)}
        return Stored(recording, hypothesis_row, adjudication)


def _store_all(writer: _AudioWriter, planned: list[Planned], workers: int, progress: Progress | None) -> list[Stored]:
    """Run the writer over every task on a thread pool; the first failure stops the rest and is raised."""
    results: list[Stored | None] = [None] * len(planned)
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="ls-import") as pool:
        pending: dict[Future[Stored | None], int] = {}
        todo = iter(enumerate(planned))
        window = max(1, workers) * 4  # bounded: never more than this many clips in memory
        try:
            while True:
                for index, p in _take(todo, window - len(pending)):
                    pending[pool.submit(writer, p)] = index
                if not pending:
                    break
                finished, _ = wait(pending, return_when=FIRST_EXCEPTION)
                for future in finished:
                    index = pending.pop(future)
                    results[index] = future.result()  # raises the task's error
                    done += 1
                if progress:
                    progress("storing audio", done, len(planned))
        except BaseException:
            writer.stop.set()
            for future in pending:
                future.cancel()
            raise
    return [r for r in results if r is not None]


def _take(items: Iterator[tuple[int, Planned]], n: int) -> list[tuple[int, Planned]]:
    out = []
    for _ in range(n):
        item = next(items, None)
        if item is None:
            break
        out.append(item)
    return out


# --- 3. write -----------------------------------------------------------------------------------

def import_export(services: Services, db: Session, export_path: Path, actor: Actor, *, consent_review: bool, consent_training: bool,
                  progress: Progress | None = None, workers: int = DEFAULT_WORKERS, **options: Any) -> dict:
    """Check everything, store the audio, then write every row in one transaction (committed here); all or nothing.

    ``db`` must hold no uncommitted changes: its read transaction is ended before the clips are stored."""
    planned = plan(services, db, export_path, **options)
    account_ids = sorted({p.account_id for p in planned})
    keys = {account_id: services.keys.data_key(db, account_id) for account_id in account_ids}  # one unwrap per account
    db.rollback()  # end the read transaction: none is held while the audio is stored
    writer = _AudioWriter(services, keys, options.get("audio_key", "audio"), utcnow())
    started = time.monotonic()
    try:
        stored = _store_all(writer, planned, workers, progress)
        if time.monotonic() - started > services.settings.orphan_grace_s / 2:
            _check_blobs_kept(services, writer.written)
        consent_changes = _apply_consent(services, db, account_ids, consent_review, consent_training, actor)
        _insert(db, Recording, [s.recording for s in stored])
        _insert(db, Hypothesis, [s.hypothesis for s in stored if s.hypothesis is not None])
        jobs = [{"id": new_id(), "kind": JobKind.TRANSCRIBE, "subject_id": s.recording["id"], "status": JobStatus.QUEUED, "attempts": 0,
                 "created_at": writer.now, "updated_at": writer.now} for s in stored if s.hypothesis is None]
        _insert(db, Job, jobs)
        if jobs and db.get_bind().dialect.name == "postgresql":
            db.execute(text("NOTIFY sottovoce_jobs"))  # what Job's after_insert hook does for ORM inserts: wakes idle workers at commit
        _insert(db, Adjudication, [s.adjudication for s in stored if s.adjudication is not None])
        report = {
            "tasks": len(planned),
            "hypotheses": sum(s.hypothesis is not None for s in stored),
            "corrections": sum(s.adjudication is not None for s in stored),
            "annotations_passed_over": sum(p.passed_over for p in planned),
            "queued_for_recognition": len(jobs),
            "accounts": len(account_ids),
            "consent_changes": consent_changes,
        }
        # Counts only: no file names, no text, no task ids (they may encode names in a team's tool).
        services.audit.append(db, actor, "interop.labelstudio_import", "", {k: v for k, v in report.items() if k != "consent_changes"} | {"consent_changes": len(consent_changes)})
        if progress:
            progress("writing rows", len(stored), len(planned))
        db.commit()
    except BaseException:
        db.rollback()
        services.blobs.delete_many(writer.written)
        raise
    created = [{"task": p.task_id, "recording": s.recording["id"], "status": str(s.recording["status"]), "corrected": s.adjudication is not None}
               for p, s in zip(planned, stored, strict=True)]
    return report | {"recordings": created}


def _insert(db: Session, model: type[Recording | Hypothesis | Job | Adjudication], rows: list[dict[str, Any]]) -> None:
    table = model.__table__
    assert isinstance(table, Table)
    statement = insert(table)  # Core executemany: no ORM bookkeeping per row
    connection = db.connection()
    for chunk in _chunks(rows, INSERT_CHUNK):
        connection.execute(statement, chunk)


def _chunks(rows: list[dict[str, Any]], n: int) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), n):
        yield rows[start:start + n]


def _check_blobs_kept(services: Services, blob_ids: list[str]) -> None:
    """A server that started during a long import may have swept its not-yet-referenced blobs as orphans."""
    missing = sum(not services.blobs.exists(b) for b in blob_ids)
    if missing:
        raise LabelStudioImportError(f"{missing} of the {len(blob_ids)} stored clips were removed while the import ran "
                                     "(a server or worker started and swept them as orphans); nothing was imported: run it again")


def _apply_consent(services: Services, db: Session, account_ids: list[str], review: bool, training: bool, actor: Actor) -> list[dict]:
    """Set both switches as the operator stated them, recorded as consent changes (channel "import")."""
    changes = []
    for account_id in account_ids:
        account = db.get_one(Account, account_id)
        for purpose, value, current in ((HUMAN_REVIEW, review, account.consent_human_review), (TRAINING, training, account.consent_training)):
            if bool(current) != value:
                set_consent(services, db, account, purpose, value, actor, CONSENT_CHANNEL)
                changes.append({"account": account_id, "purpose": purpose, "value": value})
    return changes
