"""Privacy-officer and supervisor pages (issue 16): navigation between the officer's pages, alert
reasons in words, a heading over the reviewer table."""

import re

from sottovoce.staff import abuse
from tests.factories import sign_in

HTML = {"accept": "text/html"}


def test_officer_pages_link_to_each_other_and_alerts_read_as_words(app_client, services, make_staff):
    officer = make_staff("privacy_officer")
    reviewer = make_staff("reviewer")
    with services.sessions() as db:
        abuse.raise_alert(services, db, "off_shift", reviewer.user.id, "review outside shift hours")
        db.commit()
    sign_in(app_client, officer)
    for path in ("/staff/audit", "/staff/privacy/alerts", "/staff/privacy/reid"):
        page = app_client.get(path, headers=HTML)
        assert page.status_code == 200, path
        nav = re.search(r'<nav class="section-nav"[^>]*>(.*?)</nav>', page.text, re.S).group(1)
        assert {"/staff/audit", "/staff/privacy/alerts", "/staff/privacy/reid"} <= set(re.findall(r'href="([^"]+)"', nav))
        assert 'aria-current="page"' in nav
    alerts = app_client.get("/staff/privacy/alerts", headers=HTML).text
    assert "<td>review outside shift hours</td>" in alerts
    assert "{&#34;reason" not in alerts and '{"reason' not in alerts


def test_supervisor_reviewer_table_has_a_heading(app_client, make_staff):
    sign_in(app_client, make_staff("supervisor"))
    page = app_client.get("/staff/supervise", headers=HTML).text
    assert re.search(r"<h2>Reviewers</h2>\s*<table>", page)
