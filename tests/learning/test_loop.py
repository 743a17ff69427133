"""The learning loop's rules: consent and deletion in datasets, account-disjoint splits, promotion
refusing a worse candidate, deletion marking versions for rebuild, and export contents."""

import json

import pytest
from sqlalchemy import select

from sottovoce.core.audit import OPERATOR, Actor
from sottovoce.core.errors import Conflict
from sottovoce.db.models import DatasetItem, ModelVersion
from sottovoce.learning import dataset, registry
from sottovoce.learning.export import export
from sottovoce.review import leases as leases
from sottovoce.review.sampler import create_tasks
from sottovoce.review.submissions import Submission, submit


@pytest.fixture
def gold(services, make_account, make_recording):
    """Accounts with reviewed (gold) recordings: training consent on unless told otherwise."""

    def make(n_accounts=6, training=True, text="lock the front door"):
        made = []
        for _ in range(n_accounts):
            account, device = make_account(review=True, training=training)
            recording = make_recording(device)
            with services.sessions() as db:
                create_tasks(db, recording.id, account.id, "uncertainty", 0.5)
                db.commit()
                task = leases.lease_next(services, db, "reviewer-" + account.id[:6])
                submit(services, db, task, Actor("reviewer-" + account.id[:6], "reviewer"), Submission(text=text))
                db.commit()
            made.append((account.id, recording.id))
        return made

    return make


def test_dataset_takes_only_training_consented_and_splits_by_account(services, gold):
    consenting = gold(10)
    gold(3, training=False)
    with services.sessions() as db:
        snap = dataset.snapshot(services, db)
        db.commit()
        items = db.scalars(select(DatasetItem).where(DatasetItem.snapshot_id == snap.id)).all()
    assert {i.recording_id for i in items} == {r for _, r in consenting}
    train = {i.account_id for i in items if i.split == "train"}
    eval_ = {i.account_id for i in items if i.split == "eval"}
    assert train
    assert not train & eval_
    assert all(i.source == "review" and i.source_id for i in items)  # lineage: which annotation


def test_blocked_reviews_are_not_gold(services, make_account, make_recording):
    account, device = make_account(review=True, training=True)
    recording = make_recording(device)
    with services.sessions() as db:
        create_tasks(db, recording.id, account.id, "uncertainty", 0.5)
        db.commit()
        task = leases.lease_next(services, db, "r")
        submit(services, db, task, Actor("r", "reviewer"), Submission(text="lock the front door", tags=["not_english"]))
        db.commit()
        assert dataset.gold_examples(services, db) == []


def test_promotion_refuses_a_worse_candidate(services):
    with services.sessions() as db:
        base = registry.ensure_base(services, db)
        base.metrics = json.dumps({"eval_wer": 0.20, "general_wer": 0.10})
        worse = registry.add_candidate(services, db, {"hotwords": "x"}, "snap")
        worse.metrics = json.dumps({"eval_wer": 0.25, "general_wer": 0.10})
        with pytest.raises(Conflict, match="does not improve"):
            registry.promote(db, worse)
        regressing = registry.add_candidate(services, db, {"hotwords": "y"}, "snap")
        regressing.metrics = json.dumps({"eval_wer": 0.10, "general_wer": 0.12})
        with pytest.raises(Conflict, match="more than 1 point"):
            registry.promote(db, regressing)
        better = registry.add_candidate(services, db, {"hotwords": "z"}, "snap")
        better.metrics = json.dumps({"eval_wer": 0.15, "general_wer": 0.105})
        assert registry.promote(db, better).status == "active"
        assert base.status == "retired"


def delete_one_training_recording(services, made, snapshot_id: str) -> str:
    """Deletes, as its account holder would, one recording of the snapshot's train split."""
    from sottovoce.accounts.deletion import delete_recordings

    with services.sessions() as db:
        recording = db.scalar(select(DatasetItem.recording_id).where(DatasetItem.snapshot_id == snapshot_id, DatasetItem.split == "train"))
        account_id = next(a for a, r in made if r == recording)
        delete_recordings(services, db, account_id, [recording], OPERATOR, "cli")
        db.commit()
    return recording


def test_deletion_marks_the_trained_version_and_the_rebuild_excludes_it(services, gold):
    from sottovoce.learning import loop

    made = gold(12)
    with services.sessions() as db:
        snap = dataset.snapshot(services, db)
        version = registry.add_candidate(services, db, {"hotwords": None, "rewrites": []}, snap.id)
        db.commit()
    train_recording = delete_one_training_recording(services, made, snap.id)
    with services.sessions() as db:
        assert db.get(ModelVersion, version.id).status == "needs_retrain"
        assert db.scalar(select(DatasetItem).where(DatasetItem.recording_id == train_recording)) is None
        assert loop.rebuild(services, db) == [version.name]
        db.commit()
        rebuilt = db.get(ModelVersion, version.id)
        assert rebuilt.status == 'candidate'
        assert rebuilt.snapshot_id != snap.id
        assert train_recording not in set(db.scalars(select(DatasetItem.recording_id).where(DatasetItem.snapshot_id == rebuilt.snapshot_id)))


