"""Label Studio import: both templates, predictions as hypotheses, annotations as final transcripts,
consent set only as the operator states it, and all-or-nothing on a bad export."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import select

from sottovoce.core.audit import OPERATOR
from sottovoce.db.models import Account, Adjudication, ConsentChange, Recording
from sottovoce.interop.labelstudio_import import (
    LabelStudioImportError,
    import_export,
    read_map,
)
from sottovoce.learning import dataset
from sottovoce.recordings.store import describe
from sottovoce.review.quality import ADJUDICATED
from tests.factories import DEMO_CLIPS
from tests.helpers import counts, files_containing

CLIPS = ["lock-the-front-door.wav", "cancel-all-timers.wav", "set-a-timer-for-5-minutes.wav"]


def textarea(text, **value):
    return {"from_name": "transcription", "to_name": "audio", "type": "textarea", "value": {"text": [text], **value}}


def whole_clip_task(tid, clip, prediction=None, annotation=None, score=None):
    task = {"id": tid, "data": {"audio": f"audio/{clip}"}, "annotations": [], "predictions": []}
    if prediction is not None:
        task["predictions"].append({"model_version": "whisper-small", "score": score, "result": [textarea(prediction)]})
    if annotation is not None:
        task["annotations"].append({"id": 1, "completed_by": 7, "was_cancelled": False, "result": [textarea(annotation)]})
    return task


def region_task(tid, clip, regions, annotated_regions=None):
    """The TextArea-per-region template: a labels region and a textarea sharing its id."""

    def result(segments):
        out = []
        for k, (start, end, text) in enumerate(segments):
            rid = f"r{k}"
            out.append({"id": rid, "from_name": "labels", "to_name": "audio", "type": "labels", "value": {"start": start, "end": end, "channel": 0, "labels": ["Speech"]}})
            out.append({"id": rid, "from_name": "transcription", "to_name": "audio", "type": "textarea", "value": {"start": start, "end": end, "text": [text]}})
        return out

    task = {"id": tid, "data": {"audio": f"audio/{clip}"}, "predictions": [{"model_version": "v1", "result": result(regions), "score": 0.8}]}
    task["annotations"] = [{"result": result(annotated_regions)}] if annotated_regions else []
    return task


@pytest.fixture
def export_dir(tmp_path):
    folder = tmp_path / "ls"
    (folder / "audio").mkdir(parents=True)
    for clip in CLIPS:
        shutil.copy(DEMO_CLIPS / clip, folder / "audio" / clip)
    return folder


def write(folder, tasks, name="export.json"):
    path = folder / name
    path.write_text(json.dumps(tasks))
    return path


def run(services, path, **options):
    options.setdefault("consent_review", True)
    options.setdefault("consent_training", True)
    with services.sessions() as db:
        return import_export(services, db, path, OPERATOR, **options)


def test_whole_clip_template_imports_hypotheses_and_corrections(services, account, export_dir):
    path = write(export_dir, [
        whole_clip_task(11, CLIPS[0], prediction="lock the front floor", annotation="lock the  front door", score=0.7),
        whole_clip_task(12, CLIPS[1], prediction="cancel all timers"),
    ])
    report = run(services, path, account=account.name)
    assert report["tasks"] == 2 and report["hypotheses"] == 2 and report["corrections"] == 1
    assert [r["task"] for r in report["recordings"]] == ["11", "12"]
    with services.sessions() as db:
        first = db.get(Recording, report["recordings"][0]["recording"])
        shown = describe(services, db, first)
        assert first.device_id is None and first.account_id == account.id and first.status == "transcribed"
        assert shown["hypothesis"]["text"] == "lock the front floor" and shown["hypothesis"]["engine"] == "labelstudio"
        words = shown["hypothesis"]["words"]
        assert all(w["confidence"] == 0.7 for w in words)
        assert words[0]["start"] == 0 and abs(words[-1]["end"] - first.duration_s) < 0.01  # spread over the clip
        adjudication = db.scalar(select(Adjudication).where(Adjudication.recording_id == first.id))
        text = services.keys.open(db, account.id, adjudication.sealed_text, ADJUDICATED, adjudication.group_id).decode()
        assert text == "lock the front door"  # whitespace normalized as a supervisor's text is
        # The correction is a gold example exactly like a supervisor's adjudication.
        examples = {e.recording_id: e for e in dataset.gold_examples(services, db)}
        assert examples[first.id].text == "lock the front door" and examples[first.id].source == "adjudication"
        assert len(examples) == 1


def test_region_template_orders_regions_and_keeps_their_times(services, account, export_dir):
    regions = [(1.0, 1.6, "front door"), (0.1, 0.9, "lock the")]
    path = write(export_dir, [region_task("a-1", CLIPS[0], regions, annotated_regions=[(1.0, 1.6, "front door"), (0.1, 0.9, "please lock the")])])
    report = run(services, path, account=account.id)
    with services.sessions() as db:
        recording = db.get(Recording, report["recordings"][0]["recording"])
        hypothesis = describe(services, db, recording)["hypothesis"]
        assert hypothesis["text"] == "lock the front door"
        starts = [(w["word"], w["start"], w["end"]) for w in hypothesis["words"]]
        assert starts[0] == ("lock", 0.1, 0.5) and starts[2] == ("front", 1.0, 1.3)
        assert all(w["confidence"] == 0.8 for w in hypothesis["words"])
        assert dataset.gold_examples(services, db)[0].text == "please lock the front door"


def test_task_without_prediction_is_queued_for_local_recognition(services, account, export_dir):
    path = write(export_dir, [whole_clip_task(1, CLIPS[0], annotation="lock the front door")])
    report = run(services, path, account=account.id)
    assert report["queued_for_recognition"] == 1 and report["recordings"][0]["status"] == "pending"
    assert counts(services)["jobs"] == 1


def test_ground_truth_then_latest_annotation_wins_and_cancelled_is_ignored(services, account, export_dir):
    task = whole_clip_task(5, CLIPS[0])
    task["annotations"] = [
        {"result": [textarea("older")], "updated_at": "2026-01-01T00:00:00Z"},
        {"result": [textarea("newer")], "updated_at": "2026-02-01T00:00:00Z"},
        {"result": [textarea("cancelled")], "was_cancelled": True, "updated_at": "2026-03-01T00:00:00Z"},
    ]
    report = run(services, write(export_dir, [task]), account=account.id)
    assert report["annotations_passed_over"] == 1
    with services.sessions() as db:
        assert dataset.gold_examples(services, db)[0].text == "newer"
    task["id"] = 6
    task["annotations"][0]["ground_truth"] = True
    run(services, write(export_dir, [task]), account=account.id)
    with services.sessions() as db:
        assert sorted(e.text for e in dataset.gold_examples(services, db)) == ["newer", "older"]


def test_consent_is_set_exactly_as_the_operator_states_and_recorded(services, make_account, export_dir):
    account, _device = make_account(review=False, training=False)
    run(services, write(export_dir, [whole_clip_task(1, CLIPS[0], annotation="x")]), account=account.id, consent_review=True, consent_training=False)
    with services.sessions() as db:
        fresh = db.get(Account, account.id)
        assert fresh.consent_human_review is True and fresh.consent_training is False
        changes = db.scalars(select(ConsentChange).where(ConsentChange.account_id == account.id)).all()
        assert [(c.purpose, c.value, c.channel, c.actor_role) for c in changes] == [("human_review", True, "import", "operator")]
        assert dataset.gold_examples(services, db) == []  # no training consent: the correction is not gold for export


def test_consent_flags_are_required_on_the_command_line():
    from typer.testing import CliRunner

    from sottovoce.cli.main import app

    result = CliRunner().invoke(app, ["import", "labelstudio", "x.json", "--account", "a"])
    assert result.exit_code != 0 and "consent-review" in result.output


def test_map_file_assigns_each_task_and_must_cover_all(services, make_account, export_dir):
    one, _ = make_account(name="ana")
    two, _ = make_account(name="bo")
    path = write(export_dir, [whole_clip_task(1, CLIPS[0], "a b"), whole_clip_task(2, CLIPS[1], "c d")])
    (export_dir / "map.csv").write_text(f"task_id,account\n1,ana\n2,{two.id}\n")
    report = run(services, path, mapping=read_map(export_dir / "map.csv"))
    with services.sessions() as db:
        owners = [db.get(Recording, r["recording"]).account_id for r in report["recordings"]]
    assert owners == [one.id, two.id]
    (export_dir / "map.csv").write_text("task_id,account\n1,ana\n")
    before = counts(services)
    with pytest.raises(LabelStudioImportError, match=r"task 2: account: not in the --map file"):
        run(services, path, mapping=read_map(export_dir / "map.csv"))
    assert counts(services) == before


BAD = [
    (lambda t: t.update(data={"audio": "https://example.com/a.wav"}), r"task 1: data\.audio: is an http\(s\) URL; sottovoce works offline"),
    (lambda t: t.update(data={"audio": "audio/missing.wav"}), r"task 1: data\.audio: no such file"),
    (lambda t: t.update(data={}), r"task 1: data\.audio: missing"),
    (lambda t: t.update(data={"audio": "/data/upload/1/x.wav"}), r"task 1: data\.audio: .*--media-root"),
    (lambda t: t["predictions"][0]["result"][0]["value"].update(text="oops"), r"task 1: predictions\[0\]\.result\[0\]\.value\.text: expected a list of strings"),
    (lambda t: t["predictions"][0].update(score=3), r"task 1: predictions\[0\]\.score: expected a number from 0 to 1"),
    (lambda t: t["predictions"][0]["result"][0]["value"].update(start=0.0, end=99.0), r"task 1: predictions\[0\]\.result: ends after the audio"),
    (lambda t: t["annotations"][0].update(result={"no": 1}), r"task 1: annotations\[0\]\.result: expected a list of objects"),
    (lambda t: t["annotations"][0]["result"].append(dict(textarea("y"), from_name="other")), r"task 1: annotations\[0\]\.result: several whole-clip TextAreas"),
    (lambda t: t["predictions"][0]["result"][0]["value"].update(text=["w" * 101]), r"task 1: predictions\[0\]\.result \(as words\.0\.word\): String should have at most 100"),
    (lambda t: t.update(annotations={"a": 1}), r"task 1: annotations: expected a list"),
    (lambda t: t.update(created_at="2999-01-01T00:00:00Z"), r"task 1: created_at: is in the future"),
]


@pytest.mark.parametrize("damage,message", BAD)
def test_a_bad_task_names_task_and_field_and_leaves_nothing(services, account, export_dir, settings, damage, message):
    good = whole_clip_task(0, CLIPS[1], prediction="cancel all timers", annotation="cancel all timers")
    bad = whole_clip_task(1, CLIPS[0], prediction="the quokkafloor", annotation="lock the front door")
    damage(bad)
    before = counts(services)
    with pytest.raises(LabelStudioImportError, match=message):
        run(services, write(export_dir, [good, bad]), account=account.id)
    assert counts(services) == before
    with services.sessions() as db:
        assert db.scalar(select(Adjudication.group_id)) is None
        assert db.scalars(select(ConsentChange)).all() == []


FILE_LEVEL = [
    (b"[{", r"export\.json: not JSON"),
    (b'{"tasks": 3}', r"task #0: data: missing or not an object"),
    (b"[]", r"export\.json: expected a JSON list of tasks"),
    (b'[1]', r"task #0: \(task\): is not a JSON object"),
    (json.dumps([whole_clip_task(3, CLIPS[0], "a"), whole_clip_task(3, CLIPS[1], "b")]).encode(), r"task 3: id: appears twice in the export"),
]


@pytest.mark.parametrize("content,message", FILE_LEVEL)
def test_a_bad_file_is_refused_with_its_reason_and_leaves_nothing(services, account, export_dir, content, message):
    path = export_dir / "export.json"
    path.write_bytes(content)
    before = counts(services)
    with pytest.raises(LabelStudioImportError, match=message):
        run(services, path, account=account.id)
    assert counts(services) == before


def test_account_must_exist_and_be_given_one_way(services, account, export_dir):
    path = write(export_dir, [whole_clip_task(1, CLIPS[0], "a")])
    with pytest.raises(LabelStudioImportError, match="no account with id or name 'nobody'"):
        run(services, path, account="nobody")
    with pytest.raises(LabelStudioImportError, match="give exactly one of --account and --map"):
        run(services, path, account=account.id, mapping={"1": account.id})
    with pytest.raises(LabelStudioImportError, match="task 1: account: no account with id or name 'ghost'"):
        run(services, path, mapping={"1": "ghost"})


def _failing_put(services, monkeypatch, fail_on):
    """The blob store fails on its n-th write (a full disk, an S3 outage)."""
    real, calls = services.blobs.put, []

    def put(data):
        calls.append(1)
        if len(calls) == fail_on:
            raise OSError("disk full")
        return real(data)

    monkeypatch.setattr(services.blobs, "put", put)
    return calls


@pytest.mark.parametrize("workers", [1, 4])
def test_a_failure_while_storing_audio_removes_every_blob_already_written(services, account, export_dir, monkeypatch, workers):
    path = write(export_dir, [whole_clip_task(i, CLIPS[i % 3], prediction="a b c") for i in range(12)])
    before = counts(services)
    calls = _failing_put(services, monkeypatch, fail_on=7)
    with pytest.raises(OSError, match="disk full"):
        run(services, path, account=account.id, workers=workers)
    assert len(calls) >= 7 and counts(services) == before


def test_undecodable_audio_found_while_storing_names_the_task_and_leaves_nothing(services, account, export_dir):
    """The checks before any write cannot decode (that is done once, while storing): a clip that
    turns out unreadable half-way through still leaves nothing."""
    (export_dir / "audio" / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 200)
    tasks = [whole_clip_task(i, CLIPS[i % 3], prediction="a b c") for i in range(10)]
    tasks[6]["data"]["audio"] = "audio/broken.wav"
    before = counts(services)
    with pytest.raises(LabelStudioImportError, match=r"task 6: data\.audio: the file is not readable audio"):
        run(services, write(export_dir, tasks), account=account.id, workers=2)
    assert counts(services) == before


def test_a_failure_in_the_write_transaction_removes_rows_consent_and_blobs(services, make_account, export_dir, monkeypatch):
    import sottovoce.interop.labelstudio_import as module

    holder, _ = make_account(review=False, training=False)
    path = write(export_dir, [whole_clip_task(i, CLIPS[i % 3], prediction="a b c", annotation="a b c") for i in range(5)])
    real = module._insert

    def failing(db, model, rows):
        if model is module.Adjudication:  # the last table: recordings, hypotheses and consent are in the transaction already
            raise RuntimeError("database went away")
        return real(db, model, rows)

    monkeypatch.setattr(module, "_insert", failing)
    before = counts(services)
    with pytest.raises(RuntimeError):
        run(services, path, account=holder.id)
    assert counts(services) == before
    with services.sessions() as db:
        fresh = db.get(Account, holder.id)
        assert not fresh.consent_human_review and not fresh.consent_training
        assert db.scalars(select(ConsentChange)).all() == [] and db.scalar(select(Adjudication.group_id)) is None


def test_clips_swept_as_orphans_during_a_long_import_fail_it_cleanly(services, account, export_dir, monkeypatch):
    """A server starting mid-import sweeps blobs no committed row references yet (orphan_grace_s
    is 0 in tests, so the check before committing always runs)."""
    path = write(export_dir, [whole_clip_task(i, CLIPS[i % 3], prediction="a b c") for i in range(4)])
    real, written = services.blobs.put, []

    def put_then_sweep(data):
        written.append(real(data))
        if len(written) == 3:
            services.blobs.delete(written[0])  # what remove_orphan_blobs would do
        return written[-1]

    monkeypatch.setattr(services.blobs, "put", put_then_sweep)
    before = counts(services)
    with pytest.raises(LabelStudioImportError, match="1 of the 4 stored clips were removed while the import ran"):
        run(services, path, account=account.id, workers=1)
    assert counts(services) == before


def test_many_tasks_import_in_bulk_with_progress(services, account, export_dir):
    tasks = [whole_clip_task(i, CLIPS[i % 3], prediction="a b c", annotation="a b" if i % 2 else None) for i in range(1, 1201)]
    tasks += [whole_clip_task(2000, CLIPS[0])]  # no prediction: queued for recognition
    seen = []
    report = run(services, write(export_dir, tasks), account=account.id, progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert report["tasks"] == 1201 and report["hypotheses"] == 1200 and report["corrections"] == 600 and report["queued_for_recognition"] == 1
    after = counts(services)
    assert after["recordings"] == 1201 and after["hypotheses"] == 1200 and after["jobs"] == 1 and after["blobs"] == 1201
    stored = [s for s in seen if s[0] == "storing audio"]
    assert stored[-1] == ("storing audio", 1201, 1201) and len(stored) > 10  # it moves as clips are stored, not once at the end
    assert [d for _, d, _ in stored] == sorted(d for _, d, _ in stored)
    assert seen[-1] == ("writing rows", 1201, 1201)
    with services.sessions() as db:
        recordings = db.scalars(select(Recording).order_by(Recording.id)).all()
        assert len({r.audio_blob_id for r in recordings}) == 1201
        shown = describe(services, db, recordings[0])
        assert shown["hypothesis"]["text"] in ("a b c", None) and shown["status"] in ("transcribed", "pending")
        assert len(dataset.gold_examples(services, db)) == 600


def test_imported_rows_match_what_ingest_stores(services, account, device_and_token, export_dir):
    """The bulk writer builds rows itself: they must read back exactly as an ingested recording's."""
    from sottovoce.db.models import Hypothesis
    from sottovoce.recordings.ingest import ingest_and_commit
    from sottovoce.recordings.metadata import ExternalHypothesis, IngestMetadata
    from sottovoce.recordings.store import load_audio

    task = whole_clip_task(1, CLIPS[0], prediction="lock the front door", score=0.7)
    imported = run(services, write(export_dir, [task]), account=account.id)["recordings"][0]["recording"]
    device, _token = device_and_token
    with services.sessions() as db:
        mine = db.get(Recording, imported)
        words = describe(services, db, mine)["hypothesis"]["words"]
        metadata = IngestMetadata(hypothesis=ExternalHypothesis(engine="labelstudio", model="whisper-small", words=words))
        theirs = ingest_and_commit(services, db, device, (DEMO_CLIPS / CLIPS[0]).read_bytes(), metadata)
        a, b = describe(services, db, mine), describe(services, db, theirs)
        for shown in (a, b):
            shown["hypothesis"].pop("created_at")
        for key in ("hypothesis", "duration_s", "status"):
            assert a[key] == b[key], key
        assert (load_audio(services, db, mine) == load_audio(services, db, theirs)).all()
        columns = ("source", "engine", "model", "model_version", "word_count", "min_confidence", "mean_confidence", "version_id")
        rows = [db.scalar(select(Hypothesis).where(Hypothesis.recording_id == r.id)) for r in (mine, theirs)]
        assert [getattr(rows[0], c) for c in columns] == [getattr(rows[1], c) for c in columns]
        assert mine.device_id is None and mine.audio_kept and not mine.likely_accidental


