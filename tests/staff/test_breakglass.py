"""Break-glass re-identification: two distinct officers, a reason, one reveal, visible in the audit."""

import re

import pytest
from sqlalchemy import select

from sottovoce.core.audit import Actor
from sottovoce.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from sottovoce.db.models import AuditEvent
from sottovoce.review.sampler import create_tasks
from sottovoce.staff import breakglass
from sottovoce.staff.roles import PRIVACY_OFFICER
from tests.factories import sign_in

ALICE = Actor("a" * 32, PRIVACY_OFFICER)
BOB = Actor("b" * 32, PRIVACY_OFFICER)
REASON = "court order 2026-4411 in a fraud investigation"


@pytest.fixture
def task(services, make_account, make_recording):
    account, device = make_account(name="zoe")
    recording = make_recording(device)
    with services.sessions() as db:
        task = create_tasks(db, recording.id, account.id, "random", 0.1)[0]
        db.commit()
        return task.id, account.id


def test_two_officers_then_one_reveal(services, task):
    task_id, account_id = task
    with services.sessions() as db:
        request = breakglass.open_request(services, db, ALICE, task_id, REASON)
        db.commit()
        with pytest.raises(Conflict, match="not approved"):
            breakglass.reveal(services, db, ALICE, request.id)
        breakglass.approve(services, db, BOB, request.id)
        db.commit()
        with pytest.raises(NotFound):
            breakglass.reveal(services, db, BOB, request.id)  # only the requester sees it
        revealed = breakglass.reveal(services, db, ALICE, request.id)
        assert revealed == {"account_id": account_id, "account_name": "zoe", "task_id": task_id}
        db.commit()
        with pytest.raises(Conflict, match="already revealed"):
            breakglass.reveal(services, db, ALICE, request.id)
        trail = db.execute(select(AuditEvent.action, AuditEvent.actor).where(AuditEvent.subject == task_id).order_by(AuditEvent.seq)).all()
    assert [tuple(row) for row in trail] == [("reid.requested", ALICE.id), ("reid.approved", BOB.id), ("reid.revealed", ALICE.id)]


def test_self_approval_is_refused(services, task):
    with services.sessions() as db:
        request = breakglass.open_request(services, db, ALICE, task[0], REASON)
        with pytest.raises(Forbidden, match="different"):
            breakglass.approve(services, db, ALICE, request.id)


def test_other_roles_and_thin_reasons_are_refused(services, task):
    with services.sessions() as db:
        with pytest.raises(Forbidden):
            breakglass.open_request(services, db, Actor("s" * 32, "supervisor"), task[0], REASON)
        with pytest.raises(InvalidInput, match="20 characters"):
            breakglass.open_request(services, db, ALICE, task[0], "because")
        request = breakglass.open_request(services, db, ALICE, task[0], REASON)
        with pytest.raises(Forbidden):
            breakglass.approve(services, db, Actor("c" * 32, "admin"), request.id)


def test_the_web_flow_needs_two_signed_in_officers(app_client, make_staff, services, task):
    first, second = make_staff(PRIVACY_OFFICER), make_staff(PRIVACY_OFFICER)

    def csrf():
        return re.search(r'name="csrf" value="([^"]+)"', app_client.get("/staff/privacy/reid").text).group(1)

    sign_in(app_client, first)
    app_client.post("/staff/privacy/reid", data={"csrf": csrf(), "task_id": task[0], "reason": REASON})
    with services.sessions() as db:
        request_id = breakglass.requests(db)[0].id
    page = app_client.get("/staff/privacy/reid")
    assert f"/staff/privacy/reid/{request_id}/approve" not in page.text  # no self-approval button
    assert app_client.post(f"/staff/privacy/reid/{request_id}/approve", data={"csrf": csrf()}, headers={"accept": "application/json"}).status_code == 403
    app_client.cookies.clear()
    sign_in(app_client, second)
    assert app_client.post(f"/staff/privacy/reid/{request_id}/approve", data={"csrf": csrf()}, follow_redirects=False).status_code == 303
    app_client.cookies.clear()
    sign_in(app_client, first, first.code(1))
    revealed = app_client.post(f"/staff/privacy/reid/{request_id}/reveal", data={"csrf": csrf()})
    assert revealed.status_code == 200
    assert 'zoe' in revealed.text
