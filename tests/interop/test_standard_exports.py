"""The hf export loads with Hugging Face `datasets` itself, and the nemo manifest reads the way
NeMo's manifest reader reads it (nemo/collections/common/parts/preprocessing/manifest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile

from sottovoce.core.audit import OPERATOR, Actor
from sottovoce.learning.export import export
from sottovoce.review import leases as leases
from sottovoce.review.sampler import create_tasks
from sottovoce.review.submissions import Submission, submit

TEXTS = ["lock the front door", "cancel all timers", "set a timer for five minutes", "turn the lights off", "add apples", "what is the weather"]


@pytest.fixture
def exported(services, make_account, make_recording, tmp_path):
    def make(fmt: str) -> Path:
        for text in TEXTS:
            account, device = make_account(review=True, training=True)
            recording = make_recording(device)
            with services.sessions() as db:
                create_tasks(db, recording.id, account.id, "uncertainty", 0.5)
                db.commit()
                task = leases.lease_next(services, db, "rev")
                submit(services, db, task, Actor("rev", "reviewer"), Submission(text=text))
                db.commit()
        out = tmp_path / f"export-{fmt}"
        with services.sessions() as db:
            export(services, db, fmt, out, OPERATOR)
            db.commit()
        return out

    return make


def test_hf_export_loads_with_datasets(exported, tmp_path, monkeypatch):
    """What `load_dataset("audiofolder", data_dir=DIR)` does, with datasets' own code: its split
    inference over the folder, its JSON loader for metadata.jsonl, its rule that ``file_name`` is
    relative to the metadata file. The last step, datasets' Audio feature, needs torch and
    torchcodec (datasets >= 4), which the project venv does not carry; the samples are read with
    soundfile instead (docs/interop.md says why)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # offline, caches under the test's folder: the Arrow
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")  # cache holds the transcripts in clear
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    datasets = pytest.importorskip("datasets")
    from datasets.data_files import get_data_patterns

    out = exported("hf")
    patterns = get_data_patterns(str(out))  # audiofolder's split inference
    splits = {p.name for p in (out / "data").iterdir()}
    # datasets names an "eval" folder the "test" split (its TEST_KEYWORDS include "eval").
    assert set(patterns) == {{"train": "train", "eval": "test"}[s] for s in splits}
    seen = []
    for split_dir in (out / "data").iterdir():
        loaded = datasets.load_dataset("json", data_files=str(split_dir / "metadata.jsonl"), split="train", cache_dir=str(tmp_path / "hf-cache"))
        assert loaded.column_names == ["file_name", "transcription"]
        assert loaded.features["transcription"].dtype == "string"
        for row in loaded:
            samples, rate = soundfile.read(split_dir / row["file_name"])
            assert rate == 16_000 and samples.ndim == 1 and samples.size > 0.5 * rate
            seen.append(row["transcription"])
        wavs = {p.name for p in split_dir.glob("*.wav")}
        assert wavs == set(loaded["file_name"])  # every audio file has exactly one metadata row
    assert sorted(seen) == sorted(TEXTS)
    # The Arrow form round-trips through save_to_disk / load_from_disk.
    loaded.save_to_disk(str(tmp_path / "arrow"))
    assert datasets.load_from_disk(str(tmp_path / "arrow"))["transcription"] == loaded["transcription"]


def nemo_item_iter(manifest: Path):
    """NeMo's item_iter + __parse_item, restated: JSON per line; the audio key is audio_filepath
    (or audio_filename); duration is required; text may be absent (""); a relative path with a
    folder part is joined to the manifest's folder, a bare file name is left as is."""
    for k, line in enumerate(manifest.read_text().splitlines()):
        item = json.loads(line)
        audio = item.pop("audio_filename", None) or item.pop("audio_filepath")
        if "duration" not in item:
            raise ValueError("without proper duration key")
        path = Path(audio).expanduser()
        if not path.is_absolute() and path.parent != Path("."):
            path = manifest.parent / path
        yield {"id": k, "audio_file": str(path), "duration": item["duration"], "text": item.get("text", "")}


def test_nemo_manifest_follows_nemo_reader_semantics(exported):
    out = exported("nemo")
    manifests = sorted(out.glob("*_manifest.json"))
    assert manifests and {m.name for m in manifests} <= {"train_manifest.json", "eval_manifest.json"}
    items = [item for m in manifests for item in nemo_item_iter(m)]
    assert sorted(i["text"] for i in items) == sorted(TEXTS)
    for item in items:
        info = soundfile.info(item["audio_file"])  # the path resolves as NeMo resolves it
        assert info.samplerate == 16_000 and info.channels == 1
        assert isinstance(item["duration"], float) and abs(item["duration"] - info.frames / info.samplerate) < 0.002
    for m in manifests:  # the keys NeMo's ASR datasets read, and nothing that would need our ids
        for line in m.read_text().splitlines():
            assert set(json.loads(line)) == {"audio_filepath", "duration", "text"}
