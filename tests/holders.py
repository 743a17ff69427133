"""Helpers for the account holder's tests: accounts with recordings (external hypotheses: fast, no
recognizer), sign-in through a real one-time link, and review artefacts made directly in the
database (a task, a human listen in the audit log, an annotation, a rendered clip)."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sottovoce.accounts.registry import add_device, create_account
from sottovoce.accounts.signin import issue_link
from sottovoce.core.audit import OPERATOR, Actor
from sottovoce.db.models import Account, Annotation, Device, Job, Recording, ReviewTask
from sottovoce.recordings.ingest import commit_ingest, ingest
from sottovoce.recordings.metadata import parse_metadata
from tests.factories import noise_samples, wav_bytes

COOKIE = "__Host-sv_account"


@dataclass
class Holder:
    account: Account
    device: Device
    token: str  # the device's bearer token


def new_holder(services, review: bool = True, training: bool = False, name: str | None = None) -> Holder:
    with services.sessions() as db:
        account = create_account(db, services.keys, name or "holder-" + secrets.token_hex(4), review, training)
        device, token = add_device(db, account.id, "SN-" + secrets.token_hex(4), "kitchen speaker")
        db.commit()
        return Holder(account, device, token)


def add_device_to(services, holder: Holder, name: str = "phone") -> tuple[Device, str]:
    with services.sessions() as db:
        device, token = add_device(db, holder.account.id, "SN-" + secrets.token_hex(4), name)
        db.commit()
        return device, token


def record(services, device: Device, text: str = "turn on the lights", captured_at: datetime | None = None,
           seconds: float = 1.0, seed: int | None = None) -> Recording:
    """Ingest noise audio with an external hypothesis of ``text`` (one word per 0.1 s).

    A ``captured_at`` in the past stands for history already held (retention, paging), so the
    arrival-time bound on capture times (settings.max_capture_age_days) is lifted for it."""
    words = [{"word": w, "start": 0.1 * i, "end": 0.1 * i + 0.08, "confidence": 0.9} for i, w in enumerate(text.split())]
    metadata = {"hypothesis": {"words": words}}
    if captured_at is not None:
        metadata["captured_at"] = captured_at.isoformat()
    samples = noise_samples(seconds, seed=seed if seed is not None else secrets.randbelow(10_000))
    with services.sessions() as db:
        recording = ingest(services, db, db.get_one(Device, device.id), wav_bytes(samples), parse_metadata(json.dumps(metadata)),
                           capture_age_days=100 * 365 if captured_at is not None else None)
        commit_ingest(services, db, recording)
        return recording


def login_url(services, account: Account) -> str:
    with services.sessions() as db:
        link = issue_link(services, db, db.get(Account, account.id), OPERATOR)
        db.commit()
        return "/" + link.url.split("://", 1)[1].split("/", 1)[1]  # path and query only


def sign_in_holder(client, services, account: Account) -> str:
    """Sign in through the real link (GET page, POST button); returns the session's CSRF token."""
    client.cookies.delete(COOKIE)
    response = redeem(client, login_url(services, account))
    assert response.status_code == 303, response.text
    return client.get("/api/v1/me").json()["csrf_token"]


def redeem(client, url: str, **headers):
    page = client.get(url)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    token = re.search(r'name="token" value="([^"]*)"', page.text).group(1)
    return client.post("/me/login", data={"token": token, "csrf": csrf}, headers=headers, follow_redirects=False)


def add_task(services, recording: Recording, kind: str = "uncertainty", status: str = "done", rendered: bool = True) -> ReviewTask:
    """A review task of the recording with a sealed rendered clip, a queued render job and an annotation."""
    with services.sessions() as db:
        task = ReviewTask(recording_id=recording.id, account_id=recording.account_id, kind=kind, status=status)
        db.add(task)
        db.flush()
        if rendered:
            sealed = services.keys.seal(db, recording.account_id, b"\x01\x02" * 800, "rendered-clip", task.id)
            task.rendered_blob_id = services.blobs.put(sealed)
        annotation = Annotation(task_id=task.id, group_id=task.group_id, recording_id=recording.id, reviewer_id="r" * 32, outcome="submitted")
        db.add(annotation)
        db.flush()
        annotation.sealed_content = services.keys.seal(
            db, recording.account_id, json.dumps({"text": "corrected words", "edits": [], "unintelligible": []}).encode(), "annotation", annotation.id
        )
        db.add(Job(kind="render_task", subject_id=task.id))
        db.commit()
        return task


def run_cli(env: dict, *args: str):
    """Run a `sottovoce` command in this process (no interpreter start-up), with the instance's env."""
    from typer.testing import CliRunner

    from sottovoce.cli import app

    overrides = {k: v for k, v in env.items() if k.startswith("SOTTOVOCE_")}
    return CliRunner().invoke(app, list(args), env=overrides, catch_exceptions=False)


def listen(services, task: ReviewTask, reviewer_id: str = "f" * 32) -> None:
    """What the workbench records when a reviewer's browser fetches the clip."""
    with services.sessions() as db:
        services.audit.record(db, Actor(reviewer_id, "reviewer"), "review.audio_served", task.id, {"kind": task.kind})