def test_audio_references_in_label_studio_forms(services, account, export_dir, tmp_path):
    media = tmp_path / "media"
    (media / "upload" / "3").mkdir(parents=True)
    shutil.copy(DEMO_CLIPS / CLIPS[0], media / "upload" / "3" / "a.wav")
    tasks = [
        whole_clip_task(1, CLIPS[0], "a"),
        whole_clip_task(2, CLIPS[0], "b"),
        whole_clip_task(3, CLIPS[0], "c"),
        whole_clip_task(4, CLIPS[0], "d"),
    ]
    tasks[0]["data"]["audio"] = "/data/upload/3/a.wav"
    tasks[1]["data"]["audio"] = "/data/local-files/?d=upload/3/a.wav"
    tasks[2]["data"]["audio"] = (export_dir / "audio" / CLIPS[1]).as_uri()
    tasks[3]["data"]["audio"] = str(export_dir / "audio" / CLIPS[2])
    assert run(services, write(export_dir, tasks), account=account.id, media_root=media)["tasks"] == 4
    escape = [whole_clip_task(9, CLIPS[0], "e")]
    escape[0]["data"]["audio"] = "/data/local-files/?d=../ls/audio/" + CLIPS[0]
    with pytest.raises(LabelStudioImportError, match="task 9: data.audio: points outside the media root"):
        run(services, write(export_dir, escape), account=account.id, media_root=media)


