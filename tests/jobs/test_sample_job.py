"""The periodic sampler job at volume: set-based task creation (several statement chunks), one render
job per new task, and the same consent/cap/budget rules as the small tests in tests/review."""

from __future__ import annotations

import json
import random

from sqlalchemy import func, insert, select

from sottovoce.core.crypto import KEY_BYTES, seal
from sottovoce.core.purposes import Purpose
from sottovoce.db.models import Account, AccountKey, Hypothesis, Job, Recording, ReviewTask
from sottovoce.db.types import new_id, utcnow
from sottovoce.jobs.review import sample_and_queue_renders
from sottovoce.review import sampler


def bulk_recordings(services, accounts: int, per_account: int, consent=lambda i: True, seed: int = 3) -> list[str]:
    """Rows only (nothing here opens audio): accounts with keys, and transcribed recordings with one
    scored, sealed hypothesis each."""
    rng = random.Random(seed)
    now = utcnow()
    account_rows, key_rows, rec_rows, hyp_rows = [], [], [], []
    for i in range(accounts):
        account_id = new_id()
        account_rows.append({"id": account_id, "name": f"bulk-{i}", "consent_human_review": consent(i), "consent_training": False,
                             "retention": "forever", "created_at": now})
        key_rows.append({"account_id": account_id, "wrapped_key": services.keys.provider.wrap(bytes(KEY_BYTES), account_id),
                         "created_at": now})
        for _ in range(per_account):
            rid = new_id()
            rec_rows.append({"id": rid, "account_id": account_id, "captured_at": now, "received_at": now, "duration_s": 1.0,
                             "audio_blob_id": new_id(), "status": "transcribed", "likely_accidental": False})
            low = rng.random()
            # Sealed for real under the account's (all-zero, test-only) data key: the sampler's
            # pre-screen opens each picked hypothesis.
            content = json.dumps({"text": "lights on", "words": []}).encode()
            hyp_rows.append({"id": new_id(), "recording_id": rid, "source": "external", "engine": "t", "model": "t", "model_version": "1",
                             "created_at": now, "sealed_content": seal(bytes(KEY_BYTES), content, Purpose.HYPOTHESIS, rid), "word_count": 2, "min_confidence": low,
                             "mean_confidence": min(1.0, low + 0.1)})
    with services.sessions() as db:
        for model, rows in ((Account, account_rows), (AccountKey, key_rows), (Recording, rec_rows), (Hypothesis, hyp_rows)):
            db.execute(insert(model.__table__), rows)
        db.commit()
    return [r["id"] for r in rec_rows]


def test_the_job_creates_tasks_in_chunks_and_one_render_job_each(services):
    s = services.settings
    s.sampler_account_cap, s.sampler_daily_budget, s.sampler_overlap_share = 5, 1_300, 0.1
    bulk_recordings(services, accounts=300, per_account=6, consent=lambda i: i % 10 != 0)  # 270 consent x 5 = 1,350 > budget

    report = sample_and_queue_renders(services)

    assert report["sampled"] == 1_300  # more than two statement chunks of sampler.CHUNK
    with services.sessions() as db:
        tasks = db.execute(select(ReviewTask.id, ReviewTask.recording_id, ReviewTask.account_id, ReviewTask.group_id)).all()
        jobs = db.scalars(select(Job.subject_id).where(Job.kind == "render_task", Job.status == "queued")).all()
        sampled = set(db.scalars(select(Recording.id).where(Recording.sampled_at.is_not(None))))
        consenting = set(db.scalars(select(Account.id).where(Account.consent_human_review.is_(True))))
        per_account = db.execute(select(Recording.account_id, func.count()).where(Recording.sampled_at.is_not(None))
                                 .group_by(Recording.account_id)).all()
    assert sorted(jobs) == sorted(t.id for t in tasks)  # every new task, once
    assert {t.recording_id for t in tasks} == sampled and len(sampled) == 1_300
    assert {t.account_id for t in tasks} <= consenting
    assert max(n for _, n in per_account) <= 5
    groups: dict[str, set[str]] = {}
    for t in tasks:
        groups.setdefault(t.group_id, set()).add(t.recording_id)
    assert all(len(recordings) == 1 for recordings in groups.values())  # a group is one recording
    assert report["overlap"] == sum(1 for g in groups if sum(t.group_id == g for t in tasks) == 2)
    assert 60 <= report["overlap"] <= 200  # binomial(1,300, 0.1): about 130

    assert sample_and_queue_renders(services)["sampled"] == 0  # today's budget is spent
    s.sampler_daily_budget = 2_000
    assert sample_and_queue_renders(services)["sampled"] == 50  # what the caps leave: 270 x 5 - 1,300
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Job)) == db.scalar(select(func.count()).select_from(ReviewTask))


def test_uncertainty_order_holds_across_keyset_pages(services):
    s = services.settings
    s.sampler_random_share, s.sampler_overlap_share, s.sampler_account_cap = 0.0, 0.0, 1_000
    bulk_recordings(services, accounts=1, per_account=700)
    with services.sessions() as db:
        report = sampler.sample(services, db, limit=450, rng=random.Random(1))
        db.commit()
        picked = set(db.scalars(select(ReviewTask.recording_id)))
        ordered = db.scalars(select(Hypothesis.recording_id).order_by(Hypothesis.min_confidence, Hypothesis.mean_confidence)).all()
    assert report.sampled == 450
    assert picked == set(ordered[:450])  # the 450 least confident, read over three pages of 200
