"""Building Services for a CLI command from settings (environment, sottovoce.toml)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sottovoce.services import Services
from sottovoce.settings import Settings


@contextmanager
def open_services(**overrides) -> Iterator[Services]:
    services = Services.open(Settings(**overrides))
    try:
        yield services
    finally:
        services.close()
