"""Smaller failures found under load (issue 12), each a regression test: out-of-range instants,
device clocks far in the past, free text in plaintext columns, forged Host headers, doubled
headers."""

import json
import secrets
from datetime import UTC

import pytest

from tests.factories import demo_clip
from tests.helpers import files_containing
from tests.holders import new_holder, sign_in_holder

URL = "/api/v1/recordings"
YEAR_ONE = "0001-01-01T00:00:00+05:00"  # before year 1 once converted to UTC


def upload(client, token, metadata):
    return client.post(URL, files={"audio": ("a.wav", demo_clip(), "audio/wav")}, data={"metadata": json.dumps(metadata)},
                       headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("captured_at", [YEAR_ONE, "1968-05-01T10:00:00Z"])
def test_capture_times_out_of_range_or_far_in_the_past_are_refused(app_client, device_and_token, captured_at):
    response = upload(app_client, device_and_token[1], {"captured_at": captured_at})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


def test_a_recent_capture_time_is_kept(app_client, device_and_token):
    from datetime import datetime, timedelta

    when = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    assert upload(app_client, device_and_token[1], {"captured_at": when}).status_code == 202


def test_delete_since_year_one_is_a_422_not_a_500(app_client, device_and_token):
    response = app_client.delete(URL, params={"since": YEAR_ONE}, headers={"Authorization": f"Bearer {device_and_token[1]}"})
    assert response.status_code == 422


def test_holder_range_from_year_one_is_a_422_not_a_500(app_client, services):
    holder = new_holder(services)
    csrf = sign_in_holder(app_client, services, holder.account)
    response = app_client.delete("/api/v1/me/recordings", params={"from": YEAR_ONE},
                               headers={"X-CSRF-Token": csrf, "accept": "application/json"})
    assert response.status_code == 422


def test_a_device_supplied_engine_name_is_never_stored_in_plaintext(app_client, services, device_and_token, settings):
    canary = "555" + str(secrets.randbelow(10**7)).zfill(7)
    words = [{"word": "lock", "start": 0.1, "end": 0.4, "confidence": 0.9}]
    hypothesis = {"engine": f"call {canary}", "model": f"m{canary}", "model_version": f"v{canary}", "words": words}
    response = upload(app_client, device_and_token[1], {"hypothesis": hypothesis})
    assert response.status_code == 202
    services.engine.dispose()  # close connections so the WAL is as it would be on disk
    assert files_containing(settings.home, canary.encode()) == []
    # ...yet the account holder still sees what their device said it used.
    from sottovoce.recordings.store import describe, get_recording

    with services.sessions() as db:
        shown = describe(services, db, get_recording(db, response.json()["id"]))
    assert shown['hypothesis']['engine'] == f'call {canary}'
    assert shown['hypothesis']['model_version'] == f'v{canary}'


def test_a_forged_host_header_is_not_reflected_in_redirects(app_client):
    response = app_client.get("/me", headers={"Host": "evil.example"}, follow_redirects=False)
    assert response.status_code in (301, 302, 303, 307, 308)
    assert response.headers["location"].startswith("/")
    assert "evil" not in response.headers["location"]


def test_security_headers_are_sent_once(app_client, services):
    from sottovoce.web.security import HEADERS

    response = app_client.get("/staff/login")
    for name, _ in HEADERS:
        assert len(response.headers.get_list(name.decode())) == 1, name
