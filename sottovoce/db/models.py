"""ORM models. Content (audio, transcript text, words) is stored only sealed (see crypto.py);
plain columns hold what the system needs to route work: ids, states, times, numeric confidences.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Connection, Float, ForeignKey, Index, Integer, LargeBinary, MetaData, String, Text, event, text
from sqlalchemy import true as sa_true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from sottovoce.db.types import UTCDateTime, new_id, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Account(Base):
    """A person (or household) whose devices send recordings."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    consent_human_review: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_training: Mapped[bool] = mapped_column(Boolean, default=False)
    retention: Mapped[str] = mapped_column(String(16), default="18m")
    # "Don't keep my voice" (accounts/voice.py): keep | text_only (audio deleted once transcribed) | nothing
    keep_voice: Mapped[str] = mapped_column(String(16), default="keep", server_default="keep")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    devices: Mapped[list[Device]] = relationship(back_populates="account", cascade="all, delete-orphan")


class AccountKey(Base):
    """The account's data key, wrapped by the master key. Deleting the row crypto-shreds the account."""

    __tablename__ = "account_keys"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SystemKey(Base):
    """Instance-wide secrets, wrapped by the master key like account keys (rotation re-wraps them too).

    ``derivation-root`` is what every derived key (TOTP sealing, watermarks, dataset split ...) comes
    from, so replacing the master key does not change them.
    """

    __tablename__ = "system_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Device(Base):
    """A microphone that sends recordings with its own bearer token (stored as a SHA-256 hash)."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    serial: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    account: Mapped[Account] = relationship(back_populates="devices")


class Recording(Base):
    """One utterance. The audio is a sealed 16 kHz PCM blob; the blob id is the only pointer to it."""

    __tablename__ = "recordings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"), nullable=True)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    duration_s: Mapped[float] = mapped_column(Float)
    audio_blob_id: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | transcribed | failed
    failure_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    sampled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # No speech found (VAD) or an empty hypothesis: never sampled; the retention policy may delete it.
    likely_accidental: Mapped[bool] = mapped_column(Boolean, default=False)
    # False once the audio was deleted by the holder's "text only" choice (the row keeps the text).
    audio_kept: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())

    hypotheses: Mapped[list[Hypothesis]] = relationship(
        back_populates="recording", cascade="all, delete-orphan", order_by="Hypothesis.created_at"
    )

    __table_args__ = (
        Index("ix_recordings_account_captured", "account_id", "captured_at"),
        # The sampler's per-account cap and daily budget count recent samples only.
        Index("ix_recordings_sampled_at", "sampled_at", postgresql_where=text("sampled_at IS NOT NULL"),
              sqlite_where=text("sampled_at IS NOT NULL")),
        # The sampler's accidental-activation flag: empty hypotheses EXCEPT these (review/sampler.py).
        Index("ix_recordings_accidental", "id", postgresql_where=text("likely_accidental IS true"),
              sqlite_where=text("likely_accidental IS true")),
    )


UNSCORED_SQL = "word_count > 0 AND (min_confidence IS NULL OR mean_confidence IS NULL)"


class Hypothesis(Base):
    """A recognizer's transcript of a recording: text and words sealed, confidences in the clear."""

    __tablename__ = "hypotheses"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # local | external
    engine: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sealed_content: Mapped[bytes] = mapped_column(LargeBinary)
    word_count: Mapped[int] = mapped_column(Integer)
    min_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    mean_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    version_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)  # model_versions.id, local only

    recording: Mapped[Recording] = relationship(back_populates="hypotheses")

    __table_args__ = (
        # The sampler's uncertainty order (review/sampler.py by_uncertainty) and its accidental-activation
        # check; partial, so neither holds the rows the other reads.
        Index("ix_hypotheses_confidence", "min_confidence", "mean_confidence", "id",
              postgresql_where=text("word_count > 0"), sqlite_where=text("word_count > 0")),
        Index("ix_hypotheses_empty", "recording_id", postgresql_where=text("word_count = 0"), sqlite_where=text("word_count = 0")),
        # Spoken but unscored (no confidences sent): normally empty, read first by the sampler.
        Index("ix_hypotheses_unscored", "recording_id", postgresql_where=text(UNSCORED_SQL), sqlite_where=text(UNSCORED_SQL)),
    )


