"""The learning loop's rules: consent and deletion in datasets, account-disjoint splits, promotion
refusing a worse candidate, deletion marking versions for rebuild, and export contents."""

import json

import pytest
from sqlalchemy import select

from sottovoce.core.audit import OPERATOR, Actor
from sottovoce.core.errors import Conflict
from sottovoce.db.models import DatasetItem, ModelVersion
from sottovoce.learning import dataset, guard, registry
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


def metrics(eval_wer, guard_errors, snapshot="snap"):
    """Stored figures as ``learn evaluate`` writes them: the guard set as per-clip error counts."""
    return json.dumps({"snapshot": snapshot, "eval_wer": eval_wer, "guard": {"set": guard.fingerprint(), "wer": sum(guard_errors) / (5 * len(guard_errors)), "interval": None, "errors": guard_errors, "words": [5] * len(guard_errors)}})


def test_promotion_refuses_a_worse_candidate(services):
    calm = [0] * 100
    with services.sessions() as db:
        base = registry.ensure_base(services, db)
        base.metrics = metrics(0.20, calm)
        worse = registry.add_candidate(services, db, {"hotwords": "x"}, "snap")
        worse.metrics = metrics(0.25, calm)
        with pytest.raises(Conflict, match="does not improve"):
            registry.promote(db, worse)
        # One more error on 30 of 100 clips: worse beyond the paired interval.
        regressing = registry.add_candidate(services, db, {"hotwords": "y"}, "snap")
        regressing.metrics = metrics(0.10, [1] * 30 + [0] * 70)
        with pytest.raises(Conflict, match="beyond the bootstrap interval"):
            registry.promote(db, regressing)
        # One clip with a hallucinated paragraph (104 errors on 5 words, as a benchmark version
        # did): inside the bootstrap interval, refused as a runaway.
        runaway = registry.add_candidate(services, db, {"hotwords": "w"}, "snap")
        runaway.metrics = metrics(0.10, [104] + [0] * 99)
        with pytest.raises(Conflict, match="run away"):
            registry.promote(db, runaway)
        # One clip worse and one better: within the noise, allowed.
        better = registry.add_candidate(services, db, {"hotwords": "z"}, "snap")
        better.metrics = metrics(0.15, [1] + [0] * 99)
        assert registry.promote(db, better).status == "active"
        assert base.status == "retired"


def test_a_gate_that_cannot_be_computed_refuses(services):
    with services.sessions() as db:
        base = registry.ensure_base(services, db)
        candidate = registry.add_candidate(services, db, {"hotwords": "x"}, "snap")
        with pytest.raises(Conflict, match="has not been evaluated"):
            registry.promote(db, candidate)
        base.metrics, candidate.metrics = metrics(None, [0] * 10), metrics(None, [0] * 10)
        with pytest.raises(Conflict, match="eval split has no examples"):
            registry.promote(db, candidate)
        base.metrics, candidate.metrics = metrics(0.3, [0] * 10, "old"), metrics(0.2, [0] * 10)
        with pytest.raises(Conflict, match="different datasets"):
            registry.promote(db, candidate)
        base.metrics = json.dumps({"snapshot": "snap", "eval_wer": 0.3})
        with pytest.raises(Conflict, match="no guard-set figures"):
            registry.promote(db, candidate)
        base.metrics = metrics(0.3, [0] * 10)
        other = json.loads(candidate.metrics)
        other["guard"]["set"] = "another"
        candidate.metrics = json.dumps(other)
        with pytest.raises(Conflict, match="different guard sets"):
            registry.promote(db, candidate)
        assert candidate.status == 'candidate'
        assert base.status == 'active'


def test_rollback_gates(services, gold):
    made = gold(6)
    with services.sessions() as db:
        snap = dataset.snapshot(services, db)
        v1 = registry.ensure_base(services, db)
        v1.metrics = metrics(0.3, [0] * 100, snap.id)
        with pytest.raises(Conflict, match="no earlier version"):
            registry.rollback(services, db)
        v2 = registry.add_candidate(services, db, {"hotwords": "a"}, snap.id)
        v2.metrics = metrics(0.2, [0] * 100, snap.id)
        registry.promote(db, v2)
        v3 = registry.add_candidate(services, db, {"hotwords": "b"}, "other")
        v3.metrics = metrics(0.1, [0] * 100, snap.id)
        with pytest.raises(Conflict, match="only a retired, once-active"):
            registry.rollback(services, db, v3)  # a candidate is promoted, not rolled back to
        registry.promote(db, v3)
        # v1 is worse on the guard set than v3 now is: refused.
        v1.metrics = metrics(0.3, [1] * 40 + [0] * 60, snap.id)
        with pytest.raises(Conflict, match="beyond the bootstrap interval"):
            registry.rollback(services, db, v1)
        replaced, restored = registry.rollback(services, db)  # default: the one active before
        assert (replaced.name, restored.name) == ('v3', 'v2')
        assert v3.status == 'retired'
        assert v2.status == 'active'
        db.commit()
    # A deletion strips v2's text (it is needs_retrain now); v1 is retired and never stripped.
    delete_one_training_recording(services, made, snap.id)
    with services.sessions() as db:
        v2 = db.get(ModelVersion, v2.id)
        assert v2.status == 'needs_retrain'  # its figures went with its text
        assert json.loads(v2.metrics) == {}
        # Compared with the base model's figures (v2 now decodes like it): v3 is not worse.
        replaced, restored = registry.rollback(services, db, registry.get(db, "v3"))
        assert replaced.name == 'v2'
        assert restored.name == 'v3'
        db.commit()
    with services.sessions() as db:
        with pytest.raises(Conflict, match="stripped by a deletion"):
            registry.rollback(services, db, registry.get(db, "v2"))


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


