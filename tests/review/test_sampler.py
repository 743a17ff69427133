"""Sampler rules: consent, per-account caps, no-speech exclusion, uncertainty order, random share."""

import random

from sqlalchemy import select

from sottovoce.db.models import Recording, ReviewTask
from sottovoce.review.sampler import sample


def run(services, limit=None, seed=1, **overrides):
    for key, value in overrides.items():
        setattr(services.settings, key, value)
    with services.sessions() as db:
        report = sample(services, db, limit=limit, rng=random.Random(seed))
        db.commit()
    return report


def tasks(services):
    with services.sessions() as db:
        return db.scalars(select(ReviewTask)).all()


def test_only_consenting_accounts_are_sampled(services, make_account, make_recording):
    _, yes = make_account(review=True)
    _, no = make_account(review=False)
    wanted = make_recording(yes)
    make_recording(no)
    report = run(services, sampler_random_share=0, sampler_overlap_share=0)
    assert report.sampled == 1
    assert [t.recording_id for t in tasks(services)] == [wanted.id]


def test_no_speech_and_empty_hypotheses_are_never_sampled_but_flagged(services, make_account, make_recording):
    _, device = make_account()
    empty = make_recording(device, words=())
    report = run(services)
    assert report.sampled == 0
    assert report.flagged_accidental == 1
    with services.sessions() as db:
        assert db.get(Recording, empty.id).likely_accidental


def test_per_account_cap_holds_across_runs(services, make_account, make_recording):
    _, device = make_account()
    for _ in range(7):
        make_recording(device)
    assert run(services, sampler_account_cap=5, sampler_random_share=0, sampler_overlap_share=0).sampled == 5
    assert run(services).sampled == 0  # the 30-day window still holds the first five


def test_daily_budget_bounds_the_total(services, make_account, make_recording):
    for _ in range(4):
        _, device = make_account()
        make_recording(device)
    assert run(services, sampler_daily_budget=3, sampler_random_share=0).sampled == 3


def test_lowest_confidence_first(services, make_account, make_recording):
    picks = {}
    for confidence in (0.9, 0.2, 0.6):
        _, device = make_account()
        picks[confidence] = make_recording(device, words=(("hello", confidence), ("there", 0.95)))
    run(services, limit=2, sampler_random_share=0, sampler_overlap_share=0)
    assert {t.recording_id for t in tasks(services)} == {picks[0.2].id, picks[0.6].id}


def test_random_slice_share_is_close_to_the_setting(services, make_account, make_recording):
    for _ in range(100):
        _, device = make_account()
        make_recording(device, words=(("hello", 0.5),))
    report = run(services, sampler_random_share=0.2, sampler_overlap_share=0, seed=7)
    assert report.sampled == 100
    assert 10 <= report.random <= 32  # binomial(100, 0.2): about 20, well inside 3 sd
    assert sum(t.kind == "random" for t in tasks(services)) == report.random


def test_an_overlap_clip_gets_two_tasks_with_unrelated_ids(services, make_account, make_recording):
    _, device = make_account()
    recording = make_recording(device)
    run(services, sampler_overlap_share=1.0)
    pair = tasks(services)
    assert len(pair) == 2
    assert pair[0].group_id == pair[1].group_id
    assert len({pair[0].id, pair[1].id, recording.id}) == 3
    assert recording.id not in pair[0].id
    assert pair[0].id[:8] != pair[1].id[:8]


def test_a_recording_is_sampled_once(services, make_account, make_recording):
    _, device = make_account()
    make_recording(device)
    assert run(services).sampled == 1
    assert run(services).sampled == 0
