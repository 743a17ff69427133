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
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row, Select, func, or_, select, tuple_, update
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

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def flag_accidental(db: Session) -> int:
    """Mark transcribed recordings whose latest hypothesis has no words."""
    empty = select(Hypothesis.recording_id).where(Hypothesis.word_count == 0)
    result = db.execute(
        update(Recording)
        .where(Recording.status == "transcribed", Recording.likely_accidental.is_(False), Recording.id.in_(empty))
        .values(likely_accidental=True)
    )
    return rowcount(result) or 0


def _candidate_query() -> Select:
    return (
        select(Recording.id, Recording.account_id, Hypothesis.min_confidence, Hypothesis.mean_confidence)
        .join(Hypothesis, Hypothesis.recording_id == Recording.id)
        .join(Account, Account.id == Recording.account_id)
        .where(
            Recording.status == "transcribed",
            Recording.sampled_at.is_(None),
            Recording.likely_accidental.is_(False),
            Account.consent_human_review.is_(True),
            Account.keep_voice == "keep",  # "don't keep my voice": never sampled (accounts/voice.py)
            Recording.audio_kept.is_(True),
            Hypothesis.word_count > 0,
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
    unknown = or_(Hypothesis.min_confidence.is_(None), Hypothesis.mean_confidence.is_(None))
    yield from [_candidate(r) for r in db.execute(without_capped(_candidate_query().where(unknown))).all()]
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
    for part in (Recording.id >= start, Recording.id < start):
        after = None
        while True:
            query = _candidate_query().where(part)
            if after is not None:
                query = query.where(Recording.id > after)
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


def _recent_counts(db: Session, since: datetime) -> tuple[dict[str, int], int]:
    rows = db.execute(
        select(Recording.account_id, func.count()).where(Recording.sampled_at >= since).group_by(Recording.account_id)
    ).all()
    return {account: n for account, n in rows}, sum(n for _, n in rows)


def sample(services: Services, db: Session, limit: int | None = None, rng: random.Random | None = None) -> SampleReport:
    """Create review tasks for the next clips; the caller commits."""
    s = services.settings
    rng = rng or random.SystemRandom()
    now = utcnow()
    report = SampleReport(flagged_accidental=flag_accidental(db))
    per_account, _ = _recent_counts(db, now - timedelta(days=s.sampler_cap_days))
    _, last_day = _recent_counts(db, now - timedelta(days=1))
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

    for candidate, kind in chosen:
        create_tasks(
            db, candidate.recording_id, candidate.account_id, kind, candidate.uncertainty,
            overlap=rng.random() < s.sampler_overlap_share, sensitivity=prescreen(services, db, candidate.recording_id),
        )
    report.sampled = len(chosen)
    report.random = sum(1 for _, kind in chosen if kind == "random")
    report.overlap = _overlaps(db, [c.recording_id for c, _ in chosen])
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
    # synchronize_session=False: the default walks every object in the session on each call (creating
    # 100,000 tasks in one session did not finish in 8 minutes); no loaded Recording needs the value.
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


def _overlaps(db: Session, recording_ids: list[str]) -> int:
    if not recording_ids:
        return 0
    rows = db.execute(
        select(ReviewTask.group_id).where(ReviewTask.recording_id.in_(recording_ids)).group_by(ReviewTask.group_id).having(func.count() > 1)
    ).all()
    return len(rows)
