"""Account holders sign in with one-time links into their own sessions (not staff sessions)."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from sottovoce.db.models import AccountLoginLink, AccountSession, AuditEvent
from sottovoce.db.types import utcnow
from sottovoce.staff.roles import REVIEWER
from tests.factories import sign_in
from tests.helpers import files_containing
from tests.holders import COOKIE, login_url, new_holder, redeem, run_cli, sign_in_holder

JSON = {"accept": "application/json"}
HTML = {"accept": "text/html"}


def set_cookie_header(response, name):
    return next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(name + "="))


@pytest.mark.asvs("V3.3.1", "V3.3.2", "V3.3.3", "V3.3.4", "V7.2.3")
def test_link_signs_in_with_a_host_only_strict_cookie(app_client, services):
    holder = new_holder(services)
    response = redeem(app_client, login_url(services, holder.account))
    assert response.status_code == 303
    assert response.headers['location'] == '/me/'
    header = set_cookie_header(response, COOKIE).lower()
    for flag in ("secure", "httponly", "samesite=strict", "path=/"):
        assert flag in header
    assert "domain=" not in header
    assert len(response.cookies[COOKIE]) >= 43  # 256 bits, base64url
    me = app_client.get("/api/v1/me").json()
    assert me['id'] == holder.account.id
    assert me['name'] == holder.account.name


def test_opening_the_link_does_not_spend_it(app_client, services):
    """Mail scanners and pre-fetchers GET links: only the button (POST) spends one."""
    holder = new_holder(services)
    url = login_url(services, holder.account)
    for _ in range(3):
        assert app_client.get(url).status_code == 200
    assert redeem(app_client, url).status_code == 303


def test_a_link_works_once(app_client, services):
    holder = new_holder(services)
    url = login_url(services, holder.account)
    assert redeem(app_client, url).status_code == 303
    app_client.cookies.clear()
    again = redeem(app_client, url, accept="text/html")
    assert again.status_code == 401
    assert 'already used' in again.text
    assert COOKIE not in again.cookies
    api = redeem(app_client, url, accept="application/json")
    assert api.status_code == 401
    assert api.json()['error']['code'] == 'unauthenticated'


def test_expired_and_unknown_links_are_refused_clearly(app_client, services):
    holder = new_holder(services)
    url = login_url(services, holder.account)
    with services.sessions() as db:
        db.execute(update(AccountLoginLink).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    expired = redeem(app_client, url, accept="application/json")
    assert expired.status_code == 401
    assert 'expired' in expired.json()['error']['message']
    unknown = redeem(app_client, "/me/login?token=svl_nope", accept="application/json")
    assert unknown.status_code == 401
    assert 'not valid' in unknown.json()['error']['message']
    with services.sessions() as db:
        reasons = [e.details for e in db.scalars(select(AuditEvent).where(AuditEvent.action == "account.login_failed"))]
    assert reasons == ['{"reason":"expired"}', '{"reason":"unknown"}']


def test_link_expiry_follows_the_setting(services):
    holder = new_holder(services)
    login_url(services, holder.account)
    with services.sessions() as db:
        link = db.scalars(select(AccountLoginLink)).one()
        assert timedelta(minutes=14.9) < link.expires_at - link.created_at <= timedelta(minutes=15)


def test_sign_in_form_needs_its_csrf_cookie(app_client, services):
    holder = new_holder(services)
    url = login_url(services, holder.account)
    token = url.split("token=", 1)[1]
    app_client.get(url)
    forged = app_client.post("/me/login", data={"token": token, "csrf": "forged"}, headers=JSON, follow_redirects=False)
    assert forged.status_code == 403
    assert redeem(app_client, url).status_code == 303  # the link was not spent by the forged attempt


def test_tokens_are_stored_hashed(app_client, services, settings):
    holder = new_holder(services)
    url = login_url(services, holder.account)
    redeem(app_client, url)
    services.engine.dispose()
    for secret in (url.split("token=", 1)[1], app_client.cookies[COOKIE]):
        assert files_containing(settings.home, secret.encode()) == []


@pytest.mark.asvs("V7.3.1")
def test_idle_session_ends_after_thirty_minutes(app_client, services):
    sign_in_holder(app_client, services, new_holder(services).account)
    with services.sessions() as db:
        db.execute(update(AccountSession).values(last_seen_at=utcnow() - timedelta(minutes=29)))
        db.commit()
    assert app_client.get("/api/v1/me").status_code == 200
    with services.sessions() as db:
        db.execute(update(AccountSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
        db.commit()
    assert app_client.get("/api/v1/me").status_code == 401


@pytest.mark.asvs("V7.3.2")
def test_session_ends_after_twelve_hours_even_if_active(app_client, services):
    sign_in_holder(app_client, services, new_holder(services).account)
    with services.sessions() as db:
        db.execute(update(AccountSession).values(created_at=utcnow() - timedelta(hours=12, minutes=1)))
        db.commit()
    assert app_client.get("/api/v1/me").status_code == 401
    with services.sessions() as db:
        assert db.scalars(select(AccountSession)).all() == []


@pytest.mark.asvs("V7.4.1")
def test_sign_out_ends_the_session_on_the_server(app_client, services):
    csrf = sign_in_holder(app_client, services, new_holder(services).account)
    token = app_client.cookies[COOKIE]
    assert app_client.post("/me/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    app_client.cookies.set(COOKIE, token)
    assert app_client.get("/api/v1/me").status_code == 401
    html = app_client.get("/me/", headers=HTML)
    assert html.status_code == 401
    assert 'sign-in link' in html.text


@pytest.mark.asvs("V3.5.1")
def test_unsafe_requests_need_the_session_csrf_token(app_client, services):
    csrf = sign_in_holder(app_client, services, new_holder(services).account)
    assert app_client.post("/me/retention", data={"retention": "3m"}, headers=JSON).status_code == 403
    assert app_client.post("/me/retention", data={"retention": "3m", "csrf": "wrong"}, headers=JSON).status_code == 403
    assert app_client.put("/api/v1/me/retention", json={"retention": "3m"}).status_code == 403
    assert app_client.put("/api/v1/me/retention", json={"retention": "3m"}, headers={"X-CSRF-Token": csrf}).status_code == 200


def test_staff_and_account_sessions_do_not_mix(app_client, services, make_staff):
    holder = new_holder(services)
    assert sign_in(app_client, make_staff(REVIEWER)).status_code == 303
    assert app_client.get("/api/v1/me").status_code == 401  # a staff session is no account session
    app_client.cookies.clear()
    sign_in_holder(app_client, services, holder.account)
    assert app_client.get("/staff/", headers=JSON).status_code == 401


@pytest.mark.asvs("V7.2.4")  # a new token at every sign-in, and the old one is dead
def test_signing_in_again_ends_the_previous_session_of_this_browser(app_client, services):
    first, second = new_holder(services), new_holder(services)
    sign_in_holder(app_client, services, first.account)
    old = app_client.cookies[COOKIE]
    assert redeem(app_client, login_url(services, second.account)).status_code == 303
    assert app_client.get("/api/v1/me").json()["id"] == second.account.id
    with services.sessions() as db:
        assert [s.account_id for s in db.scalars(select(AccountSession))] == [second.account.id]
    app_client.cookies.clear()
    app_client.cookies.set(COOKIE, old)
    assert app_client.get("/api/v1/me").status_code == 401


def test_cli_prints_a_working_link_and_audits_it(app_client, services, settings, env_for):
    holder = new_holder(services)
    result = run_cli(env_for(settings), "accounts", "login-link", holder.account.name, "--json")
    assert result.exit_code == 0, result.stderr
    url = json.loads(result.stdout)["url"]
    assert url.startswith("http://127.0.0.1:8000/me/login?token=svl_")
    assert redeem(app_client, url.split("8000", 1)[1]).status_code == 303
    with services.sessions() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "account.login_link_issued")).one()
        assert (event.actor, event.role, event.subject) == ("cli", "operator", holder.account.id)
    unknown = run_cli(env_for(settings), "accounts", "login-link", "nobody")
    assert unknown.exit_code == 1
    assert 'account not found' in unknown.stderr
