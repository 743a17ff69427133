"""Export training data for heavier training elsewhere: a Hugging Face audiofolder, a NeMo manifest,
or a Label Studio import file.

Only gold examples of accounts that consent to training use, and only recordings that still exist,
are exported; optionally with the voice anonymized (privacy/voice.py). File names are random per
export, so they reveal no recording id. The export is recorded in the audit log and in
``export_records``/``export_items``, so a later deletion can list which exports held a recording
(deletion.py cannot reach copies outside this system; the receipt says where they went).

Layouts:
- ``hf``: ``DIR/data/{train,eval}/<name>.wav`` and ``DIR/data/{split}/metadata.jsonl`` with
  ``{"file_name", "transcription"}``, loadable with ``datasets.load_dataset("audiofolder", data_dir=DIR)``.
- ``nemo``: ``DIR/audio/<name>.wav`` and ``DIR/{train,eval}_manifest.json`` with one
  ``{"audio_filepath", "duration", "text"}`` per line.
- ``labelstudio``: ``DIR/audio/<name>.wav``, ``DIR/tasks.json`` (Label Studio tasks, the gold text
  as an annotation, de-identified: interop/labelstudio_export.py) and ``DIR/label_config.xml``.
  Recorded as format ``ls-json`` (the column holds 8 characters).
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from sottovoce.core import audio
from sottovoce.core.audit import Actor
from sottovoce.core.errors import Conflict, InvalidInput
from sottovoce.core.services import Services
from sottovoce.db.models import ExportItem, ExportRecord, Recording
from sottovoce.learning import dataset, labelstudio_export
from sottovoce.recordings.store import load_audio

FORMATS = ("hf", "nemo", "labelstudio")
STORED = {"labelstudio": "ls-json"}  # export_records.format is 8 characters wide


def export(services: Services, db: Session, fmt: str, out: Path, actor: Actor, anonymize: bool = False, progress: Callable[[], object] | None = None) -> dict[str, Any]:
    if fmt not in FORMATS:
        raise InvalidInput(f"expected a format among {', '.join(FORMATS)} but got '{fmt[:20]}'")
    if out.exists() and any(out.iterdir()):
        raise Conflict(f"{out} exists and is not empty; choose a new folder")
    examples = dataset.gold_examples(services, db)
    staging = out.with_name(out.name + ".partial-" + secrets.token_hex(4))
    staging.mkdir(parents=True)
    record = ExportRecord(format=STORED.get(fmt, fmt), destination=str(out.resolve()), anonymized=anonymize)
    db.add(record)
    db.flush()
    rng = np.random.default_rng(secrets.randbits(128))
    manifests: dict[str, list[dict]] = {"train": [], "eval": []}
    try:
        for example in examples:
            samples = load_audio(services, db, db.get_one(Recording, example.recording_id))
            if anonymize:
                from sottovoce.privacy.voice import anonymize as transform

                samples, _ = transform(samples, audio.SAMPLE_RATE, rng)
            split = dataset.split_of(services, example.account_id)
            name = secrets.token_hex(8) + ".wav"
            folder = staging / ("data" / Path(split) if fmt == "hf" else Path("audio"))
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(audio.to_wav(samples))
            duration_s = round(samples.size / audio.SAMPLE_RATE, 3)
            if fmt == "hf":
                manifests[split].append({"file_name": name, "transcription": example.text})
            elif fmt == "labelstudio":
                manifests[split].append(labelstudio_export.task(labelstudio_export.audio_url(out.name, f"audio/{name}"), example.text, example.hypothesis, split, duration_s))
            else:
                manifests[split].append({"audio_filepath": f"audio/{name}", "duration": duration_s, "text": example.text})
            db.add(ExportItem(export_id=record.id, recording_id=example.recording_id))
            if progress:
                progress()
        if fmt == "labelstudio":
            (staging / "tasks.json").write_text(json.dumps(manifests["train"] + manifests["eval"], indent=1))
            (staging / "label_config.xml").write_text(labelstudio_export.LABEL_CONFIG)
        for split, rows in manifests.items():
            if not rows or fmt == "labelstudio":
                continue
            target = staging / "data" / split / "metadata.jsonl" if fmt == "hf" else staging / f"{split}_manifest.json"
            target.write_text("".join(json.dumps(r) + "\n" for r in rows))
        services.audit.append(db, actor, "learning.export", record.id, {"format": fmt, "examples": len(examples), "anonymized": anonymize})
        if out.exists():
            out.rmdir()
        staging.rename(out)  # all or nothing: a crash leaves only the .partial folder
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {"export": record.id, "format": fmt, "out": str(out), "train": len(manifests["train"]), "eval": len(manifests["eval"]), "anonymized": anonymize}
