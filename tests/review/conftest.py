"""Review fixtures: consenting accounts with transcribed recordings (external hypotheses, fast)."""

import json
import secrets

import pytest

from sottovoce.accounts import add_device, create_account
from sottovoce.recordings.ingest import commit_ingest, ingest
from sottovoce.recordings.metadata import parse_metadata
from tests.conftest import demo_clip


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
