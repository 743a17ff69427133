"""The reviewer projection: everything a reviewer can receive about a task, and nothing else.

Pages, JSON and audio for reviewers are built only from ``ReviewerView``. It has no path to the
account, device, serial, capture time, location, file names or any id shared between tasks: the
task id is random per task, times are offsets within the clip, and the duration is rounded.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from sqlalchemy.orm import Session

from sottovoce.core.services import Services
from sottovoce.db.models import Recording, ReviewTask
from sottovoce.privacy.known_ids import find_known
from sottovoce.recordings.store import latest_hypothesis, open_hypothesis
from sottovoce.review.deidentify import account_identifiers, entities_from_runs, pii_entities


@dataclass(frozen=True)
class ReviewWord:
    index: int
    text: str
    start: float
    end: float
    confidence: float
    low: bool
    pii: str | None = None  # an entity type when the word was replaced by a placeholder
    first: int = -1  # the hypothesis words it shows (a placeholder spans a run), for the listening windows
    last: int = -1


@dataclass(frozen=True)
class ReviewerView:
    task_id: str
    status: str
    duration_s: float
    words: list[ReviewWord]
    low_threshold: float

    def as_dict(self) -> dict:
        return asdict(self)


def reviewer_view(services: Services, db: Session, task: ReviewTask) -> ReviewerView:
    recording = db.get_one(Recording, task.recording_id)
    hypothesis = latest_hypothesis(db, recording.id)
    words = open_hypothesis(services, db, recording, hypothesis)["words"] if hypothesis else []
    threshold = services.settings.review_low_confidence
    rendered = json.loads(task.render_params or "{}")
    texts = [w["word"] for w in words]
    known = account_identifiers(db, task.account_id)
    if "pii_words" in rendered:  # detected once, when the clip was rendered (review/deidentify.py)
        # The account's identifiers are matched again (no model, microseconds): a clip rendered
        # before they were known, or before a device was added, still never shows them.
        entities = entities_from_runs([*rendered["pii_words"], *find_known(texts, known)], len(words))
    else:
        entities = pii_entities(texts, known)  # always: no path skips detection
    shown: list[ReviewWord] = []
    for i, (w, entity) in enumerate(zip(words, entities)):
        if entity and shown and shown[-1].pii == entity:
            # One placeholder per run of personal data: extend it over the next word.
            last = shown[-1]
            shown[-1] = ReviewWord(last.index, last.text, last.start, round(w["end"], 2), min(last.confidence, round(w["confidence"], 2)), last.low, entity, last.first, i)
            continue
        shown.append(
            ReviewWord(
                index=len(shown),
                text=f"[{entity}]" if entity else w["word"],
                start=round(w["start"], 2),
                end=round(w["end"], 2),
                confidence=round(w["confidence"], 2),
                low=w["confidence"] < threshold and not entity,
                pii=entity,
                first=i,
                last=i,
            )
        )
    return ReviewerView(task_id=task.id, status=task.status, duration_s=round(recording.duration_s, 1), words=shown, low_threshold=threshold)
