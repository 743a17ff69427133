"""Import a Label Studio audio-transcription export: recordings, hypotheses, corrections.

Two Label Studio templates are understood:
- whole-clip transcription: a ``TextArea`` on the ``Audio`` tag; a result is
  ``{"type": "textarea", "value": {"text": [...]}}``;
- ``TextArea`` per region (with ``Labels``): each result carries ``value.start``/``value.end``
  (or shares its ``id`` with a ``labels`` region that does); the text is the regions in time order.

``predictions`` become the recording's hypothesis (engine ``labelstudio``; words spread evenly over
their region or the clip, since Label Studio has no word times; confidence from the result's or
prediction's ``score``, else ``UNKNOWN_CONFIDENCE``). A task without predictions is queued for
local recognition like any ingest. ``annotations`` (not cancelled; the ``ground_truth`` one, else
the most recent) become the recording's final transcript: an ``Adjudication`` row, the row a
supervisor's settled transcript makes, so it enters datasets and exports only while the account
consents to training, and leaves with the recording on deletion.

All or nothing per file: every task is checked first (structure, account, audio found, decoded
and within limits, hypothesis within the audio), nothing is written until all pass, and the writes
are one transaction whose failure removes every sealed blob it wrote. Errors name the task id and
the field. Audio is read from local files only: sottovoce is offline and never downloads.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.accounts.consent import HUMAN_REVIEW, TRAINING, set_consent
from sottovoce.core import audio
from sottovoce.core.audit import Actor
from sottovoce.core.errors import InvalidInput, SottovoceError
from sottovoce.core.services import Services
from sottovoce.db.models import Account, Adjudication
from sottovoce.db.types import new_id
from sottovoce.recordings.ingest import ingest
from sottovoce.recordings.metadata import (
    ExternalHypothesis,
    IngestMetadata,
    check_hypothesis_fits,
)
from sottovoce.review.quality import ADJUDICATED

ENGINE = "labelstudio"
UNKNOWN_CONFIDENCE = 0.5  # Label Studio predictions often carry no score; documented in docs/interop.md
MAX_TEXT = 5000  # as for a supervisor's final transcript
CONSENT_CHANNEL = "import"


class LabelStudioImportError(InvalidInput):
    """A bad export: the message names the task and the field (never the transcript)."""


@dataclass(frozen=True)
class Source:
    """Where imported recordings come from: an account, and no device (``device_id`` stays NULL)."""

    account_id: str
    id: None = None


@dataclass
class Planned:
    task_id: str
    path: Path
    account_id: str
    hypothesis: ExternalHypothesis | None
    correction: str | None
    passed_over: int  # other usable annotations of the task, not imported
    captured_at: datetime | None


def _fail(task_id: object, field: str, problem: str) -> LabelStudioImportError:
    return LabelStudioImportError(f"task {str(task_id)[:40]}: {field}: {problem}")


# --- reading the export -------------------------------------------------------------------------

def load_tasks(path: Path) -> list[dict]:
    try:
        tasks = json.loads(path.read_bytes())
    except OSError as exc:
        raise LabelStudioImportError(f"{path}: cannot read ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LabelStudioImportError(f"{path}: not JSON ({getattr(exc, 'msg', 'bad encoding')} at line {getattr(exc, 'lineno', '?')})") from None
    if isinstance(tasks, dict):
        tasks = [tasks]  # a single task is accepted, as Label Studio's own import does
    if not isinstance(tasks, list) or not tasks:
        raise LabelStudioImportError(f"{path}: expected a JSON list of tasks")
    seen: set[str] = set()
    for i, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise _fail(f"#{i}", "(task)", "is not a JSON object")
        if not isinstance(task.get("data"), dict):
            raise _fail(task_id(task, i), "data", "missing or not an object")
        tid = task_id(task, i)
        if tid in seen:
            raise _fail(tid, "id", "appears twice in the export")
        seen.add(tid)
    return tasks


def task_id(task: dict, index: int) -> str:
    return str(task["id"]) if task.get("id") is not None else f"#{index}"


def _results(container: dict, tid: str, field: str) -> list[dict]:
    results = container.get("result", [])
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise _fail(tid, f"{field}.result", "expected a list of objects")
    return results


def _segments(results: list[dict], tid: str, field: str, text_from: str | None) -> list[tuple[float | None, float | None, str, float | None]]:
    """(start, end, text, score) for each transcription result, regions in time order."""
    regions = {r.get("id"): r.get("value", {}) for r in results if isinstance(r.get("value"), dict) and "start" in r["value"]}
    segments = []
    whole_from = set()
    for k, result in enumerate(results):
        if result.get("type") != "textarea" or (text_from and result.get("from_name") != text_from):
            continue
        where = f"{field}.result[{k}]"
        value = result.get("value")
        if not isinstance(value, dict) or not isinstance(value.get("text"), list) or not all(isinstance(t, str) for t in value["text"]):
            raise _fail(tid, f"{where}.value.text", "expected a list of strings")
        text = " ".join(" ".join(value["text"]).split())
        timing = value if "start" in value else regions.get(result.get("id"), {})
        start, end = timing.get("start"), timing.get("end")
        if start is not None or end is not None:
            if not (isinstance(start, (int, float)) and isinstance(end, (int, float)) and not isinstance(start, bool)
                    and not isinstance(end, bool) and 0 <= start <= end):
                raise _fail(tid, f"{where}.value.start/end", "expected 0 <= start <= end, in seconds")
        else:
            whole_from.add(result.get("from_name"))
        score = result.get("score")
        if score is not None and not (isinstance(score, (int, float)) and 0 <= score <= 1):
            raise _fail(tid, f"{where}.score", "expected a number from 0 to 1")
        if text:
            segments.append((start, end, text, score))
    if len(whole_from) > 1:
        raise _fail(tid, f"{field}.result", f"several whole-clip TextAreas ({', '.join(sorted(map(str, whole_from)))}); choose one with --text-from")
    if any(s[0] is not None for s in segments) and any(s[0] is None for s in segments):
        raise _fail(tid, f"{field}.result", "mixes per-region and whole-clip transcriptions; choose one with --text-from")
    return sorted(segments, key=lambda s: s[0] or 0.0)


def _correction(task: dict, tid: str, text_from: str | None) -> tuple[str | None, int]:
    """The final transcript from the annotations, and how many other annotations were passed over."""
    annotations = task.get("annotations", [])
    if not isinstance(annotations, list):
        raise _fail(tid, "annotations", "expected a list")
    usable = []
    for k, annotation in enumerate(annotations):
        if not isinstance(annotation, dict):
            raise _fail(tid, f"annotations[{k}]", "is not an object")
        if annotation.get("was_cancelled"):
            continue
        segments = _segments(_results(annotation, tid, f"annotations[{k}]"), tid, f"annotations[{k}]", text_from)
        if segments:
            text = " ".join(s[2] for s in segments)
            if len(text) > MAX_TEXT:
                raise _fail(tid, f"annotations[{k}].result", f"the transcript is over {MAX_TEXT} characters")
            order = (bool(annotation.get("ground_truth")), str(annotation.get("updated_at") or annotation.get("created_at") or ""), k)
            usable.append((order, text))
    if not usable:
        return None, 0
    return max(usable)[1], len(usable) - 1


def _prediction(task: dict, tid: str, duration_s: float, text_from: str | None) -> ExternalHypothesis | None:
    predictions = task.get("predictions", [])
    if not isinstance(predictions, list):
        raise _fail(tid, "predictions", "expected a list")
    if not predictions:
        return None
    k = len(predictions) - 1  # the latest, as Label Studio shows it
    prediction = predictions[k]
    if not isinstance(prediction, dict):
        raise _fail(tid, f"predictions[{k}]", "is not an object")
    field = f"predictions[{k}]"
    default = prediction.get("score")
    if default is not None and not (isinstance(default, (int, float)) and 0 <= default <= 1):
        raise _fail(tid, f"{field}.score", "expected a number from 0 to 1")
    words = []
    for start, end, text, score in _segments(_results(prediction, tid, field), tid, field, text_from):
        if start is None or end is None:
            start, end = 0.0, duration_s
        tokens = text.split()
        step = (end - start) / len(tokens)
        confidence = score if score is not None else default if default is not None else UNKNOWN_CONFIDENCE
        words += [{"word": w, "start": round(start + i * step, 3), "end": round(start + (i + 1) * step, 3), "confidence": confidence} for i, w in enumerate(tokens)]
    if not words:
        return None
    model = str(prediction.get("model_version") or "unknown")[:200]
    try:
        hypothesis = ExternalHypothesis.model_validate({"engine": ENGINE, "model": model, "words": words})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _fail(tid, f"{field}.result (as words.{'.'.join(map(str, first['loc'][1:]))})", first["msg"]) from None
    try:
        check_hypothesis_fits(hypothesis, duration_s)
    except InvalidInput as exc:
        raise _fail(tid, f"{field}.result", exc.message.split(": ", 1)[-1]) from None
    return hypothesis


# --- audio location -----------------------------------------------------------------------------

def resolve_audio(reference: object, tid: str, field: str, base: Path, media_root: Path | None, local_files_root: Path | None) -> Path:
    """A local file for the task's audio reference; never a download."""
    if not isinstance(reference, str) or not reference.strip():
        raise _fail(tid, field, "missing or not a string")
    parsed = urlparse(reference)
    scheme = parsed.scheme.lower()
    if scheme in ("http", "https"):
        raise _fail(tid, field, "is an http(s) URL; sottovoce works offline and never downloads: copy the audio next to the export (or into Label Studio's media folder) and use a relative path or --media-root")
    if scheme == "file":
        path = Path(unquote(parsed.path))
    elif scheme and len(scheme) > 1:
        raise _fail(tid, field, f"unsupported URL scheme '{scheme[:10]}': use a local path or file://")
    elif parsed.path.startswith("/data/local-files"):
        root = local_files_root or media_root
        if root is None:
            raise _fail(tid, field, "is a Label Studio local-files URL: give --local-files-root (Label Studio's LOCAL_FILES_DOCUMENT_ROOT) or --media-root")
        relative = parse_qs(parsed.query).get("d", [""])[0]
        path = _inside(root, relative, tid, field)
    elif parsed.path.startswith("/data/"):
        if media_root is None:
            raise _fail(tid, field, "is a Label Studio upload URL: give --media-root (Label Studio's media folder, $LABEL_STUDIO_BASE_DATA_DIR/media)")
        path = _inside(media_root, unquote(parsed.path)[len("/data/"):], tid, field)
    else:
        path = Path(reference)
        path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise _fail(tid, field, f"no such file: {path}")
    return path


