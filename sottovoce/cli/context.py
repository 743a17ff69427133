"""Building Services for a CLI command from settings (environment, sottovoce.toml)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sottovoce import app_services
from sottovoce.core.services import Services
from sottovoce.core.settings import Settings


@contextmanager
def open_services(**overrides: Any) -> Iterator[Services]:
    services = app_services.open_services(Settings(**overrides))
    try:
        yield services
    finally:
        services.close()
