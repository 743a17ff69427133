"""FastAPI dependencies shared by the routers: services, database session, device identity."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from sottovoce.accounts.registry import authenticate_device
from sottovoce.core.errors import Unauthenticated
from sottovoce.core.services import Services
from sottovoce.db.models import Device


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_db(services: Services = Depends(get_services)) -> Iterator[Session]:
    with services.sessions() as db:
        yield db


def current_device(request: Request, services: Services = Depends(get_services)) -> Device:
    """The device behind the bearer token, looked up in a session of its own that is closed before
    the route runs: an upload's body is read with no database connection held."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("a device bearer token is required")
    with services.sessions() as db:
        return authenticate_device(db, token.strip())
