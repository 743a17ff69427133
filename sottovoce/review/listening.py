"""Minimum-necessary listening (DESIGN.md invariant 10): by default a reviewer hears only the
windows around the words that need attention, not the whole clip.

A word needs attention when the recognizer was unsure of it (confidence below
``review_low_confidence``), when a reviewer of an earlier review of the same recording changed it
(never the other reviewer of the same blind pair), or when it stands next to a masked run (is the
placeholder's boundary right?). Each such word is heard with ``CONTEXT_S`` either side; windows
that touch are merged, and the served clip is the windows joined by ``GAP_S`` of silence. A clip
with no such word gets one spot-check window around its least confident word; one whose every word
is masked gets no window (a short silence is served). Hearing the whole
clip is an explicit, audited choice (``WHOLE_CLIP``, web/staff/review.py), counted per reviewer
for supervisors.

Times are the render's aligned times (review/alignment.py) when it recorded them, so a window is
where the word was said even when the device's times were wrong. The windows are cut from the
de-identified render; the watermark is added to what is served.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np
import soundfile
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sottovoce.core.audio import SAMPLE_RATE, to_wav
from sottovoce.core.services import Services
from sottovoce.db.models import Annotation, AuditEvent, ReviewTask
from sottovoce.review.projection import ReviewerView, ReviewWord
from sottovoce.review.submissions import open_annotation

CONTEXT_S = 0.75  # heard either side of a word that needs attention
GAP_S = 0.4  # silence between two windows in the served clip
FADE_S = 0.02  # fade in and out of each window, so a cut does not click
WHOLE_CLIP = "review.whole_clip"  # the audit action of "hear the whole clip"

LOW, EDITED, MASKED_NEIGHBOUR = "low confidence", "edited by another reviewer", "next to a masked word"
SPOT_CHECK, NO_WORDS = "spot check", "no words recognized"


@dataclass(frozen=True)
class Window:
    start: float  # seconds in the whole clip
    end: float
    offset: float  # where it starts in the served clip
    words: tuple[int, ...]  # the shown words (ReviewWord.index) it covers
    reasons: tuple[str, ...]  # why it is there, e.g. "low confidence"


@dataclass(frozen=True)
class ListeningPlan:
    windows: list[Window]
    whole_times: dict[int, tuple[float, float]]  # each shown word's time in the whole clip
    served_times: dict[int, tuple[float, float]]  # each audible word's time in the windowed clip
    duration_s: float  # of the windowed clip


def word_times(view: ReviewerView, render_params: dict) -> dict[int, tuple[float, float]]:
    """Each shown word's time in the whole clip: aligned times when the render measured them."""
    aligned = render_params.get("word_times")
    times = {}
    for w in view.words:
        if aligned and 0 <= w.first and w.last < len(aligned):
            times[w.index] = (round(aligned[w.first][0], 2), round(aligned[w.last][1], 2))
        else:
            times[w.index] = (w.start, w.end)
    return times


def attention(words: list[ReviewWord], edited: set[int]) -> dict[int, list[str]]:
    """The shown words that need a listen, with the reasons."""
    reasons: dict[int, list[str]] = {}
    for i, w in enumerate(words):
        if w.pii:
            continue  # silenced anyway: its neighbours are what the reviewer checks
        why = []
        if w.low:
            why.append(LOW)
        if w.index in edited:
            why.append(EDITED)
        if (i > 0 and words[i - 1].pii) or (i + 1 < len(words) and words[i + 1].pii):
            why.append(MASKED_NEIGHBOUR)
        if why:
            reasons[w.index] = why
    if not reasons:
        audible = [w for w in words if not w.pii]
        if audible:
            reasons[min(audible, key=lambda w: w.confidence).index] = [SPOT_CHECK]
    return reasons


def plan(words: list[ReviewWord], times: dict[int, tuple[float, float]], reasons: dict[int, list[str]], duration_s: float) -> ListeningPlan:
    spans: list[list] = [] if words else [[0.0, duration_s, [NO_WORDS]]]  # [start, end, reasons]
    for index in sorted(reasons, key=lambda i: times[i][0]):
        start, end = max(0.0, times[index][0] - CONTEXT_S), min(duration_s, times[index][1] + CONTEXT_S)
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
            spans[-1][2] += [r for r in reasons[index] if r not in spans[-1][2]]
        else:
            spans.append([start, end, list(reasons[index])])
    windows, served, offset = [], {}, 0.0
    for start, end, why in spans:
        # A window covers every word whose middle it holds.
        covered = tuple(w.index for w in words if start <= (times[w.index][0] + times[w.index][1]) / 2 < end)
        for i in covered:
            a, b = times[i]
            served[i] = (round(offset + max(a, start) - start, 2), round(offset + min(b, end) - start, 2))
        windows.append(Window(round(start, 2), round(end, 2), round(offset, 2), covered, tuple(why)))
        offset += (end - start) + GAP_S
    return ListeningPlan(windows, times, served, round(max(0.0, offset - GAP_S), 2))


def cut(samples: np.ndarray, windows: list[Window], rate: int = SAMPLE_RATE) -> np.ndarray:
    """The windows of ``samples`` joined by ``GAP_S`` of silence, each faded in and out."""
    gap = np.zeros(int(round(GAP_S * rate)), dtype=np.float32)
    pieces: list[np.ndarray] = []
    fade = int(round(FADE_S * rate))
    for window in windows:
        piece = np.array(samples[int(window.start * rate) : int(np.ceil(window.end * rate))], dtype=np.float32)
        n = min(fade, len(piece) // 2)
        if n:
            ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
            piece[:n] *= ramp
            piece[-n:] *= ramp[::-1]
        if pieces:
            pieces.append(gap)
        pieces.append(piece)
    # Every word masked: nothing needs hearing (the words are silenced anyway), so a short silence.
    return np.concatenate(pieces) if pieces else gap


def edited_by_others(services: Services, db: Session, task: ReviewTask) -> set[int]:
    """Shown-word positions changed in earlier reviews of the same recording, outside this task's
    blind pair (its partner's edits stay unseen)."""
    annotations = db.scalars(
        select(Annotation).where(Annotation.recording_id == task.recording_id, Annotation.group_id != task.group_id, Annotation.outcome == "submitted")
    ).all()
    edited: set[int] = set()
    for annotation in annotations:
        for edit in open_annotation(services, db, annotation).get("edits", []):
            start, end = int(edit["hyp_start"]), int(edit["hyp_end"])
            # A deletion (words the recognizer missed) sits between two words: both get a listen.
            edited.update(range(start, end) if end > start else (start - 1, start))
    return edited


def listening_plan(services: Services, db: Session, task: ReviewTask, view: ReviewerView) -> ListeningPlan:
    params = json.loads(task.render_params or "{}")
    times = word_times(view, params)
    return plan(view.words, times, attention(view.words, edited_by_others(services, db, task)), view.duration_s + 0.05)


def windowed_wav(whole_wav: bytes, listening: ListeningPlan) -> bytes:
    samples, rate = soundfile.read(io.BytesIO(whole_wav), dtype="float32")
    return to_wav(cut(samples, listening.windows, rate), rate)


def whole_clip_counts(db: Session) -> dict[str, int]:
    """How many times each reviewer chose to hear a whole clip (from the audit log)."""
    return dict(db.execute(select(AuditEvent.actor, func.count()).where(AuditEvent.action == WHOLE_CLIP).group_by(AuditEvent.actor)).all())
