"""Choose which recordings humans listen to.

Candidates: transcribed, not yet sampled, with a non-empty hypothesis, from accounts that consent
to human review *now*. Recordings with no speech (VAD) or an empty hypothesis are never sampled;
they are flagged ``likely_accidental`` for the retention policy instead.

Most picks favour uncertainty (lowest word confidence, then mean confidence); a configurable share
is drawn uniformly at random and marked ``random`` so accuracy estimates on that slice stay
unbiased. A per-account cap (default 5 per 30 days) keeps any one person from being listened to
often, and a daily global budget bounds the total.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Row, Select, func, insert, literal_column, select, tuple_, update
from sqlalchemy.orm import Session

from sottovoce.core.audit import Actor
from sottovoce.core.services import Services
from sottovoce.db.engine import rowcount
from sottovoce.db.models import Account, Hypothesis, Recording, ReviewTask
from sottovoce.db.types import new_id, utcnow
from sottovoce.recordings.store import latest_hypothesis, open_hypothesis
from sottovoce.review.prescreen import screen

SAMPLER = Actor.system("sampler")


@dataclass
class Candidate:
    recording_id: str
    account_id: str
    min_confidence: float
    mean_confidence: float

    @property
    def uncertainty(self) -> float:
        # Lowest word confidence first, mean confidence to break ties.
        return (1.0 - self.min_confidence) + 0.1 * (1.0 - self.mean_confidence)


@dataclass
class SampleReport:
    sampled: int = 0
    random: int = 0
    overlap: int = 0
    flagged_accidental: int = 0
    skipped_cap: int = 0
    budget_left: int = 0
    task_ids: list[str] = field(default_factory=list)  # the tasks created (jobs/review.py queues their renders)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "task_ids"}


# Constants that partial indexes' predicates must be proved from are written into the SQL, never
# bound: psycopg prepares a statement after five runs, and PostgreSQL's generic plan for
# ``word_count > $1`` cannot use an index whose predicate is ``word_count > 0``.
def _const(sql: str) -> ColumnElement:
    return literal_column(sql)


SPOKEN = _const("hypotheses.word_count > 0")
UNSCORED = _const("hypotheses.word_count > 0 AND (hypotheses.min_confidence IS NULL OR hypotheses.mean_confidence IS NULL)")
CHUNK = 500  # ids per statement: well under every driver's parameter limit


def flag_accidental(db: Session) -> int:
    """Mark transcribed recordings with an empty hypothesis as likely accidental.

    Which ones still need it is a set difference of two small partial indexes, read index-only:
    empty hypotheses (ix_hypotheses_empty) EXCEPT recordings already flagged
    (ix_recordings_accidental); only those few rows are updated. (Joining the empty hypotheses to
    recordings instead reads the million-row table: 0.9 s at 1M recordings.)
    """
    pending = (
        select(Hypothesis.recording_id).where(_const("hypotheses.word_count = 0"))
        .except_(select(Recording.id).where(_const("recordings.likely_accidental IS true")))
    )
    ids = list(db.scalars(pending))
    flagged = 0
    for start in range(0, len(ids), CHUNK):
        result = db.execute(
            update(Recording)
            .where(Recording.id.in_(ids[start : start + CHUNK]), Recording.status == "transcribed", Recording.likely_accidental.is_(False))
            .values(likely_accidental=True)
            .execution_options(synchronize_session=False)
        )
        flagged += rowcount(result) or 0
    return flagged


def _candidate_query() -> Select:
    return (
        select(Recording.id, Recording.account_id, Hypothesis.min_confidence, Hypothesis.mean_confidence)
        .join(Hypothesis, Hypothesis.recording_id == Recording.id)
        .join(Account, Account.id == Recording.account_id)
        .where(
            _const("recordings.status = 'transcribed'"),
            Recording.sampled_at.is_(None),
            Recording.likely_accidental.is_(False),
            Account.consent_human_review.is_(True),
            _const("accounts.keep_voice = 'keep'"),  # "don't keep my voice": never sampled (accounts/voice.py)
            Recording.audio_kept.is_(True),
            SPOKEN,
        )
    )


def _candidate(row: Row) -> Candidate:
    return Candidate(row.id, row.account_id, row.min_confidence or 0.0, row.mean_confidence or 0.0)


def candidates(db: Session) -> list[Candidate]:
    """Every candidate (small instances and tests; the sampler itself reads them in order, in pages)."""
    return [_candidate(r) for r in db.execute(_candidate_query())]


def by_uncertainty(db: Session, capped: Callable[[], set[str]] = set, page: int = 200) -> Iterator[Candidate]:
    """Candidates, least confident first: no confidence at all, then lowest word confidence, mean
    confidence breaking ties.

    Read in pages along ix_hypotheses_confidence with a keyset (never OFFSET), so a million
    candidates cost what the few hundred read cost: PostgreSQL stops the index walk at the LIMIT.
    Each page leaves out the accounts ``capped()`` names at that moment, so one account with many
    uncertain recordings is not walked past row by row.
    """
    without_capped = _excluding(capped)
    # Spoken but unscored (an external engine sent no confidences): first their ids, from the small
    # partial index ix_hypotheses_unscored (normally empty), then the candidates among them. One
    # query joining all three tables is planned as a hash join over every account: 110 ms at 1M.
    unscored = list(db.scalars(select(Hypothesis.recording_id).where(UNSCORED)))
    for start in range(0, len(unscored), CHUNK):
        query = _candidate_query().where(UNSCORED, Hypothesis.recording_id.in_(unscored[start : start + CHUNK]))
        yield from [_candidate(r) for r in db.execute(without_capped(query)).all()]
    known = _candidate_query().where(Hypothesis.min_confidence.is_not(None), Hypothesis.mean_confidence.is_not(None)).order_by(
        Hypothesis.min_confidence, Hypothesis.mean_confidence, Hypothesis.id
    ).add_columns(Hypothesis.id.label("hypothesis_id"))
    after = None
    while True:
        query = known if after is None else known.where(tuple_(Hypothesis.min_confidence, Hypothesis.mean_confidence, Hypothesis.id) > after)
        rows = db.execute(without_capped(query).limit(page)).all()
        yield from (_candidate(r) for r in rows)
        if len(rows) < page:
            return
        last = rows[-1]
        after = tuple_(last.min_confidence, last.mean_confidence, last.hypothesis_id)


def in_random_order(db: Session, rng: random.Random, capped: Callable[[], set[str]] = set, page: int = 200) -> Iterator[Candidate]:
    """Candidates in id order from a random starting id, wrapping round once.

    Recording ids are random (new_id), so id order is a uniformly random permutation of the
    recordings, independent of anything about them: a run of it from a random start is a uniform
    random sample, unbiased for accuracy estimates, and costs a few index range reads instead of a
    scan of every candidate.
    """
    without_capped = _excluding(capped)
    start = f"{rng.getrandbits(128):032x}"
    # Each bound is on both sides of the join (recordings.id and hypotheses.recording_id), so the
    # merge join PostgreSQL picks starts both index scans at the random start: bounded on one side
    # only, it walked the hypotheses index from its first entry (2.2 s at 1M recordings).
    for part in ((Recording.id >= start, Hypothesis.recording_id >= start), (Recording.id < start, Hypothesis.recording_id < start)):
        after = None
        while True:
            query = _candidate_query().where(*part)
            if after is not None:
                query = query.where(Recording.id > after, Hypothesis.recording_id > after)
            rows = db.execute(without_capped(query).order_by(Recording.id).limit(page)).all()
            yield from (_candidate(r) for r in rows)
            if len(rows) < page:
                break
            after = rows[-1].id


def _excluding(capped: Callable[[], set[str]]) -> Callable[[Select], Select]:
    def apply(query: Select) -> Select:
        accounts = capped()
        return query.where(Recording.account_id.not_in(accounts)) if accounts else query

    return apply


def _recent_counts(db: Session, since: datetime, day: datetime) -> tuple[dict[str, int], int]:
    """Samples per account since ``since`` (the cap window) and in all since ``day``, in one read of
    ix_recordings_sampled_at."""
    rows = db.execute(
        select(Recording.account_id, func.count(), func.count().filter(Recording.sampled_at >= day))
        .where(Recording.sampled_at >= min(since, day))
        .group_by(Recording.account_id)
    ).all()
    return {account: n for account, n, _ in rows}, sum(d for _, _, d in rows)


def sample(services: Services, db: Session, limit: int | None = None, rng: random.Random | None = None) -> SampleReport:
    """Create review tasks for the next clips; the caller commits."""
    s = services.settings
    rng = rng or random.SystemRandom()
    now = utcnow()
    report = SampleReport(flagged_accidental=flag_accidental(db))
    per_account, last_day = _recent_counts(db, now - timedelta(days=s.sampler_cap_days), now - timedelta(days=1))
    budget = max(0, s.sampler_daily_budget - last_day)
    if limit is not None:
        budget = min(budget, limit)

    chosen: list[tuple[Candidate, str]] = []
    taken: set[str] = set()

    def eligible(candidate: Candidate) -> bool:
        return candidate.recording_id not in taken and per_account.get(candidate.account_id, 0) < s.sampler_account_cap

    def take(candidate: Candidate, kind: str) -> None:
        per_account[candidate.account_id] = per_account.get(candidate.account_id, 0) + 1
        taken.add(candidate.recording_id)
        chosen.append((candidate, kind))

    def capped() -> set[str]:
        return {a for a, n in per_account.items() if n >= s.sampler_account_cap}

    streams = {"uncertainty": by_uncertainty(db, capped), "random": in_random_order(db, rng, capped)}
    while len(chosen) < budget:
        kind = "random" if rng.random() < s.sampler_random_share else "uncertainty"
        for candidate in streams[kind]:
            if eligible(candidate):
                take(candidate, kind)
                break
            if candidate.recording_id not in taken:
                report.skipped_cap += 1
        else:
            break

    # The pre-screen opens each picked hypothesis in memory; only its category is kept (review/prescreen.py).
    picks = [(c.recording_id, c.account_id, kind, c.uncertainty, rng.random() < s.sampler_overlap_share, prescreen(services, db, c.recording_id))
             for c, kind in chosen]
    report.task_ids = create_many(db, picks, now)
    report.sampled = len(chosen)
    report.random = sum(1 for _, kind in chosen if kind == "random")
    report.overlap = sum(1 for pick in picks if pick[4])
    report.budget_left = max(0, s.sampler_daily_budget - last_day - len(chosen))
    if chosen or report.flagged_accidental:
        services.audit.append(db, SAMPLER, "review.sampled", "", {k: v for k, v in report.as_dict().items() if k != "budget_left"})
    return report


def prescreen(services: Services, db: Session, recording_id: str) -> str:
    """The pre-screen's category for the recording's latest hypothesis ("" if none): read from the
    sealed hypothesis in memory; only the category is kept (review/prescreen.py)."""
    recording = db.get(Recording, recording_id)
    hypothesis = latest_hypothesis(db, recording_id) if recording else None
    if recording is None or hypothesis is None:
        return ""
    return screen(open_hypothesis(services, db, recording, hypothesis)["text"])


def create_tasks(
    db: Session, recording_id: str, account_id: str, kind: str, priority: float, overlap: bool = False, sensitivity: str = ""
) -> list[ReviewTask]:
    """One recording's task (two for an overlap group) as ORM objects, for callers that go on using them."""
    # synchronize_session=False: the default walks every object in the session on each call.
    db.execute(
        update(Recording).where(Recording.id == recording_id).values(sampled_at=utcnow()).execution_options(synchronize_session=False)
    )
    group = new_id()
    tasks = [
        ReviewTask(id=new_id(), recording_id=recording_id, account_id=account_id, group_id=group, kind=kind, priority=priority, sensitivity=sensitivity)
        for _ in range(2 if overlap else 1)
    ]
    db.add_all(tasks)
    return tasks


def create_many(db: Session, picks: list[tuple[str, str, str, float, bool, str]], now: datetime) -> list[str]:
    """Tasks for many recordings, set-based: one UPDATE of ``sampled_at`` and one multi-row INSERT per
    CHUNK recordings, no ORM objects (nothing for the session to track or synchronise). ``picks``
    are (recording_id, account_id, kind, priority, overlap, sensitivity); returns the new task ids."""
    rows: list[dict] = []
    for recording_id, account_id, kind, priority, overlap, sensitivity in picks:
        group = new_id()
        for _ in range(2 if overlap else 1):
            rows.append({"id": new_id(), "recording_id": recording_id, "account_id": account_id, "group_id": group, "kind": kind,
                         "priority": priority, "status": "queued", "render_params": "{}", "created_at": now, "sensitivity": sensitivity})
    ids = [p[0] for p in picks]
    for start in range(0, len(ids), CHUNK):
        db.execute(update(Recording).where(Recording.id.in_(ids[start : start + CHUNK])).values(sampled_at=now)
                   .execution_options(synchronize_session=False))
    for start in range(0, len(rows), CHUNK):
        db.execute(insert(ReviewTask), rows[start : start + CHUNK])
    return [r["id"] for r in rows]