def _inside(root: Path, relative: str, tid: str, field: str) -> Path:
    path = (root / relative).resolve()
    if not relative or not path.is_relative_to(root.resolve()):
        raise _fail(tid, field, "points outside the media root")
    return path


# --- accounts -----------------------------------------------------------------------------------

def find_account(db: Session, ref: str) -> Account | None:
    return db.get(Account, ref) or db.scalar(select(Account).where(Account.name == ref))


def read_map(path: Path) -> dict[str, str]:
    """``task_id,account`` rows (account by id or name), with a header line."""
    try:
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
    except OSError as exc:
        raise LabelStudioImportError(f"{path}: cannot read ({exc.strerror})") from None
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["task_id", "account"]:
        raise LabelStudioImportError(f"{path}: expected a header line 'task_id,account'")
    mapping: dict[str, str] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise LabelStudioImportError(f"{path}: line {n}: expected 'task_id,account'")
        if row[0].strip() in mapping:
            raise LabelStudioImportError(f"{path}: line {n}: task {row[0].strip()[:40]} is mapped twice")
        mapping[row[0].strip()] = row[1].strip()
    return mapping


# --- the import ---------------------------------------------------------------------------------

def plan(services: Services, db: Session, export_path: Path, *, account: str | None = None, mapping: dict[str, str] | None = None,
         audio_key: str = "audio", media_root: Path | None = None, local_files_root: Path | None = None,
         text_from: str | None = None) -> list[Planned]:
    """Check every task and return what would be imported; writes nothing."""
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
    limits = services.settings
    base = export_path.resolve().parent
    for i, task in enumerate(tasks):
        tid = task_id(task, i)
        if mapping is not None and tid not in mapping:
            raise _fail(tid, "account", "not in the --map file")
        account_id = account_of(account if account is not None else (mapping or {})[tid], tid)
        path = resolve_audio(task["data"].get(audio_key), tid, f"data.{audio_key}", base, media_root, local_files_root)
        data = path.read_bytes()
        if len(data) > limits.max_upload_bytes:
            raise _fail(tid, f"data.{audio_key}", f"the audio is {len(data)} bytes; the limit is {limits.max_upload_bytes}")
        try:
            samples = audio.decode(data, limits.max_duration_s)
        except SottovoceError as exc:
            raise _fail(tid, f"data.{audio_key}", exc.message) from None
        duration_s = samples.size / audio.SAMPLE_RATE
        if duration_s < limits.min_duration_s:
            raise _fail(tid, f"data.{audio_key}", f"the recording is {duration_s:.3f} s; the minimum is {limits.min_duration_s:g} s")
        correction, passed_over = _correction(task, tid, text_from)
        planned.append(Planned(tid, path, account_id, _prediction(task, tid, duration_s, text_from), correction, passed_over, _created_at(task)))
    return planned


