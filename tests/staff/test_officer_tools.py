"""The privacy officer's tools (issue 16): the audit log with staff names, filters, search and keyset
pagination; shift hours per reviewer in their time zone; a lifted suspension that one more denied
fetch does not re-impose; break-glass with an unknown task id keeps what was typed."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from sottovoce.core.audit import OPERATOR, Actor
from sottovoce.core.errors import InvalidInput
from sottovoce.db.models import Alert, AuditEvent, StaffUser
from sottovoce.staff import abuse, shifts
from sottovoce.staff.audit_search import AuditQuery, search
from tests.factories import csrf_of, sign_in

HTML = {"accept": "text/html"}


def events(services, actor, action, n, subject="t", details=None):
    with services.sessions() as db:
        for i in range(n):
            services.audit.append(db, actor, action, subject if subject != "*" else f"t{i}", details)
        db.commit()


def rules(services):
    with services.sessions() as db:
        return [a.rule for a in db.scalars(select(Alert).order_by(Alert.at))]


# --- audit log ----------------------------------------------------------------------------------

def test_audit_page_names_staff_and_pages_by_seq(app_client, services, make_staff):
    officer = make_staff("privacy_officer", name="priya")
    rita = make_staff("reviewer", name="rita")
    events(services, Actor(rita.user.id, "reviewer"), "review.leased", 130, "*")
    sign_in(app_client, officer)
    first = app_client.get("/staff/audit", headers=HTML).text
    assert "<td>rita</td>" in first
    assert not re.search(rf"<code>{rita.user.id[:8]}</code>", first)  # a name, not 8 hex digits
    pages = [rows(first)]
    assert len(pages[0]) == 50 and pages[0] == sorted(pages[0], reverse=True)
    page = first
    while (href := link(page, "next")) is not None:  # every event once, across pages: not the last 200 only
        page = app_client.get("/staff/audit" + href, headers=HTML).text
        pages.append(rows(page))
    with services.sessions() as db:
        all_seqs = sorted(db.scalars(select(AuditEvent.seq)), reverse=True)
    assert len(all_seqs) > 130 and [s for p in pages for s in p] == all_seqs
    assert link(first, "prev") is None
    back = app_client.get("/staff/audit" + link(page, "prev"), headers=HTML).text
    assert rows(back) == pages[-2]


def rows(page: str) -> list[int]:
    return [int(s) for s in re.findall(r"<tr><td>(\d+)</td>", page)]


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    return found.group(1).replace("&amp;", "&") if found else None


def test_audit_filters_and_search(app_client, services, make_staff):
    officer = make_staff("privacy_officer")
    rita, raj = make_staff("reviewer", name="rita"), make_staff("reviewer", name="raj")
    events(services, Actor(rita.user.id, "reviewer"), "review.leased", 3, "*")
    events(services, Actor(raj.user.id, "reviewer"), "review.submitted", 2, "task-zebra", {"duration_s": 2.0})
    with services.sessions() as db:
        def actions(**kw):
            return [(e.actor, e.action) for e in search(db, AuditQuery(**kw)).events]

        assert {a for _, a in actions(actor="rita")} == {"review.leased"} and len(actions(actor="rita")) == 3
        assert {a for _, a in actions(action="review.")} == {"review.leased", "review.submitted"}
        assert actions(action="review.submitted", actor="rita") == []
        assert len(actions(text="ZEBRA")) == 2  # search: subject, action and details, any case
        assert len(actions(text="duration")) == 2
        assert actions(text="100%_") == []  # LIKE wildcards are searched for literally
        today = datetime.now(UTC).date()
        assert len(actions(since=today, until=today)) == len(actions())
        assert actions(until=today - timedelta(days=1)) == []
        assert actions(since=today + timedelta(days=1)) == []
    sign_in(app_client, officer)
    page = app_client.get("/staff/audit", params={"actor": "raj", "q": "zebra"}, headers=HTML).text
    assert page.count("<td>raj</td>") == 2 and "<td>rita</td>" not in page
    assert 'value="zebra"' in page and "Clear filters" in page
    bad = app_client.get("/staff/audit", params={"from": "2026-12-09", "to": "2026-12-01"}, headers=HTML)
    assert bad.status_code == 422 and "the date range ends before it starts" in bad.text


# --- shift hours ---------------------------------------------------------------------------------

@pytest.fixture
def reviewer(services):
    with services.sessions() as db:
        db.add(StaffUser(id="r" * 32, name="mallory", role="reviewer", password_hash="x", sealed_totp_secret=b""))
        db.commit()
    return Actor("r" * 32, "reviewer")


def at(services, moment):
    services.audit.clock = lambda: moment


def test_off_shift_uses_the_reviewers_own_hours_and_time_zone(services, reviewer):
    with services.sessions() as db:
        shifts.set_shift(services, db, OPERATOR, db.get(StaffUser, reviewer.id), 9, 17, "America/New_York")
        db.commit()
    at(services, datetime(2026, 12, 1, 15, 0, tzinfo=UTC))  # 10:00 in New York: on shift
    events(services, reviewer, "review.leased", 1)
    assert rules(services) == []
    at(services, datetime(2026, 12, 1, 12, 0, tzinfo=UTC))  # 07:00 in New York, inside the 06-22 UTC default
    events(services, reviewer, "review.leased", 1)
    assert rules(services) == ["off_shift"]
    with services.sessions() as db:
        assert "07:00 America/New_York, outside the 09:00-17:00 America/New_York shift" in db.scalar(select(Alert.details))


def test_a_night_shift_runs_past_midnight():
    night = shifts.Shift(22, 6, "Europe/Rome")
    assert night.covers(datetime(2026, 12, 1, 23, 30, tzinfo=UTC))  # 00:30 in Rome
    assert night.covers(datetime(2026, 12, 1, 21, 30, tzinfo=UTC))  # 22:30 in Rome
    assert not night.covers(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))


def test_shift_input_is_checked(services, reviewer):
    with services.sessions() as db:
        user = db.get(StaffUser, reviewer.id)
        with pytest.raises(InvalidInput, match="time zone"):
            shifts.set_shift(services, db, OPERATOR, user, 9, 17, "Mars/Olympus")
        with pytest.raises(InvalidInput):
            shifts.set_shift(services, db, OPERATOR, user, 9, 9, "UTC")


def test_demo_reviewers_are_on_shift_when_the_demo_starts():
    from sottovoce.demo.build import demo_shift

    for hour in range(24):
        now = datetime(2026, 12, 1, hour, 10, tzinfo=UTC)
        shift = shifts.Shift(*demo_shift(now), "UTC")
        assert shift.covers(now) and shift.covers(now + timedelta(hours=9, minutes=45)), hour


def test_staff_shift_command_sets_and_lists_it(settings, services, make_staff, monkeypatch):
    from sottovoce.cli import app

    make_staff("reviewer", name="rita")
    monkeypatch.setenv("SOTTOVOCE_HOME", str(settings.home))
    monkeypatch.setenv("SOTTOVOCE_DATABASE_URL", settings.resolved_database_url)
    result = CliRunner().invoke(app, ["staff", "shift", "rita", "--start", "8", "--end", "16", "--time-zone", "Europe/Rome"])
    assert result.exit_code == 0, result.output
    assert "rita: shift 08:00-16:00 Europe/Rome" in result.output
    listed = CliRunner().invoke(app, ["staff", "list"])
    assert re.search(r"rita\s+reviewer\s+active\s+shift 08:00-16:00 Europe/Rome\n", listed.output)
    bad = CliRunner().invoke(app, ["staff", "shift", "rita", "--start", "8", "--end", "16", "--time-zone", "Nowhere/Else"])
    assert bad.exit_code != 0 and "unknown time zone" in bad.output


# --- suspension lifted -----------------------------------------------------------------------------

def test_after_a_lifted_suspension_one_more_denied_fetch_does_not_re_suspend(services, reviewer):
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    at(services, start)
    events(services, reviewer, "review.audio_denied", 3)
    with services.sessions() as db:
        alert = db.scalar(select(Alert))
        assert alert.rule == "no_lease" and db.get(StaffUser, reviewer.id).review_suspended
    at(services, start + timedelta(minutes=2))
    with services.sessions() as db:
        abuse.resolve(services, db, alert.id, Actor("p" * 32, "privacy_officer"), lift_suspension=True)
        db.commit()
    at(services, start + timedelta(minutes=3))  # within the 10-minute window of the old three
    events(services, reviewer, "review.audio_denied", 1)
    with services.sessions() as db:
        assert not db.get(StaffUser, reviewer.id).review_suspended
        assert rules(services) == ["no_lease"]
    events(services, reviewer, "review.audio_denied", 2)  # three new ones since the lift: that is a pattern again
    with services.sessions() as db:
        assert db.get(StaffUser, reviewer.id).review_suspended
    assert rules(services) == ["no_lease", "no_lease"]


# --- break-glass form ------------------------------------------------------------------------------

def test_break_glass_with_an_unknown_task_keeps_the_reason(app_client, make_staff):
    sign_in(app_client, make_staff("privacy_officer"))
    reason = "Police request 2026/118: a threat to a person's life was reported"
    page = app_client.post("/staff/privacy/reid", data={"task_id": "no-such-task", "reason": reason, "csrf": csrf_of(app_client, "/staff/privacy/reid")}, headers=HTML)
    assert page.status_code == 422
    assert "<h1>Break-glass re-identification</h1>" in page.text
    assert 'role="alert">No review task has this id' in page.text
    assert 'value="no-such-task" aria-invalid="true"' in page.text
    assert f">{reason}</textarea>" in page.text.replace("&#39;", "'")
    short = app_client.post("/staff/privacy/reid", data={"task_id": "x", "reason": "because", "csrf": csrf_of(app_client, "/staff/privacy/reid")}, headers=HTML)
    assert short.status_code == 422 and "at least 20 characters" in short.text and ">because</textarea>" in short.text
