"""The JSON metadata a device sends with a recording, validated before anything is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from sottovoce.asr.hypothesis import Transcript, Word
from sottovoce.core.errors import InvalidInput

MAX_CLOCK_SKEW = timedelta(minutes=5)


class ExternalWord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    word: str = Field(min_length=1, max_length=100)
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    confidence: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> ExternalWord:
        if self.end < self.start:
            raise ValueError("word end is before its start")
        return self


class ExternalHypothesis(BaseModel):
    """A transcript the product's own recognizer already made; local recognition is then skipped."""

    model_config = ConfigDict(extra="forbid")

    engine: str = Field("external", max_length=64)
    model: str = Field("unknown", max_length=200)
    model_version: str = Field("unknown", max_length=64)
    words: list[ExternalWord] = Field(max_length=2000)

    def to_transcript(self) -> Transcript:
        return Transcript(
            words=[Word(w.word, w.start, w.end, w.confidence) for w in self.words],
            engine=self.engine,
            model=self.model,
            model_version=self.model_version,
        )


class IngestMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid")

    captured_at: AwareDatetime | None = None
    hypothesis: ExternalHypothesis | None = None

    def capture_time(self, now: datetime, max_age: timedelta = timedelta(days=30)) -> datetime:
        """The capture time, checked against the arrival time: a device whose clock is far off
        would otherwise have every upload deleted by the next retention sweep (or kept forever)."""
        if self.captured_at is None:
            return now
        try:
            captured = self.captured_at.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00 falls before year 1 in UTC
            raise InvalidInput("captured_at is out of range") from None
        if captured > now + MAX_CLOCK_SKEW:
            raise InvalidInput("captured_at is in the future")
        if captured < now - max_age:
            raise InvalidInput(f"captured_at is more than {max_age.days} days before the upload arrived; check the device clock")
        return captured


def parse_metadata(raw: bytes | str | None) -> IngestMetadata:
    if raw is None or (isinstance(raw, (bytes, str)) and not raw.strip()):
        return IngestMetadata()
    try:
        return IngestMetadata.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "metadata"
        # Only the location and the rule are reported, never the value that was sent.
        raise InvalidInput(f"metadata is malformed at '{where}': {first['msg']}") from None


def check_hypothesis_fits(hypothesis: ExternalHypothesis, duration_s: float) -> None:
    tolerance = 0.5
    for i, w in enumerate(hypothesis.words):
        if w.end > duration_s + tolerance:
            raise InvalidInput(f"metadata is malformed at 'hypothesis.words.{i}': ends after the audio ({duration_s:.2f} s)")
