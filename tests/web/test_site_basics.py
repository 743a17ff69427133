"""Site basics (issue 16): favicon, HEAD, a 404 page that says it once, a staff sign-in that keeps
the typed name and says when a code was just used."""

from tests.factories import sign_in

HTML = {"accept": "text/html"}


def test_favicon_is_served(app_client):
    response = app_client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert 'rel="icon"' in app_client.get("/staff/login").text


def test_head_works_where_get_does(app_client):
    for path in ("/", "/staff/login", "/favicon.ico", "/healthz"):
        get, head = app_client.get(path), app_client.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]


def test_head_never_counts_as_a_listen(app_client):
    # A HEAD on a review task page or its audio must not issue or redeem a ticket: it is not run as GET.
    assert app_client.head("/staff/review/tasks/abc/audio?ticket=x").status_code == 405


def test_404_page_says_not_found_once(app_client):
    page = app_client.get("/nowhere", headers=HTML)
    assert page.status_code == 404
    assert page.text.lower().count("not found") == 1
    assert "no page at this address" in page.text


def test_staff_login_error_keeps_the_name(app_client, make_staff):
    rita = make_staff("reviewer", name="rita")
    page = app_client.post("/staff/login", data={"name": "rita", "password": "wrong", "code": "000000", "csrf": _csrf(app_client)})
    assert page.status_code == 401
    assert 'value="rita"' in page.text
    assert rita.password not in page.text


def test_second_sign_in_with_the_same_code_says_it_was_just_used(services, make_staff):
    from fastapi.testclient import TestClient

    from sottovoce.web.app import create_app

    rita = make_staff("reviewer")
    code = rita.code()
    with TestClient(create_app(services, run_worker=False), base_url="https://testserver") as first:
        assert sign_in(first, rita, code).status_code == 303
    with TestClient(create_app(services, run_worker=False), base_url="https://testserver") as second:
        again = sign_in(second, rita, code)
    assert again.status_code == 401
    assert "just used" in again.text
    assert "wrong name, password or code" not in again.text


def _csrf(client) -> str:
    import re

    return re.search(r'name="csrf" value="([^"]+)"', client.get("/staff/login").text).group(1)
