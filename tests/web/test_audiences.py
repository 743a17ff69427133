"""A web process serves only the audiences it is configured for (setting AUDIENCES): the device API
on a public host need not carry the staff pages at all, and staff work can run in processes of its own."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from sottovoce.core.settings import Settings
from sottovoce.web.app import create_app


def statuses(services, audiences: str) -> dict[str, int]:
    services.settings.audiences = audiences
    client = TestClient(create_app(services, run_worker=False), follow_redirects=False)
    return {
        "devices": client.post("/api/v1/recordings").status_code,  # 401 without a token where served
        "holders": client.get("/me/login").status_code,
        "staff": client.get("/staff/login").status_code,
        "health": client.get("/healthz").status_code,
    }


def test_every_audience_is_served_by_default(services):
    assert Settings(home=services.settings.home).audience_list == ["devices", "holders", "staff"]
    got = statuses(services, "devices,holders,staff")
    assert got == {"devices": 401, "holders": 200, "staff": 200, "health": 200}


def test_a_device_process_has_no_staff_pages(services):
    got = statuses(services, "devices")
    assert got == {"devices": 401, "holders": 404, "staff": 404, "health": 200}


def test_a_staff_process_has_no_device_api(services):
    got = statuses(services, "staff")
    assert got == {"devices": 404, "holders": 404, "staff": 200, "health": 200}


@pytest.mark.parametrize("value", ["", "devices,reviewers", "staff,,admin"])
def test_an_unknown_audience_is_refused_at_start(tmp_path, value):
    with pytest.raises(ValidationError, match="audiences"):
        Settings(home=tmp_path, audiences=value)
