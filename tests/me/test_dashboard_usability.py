"""Dashboard usability (issue 16): confirmation before a permanent delete, labelled players and
buttons, plain-language receipts, a form error for an empty range, and a signed-out page that says
how to sign in. The 390 px layout and the accessibility scan are in tests/browser/test_pages.py."""

import re
from datetime import UTC, datetime

from tests.holders import record

HTML = {"accept": "text/html"}


def test_delete_needs_a_second_step_and_buttons_say_which_recording(client, services, holder):
    record(services, holder.device, "lock the garage", captured_at=datetime(2026, 11, 20, 9, 30, tzinfo=UTC))
    record(services, holder.device, "open the garage", captured_at=datetime(2026, 11, 21, 8, 0, tzinfo=UTC))
    page = client.get("/me/", headers=HTML).text
    # The delete button sits inside a closed <details>: one click opens it, a second deletes.
    assert re.search(r'<details class="confirm">\s*<summary[^>]*>Delete…</summary>', page)
    names = re.findall(r'<button[^>]*aria-label="([^"]+)"', page)
    assert len(names) == len(set(names))  # every repeated button has its own accessible name
    assert "Delete the recording of 2026-11-20 09:30 UTC permanently" in names
    assert "Turn on human review" in names or "Turn off human review" in names
    assert re.findall(r'<audio[^>]*aria-label="Recording of ([^"]+)"', page) == ["2026-11-21 08:00 UTC", "2026-11-20 09:30 UTC"]


def test_receipts_use_plain_words(client, services, holder):
    recording = record(services, holder.device, "lock the garage")
    done = client.post(f"/me/recordings/{recording.id}/delete", data={"csrf": client.csrf}, headers=HTML, follow_redirects=True)
    text = re.sub(r"<[^>]+>", " ", done.text)
    assert "1 recording" in text and "1 automatic transcript" in text
    for jargon in ("annotations", "hypotheses", "jobs", "needs retrain", "model versions"):
        assert jargon not in text.lower()
    listing = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", client.get("/me/receipts", headers=HTML).text))
    assert not re.search(r",\s*</td>|, \s*$", listing)
    assert "1 recording, 1 automatic transcript" in listing


def test_range_delete_without_dates_is_a_form_error_on_the_dashboard(client, services, holder):
    record(services, holder.device, "lock the garage")
    page = client.post("/me/recordings/delete", data={"csrf": client.csrf, "scope": "range", "start": "", "end": ""}, headers=HTML)
    assert page.status_code == 422
    assert 'id="range-error"' in page.text and "Choose a date" in page.text
    assert "lock the garage" in page.text  # the whole dashboard, nothing deleted


def test_signed_out_dashboard_explains_how_to_sign_in(app_client):
    page = app_client.get("/me/", headers=HTML)
    assert page.status_code == 401
    assert "Privacy dashboard" in page.text and "sign-in link" in page.text


def test_admin_disable_is_not_a_primary_button_and_asks_first(app_client, make_staff):
    from tests.factories import sign_in

    admin = make_staff("admin")
    make_staff("reviewer", name="rita")
    sign_in(app_client, admin)
    page = app_client.get("/staff/admin/staff", headers=HTML).text
    assert re.search(r'<summary[^>]*>Disable…</summary>', page)
    assert re.search(r'<button type="submit" class="secondary"[^>]*>Disable rita</button>', page)
