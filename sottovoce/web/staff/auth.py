"""Staff sign-in, sign-out and password change."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from sottovoce.core.errors import InvalidInput, TooManyRequests, Unauthenticated
from sottovoce.core.services import Services
from sottovoce.staff import sessions as staff_sessions
from sottovoce.staff.users import change_password
from sottovoce.web.cookies import check_login_csrf, clear_cookie, issue_login_csrf, new_login_csrf, set_cookie
from sottovoce.web.deps import get_db, get_services
from sottovoce.web.policies import STAFF_COOKIE, StaffPrincipal, public, staff
from sottovoce.web.templating import templates

router = APIRouter(prefix="/staff", tags=["staff"])
LOGIN_CSRF_COOKIE = "__Host-sv_login_csrf"


def client_addr(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login_page(request: Request, error: str | None = None, status: int = 200, name: str = "") -> HTMLResponse:
    token = new_login_csrf()
    context = {"csrf": token, "error": error, "name": name}  # the name stays typed; password and code do not
    response = templates.TemplateResponse(request, "staff/login.html", context, status_code=status)
    issue_login_csrf(response, LOGIN_CSRF_COOKIE, token)
    return response


@router.get("/login", response_class=HTMLResponse, dependencies=[Depends(public())])
def show_login(request: Request) -> HTMLResponse:
    return login_page(request)


@router.post("/login", dependencies=[Depends(public())])
def do_login(
    request: Request,
    name: str = Form(max_length=100),
    password: str = Form(max_length=200),
    code: str = Form(max_length=10),
    csrf: str = Form(max_length=100),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> Response:
    check_login_csrf(request, LOGIN_CSRF_COOKIE, csrf, "the sign-in form is stale; reload the page and try again")
    try:
        signed_in = staff_sessions.sign_in(services, db, name, password, code, client_addr(request))
    except Unauthenticated as exc:
        return login_page(request, exc.message, status=401, name=name)
    except TooManyRequests as exc:
        return login_page(request, exc.message, status=429, name=name)
    response = RedirectResponse("/staff/", status_code=303)
    set_cookie(response, STAFF_COOKIE, signed_in.token)
    clear_cookie(response, LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def do_logout(
    request: Request,
    principal: StaffPrincipal = Depends(staff(allow_password_change=True)),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> RedirectResponse:
    staff_sessions.sign_out(services, db, request.cookies.get(STAFF_COOKIE, ""))
    response = RedirectResponse("/staff/login", status_code=303)
    clear_cookie(response, STAFF_COOKIE)
    return response


@router.get("/password", response_class=HTMLResponse)
def show_password(request: Request, principal: StaffPrincipal = Depends(staff(allow_password_change=True))) -> HTMLResponse:
    return templates.TemplateResponse(request, "staff/password.html", {"principal": principal, "error": None})


@router.post("/password")
def do_password(
    request: Request,
    current: str = Form(max_length=200),
    new: str = Form(max_length=200),
    principal: StaffPrincipal = Depends(staff(allow_password_change=True)),
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> Response:
    try:
        change_password(services, db, principal.user, current, new)
    except InvalidInput as exc:
        return templates.TemplateResponse(request, "staff/password.html", {"principal": principal, "error": exc.message}, status_code=422)
    db.commit()
    return RedirectResponse("/staff/", status_code=303)
