"""Staff sign-in, sessions, cookies, CSRF, brute-force limits and security headers."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from sottovoce.db.models import AuditEvent, StaffSession
from sottovoce.db.types import utcnow
from sottovoce.staff.roles import ADMIN, PRIVACY_OFFICER, REVIEWER
from tests.factories import csrf_of, sign_in

COOKIE = "__Host-sv_staff"


def set_cookie_header(response, name):
    return next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(name + "="))


@pytest.mark.asvs("V6.3.3")  # multi-factor required
def test_sign_in_needs_password_and_totp(app_client, make_staff):
    staff = make_staff(REVIEWER)
    wrong = sign_in(app_client, staff, code="000000")
    assert wrong.status_code == 401
    assert COOKIE not in wrong.cookies
    assert "wrong name, password or code" in wrong.text
    ok = sign_in(app_client, staff)
    assert ok.status_code == 303
    assert ok.headers['location'] == '/staff/'
    assert app_client.get("/staff/").status_code == 200


@pytest.mark.asvs("V7.2.3", "V7.2.4")  # random 256-bit token, new at every sign-in
def test_each_sign_in_issues_a_new_session_token(app_client, make_staff):
    staff = make_staff(REVIEWER)
    # Current step then the next: both stay inside the ±1 window even if a 30 s boundary passes
    # between the two sign-ins (the previous step would fall out of it and flake).
    first = sign_in(app_client, staff, staff.code(0)).cookies[COOKIE]
    second = sign_in(app_client, staff, staff.code(1)).cookies[COOKIE]
    assert first != second  # 256 bits, base64url
    assert len(second) >= 43


@pytest.mark.asvs("V6.5.1")  # a TOTP code is used once
def test_a_totp_code_cannot_be_replayed(app_client, make_staff):
    staff = make_staff(REVIEWER)
    code = staff.code()
    assert sign_in(app_client, staff, code).status_code == 303
    app_client.cookies.clear()
    assert sign_in(app_client, staff, code).status_code == 401


@pytest.mark.asvs("V3.3.1", "V3.3.2", "V3.3.3", "V3.3.4")  # cookie attributes
def test_session_cookie_flags(app_client, make_staff):
    header = set_cookie_header(sign_in(app_client, make_staff(REVIEWER)), COOKIE).lower()
    assert header.startswith("__host-sv_staff=")
    for flag in ("secure", "httponly", "samesite=strict", "path=/"):
        assert flag in header
    assert "domain=" not in header


@pytest.mark.asvs("V7.4.1")  # logout invalidates the session on the server
def test_sign_out_kills_the_session_on_the_server(app_client, make_staff, services):
    sign_in(app_client, make_staff(REVIEWER))
    token = app_client.cookies[COOKIE]
    csrf = csrf_of(app_client)
    assert app_client.post("/staff/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    app_client.cookies.set(COOKIE, token)  # replay the old cookie
    response = app_client.get("/staff/", headers={"accept": "application/json"})
    assert response.status_code == 401
    with services.sessions() as db:
        assert db.scalars(select(StaffSession)).all() == []


@pytest.mark.asvs("V7.3.1")  # idle timeout
def test_idle_session_expires(app_client, make_staff, services):
    sign_in(app_client, make_staff(REVIEWER))
    with services.sessions() as db:
        db.execute(update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=16)))
        db.commit()
    assert app_client.get("/staff/", headers={"accept": "text/html"}, follow_redirects=False).headers["location"] == "/staff/login"


@pytest.mark.asvs("V7.3.2")  # absolute timeout
def test_session_ends_after_eight_hours_even_if_active(app_client, make_staff, services):
    sign_in(app_client, make_staff(REVIEWER))
    with services.sessions() as db:
        db.execute(update(StaffSession).values(created_at=utcnow() - timedelta(hours=8, minutes=1), last_seen_at=utcnow()))
        db.commit()
    assert app_client.get("/staff/", headers={"accept": "application/json"}).status_code == 401


@pytest.mark.asvs("V3.5.1")  # CSRF
def test_form_posts_without_the_csrf_token_are_refused(app_client, make_staff):
    admin = make_staff(ADMIN)
    victim = make_staff(REVIEWER)
    sign_in(app_client, admin)
    refused = app_client.post(f"/staff/admin/staff/{victim.user.name}/disable", data={}, headers={"accept": "application/json"})
    assert refused.status_code == 403
    forged = app_client.post(f"/staff/admin/staff/{victim.user.name}/disable", data={"csrf": "guess"}, headers={"accept": "application/json"})
    assert forged.status_code == 403
    ok = app_client.post(f"/staff/admin/staff/{victim.user.name}/disable", data={"csrf": csrf_of(app_client)}, follow_redirects=False)
    assert ok.status_code == 303


@pytest.mark.asvs("V3.5.1")
def test_login_form_needs_its_csrf_cookie(app_client, make_staff):
    staff = make_staff(REVIEWER)
    form = {"name": staff.user.name, "password": staff.password, "code": staff.code(), "csrf": "made-up"}
    assert app_client.post("/staff/login", data=form, headers={"accept": "application/json"}).status_code == 403


@pytest.mark.asvs("V6.3.1", "V16.3.1")  # brute force, and failures are logged
def test_five_failures_for_one_name_answer_429_and_are_logged(app_client, make_staff, services):
    staff = make_staff(REVIEWER)
    for _ in range(5):
        assert sign_in(app_client, staff, code="000000").status_code == 401
    assert sign_in(app_client, staff).status_code == 429  # even the right code is refused now
    with services.sessions() as db:
        actions = db.scalars(select(AuditEvent.action)).all()
    assert actions.count('staff.login_failed') == 5
    assert 'staff.login_throttled' in actions


@pytest.mark.asvs("V6.3.1")
def test_twenty_failures_from_one_address_answer_429(app_client, make_staff):
    for i in range(20):
        ghost = type("Ghost", (), {})()
        ghost.user = type("U", (), {"name": f"nobody{i}"})()
        ghost.password = "wrong-password-123"
        ghost.code = lambda: "000000"
        assert sign_in(app_client, ghost).status_code == 401
    assert sign_in(app_client, make_staff(REVIEWER)).status_code == 429


@pytest.mark.asvs("V6.2.2", "V6.2.3")
def test_one_time_password_must_be_changed_first(app_client, make_staff):
    staff = make_staff(REVIEWER, must_change_password=True)
    sign_in(app_client, staff)
    assert app_client.get("/staff/", follow_redirects=False).headers["location"] == "/staff/password"
    csrf = csrf_of(app_client)
    weak = app_client.post("/staff/password", data={"csrf": csrf, "current": staff.password, "new": "password1234"})
    assert weak.status_code == 422
    assert 'too common' in weak.text
    ok = app_client.post("/staff/password", data={"csrf": csrf, "current": staff.password, "new": "violet harbour lanterns"}, follow_redirects=False)
    assert ok.status_code == 303
    assert app_client.get("/staff/").status_code == 200


@pytest.mark.asvs("V7.4.2")
def test_disabling_a_member_ends_their_sessions(app_client, make_staff, services):
    from sottovoce.core.audit import OPERATOR
    from sottovoce.staff.users import disable_staff

    staff = make_staff(REVIEWER)
    sign_in(app_client, staff)
    with services.sessions() as db:
        disable_staff(services, db, OPERATOR, staff.user.name)
        db.commit()
    assert app_client.get("/staff/", headers={"accept": "application/json"}).status_code == 401
    app_client.cookies.clear()
    assert sign_in(app_client, staff, staff.code(1)).status_code == 401


@pytest.mark.asvs("V3.4.1", "V3.4.3", "V3.4.4", "V3.4.5", "V3.4.6")  # security headers
@pytest.mark.parametrize("path", ["/", "/staff/login", "/healthz", "/no/such/page"])
def test_security_headers_on_every_page(app_client, path):
    headers = app_client.get(path).headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert 'unsafe-inline' not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    assert "object-src 'none'" in csp
    assert "base-uri 'none'" in csp


def test_pages_have_no_inline_script(app_client, make_staff):
    import re

    sign_in(app_client, make_staff(PRIVACY_OFFICER))
    for path in ("/", "/staff/login", "/staff/", "/staff/audit", "/staff/password"):
        html = app_client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert " on" + "click=" not in html
