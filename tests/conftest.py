"""Shared fixtures: a fully migrated instance per test, on SQLite and (when configured) PostgreSQL.

Set SOTTOVOCE_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run
every database test on PostgreSQL as well; each test then gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import io
import json
import os
import secrets
from pathlib import Path

import av
import numpy as np
import pytest
from sqlalchemy import create_engine, text

from sottovoce.accounts.registry import add_device, create_account
from sottovoce.app_services import open_services
from sottovoce.core.settings import Settings
from sottovoce.recordings.ingest import commit_ingest, ingest
from sottovoce.recordings.metadata import parse_metadata

PG_URL = os.environ.get("SOTTOVOCE_TEST_DATABASE_URL", "")
DEMO_CLIPS = Path(__file__).parent.parent / "sottovoce" / "demo" / "clips"
BACKENDS = ["sqlite", "postgresql"]


def pytest_collection_modifyitems(config, items):
    # Without a PostgreSQL URL the postgresql half of the matrix is reported as skipped, not hidden.
    if PG_URL:
        return
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("database_url") == "postgresql":
            item.add_marker(pytest.mark.skip(reason="SOTTOVOCE_TEST_DATABASE_URL is not set"))


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield ""  # the default: SQLite under SOTTOVOCE_HOME
        return
    schema = "t_" + secrets.token_hex(6)
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url, asr_workers=0, orphan_grace_s=0)


@pytest.fixture
def services(settings):
    services = open_services(settings)
    yield services
    services.close()


@pytest.fixture
def account(services):
    with services.sessions() as db:
        account = create_account(db, services.keys, "acct-" + secrets.token_hex(3), consent_review=True)
        db.commit()
        return account


@pytest.fixture
def device_and_token(services, account):
    with services.sessions() as db:
        device, token = add_device(db, account.id, "SN-" + secrets.token_hex(4), "kitchen")
        db.commit()
        return device, token


@pytest.fixture
def device(device_and_token):
    return device_and_token[0]


@pytest.fixture
def env_for(tmp_path):
    """Environment for running the CLI in a subprocess against the test's instance."""

    def build(settings: Settings) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOTTOVOCE_")}
        env.update(
            SOTTOVOCE_HOME=str(settings.home),
            SOTTOVOCE_DATABASE_URL=settings.database_url,
            SOTTOVOCE_ORPHAN_GRACE_S="0",
        )
        return env

    return build


def demo_clip(name: str = "lock-the-front-door.wav") -> bytes:
    return (DEMO_CLIPS / name).read_bytes()


def noise_samples(seconds: float = 1.0, seed: int = 7, rate: int = 16_000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.uniform(-0.5, 0.5, int(seconds * rate))).astype(np.float32)


def encode(samples: np.ndarray, fmt: str, codec: str, rate: int = 16_000, layout: str = "mono") -> bytes:
    """Encode float samples in a container with PyAV (all in memory)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        sample_fmt = stream.codec_context.codec.audio_formats[0].name
        frame_size = stream.codec_context.frame_size or 1024
        resampler = av.AudioResampler(format=sample_fmt, layout=layout, rate=rate)
        for start in range(0, samples.size, frame_size):
            chunk = samples[start : start + frame_size].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="flt", layout="mono")
            frame.sample_rate = rate
            for out in resampler.resample(frame):
                container.mux(stream.encode(out))
        for out in resampler.resample(None):
            container.mux(stream.encode(out))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def wav_bytes(samples: np.ndarray, rate: int = 16_000) -> bytes:
    from sottovoce.core.audio import to_wav

    return to_wav(samples, rate)


# --- staff -------------------------------------------------------------------------------------

class StaffLogin:
    """A staff member created for a test, with what is needed to sign in as them."""

    def __init__(self, user, password, secret):
        self.user, self.password, self.secret = user, password, secret

    def code(self, offset_steps: int = 0) -> str:
        import time

        import pyotp

        step = int(time.time() // 30) + offset_steps
        return pyotp.TOTP(self.secret).generate_otp(step)


@pytest.fixture
def make_staff(services):
    from sottovoce.core.audit import OPERATOR
    from sottovoce.staff.users import create_staff

    def make(role: str, name: str | None = None, must_change_password: bool = False) -> StaffLogin:
        from urllib.parse import parse_qs, urlparse

        with services.sessions() as db:
            new = create_staff(services, db, OPERATOR, name or f"{role.split('_')[0]}-{secrets.token_hex(3)}", role)
            new.user.must_change_password = must_change_password
            db.commit()
            secret = parse_qs(urlparse(new.totp_uri).query)["secret"][0]
            return StaffLogin(new.user, new.password, secret)

    return make


@pytest.fixture
def app_client(services):
    from fastapi.testclient import TestClient

    from sottovoce.web.app import create_app

    # https: the staff cookie is Secure, and a client honouring that sends it only over TLS.
    with TestClient(create_app(services, run_worker=False), base_url="https://testserver") as client:
        yield client


def sign_in(client, staff: StaffLogin, code: str | None = None):
    """Sign in through the real form (login CSRF cookie, password, TOTP); returns the response."""
    import re

    page = client.get("/staff/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    form = {"name": staff.user.name, "password": staff.password, "code": code or staff.code(), "csrf": csrf}
    return client.post("/staff/login", data=form, follow_redirects=False)


def csrf_of(client, path: str = "/staff/password") -> str:
    import re

    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


# --- accounts with transcribed recordings (external hypotheses: fast, no recognizer) ------------

@pytest.fixture
def make_account(services):
    def make(review=True, training=False, name=None):
        with services.sessions() as db:
            account = create_account(db, services.keys, name or "acct-" + secrets.token_hex(4), review, training)
            device, _ = add_device(db, account.id, "SN-" + secrets.token_hex(4), "speaker")
            db.commit()
            return account, device

    return make


@pytest.fixture
def make_recording(services):
    """Ingest a real demo clip with a given hypothesis: [(word, confidence), ...]."""

    def make(device, words=(("lock", 0.9), ("the", 0.9), ("front", 0.3), ("door", 0.95)), clip="lock-the-front-door.wav"):
        hypothesis = {"words": [{"word": w, "start": 0.2 + 0.3 * i, "end": 0.45 + 0.3 * i, "confidence": c} for i, (w, c) in enumerate(words)]}
        with services.sessions() as db:
            recording = ingest(services, db, device, demo_clip(clip), parse_metadata(json.dumps({"hypothesis": hypothesis})))
            commit_ingest(services, db, recording)
            return recording

    return make