class Job(Base):
    """Durable background work. A running job holds a lease its worker renews; an expired lease puts
    the job back in the queue (worker.py), so a dead worker's jobs run again and a live one's never do."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | running | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    worker_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # who holds the lease (host:pid:n)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_jobs_status_created", "status", "created_at"),
        Index("ix_jobs_status_lease", "status", "lease_expires_at"),
    )


@event.listens_for(Job, "after_insert")
def _wake_workers(_mapper: object, connection: Connection, _job: object) -> None:
    # PostgreSQL delivers NOTIFY at commit (never for a rolled-back job) and folds repeats in one
    # transaction into one; idle `sottovoce worker` processes LISTEN on this channel (worker.py).
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("NOTIFY sottovoce_jobs")


class StaffUser(Base):
    """A member of staff. Roles: reviewer, supervisor, privacy_officer, admin (see staff/roles.py)."""

    __tablename__ = "staff_users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    sealed_totp_secret: Mapped[bytes] = mapped_column(LargeBinary)
    last_totp_step: Mapped[int] = mapped_column(Integer, default=0)  # a TOTP code is accepted once only
    review_suspended: Mapped[bool] = mapped_column(Boolean, default=False)  # set by abuse rules (abuse.py)
    # Pre-screened categories this reviewer accepts (review/sensitive.py); empty: the general queue only.
    review_opt_ins: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # Exposure limit reached: no uncertainty-sampled or pre-screened clips until then (review/sensitive.py).
    review_cooldown_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Shift hours in the staff member's own time zone (staff/shifts.py); NULL: the instance's
    # ABUSE_SHIFT_* settings. The off-shift abuse rule reads them.
    shift_start_hour: Mapped[int | None] = mapped_column(Integer, nullable=True)
    shift_end_hour: Mapped[int | None] = mapped_column(Integer, nullable=True)
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)


class StaffSession(Base):
    """A server-side session; the cookie holds a random token, the row only its SHA-256."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    client_addr: Mapped[str] = mapped_column(String(64), default="")


class LoginAttempt(Base):
    """Recent sign-in attempts, counted for brute-force throttling (kept for the window only)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), default="staff")
    name: Mapped[str] = mapped_column(String(100), index=True)
    client_addr: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    success: Mapped[bool] = mapped_column(Boolean)


class AuditEvent(Base):
    """One entry of the hash-chained audit log (audit.py). The database refuses UPDATE and DELETE."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_actor_action_at", "actor", "action", "at"),)  # abuse rules

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))  # ISO-8601 UTC, kept as text so hashing is exact
    actor: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(64), index=True, default="")
    details: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON, never personal data
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's newest (seq, hash), one row. Moving it is how an append takes the database's
    write serialization (audit.py); verify also checks that no event after it is missing."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class ConsentChange(Base):
    """History of consent switches: who changed what, when, and through which channel."""

    __tablename__ = "consent_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))  # human_review | training
    value: Mapped[bool] = mapped_column(Boolean)
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))  # dashboard | cli | device-api | policy
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewTask(Base):
    """One human listen of one recording. The id is random and unrelated to the recording's id;
    tasks of one overlap group (two blind reviewers) share ``group_id``, which is never shown."""

    __tablename__ = "review_tasks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[str] = mapped_column(String(32), index=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))  # uncertainty | random | gold
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|leased|done|skipped|withdrawn|stopped
    # The pre-screen's category ("" when nothing was flagged): flagged tasks stay out of the general queue.
    sensitivity: Mapped[str] = mapped_column(String(16), default="", server_default="")
    lease_holder: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rendered_blob_id: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    render_params: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_review_tasks_queue", "status", "priority", "created_at"),)


class AudioTicket(Base):
    """A single-use, short-lived permission to fetch one task's audio, bound to one staff session."""

    __tablename__ = "audio_tickets"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("review_tasks.id", ondelete="CASCADE"), index=True)
    session_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Annotation(Base):
    """A reviewer's submission for a task: corrected text and word edits sealed with the account key."""

    __tablename__ = "annotations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    task_id: Mapped[str] = mapped_column(ForeignKey("review_tasks.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[str] = mapped_column(String(32), index=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[str] = mapped_column(String(32), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # submitted | skipped | stopped
    stop_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)  # outcome stopped: review/sensitive.STOP_REASONS
    sealed_content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # text, edits, spans
    tags: Mapped[str] = mapped_column(String(200), default="")  # comma-separated, from a fixed set
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    edit_count: Mapped[int] = mapped_column(Integer, default=0)
    pii_misses: Mapped[int] = mapped_column(Integer, default=0)
    time_spent_ms: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewDraft(Base):
    """The reviewer's unsaved edits of a leased task, sealed with the account's key; deleted when the
    task is finished, withdrawn or purged, so a reload keeps the edits and nothing else keeps them."""

    __tablename__ = "review_drafts"

    task_id: Mapped[str] = mapped_column(ForeignKey("review_tasks.id", ondelete="CASCADE"), primary_key=True)
    reviewer_id: Mapped[str] = mapped_column(String(32))
    sealed_content: Mapped[bytes] = mapped_column(LargeBinary)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GoldReference(Base):
    """A known transcript for a recording, mixed into the queue to measure reviewer accuracy."""

    __tablename__ = "gold_references"

    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), primary_key=True)
    sealed_text: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Adjudication(Base):
    """A supervisor's final transcript for an overlap group whose reviewers disagreed."""

    __tablename__ = "adjudications"

    group_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    supervisor_id: Mapped[str] = mapped_column(String(32))
    sealed_text: Mapped[bytes] = mapped_column(LargeBinary)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- account holders (issue 5): sign-in, deletion receipts ---------------------------------------


