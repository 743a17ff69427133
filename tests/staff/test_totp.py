import time

import pyotp
import pytest

from sottovoce.staff.totp import matching_step, new_secret

pytestmark = pytest.mark.asvs("V6.5.1", "V6.5.5")


def test_current_code_is_accepted_once():
    secret, now = new_secret(), time.time()
    code = pyotp.TOTP(secret).at(now)
    step = matching_step(secret, code, last_step=0, now=now)
    assert step == int(now // 30)
    assert matching_step(secret, code, last_step=step, now=now) is None  # replay refused


def test_adjacent_step_allowed_for_clock_drift_but_not_older():
    secret, now = new_secret(), time.time()
    assert matching_step(secret, pyotp.TOTP(secret).at(now - 30), 0, now) is not None
    assert matching_step(secret, pyotp.TOTP(secret).at(now - 90), 0, now) is None


def test_an_older_code_after_a_newer_one_is_refused():
    secret, now = new_secret(), time.time()
    newer = matching_step(secret, pyotp.TOTP(secret).at(now), 0, now)
    assert matching_step(secret, pyotp.TOTP(secret).at(now - 30), newer, now) is None


@pytest.mark.parametrize("code", ["", "12345", "abcdef", "1234567"])
def test_malformed_codes_are_refused(code):
    assert matching_step(new_secret(), code, 0) is None