def test_cli_refuses_cleanly_when_the_eval_split_is_empty(services, settings, env_for):
    from typer.testing import CliRunner

    from sottovoce.cli import app

    with services.sessions() as db:
        registry.ensure_base(services, db).metrics = metrics(None, [0] * 10)
        registry.add_candidate(services, db, {"hotwords": "x"}, "snap").metrics = metrics(None, [0] * 10)
        db.commit()
    for args in (["learn", "promote", "v2"], ["learn", "rollback"], ["learn", "rollback", "v2"]):
        result = CliRunner().invoke(app, args, env=env_for(settings))
        assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit), result.output
        assert 'Traceback' not in result.output
        assert result.output.startswith('error: refused' if args[1] == 'promote' else 'error:')
    assert "eval split has no examples" in CliRunner().invoke(app, ["learn", "promote", "v2"], env=env_for(settings)).output


def test_versions_show_validation_eval_and_guard_figures_with_intervals(services, settings, env_for):
    from typer.testing import CliRunner

    from sottovoce.cli import app

    with services.sessions() as db:
        base = registry.ensure_base(services, db)
        stored = json.loads(metrics(0.25, [1] * 10 + [0] * 90))
        stored["eval_interval"] = [0.2, 0.3]
        stored["guard"]["interval"] = [0.01, 0.04]
        stored["validation"] = {"wer": 0.18, "interval": [0.12, 0.24], "base_wer": 0.3, "clips": 40, "better": 9, "worse": 2}
        base.metrics = json.dumps(stored)
        db.commit()
    result = CliRunner().invoke(app, ["learn", "versions"], env=env_for(settings))
    assert result.exit_code == 0, result.output
    line = result.stdout.splitlines()[1]
    assert line.split()[:2] == ['v1', 'active']
    assert '18.0% [12.0–24.0]' in line
    assert '25.0% [20.0–30.0]' in line
    assert '2.0% [1.0–4.0]' in line
    shown = json.loads(CliRunner().invoke(app, ["learn", "versions", "--json"], env=env_for(settings)).stdout)[0]
    assert shown['figures']['guard_interval'] == [0.01, 0.04]
    assert 'errors' not in shown['metrics']['guard']


def test_progress_bar_draws_on_stderr_only(capsys):
    from sottovoce.cli.progress import progress_bar

    with progress_bar(enabled=True) as progress:
        progress("decoding held-out clips", 3, 10)
        progress("scoring settings and rules", 5, None)
    out, err = capsys.readouterr()
    assert out == ''
    assert 'decoding held-out clips' in err
    assert '3/10' in err
    with progress_bar(enabled=False) as progress:
        progress("quiet", 1, 1)
    assert capsys.readouterr() == ("", "")


def test_evaluate_reuses_guard_figures_only_for_the_same_sealed_parameters(services, monkeypatch):
    import hashlib

    from sottovoce.db.models import DatasetSnapshot
    from sottovoce.learning import loop

    with services.sessions() as db:
        snap = DatasetSnapshot(train_count=0, eval_count=0)
        db.add(snap)
        base = registry.ensure_base(services, db)
        stored = json.loads(metrics(None, [0] * 106))
        stored["guard"]["params"] = hashlib.sha256(base.params.encode()).hexdigest()[:16]
        base.metrics = json.dumps(stored)
        db.flush()
        decoded = []
        monkeypatch.setattr(loop, "guard_figures", lambda *a, **k: decoded.append(1) or {"set": "fresh"})
        report = loop.evaluate(services, db, [base], snap)
        assert decoded == []  # nothing decoded
        assert report['versions']['v1']['eval_wer'] is None
        registry.set_params(services, base, {})  # resealed: another digest, so measured again
        loop.evaluate(services, db, [base], snap)
        assert decoded == [1]
        assert json.loads(base.metrics)['guard']['set'] == 'fresh'


def test_supervisor_page_shows_each_version_s_figures(services, app_client, make_staff):
    from sottovoce.staff.roles import SUPERVISOR
    from tests.factories import sign_in

    with services.sessions() as db:
        stored = json.loads(metrics(0.25, [1] * 10 + [0] * 90))
        stored["eval_interval"], stored["guard"]["interval"] = [0.2, 0.3], [0.01, 0.04]
        registry.ensure_base(services, db).metrics = json.dumps(stored)
        registry.add_candidate(services, db, {"hotwords": "never shown"}, "snap")
        db.commit()
    sign_in(app_client, make_staff(SUPERVISOR))
    page = app_client.get("/staff/supervise").text
    assert "<td>v1</td><td>active</td><td>–</td><td>25.0% (20.0–30.0)</td><td>2.0% (1.0–4.0)</td>" in page
    assert '<td>v2</td><td>candidate</td>' in page
    assert 'never shown' not in page