class AccountLoginLink(Base):
    """A one-time sign-in link for an account holder: only the SHA-256 of its token is stored."""

    __tablename__ = "account_login_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AccountSession(Base):
    """An account holder's server-side session (separate from staff); the row keeps only the token's SHA-256."""

    __tablename__ = "account_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeletionReceipt(Base):
    """One run of the deletion cascade (deletion.py): first a pending to-do naming what to delete,
    then, once done, the receipt shown to the account holder (kinds and counts, never content).

    ``account_id`` is deliberately not a foreign key: the receipt of an account closure outlives the
    account. ``recording_ids`` is emptied when the run completes.
    """

    __tablename__ = "deletion_receipts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(32), index=True)
    scope: Mapped[str] = mapped_column(String(16))  # recordings | account
    channel: Mapped[str] = mapped_column(String(32))  # dashboard | device-api | cli | retention | accidental-policy
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending | done
    recording_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list; the to-do while pending
    counts: Mapped[str] = mapped_column(Text, default="{}")  # JSON {kind: count}, accumulated per batch
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# "Delete what I just said" and "since ...": a device's recordings by arrival.
Index("ix_recordings_device_received", Recording.device_id, Recording.received_at)


# --- zero tolerance (issue 7): abuse alerts, break-glass re-identification ----------------------


class Alert(Base):
    """An abuse rule that fired (abuse.py), for privacy officers. Details hold counts, never content."""

    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    rule: Mapped[str] = mapped_column(String(32), index=True)
    staff_id: Mapped[str] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    details: Mapped[str] = mapped_column(Text, default="{}")
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(32), nullable=True)


class ReidRequest(Base):
    """Break-glass: revealing the account behind a task needs a written reason and a second officer."""

    __tablename__ = "reid_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    task_id: Mapped[str] = mapped_column(String(32), index=True)
    requester_id: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | approved | revealed | refused
    approver_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# --- learning (issue 6): datasets with lineage, model versions, exports -------------------------


class DatasetSnapshot(Base):
    """A frozen list of gold examples (consented, not deleted), split train/eval by account."""

    __tablename__ = "dataset_snapshots"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    train_count: Mapped[int] = mapped_column(Integer, default=0)
    eval_count: Mapped[int] = mapped_column(Integer, default=0)


class DatasetItem(Base):
    """One training example: which recording, which annotation or adjudication made it gold."""

    __tablename__ = "dataset_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[str] = mapped_column(ForeignKey("dataset_snapshots.id", ondelete="CASCADE"), index=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))  # adjudication | review
    source_id: Mapped[str] = mapped_column(String(32))  # adjudication group id or annotation id
    split: Mapped[str] = mapped_column(String(8))  # train | eval


class ModelVersion(Base):
    """A recognizer version: base model plus learned decoding bias and rewrites (learning/adaptation.py)."""

    __tablename__ = "model_versions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # active | candidate | retired | needs_retrain
    base_model: Mapped[str] = mapped_column(String(64))
    params: Mapped[str] = mapped_column(Text, default="{}")
    snapshot_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    metrics: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LearningState(Base):
    """One row: a counter bumped in the same transaction as anything that changes which version
    decodes or what it holds (promotion, rollback, deletion strip, rebuild); every process compares
    it with the generation it cached before each transcription (learning/registry.py)."""

    __tablename__ = "learning_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)


class Retranscription(Base):
    """A queued re-transcription of a stored recording (``recordings retranscribe``); the job's
    subject. ``version_id`` None means the version active when the job runs."""

    __tablename__ = "retranscriptions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExportRecord(Base):
    """An export of training data for heavier training elsewhere, and what it contained."""

    __tablename__ = "export_records"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    format: Mapped[str] = mapped_column(String(8))  # hf | nemo
    destination: Mapped[str] = mapped_column(Text)
    anonymized: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExportItem(Base):
    __tablename__ = "export_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    export_id: Mapped[str] = mapped_column(ForeignKey("export_records.id", ondelete="CASCADE"), index=True)
    recording_id: Mapped[str] = mapped_column(String(32), index=True)  # kept after deletion: it says which exports held it
