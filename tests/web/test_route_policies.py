"""Every route declares a policy, and the role x route matrix holds (OWASP ASVS V8.2).

EXPECTED is the reviewed access table: a new route fails test_every_route_is_in_the_matrix until
someone decides who may call it.
"""

import re

import pytest

from sottovoce.staff.roles import ADMIN, PRIVACY_OFFICER, REVIEWER, ROLES, SUPERVISOR
from sottovoce.web.policies import api_routes, policies_of
from tests.factories import csrf_of, demo_clip, sign_in
from tests.holders import new_holder, sign_in_holder

ANONYMOUS, DEVICE, ACCOUNT = "anonymous", "device", "account"
EVERYONE = {ANONYMOUS, DEVICE, ACCOUNT, *ROLES}
STAFF = set(ROLES)

EXPECTED = {
    ("GET", "/"): EVERYONE,
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/api/openapi.json"): EVERYONE,
    ("GET", "/favicon.ico"): EVERYONE,
    ("GET", "/staff/login"): EVERYONE,
    ("POST", "/staff/login"): EVERYONE,
    ("POST", "/api/v1/recordings"): {DEVICE},
    ("GET", "/staff/"): STAFF,
    ("POST", "/staff/logout"): STAFF,
    ("GET", "/staff/password"): STAFF,
    ("POST", "/staff/password"): STAFF,
    ("GET", "/staff/admin/staff"): {ADMIN},
    ("POST", "/staff/admin/staff/{name}/disable"): {ADMIN},
    ("GET", "/staff/audit"): {PRIVACY_OFFICER},
    ("GET", "/staff/review"): {REVIEWER},
    ("POST", "/staff/review/next"): {REVIEWER},
    ("GET", "/staff/review/tasks/{task_id}"): {REVIEWER},
    ("GET", "/staff/review/tasks/{task_id}/audio"): {REVIEWER},
    ("GET", "/staff/review/tasks/{task_id}/status"): {REVIEWER},
    ("POST", "/staff/review/tasks/{task_id}/heartbeat"): {REVIEWER},
    ("POST", "/staff/review/tasks/{task_id}/submit"): {REVIEWER},
    ("POST", "/staff/review/tasks/{task_id}/skip"): {REVIEWER},
    ("POST", "/staff/review/tasks/{task_id}/stop"): {REVIEWER},
    ("POST", "/staff/review/tasks/{task_id}/whole"): {REVIEWER},
    ("POST", "/staff/review/tasks/{task_id}/draft"): {REVIEWER},
    ("GET", "/staff/review/break"): {REVIEWER},
    ("POST", "/staff/review/opt-ins"): {REVIEWER},
    ("GET", "/staff/privacy/stops"): {PRIVACY_OFFICER},
    ("GET", "/staff/supervise"): {SUPERVISOR},
    ("GET", "/staff/supervise/disagreements/{group_id}"): {SUPERVISOR},
    ("GET", "/staff/supervise/disagreements/{group_id}/audio"): {SUPERVISOR},
    ("POST", "/staff/supervise/disagreements/{group_id}"): {SUPERVISOR},
    ("GET", "/staff/privacy/alerts"): {PRIVACY_OFFICER},
    ("POST", "/staff/privacy/alerts/{alert_id}/resolve"): {PRIVACY_OFFICER},
    ("GET", "/staff/privacy/reid"): {PRIVACY_OFFICER},
    ("POST", "/staff/privacy/reid"): {PRIVACY_OFFICER},
    ("POST", "/staff/privacy/reid/{request_id}/approve"): {PRIVACY_OFFICER},
    ("POST", "/staff/privacy/reid/{request_id}/reveal"): {PRIVACY_OFFICER},
    # the account holder (issue 5): own cookie, own data only (object-level rules: tests/me/test_idor.py)
    ("GET", "/me/login"): EVERYONE,
    ("POST", "/me/login"): EVERYONE,
    ("POST", "/me/logout"): {ACCOUNT},
    ("GET", "/me/"): {ACCOUNT},
    ("GET", "/me/recordings/{recording_id}"): {ACCOUNT},
    ("POST", "/me/recordings/{recording_id}/delete"): {ACCOUNT},
    ("POST", "/me/recordings/delete"): {ACCOUNT},
    ("POST", "/me/consent"): {ACCOUNT},
    ("POST", "/me/retention"): {ACCOUNT},
    ("POST", "/me/keep-voice"): {ACCOUNT},
    ("GET", "/me/receipts"): {ACCOUNT},
    ("GET", "/me/receipts/{receipt_id}"): {ACCOUNT},
    ("GET", "/api/v1/me"): {ACCOUNT},
    ("GET", "/api/v1/me/recordings"): {ACCOUNT},
    ("DELETE", "/api/v1/me/recordings"): {ACCOUNT},
    ("GET", "/api/v1/me/recordings/{recording_id}"): {ACCOUNT},
    ("DELETE", "/api/v1/me/recordings/{recording_id}"): {ACCOUNT},
    ("GET", "/api/v1/me/recordings/{recording_id}/audio"): {ACCOUNT},
    ("PUT", "/api/v1/me/consent/{purpose}"): {ACCOUNT},
    ("PUT", "/api/v1/me/retention"): {ACCOUNT},
    ("PUT", "/api/v1/me/keep-voice"): {ACCOUNT},
    ("GET", "/api/v1/me/receipts"): {ACCOUNT},
    ("GET", "/api/v1/me/receipts/{receipt_id}"): {ACCOUNT},
    ("GET", "/api/v1/me/export"): {ACCOUNT},
    ("DELETE", "/api/v1/recordings/last"): {DEVICE},
    ("DELETE", "/api/v1/recordings"): {DEVICE},
}
LOGOUTS = {("POST", "/staff/logout"): STAFF, ("POST", "/me/logout"): {ACCOUNT}}


