"""Fixtures for the fleet tests: a real SeaweedFS (S3) server and Settings pointing at it."""

from __future__ import annotations

import secrets

import pytest

from sottovoce.core.settings import Settings
from tests.scale import seaweed


@pytest.fixture(scope="session")
def seaweedfs():
    try:
        return seaweed.start()
    except FileNotFoundError as exc:
        pytest.skip(f"no S3 server for the fleet tests: {exc}")


@pytest.fixture
def s3_settings(tmp_path, database_url, seaweedfs) -> Settings:
    """An instance whose blobs live in SeaweedFS under a prefix of their own."""
    return Settings(
        home=tmp_path / "home", database_url=database_url, asr_workers=0, orphan_grace_s=0,
        blob_url=f"s3://{seaweed.BUCKET}/t-{secrets.token_hex(4)}", s3_endpoint_url=seaweedfs.endpoint,
        s3_region="us-east-1", s3_access_key_id="test", s3_secret_access_key="test",
    )


@pytest.fixture
def settings(s3_settings) -> Settings:  # every fixture built on `settings` (services, account ...) now uses S3
    return s3_settings
