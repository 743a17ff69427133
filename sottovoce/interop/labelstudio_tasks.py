"""Reading a Label Studio audio-transcription export: tasks, predictions, annotations, audio paths.

Two Label Studio templates are understood:
- whole-clip transcription: a ``TextArea`` on the ``Audio`` tag; a result is
  ``{"type": "textarea", "value": {"text": [...]}}``;
- ``TextArea`` per region (with ``Labels``): each result carries ``value.start``/``value.end``
  (or shares its ``id`` with a ``labels`` region that does); the text is the regions in time order.

Everything here is checking and parsing in memory; errors name the task id and the field, never
the text. Audio is located on local disk only (sottovoce is offline and never downloads); it is
decoded by the writer (labelstudio_import.py), once.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.core.errors import InvalidInput
from sottovoce.db.models import Account
from sottovoce.recordings.metadata import MAX_CLOCK_SKEW, ExternalHypothesis, check_hypothesis_fits

ENGINE = "labelstudio"
UNKNOWN_CONFIDENCE = 0.5  # Label Studio predictions often carry no score; documented in docs/interop.md
MAX_TEXT = 5000  # as for a supervisor's final transcript
HISTORY_DAYS = 100 * 365  # a team's history: its dates are the operator's data, not a device's clock

Segment = tuple[float | None, float | None, str, float | None]  # start, end, text, score


class LabelStudioImportError(InvalidInput):
    """A bad export: the message names the task and the field (never the transcript)."""


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


def _segments(results: list[dict], tid: str, field: str, text_from: str | None) -> list[Segment]:
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


@dataclass(frozen=True)
class Prediction:
    """A task's latest prediction, checked; it becomes words once the audio's duration is known."""

    task_id: str
    field: str
    model: str
    segments: list[Segment]
    default_score: float | None

    def hypothesis(self, duration_s: float) -> ExternalHypothesis:
        """Words spread evenly over their region (or the whole clip): Label Studio has no word times."""
        words = []
        for start, end, text, score in self.segments:
            if start is None or end is None:
                start, end = 0.0, duration_s
            tokens = text.split()
            step = (end - start) / len(tokens)
            confidence = score if score is not None else self.default_score if self.default_score is not None else UNKNOWN_CONFIDENCE
            words += [{"word": w, "start": round(start + i * step, 3), "end": round(start + (i + 1) * step, 3), "confidence": confidence}
                      for i, w in enumerate(tokens)]
        try:
            hypothesis = ExternalHypothesis.model_validate({"engine": ENGINE, "model": self.model, "words": words})
        except ValidationError as exc:
            first = exc.errors()[0]
            raise _fail(self.task_id, f"{self.field}.result (as words.{'.'.join(map(str, first['loc'][1:]))})", first["msg"]) from None
        try:
            check_hypothesis_fits(hypothesis, duration_s)
        except InvalidInput as exc:
            raise _fail(self.task_id, f"{self.field}.result", exc.message.split(": ", 1)[-1]) from None
        return hypothesis


def prediction(task: dict, tid: str, text_from: str | None) -> Prediction | None:
    predictions = task.get("predictions", [])
    if not isinstance(predictions, list):
        raise _fail(tid, "predictions", "expected a list")
    if not predictions:
        return None
    k = len(predictions) - 1  # the latest, as Label Studio shows it
    chosen = predictions[k]
    if not isinstance(chosen, dict):
        raise _fail(tid, f"predictions[{k}]", "is not an object")
    field = f"predictions[{k}]"
    default = chosen.get("score")
    if default is not None and not (isinstance(default, (int, float)) and 0 <= default <= 1):
        raise _fail(tid, f"{field}.score", "expected a number from 0 to 1")
    segments = _segments(_results(chosen, tid, field), tid, field, text_from)
    if not segments:
        return None
    return Prediction(tid, field, str(chosen.get("model_version") or "unknown")[:200], segments, default)


def created_at(task: dict, tid: str, now: datetime) -> datetime:
    """The task's ``created_at`` (when it has a time zone) as the capture time, else now."""
    raw = task.get("created_at")
    try:
        when = datetime.fromisoformat(str(raw).replace("Z", "+00:00")) if raw else None
    except ValueError:
        return now
    if when is None or when.tzinfo is None:
        return now
    try:
        when = when.astimezone(UTC)
    except OverflowError:
        raise _fail(tid, "created_at", "is out of range") from None
    if when > now + MAX_CLOCK_SKEW:
        raise _fail(tid, "created_at", "is in the future")
    if when < now - timedelta(days=HISTORY_DAYS):
        raise _fail(tid, "created_at", f"is more than {HISTORY_DAYS} days ago")
    return when


def correction(task: dict, tid: str, text_from: str | None) -> tuple[str | None, int]:
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
    if not relative or not path.is_relative_to(_resolved(root)):
        raise _fail(tid, field, "points outside the media root")
    return path


@lru_cache(maxsize=8)
def _resolved(root: Path) -> Path:
    return root.resolve()  # once per import, not once per task


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