def routes(app):
    return [(method, route.path, route) for route in api_routes(app) for method in sorted(route.methods - {"HEAD"})]


@pytest.mark.asvs("V8.1.1")
def test_every_route_declares_a_policy(app_client):
    undeclared = [(m, p) for m, p, route in routes(app_client.app) if not policies_of(route)]
    assert undeclared == []


def test_every_route_is_in_the_matrix(app_client):
    assert {(m, p) for m, p, _ in routes(app_client.app)} == set(EXPECTED)


def act_as(principal, app_client, make_staff, device_and_token, services):
    """Headers for the principal; staff sign in through the real form, an account holder through
    a real one-time link (its CSRF token then rides in X-CSRF-Token on every call)."""
    app_client.cookies.clear()
    if principal == DEVICE:
        return {"Authorization": f"Bearer {device_and_token[1]}"}
    if principal in ROLES:
        assert sign_in(app_client, make_staff(principal)).status_code == 303
    if principal == ACCOUNT:
        return {"X-CSRF-Token": sign_in_holder(app_client, services, new_holder(services).account)}
    return {}


def call(app_client, method, path, headers, victim):
    url = re.sub(r"\{[a-z_]+\}", "0" * 32, path.replace("{name}", victim))  # unknown ids: 404 when allowed
    headers = {"accept": "application/json", **headers}
    if method == "GET":
        return app_client.get(url, headers=headers, follow_redirects=False)
    if method == "DELETE":
        return app_client.delete(url, headers=headers, follow_redirects=False)
    if method == "PUT":
        return app_client.put(url, headers=headers, json={}, follow_redirects=False)
    data = {}
    if "__Host-sv_staff" in app_client.cookies:
        data["csrf"] = csrf_of(app_client)
    files = {"audio": ("a.wav", demo_clip(), "audio/wav")} if path.startswith("/api/") else None
    return app_client.post(url, headers=headers, data=data, files=files, follow_redirects=False)


@pytest.mark.asvs("V8.2.1")
@pytest.mark.parametrize("principal", [ANONYMOUS, DEVICE, ACCOUNT, REVIEWER, SUPERVISOR, PRIVACY_OFFICER, ADMIN])
def test_role_route_matrix(app_client, make_staff, device_and_token, services, principal):
    victim = make_staff(REVIEWER).user.name
    headers = act_as(principal, app_client, make_staff, device_and_token, services)  # one sign-in, kept for all calls
    for method, path, _ in routes(app_client.app):
        if (method, path) in LOGOUTS:
            continue  # checked last: they end the session the other calls need
        status = call(app_client, method, path, headers, victim).status_code
        allowed = principal in EXPECTED[(method, path)]
        if allowed:
            assert status not in (401, 403), (principal, method, path, status)
        else:
            assert status in (401, 403), (principal, method, path, status)
    for (method, path), allowed in LOGOUTS.items():
        status = call(app_client, method, path, headers, victim).status_code
        assert (status not in (401, 403)) == (principal in allowed), (principal, path, status)


@pytest.mark.asvs("V8.2.1")
def test_admin_reads_no_content(app_client, make_staff):
    """Admins manage staff; the audit log (which describes who read what) is not theirs to read."""
    sign_in(app_client, make_staff(ADMIN))
    assert app_client.get("/staff/audit", headers={"accept": "application/json"}).status_code == 403