def _created_at(task: dict) -> datetime | None:
    raw = task.get("created_at")
    try:
        when = datetime.fromisoformat(str(raw).replace("Z", "+00:00")) if raw else None
    except ValueError:
        return None
    return when if when is not None and when.tzinfo is not None else None


def import_export(services: Services, db: Session, export_path: Path, actor: Actor, *, consent_review: bool, consent_training: bool,
                  progress: Callable[[], None] | None = None, **options: Any) -> dict:
    """Check everything, then import in one transaction (committed here); all or nothing."""
    planned = plan(services, db, export_path, **options)
    written: list[str] = []
    try:
        consent_changes = _apply_consent(services, db, {p.account_id for p in planned}, consent_review, consent_training, actor)
        created = []
        for p in planned:
            metadata = IngestMetadata(hypothesis=p.hypothesis, captured_at=p.captured_at)
            # History from a team's tool: its dates are the operator's data, not a device's clock.
            recording = ingest(services, db, Source(p.account_id), p.path.read_bytes(), metadata, capture_age_days=100 * 365)
            written.append(recording.audio_blob_id)
            if p.correction is not None:
                group_id = new_id()
                db.add(Adjudication(group_id=group_id, recording_id=recording.id, supervisor_id=ENGINE,
                                    sealed_text=services.keys.seal(db, p.account_id, p.correction.encode(), ADJUDICATED, group_id)))
            created.append({"task": p.task_id, "recording": recording.id, "status": recording.status, "corrected": p.correction is not None})
            if progress:
                progress()
        report = {
            "tasks": len(planned),
            "hypotheses": sum(p.hypothesis is not None for p in planned),
            "corrections": sum(p.correction is not None for p in planned),
            "annotations_passed_over": sum(p.passed_over for p in planned),
            "queued_for_recognition": sum(p.hypothesis is None for p in planned),
            "accounts": len({p.account_id for p in planned}),
            "consent_changes": consent_changes,
        }
        # Counts only: no file names, no text, no task ids (they may encode names in a team's tool).
        services.audit.append(db, actor, "interop.labelstudio_import", "", {k: v for k, v in report.items() if k != "consent_changes"} | {"consent_changes": len(consent_changes)})
        db.commit()
    except BaseException:
        db.rollback()
        for blob_id in written:
            services.blobs.delete(blob_id)
        raise
    return report | {"recordings": created}


def _apply_consent(services: Services, db: Session, account_ids: set[str], review: bool, training: bool, actor: Actor) -> list[dict]:
    """Set both switches as the operator stated them, recorded as consent changes (channel "import")."""
    changes = []
    for account_id in sorted(account_ids):
        account = db.get_one(Account, account_id)
        for purpose, value, current in ((HUMAN_REVIEW, review, account.consent_human_review), (TRAINING, training, account.consent_training)):
            if bool(current) != value:
                set_consent(services, db, account, purpose, value, actor, CONSENT_CHANNEL)
                changes.append({"account": account_id, "purpose": purpose, "value": value})
    return changes
