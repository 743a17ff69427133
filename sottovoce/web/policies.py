"""Route policies: every route declares who may call it, and enforcement happens here, on the server.

A policy is a FastAPI dependency carrying a ``__policy__`` label. tests/web/test_route_policies.py
walks every route of the app and fails if one declares none, then checks a role x route matrix.
Object-level rules (a reviewer only the task it leases, an account holder only its own data) live
in the domain query that loads the object, which filters by the principal ("not found" otherwise).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.routing import BaseRoute

from sottovoce.accounts import signin as account_signin
from sottovoce.core.audit import Actor
from sottovoce.core.errors import Forbidden, SottovoceError
from sottovoce.core.services import Services
from sottovoce.db.models import Account, AccountSession, Device, StaffSession, StaffUser
from sottovoce.staff import sessions as staff_sessions
from sottovoce.web.deps import current_device, get_db, get_services

STAFF_COOKIE = "__Host-sv_staff"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class PasswordChangeRequired(SottovoceError):
    code = "password_change_required"


@dataclass
class StaffPrincipal:
    user: StaffUser
    session: StaffSession

    @property
    def actor(self) -> Actor:
        return Actor(self.user.id, self.user.role)


def _label(dependency: Callable[..., Any], label: str) -> Callable[..., Any]:
    dependency.__dict__["__policy__"] = label  # a function attribute, set through the dict the type checker knows
    return dependency


def public() -> Callable:
    def allow_anyone() -> None:
        return None

    return _label(allow_anyone, "public")


def device() -> Callable:
    def device_token(device: Device = Depends(current_device)) -> Device:
        return device

    return _label(device_token, "device")


async def check_csrf(request: Request, expected: str) -> None:
    """Unsafe methods must echo the session's CSRF token (form field or X-CSRF-Token header)."""
    if request.method in SAFE_METHODS:
        return
    sent: str | UploadFile | None = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        sent = (await request.form()).get("csrf")
    if not sent or not hmac.compare_digest(str(sent), expected):
        raise Forbidden("the form is stale or was not sent by this site; reload the page and try again")


def staff(*roles: str, allow_password_change: bool = False) -> Callable:
    """A signed-in staff member with one of ``roles`` (any role when none is given)."""

    async def staff_member(
        request: Request, db: Session = Depends(get_db), services: Services = Depends(get_services)
    ) -> StaffPrincipal:
        session, user = staff_sessions.resolve(services, db, request.cookies.get(STAFF_COOKIE, ""))
        if roles and user.role not in roles:
            raise Forbidden("your role does not allow this")
        await check_csrf(request, session.csrf_token)
        if user.must_change_password and not allow_password_change:
            raise PasswordChangeRequired("change your one-time password first")
        principal = StaffPrincipal(user, session)
        request.state.principal = principal
        return principal

    return _label(staff_member, "staff:" + ("|".join(roles) if roles else "any"))


def policies_of(route: APIRoute) -> list[str]:
    """Policy labels declared anywhere in a route's dependency tree."""
    found: list[str] = []

    def walk(dependant: Dependant) -> None:
        if label := getattr(dependant.call, "__policy__", None):
            found.append(label)
        for sub in dependant.dependencies:
            walk(sub)

    walk(route.dependant)
    return found


def api_routes(app: FastAPI) -> list[BaseRoute]:
    """Every endpoint of the app, including those of included routers (for the policy tests)."""
    found: list[BaseRoute] = []

    def walk(routes: Sequence[BaseRoute]) -> None:
        for route in routes:
            if hasattr(route, "dependant"):
                found.append(route)
            elif hasattr(route, "original_router"):  # FastAPI's wrapper around an included router
                walk(route.original_router.routes)

    walk(app.routes)
    return found


# --- account holders (issue 5) --------------------------------------------------------------------

ACCOUNT_COOKIE = "__Host-sv_account"


@dataclass
class AccountPrincipal:
    """A signed-in account holder. Every query a route makes for it filters by ``account.id``."""

    account: Account
    session: AccountSession

    @property
    def actor(self) -> Actor:
        return Actor(self.account.id, "account")


def account_holder() -> Callable:
    """A signed-in account holder (own cookie and session table, never a staff session)."""

    async def account_member(
        request: Request, db: Session = Depends(get_db), services: Services = Depends(get_services)
    ) -> AccountPrincipal:
        session, account = account_signin.resolve(services, db, request.cookies.get(ACCOUNT_COOKIE, ""))
        await check_csrf(request, session.csrf_token)
        principal = AccountPrincipal(account, session)
        request.state.principal = principal
        return principal

    return _label(account_member, "account")
