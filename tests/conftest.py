"""Shared fixtures: a fully migrated instance per test, on SQLite and (when configured) PostgreSQL.

Set SOTTOVOCE_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run
every database test on PostgreSQL as well; each test then gets its own database, dropped afterwards.
The schema is migrated once per session into a template (a SQLite file, a PostgreSQL template
database) that each test copies, instead of running every Alembic step per test.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from sottovoce.accounts.registry import add_device, create_account
from sottovoce.app_services import open_services
from sottovoce.core.settings import Settings
from sottovoce.db.engine import make_engine
from sottovoce.db.migrate import upgrade
from sottovoce.recordings.ingest import commit_ingest, ingest
from sottovoce.recordings.metadata import parse_metadata
from tests.factories import StaffLogin, demo_clip

PG_URL = os.environ.get("SOTTOVOCE_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", "postgresql"]


def pytest_collection_modifyitems(config, items):
    # Without a PostgreSQL URL the postgresql half of the matrix is reported as skipped, not hidden.
    if PG_URL:
        return
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("database_url") == "postgresql":
            item.add_marker(pytest.mark.skip(reason="SOTTOVOCE_TEST_DATABASE_URL is not set"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """The schema migrated once per session; each test starts from a copy of this file."""
    path = tmp_path_factory.mktemp("template") / "sottovoce.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template():
    """A migrated template database; each test gets ``CREATE DATABASE ... TEMPLATE`` of it."""
    if not PG_URL:
        yield None
        return
    name = "sv_template_" + secrets.token_hex(4)
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(_with_database(PG_URL, name))
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path, sqlite_template, postgres_template):
    if request.param == "sqlite":
        (tmp_path / "home").mkdir(mode=0o700)
        shutil.copyfile(sqlite_template, tmp_path / "home" / "sottovoce.db")
        yield ""  # the default: SQLite under SOTTOVOCE_HOME
        return
    name = "t_" + secrets.token_hex(6)
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))
    yield _with_database(PG_URL, name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url, asr_workers=0, orphan_grace_s=0)


@pytest.fixture
def services(settings):
    services = open_services(settings, migrate=False)  # the schema came migrated from the template
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


# --- staff -------------------------------------------------------------------------------------

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
