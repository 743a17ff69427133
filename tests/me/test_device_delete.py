"""The device API's "delete what I just said": DELETE /api/v1/recordings/last and ?since=."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from sottovoce.db.models import AuditEvent, Recording
from tests.holders import add_device_to, record


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def remaining(services):
    with services.sessions() as db:
        return set(db.scalars(select(Recording.id)))


def test_delete_last_removes_this_devices_latest_recording_only(app_client, services, holder):
    phone, phone_token = add_device_to(services, holder)
    older = record(services, holder.device, "first")
    latest = record(services, holder.device, "second")
    on_phone = record(services, phone, "phone words")  # the same account's other device, received last
    response = app_client.delete("/api/v1/recordings/last", headers=bearer(holder.token))
    assert response.status_code == 200
    body = response.json()
    assert body['deleted'] == 1
    assert body['receipt']['channel'] == 'device-api'
    assert body['receipt']['status'] == 'done'
    assert response.headers["cache-control"] == "no-store"
    assert remaining(services) == {older.id, on_phone.id}
    assert latest.id not in response.text  # the receipt names kinds and counts, not what was deleted
    with services.sessions() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "recording.deleted")).one()
        assert (event.actor, event.role, event.subject) == (holder.device.id, "device", holder.account.id)


def test_delete_since_removes_recordings_captured_since_then(app_client, services, holder):
    now = datetime.now(UTC)
    old = record(services, holder.device, captured_at=now - timedelta(hours=2))
    recent = [record(services, holder.device, captured_at=now - timedelta(minutes=m)) for m in (9, 3)]
    since = (now - timedelta(minutes=10)).isoformat()
    response = app_client.delete("/api/v1/recordings", params={"since": since}, headers=bearer(holder.token))
    assert response.status_code == 200
    assert response.json()['deleted'] == 2
    assert remaining(services) == {old.id}
    assert all(r.id not in remaining(services) for r in recent)


def test_nothing_to_delete_and_bad_inputs(app_client, services, holder):
    assert app_client.delete("/api/v1/recordings/last", headers=bearer(holder.token)).status_code == 404
    empty = app_client.delete("/api/v1/recordings?since=2026-01-01T00:00:00Z", headers=bearer(holder.token))
    assert empty.status_code == 200
    assert empty.json() == {'deleted': 0, 'receipt': None}
    for query in ("", "?since=", "?since=yesterday", "?since=2026-13-01T00:00:00Z", "?since=2026-01-01T10:00:00"):
        response = app_client.delete("/api/v1/recordings" + query, headers=bearer(holder.token))
        assert response.status_code == 422, query
        assert set(response.json()["error"]) == {"code", "message"}
    assert app_client.delete("/api/v1/recordings/last").status_code == 401
    assert app_client.delete("/api/v1/recordings/last", headers=bearer("svd_nope")).status_code == 401
