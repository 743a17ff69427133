"""Fixtures shared by the account holder's tests: a holder with a device, and a client signed in
as that holder through the real one-time link (its CSRF token at ``client.csrf``)."""

import pytest

from tests.holders import new_holder, sign_in_holder


@pytest.fixture
def holder(services):
    return new_holder(services)


@pytest.fixture
def client(app_client, services, holder):
    app_client.csrf = sign_in_holder(app_client, services, holder.account)
    return app_client
