"""The `sottovoce` command: one Typer app, one sub-app per noun (accounts, devices, recordings, ...).

Commands stay thin: they open Services, call a domain function, commit, and print. `--json` prints
machine-readable output on stdout; failures go to stderr as one line with a non-zero exit code.
"""

from sottovoce.cli.main import app

__all__ = ["app"]
