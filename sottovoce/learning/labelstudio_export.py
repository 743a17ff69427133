"""The Label Studio side of ``sottovoce learn export --format labelstudio``.

Writes tasks in Label Studio's import format for the whole-clip transcription template
(``LABEL_CONFIG``): the gold transcript as an annotation, the hypothesis a reviewer saw as a
prediction, and the audio as a Label Studio local-files URL, so the folder works in Label Studio
with ``LOCAL_FILES_SERVING_ENABLED=true`` and ``LOCAL_FILES_DOCUMENT_ROOT`` = the folder's parent
(and comes back in with ``sottovoce import labelstudio --local-files-root``).

Text is de-identified here, whatever its origin: every run of personal data the detector finds
becomes a typed placeholder (``[PHONE]``…), as reviewers see it. Imported corrections were typed
in another tool and may quote names or numbers; a reviewer's text already holds placeholders.
"""

from __future__ import annotations

from urllib.parse import quote

FROM_NAME, TO_NAME = "transcription", "audio"

LABEL_CONFIG = """<View>
  <Audio name="audio" value="$audio" />
  <TextArea name="transcription" toName="audio" rows="3" editable="true" maxSubmissions="1" />
</View>
"""


def deidentify(text: str) -> str:
    from sottovoce.privacy.pii_text import placeholder_text

    words = text.split()
    return " ".join(placeholder_text(words)[0]) if words else ""


def audio_url(folder_name: str, relative: str) -> str:
    return "/data/local-files/?d=" + quote(f"{folder_name}/{relative}")


def _textarea(text: str) -> list[dict]:
    return [{"from_name": FROM_NAME, "to_name": TO_NAME, "type": "textarea", "value": {"text": [text]}}]


def task(audio: str, text: str, hypothesis: str, split: str, duration_s: float) -> dict:
    """One Label Studio task: no ids of ours (file names are random per export)."""
    out = {
        "data": {"audio": audio, "split": split, "duration": duration_s},
        "annotations": [{"result": _textarea(deidentify(text)), "ground_truth": True}],
    }
    seen = deidentify(hypothesis)
    if seen:
        out["predictions"] = [{"model_version": "sottovoce-hypothesis", "result": _textarea(seen)}]
    return out
