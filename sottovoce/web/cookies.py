"""Cookies and the sign-in forms' CSRF defence, one implementation for staff and account holders.

Every cookie is a ``__Host-`` cookie: Secure, Path=/, no Domain, so the browser pins it to exactly
this origin; HttpOnly, and SameSite=Strict keeps it off every cross-site request. A sign-in form
(there is no session yet to hold a token) uses a double-submit cookie: the form carries a random
value that must equal the cookie's.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response

from sottovoce.core.errors import Forbidden


def set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="strict")


def clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="strict")


def issue_login_csrf(response: Response, cookie: str, token: str) -> None:
    set_cookie(response, cookie, token, max_age=3600)


def new_login_csrf() -> str:
    return secrets.token_urlsafe(32)


def check_login_csrf(request: Request, cookie: str, sent: str, stale_message: str) -> None:
    expected = request.cookies.get(cookie, "")
    if not expected or not hmac.compare_digest(expected, sent):
        raise Forbidden(stale_message)
