"""Shared output helpers: JSON or human text on stdout, one-line errors on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from sottovoce.core.errors import SottovoceError

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def emit(data: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        typer.echo(human(data) if human else json.dumps(data, indent=2, default=str))


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn domain errors into a one-line message on stderr and exit code 1."""
    try:
        yield
    except SottovoceError as exc:
        fail(exc.message)


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()