@pytest.mark.parametrize("fmt", ["hf", "nemo"])
def test_export_holds_exactly_the_consented_gold_examples(services, gold, tmp_path, fmt):
    gold(4)
    gold(2, training=False)
    out = tmp_path / "export"
    with services.sessions() as db:
        report = export(services, db, fmt, out, OPERATOR)
        db.commit()
    assert report["train"] + report["eval"] == 4
    wavs = list(out.rglob("*.wav"))
    assert len(wavs) == 4
    assert all(w.read_bytes()[:4] == b'RIFF' for w in wavs)
    manifests = list(out.rglob("metadata.jsonl")) if fmt == "hf" else list(out.glob("*_manifest.json"))
    rows = [json.loads(line) for m in manifests for line in m.read_text().splitlines()]
    assert len(rows) == 4
    assert {r.get('transcription', r.get('text')) for r in rows} == {'lock the front door'}
    with services.sessions() as db, pytest.raises(Conflict, match="not empty"):
        export(services, db, fmt, out, OPERATOR)


CANARY_SENTENCE = "turn on the quokkalamp seven"


def learned_from_canary(services, db, snapshot_id: str):
    """A candidate whose prompt, rules, validation-excluded rules and language model quote a
    correction, as `learn adapt` would make it."""
    from sottovoce.learning.adaptation import learn

    pairs = [("turn on the walk a lamp seven", CANARY_SENTENCE)] * 3 + [("lock the front door", "lock the front door")]
    excluded = [("the walk a lamp", "the quokkalamp")]  # a rule validation dropped
    return registry.add_candidate(services, db, learn(pairs, prompt_sentences=4, min_support=2, exclude_rules=excluded, alternatives=5, lm_weight=0.3).to_json(), snapshot_id)


def test_learned_text_is_sealed_at_rest_and_never_listed(services, settings):
    from tests.helpers import files_containing

    with services.sessions() as db:
        version = learned_from_canary(services, db, "snap")
        db.commit()
        learned = registry.params_of(services, version)
        assert 'quokkalamp' in learned['hotwords'].lower()
        assert 'quokkalamp' in json.dumps(learned['lm'])
        assert "quokkalamp" not in version.params.lower()
        listed = registry.describe(services, version)
        assert 'quokkalamp' not in json.dumps(listed).lower()
        assert listed['params']['hotwords_words'] > 0
        assert listed["params"]["selected"]["exclude_rules"] == 1  # counted, not quoted
        assert listed['params']['lm_trigrams'] > 0
        assert listed['params']['alternatives'] == 5
        stored = db.scalar(select(ModelVersion.params).where(ModelVersion.id == version.id))
    assert "quokkalamp" not in stored.lower()
    services.engine.dispose()
    assert files_containing(settings.home, b"quokkalamp") == []
    assert files_containing(settings.home, b"Quokkalamp") == []


def test_sealed_params_are_bound_to_their_version(services):
    from sottovoce.core.crypto import IntegrityFailure

    with services.sessions() as db:
        one = learned_from_canary(services, db, "snap")
        other = registry.add_candidate(services, db, {"hotwords": None}, "snap")
        other.params = one.params  # a swapped row must not be read as the other version's
        with pytest.raises(IntegrityFailure):
            registry.params_of(services, other)
        tampered = bytearray(one.params.encode())
        tampered[10] = ord("A") if tampered[10] != ord("A") else ord("B")
        one.params = tampered.decode()
        with pytest.raises(IntegrityFailure):
            registry.params_of(services, one)


def test_only_the_empty_base_version_may_be_unsealed(services):
    from sottovoce.core.crypto import IntegrityFailure

    with services.sessions() as db:
        version = registry.add_candidate(services, db, {}, "snap")
        version.params = "{}"  # the base version as stored before params were sealed
        assert registry.params_of(services, version) == {}
        version.params = json.dumps({"hotwords": "Say the admin password.", "rewrites": [["lock", "unlock"]]})
        with pytest.raises(IntegrityFailure):
            registry.params_of(services, version)


def test_deletion_strips_learned_text_from_every_version_trained_on_it(services, gold):
    made = gold(12, text=CANARY_SENTENCE)
    with services.sessions() as db:
        snap = dataset.snapshot(services, db)
        older = learned_from_canary(services, db, snap.id)
        older.status = registry.RETIRED
        current = learned_from_canary(services, db, snap.id)
        db.commit()
    delete_one_training_recording(services, made, snap.id)
    with services.sessions() as db:
        for version_id, status in ((older.id, "retired"), (current.id, "needs_retrain")):
            version = db.get(ModelVersion, version_id)
            params = registry.params_of(services, version)
            assert version.status == status
            assert 'quokkalamp' not in json.dumps(params).lower()
            assert params['stripped_by_deletion']
            assert params["params"]["selected"]["prompt_sentences"] == 4  # the settings survive for the rebuild
