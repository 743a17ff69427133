"""Object-level access: an account holder reaches only its own data (OWASP ASVS V8.2.2).

Account B, signed in, tries every route that takes an id with account A's ids: each answers "not
found", exactly as for an id that does not exist, and A's data is untouched afterwards."""

import io
import zipfile

import pytest
from sqlalchemy import select

from sottovoce.db.models import Recording
from tests.holders import new_holder, record, sign_in_holder

pytestmark = pytest.mark.asvs("V8.2.2")
HTML = {"accept": "text/html"}


@pytest.fixture
def a_and_b(app_client, services):
    a, b = new_holder(services), new_holder(services)
    a_recording = record(services, a.device, "alpha secret words")
    b_recording = record(services, b.device, "bravo words")
    # A deletes one recording so there is a receipt of A's that B can try to read.
    a_csrf = sign_in_holder(app_client, services, a.account)
    doomed = record(services, a.device, "to be deleted")
    a_receipt = app_client.delete(f"/api/v1/me/recordings/{doomed.id}", headers={"X-CSRF-Token": a_csrf}).json()["receipt"]["id"]
    csrf = sign_in_holder(app_client, services, b.account)
    return a, b, a_recording, b_recording, a_receipt, csrf


def test_b_cannot_see_play_or_delete_a_recording_by_id(app_client, services, a_and_b):
    a, b, a_rec, b_rec, a_receipt, csrf = a_and_b
    h = {"X-CSRF-Token": csrf}
    attempts = [
        app_client.get(f"/api/v1/me/recordings/{a_rec.id}"),
        app_client.get(f"/api/v1/me/recordings/{a_rec.id}/audio"),
        app_client.get(f"/me/recordings/{a_rec.id}", headers=HTML),
        app_client.delete(f"/api/v1/me/recordings/{a_rec.id}", headers=h),
        app_client.post(f"/me/recordings/{a_rec.id}/delete", data={"csrf": csrf}, headers=HTML),
        app_client.get(f"/api/v1/me/receipts/{a_receipt}"),
        app_client.get(f"/me/receipts/{a_receipt}", headers=HTML),
    ]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    missing = app_client.get("/api/v1/me/recordings/" + "0" * 32).json()
    assert attempts[0].json() == missing  # indistinguishable from an id that does not exist
    for r in attempts:
        assert 'alpha' not in r.text
        assert a_rec.id not in r.text
    with services.sessions() as db:
        assert db.get(Recording, a_rec.id) is not None


def test_b_lists_exports_and_bulk_deletes_only_its_own(app_client, services, a_and_b):
    a, b, a_rec, b_rec, a_receipt, csrf = a_and_b
    listing = app_client.get("/api/v1/me/recordings").json()
    assert [r["id"] for r in listing["recordings"]] == [b_rec.id]
    assert [r["id"] for r in app_client.get("/api/v1/me/receipts").json()["receipts"]] == []
    export = app_client.get("/api/v1/me/export")
    assert export.status_code == 200
    with zipfile.ZipFile(io.BytesIO(export.content)) as z:
        blob = b"".join(z.read(n) for n in z.namelist())
    assert a_rec.id.encode() not in blob
    assert b'alpha' not in blob
    assert a.account.id.encode() not in blob
    deleted = app_client.delete("/api/v1/me/recordings?all=true", headers={"X-CSRF-Token": csrf}).json()
    assert deleted["deleted"] == 1
    with services.sessions() as db:
        assert db.scalars(select(Recording.id)).all() == [a_rec.id]


def test_cascade_ignores_ids_of_another_account(services):
    """Defence in depth: even a caller that passes a foreign id cannot delete across accounts."""
    from sottovoce.accounts.deletion import delete_recordings
    from sottovoce.core.audit import OPERATOR

    a, b = new_holder(services), new_holder(services)
    a_rec, b_rec = record(services, a.device), record(services, b.device)
    with services.sessions() as db:
        receipt = delete_recordings(services, db, b.account.id, [a_rec.id, b_rec.id], OPERATOR, "cli")
    assert receipt["counts"]["recordings"] == 1
    with services.sessions() as db:
        assert db.scalars(select(Recording.id)).all() == [a_rec.id]


def test_a_device_deletes_only_its_own_recordings(app_client, services):
    a, b = new_holder(services), new_holder(services)
    a_rec, _ = record(services, a.device), record(services, b.device)
    response = app_client.delete("/api/v1/recordings/last", headers={"Authorization": f"Bearer {b.token}"})
    assert response.status_code == 200
    assert response.json()['deleted'] == 1
    again = app_client.delete("/api/v1/recordings/last", headers={"Authorization": f"Bearer {b.token}"})
    assert again.status_code == 404
    since = app_client.delete("/api/v1/recordings?since=2000-01-01T00:00:00Z", headers={"Authorization": f"Bearer {b.token}"})
    assert since.json()["deleted"] == 0
    with services.sessions() as db:
        assert db.scalars(select(Recording.id)).all() == [a_rec.id]
