"""Account holders' sign-in through a one-time link, and sign-out (holder/signin.py does the work).

GET /me/login?token=... only shows a button: link scanners and pre-fetchers must not spend the
link. The POST spends it, with a double-submit cookie against login CSRF (as staff sign-in does).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from sottovoce.accounts import signin
from sottovoce.core.errors import Unauthenticated
from sottovoce.core.services import Services
from sottovoce.web.cookies import check_login_csrf, clear_cookie, issue_login_csrf, new_login_csrf, set_cookie
from sottovoce.web.deps import get_db, get_services
from sottovoce.web.me import render
from sottovoce.web.policies import ACCOUNT_COOKIE, AccountPrincipal, account_holder, public

router = APIRouter(prefix="/me", tags=["account holder"])
LOGIN_CSRF_COOKIE = "__Host-sv_account_login"


def login_page(request: Request, token: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    csrf = new_login_csrf()
    response = render(request, "login.html", None, {"token": token, "csrf": csrf, "error": error}, status=status)
    issue_login_csrf(response, LOGIN_CSRF_COOKIE, csrf)
    return response


@router.get("/login", response_class=HTMLResponse, dependencies=[Depends(public())])
def show_login(request: Request, token: str = Query("", max_length=200)) -> HTMLResponse:
    return login_page(request, token)


@router.post("/login", dependencies=[Depends(public())])
def do_login(
    request: Request,
    token: str = Form(max_length=200),
    csrf: str = Form(max_length=100),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> Response:
    check_login_csrf(request, LOGIN_CSRF_COOKIE, csrf, "the sign-in form is stale; open the sign-in link again")
    try:
        signed_in = signin.redeem_link(services, db, token)
    except Unauthenticated as exc:
        if "text/html" not in request.headers.get("accept", ""):
            raise
        return login_page(request, "", exc.message, status=401)
    # A browser that was signed in (perhaps as someone else) starts clean: end that session too.
    signin.sign_out(services, db, request.cookies.get(ACCOUNT_COOKIE, ""))
    response = RedirectResponse("/me/", status_code=303)
    set_cookie(response, ACCOUNT_COOKIE, signed_in.token)
    clear_cookie(response, LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def do_logout(
    request: Request,
    holder: AccountPrincipal = Depends(account_holder()),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> RedirectResponse:
    signin.sign_out(services, db, request.cookies.get(ACCOUNT_COOKIE, ""))
    response = RedirectResponse("/me/login", status_code=303)
    clear_cookie(response, ACCOUNT_COOKIE)
    return response
