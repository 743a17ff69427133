"""TOTP second factor (RFC 6238, 30 s step, 6 digits) with replay refusal.

A code is accepted for the current step or one step either side (clock drift), and only if its
step is later than the last step this user signed in with: a code seen once is never accepted again.
"""

from __future__ import annotations

import hmac
import time

import pyotp

STEP_SECONDS = 30
ISSUER = "sottovoce"


def new_secret() -> str:
    return pyotp.random_base32(32)  # 160 bits


def provisioning_uri(secret: str, name: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=name, issuer_name=ISSUER)


def matching_step(secret: str, code: str, last_step: int, now: float | None = None) -> int | None:
    """The step the code belongs to, if valid and not yet used; otherwise None."""
    step = _valid_step(secret, code, now)
    return step if step is not None and step > last_step else None


def was_just_used(secret: str, code: str, last_step: int, now: float | None = None) -> bool:
    """A valid code whose step already signed someone in (a second sign-in within the same 30 s)."""
    step = _valid_step(secret, code, now)
    return step is not None and step <= last_step


def _valid_step(secret: str, code: str, now: float | None) -> int | None:
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    now = time.time() if now is None else now
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now // STEP_SECONDS)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
