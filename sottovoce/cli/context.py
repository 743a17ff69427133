"""Building Services for a CLI command from settings (environment, sottovoce.toml).

Imports are deferred to the call: `sottovoce --help` must not pay for SQLAlchemy, Alembic or the
models (see benchmarks/cli_bench.py).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sottovoce.core.services import Services


def _home_is_configured(overrides: dict[str, Any]) -> bool:
    """True when the data folder was chosen (environment, sottovoce.toml, argument) or already exists."""
    return "home" in overrides or bool(os.environ.get("SOTTOVOCE_HOME")) or Path("sottovoce.toml").exists() or Path("var").exists()


@contextmanager
def open_services(create: bool = False, **overrides: Any) -> Iterator[Services]:
    """Services for one command. Only a creating command (``create=True``: init, serve)
    may make a new data folder with a new master key; any other command without SOTTOVOCE_HOME and
    without ./var fails with a message rather than creating an empty instance by accident."""
    from sottovoce import app_services
    from sottovoce.core.errors import SottovoceError
    from sottovoce.core.settings import Settings

    if not create and not _home_is_configured(overrides):
        raise SottovoceError("no sottovoce instance here: set SOTTOVOCE_HOME to its data folder (or run `sottovoce init` to create one in ./var)")
    services = app_services.open_services(Settings(**overrides))
    gc.enable()  # off during start-up (sottovoce/__main__.py); the command itself collects as usual
    try:
        yield services
    finally:
        services.close()
