"""Progress bars on stderr for long CLI work (stdout stays clean for ``--json``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from sottovoce.cli.output import stderr_is_tty


@contextmanager
def progress_bar(enabled: bool | None = None) -> Iterator[Callable[[str, int, int | None], None]]:
    """A ``progress(what, done, total)`` callback drawing one bar per ``what`` on stderr; silent
    when stderr is not a terminal (logs and tests see nothing). Shows counts and step names only."""
    bars = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=False, disable=not (stderr_is_tty() if enabled is None else enabled),
    )
    tasks: dict[str, TaskID] = {}

    def update(what: str, done: int, total: int | None) -> None:
        if what not in tasks:
            tasks[what] = bars.add_task(what, total=total)
        bars.update(tasks[what], completed=done, total=total)

    with bars:
        yield update