def test_imported_text_is_not_stored_in_plaintext(services, account, export_dir, settings):
    path = write(export_dir, [whole_clip_task(1, CLIPS[0], prediction="turn on the quokkalamp", annotation="turn on the zebrafinchlamp")])
    run(services, path, account=account.id)
    path.unlink()  # the operator's own export file is theirs to keep or remove
    services.engine.dispose()
    assert files_containing(settings.home, b"quokkalamp") == []
    assert files_containing(settings.home, b"zebrafinchlamp") == []


def test_cli_import_end_to_end(settings, services, account, export_dir, env_for):
    import subprocess
    import sys

    path = write(export_dir, [whole_clip_task(1, CLIPS[0], prediction="lock the front door", annotation="lock the front door")])
    base = [sys.executable, "-m", "sottovoce", "import", "labelstudio", str(path), "--account", account.name, "--json"]
    done = subprocess.run(base + ["--consent-review", "--no-consent-training"], env=env_for(settings), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tasks"] == 1
    bad = write(export_dir, [{"id": 4, "data": {"audio": "http://10.0.0.1/a.wav"}}], "bad.json")
    failed = subprocess.run(base[:5] + [str(bad)] + base[6:] + ["--consent-review", "--consent-training"], env=env_for(settings), capture_output=True, text=True, check=False)
    assert failed.returncode == 1 and failed.stderr.startswith("error: task 4: data.audio: is an http(s) URL")
