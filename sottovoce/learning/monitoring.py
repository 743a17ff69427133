"""How the live recognizer is doing, measured against human transcripts on the random slice only.

Uncertainty-sampled clips are the ones the recognizer found hard, so their WER says little about
the live model; the uniformly random slice (review/sampler.py) is an unbiased sample. WER is
grouped by ISO week and by the model version that produced the hypothesis.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.asr.scoring import error_counts, top_confusions
from sottovoce.core.services import Services
from sottovoce.db.models import Annotation, Hypothesis, ModelVersion, ReviewTask
from sottovoce.review.projection import reviewer_view
from sottovoce.review.submissions import open_annotation


@dataclass
class Point:
    week: str
    version: str
    wer: float
    clips: int


def live_wer(services: Services, db: Session) -> tuple[list[Point], list[dict]]:
    names: dict[str | None, str] = dict(db.execute(select(ModelVersion.id, ModelVersion.name)).all())
    rows = db.execute(
        select(Annotation, ReviewTask)
        .join(ReviewTask, ReviewTask.id == Annotation.task_id)
        .where(Annotation.outcome == "submitted", ReviewTask.kind == "random")
    ).all()
    buckets: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    refs, hyps = [], []
    for annotation, task in rows:
        hypothesis = db.scalar(select(Hypothesis).where(Hypothesis.recording_id == task.recording_id).order_by(Hypothesis.created_at.desc()).limit(1))
        seen = " ".join(w.text for w in reviewer_view(services, db, task).words)
        text = open_annotation(services, db, annotation)["text"]
        year, week, _ = annotation.submitted_at.isocalendar()
        version = names.get(hypothesis.version_id, hypothesis.model_version if hypothesis else "?") if hypothesis else "?"
        buckets[(f"{year}-W{week:02d}", version)].append(error_counts(text, seen))
        refs.append(text)
        hyps.append(seen)
    points = [
        Point(week, version, round(sum(e for e, _ in pairs) / max(1, sum(n for _, n in pairs)), 4), len(pairs))
        for (week, version), pairs in sorted(buckets.items())
    ]
    return points, top_confusions(refs, hyps, n=10) if refs else []


CHART_TOPS = (0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1.0)  # the y axis ends at the first that fits


def svg_points(points: list[Point], width: int = 640, height: int = 200) -> list[dict]:
    """Coordinates for a small server-rendered SVG line chart (no script: the CSP allows none inline)."""
    return chart(points, width, height)["points"]


def chart(points: list[Point], width: int = 640, height: int = 200) -> dict:
    """The chart's points with its scale: y from 0 to a round top (WER in %, five ticks), one x
    label per ISO week. Plot area: x 50..width-20, y 20..height-30."""
    left, right, top_px, bottom_px = 50, width - 20, 20, height - 30
    weeks = sorted({p.week for p in points})
    worst = max([p.wer for p in points] + [0.0])
    top = next((t for t in CHART_TOPS if worst <= t), max(1.0, worst))

    def x_of(week: str) -> float:
        return round(left + (weeks.index(week) + 0.5) * (right - left) / max(1, len(weeks)), 1)

    def y_of(wer: float) -> float:
        return round(bottom_px - (wer / top) * (bottom_px - top_px), 1)

    return {
        "width": width, "height": height, "left": left, "right": right, "top_px": top_px, "bottom_px": bottom_px,
        "points": [
            {"x": x_of(p.week), "y": y_of(p.wer), "label": f"{p.version} {p.week}: {p.wer:.1%} ({p.clips})", "version": p.version}
            for p in points
        ],
        "y_ticks": [{"y": y_of(top * i / 4), "label": f"{100 * top * i / 4:g}%"} for i in range(5)],
        "x_ticks": [{"x": x_of(w), "label": w} for w in weeks],
    }


def version_figures(db: Session) -> list[dict]:
    """Per model version, what ``learn versions`` shows: status and the validation, eval and
    guard WER with their 95% intervals (stored aggregates only; the sealed parameters are not
    opened)."""
    import json

    from sottovoce.learning.gates import summary

    rows = []
    for version in db.scalars(select(ModelVersion).order_by(ModelVersion.created_at)):
        f = summary(json.loads(version.metrics or "{}"))
        rows.append({"name": version.name, "status": version.status, **{k: _cell(f.get(f"{k}_wer"), f.get(f"{k}_interval")) for k in ("validation", "eval", "guard")}})
    return rows


def _cell(wer: float | None, interval: list | None) -> str:
    if wer is None:
        return "–"
    return f"{100 * wer:.1f}%" + (f" ({100 * interval[0]:.1f}–{100 * interval[1]:.1f})" if interval else "")

