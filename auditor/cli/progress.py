"""Progress bars for the command line: a thin wrapper over :mod:`rich.progress`.

The engine and the writers report progress through a plain callable, ``progress(step, done, total)``
(STYLE #17: the engine yields progress, the CLI draws it). :class:`ProgressBars` is such a callable.
It draws only for a person at a terminal: when standard error is a TTY and ``CI`` is not set.
Anywhere else (pipes, log files, CI, tests, notebooks) it does nothing at all, so output stays
byte-for-byte what it was.

    with ProgressBars() as progress:
        result = audit(target, progress=progress)
        write_reports(result, out_dir, formats, progress=progress)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import IO, Any, Protocol

__all__ = ["ProgressCallback", "ProgressBars", "interactive", "null_progress"]


class ProgressCallback(Protocol):
    """``progress(step, done, total)``: ``step`` names the stage; ``total`` is None when unknown."""

    def __call__(self, step: str, done: int = 0, total: int | None = None) -> None: ...


def null_progress(step: str, done: int = 0, total: int | None = None) -> None:
    """A progress callback that does nothing (the default everywhere)."""


def interactive(stream: IO[str] | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """True when ``stream`` (default: stderr) is a terminal and the ``CI`` variable is unset or empty."""
    stream = sys.stderr if stream is None else stream
    env = os.environ if environ is None else environ
    if env.get("CI", "").strip():
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed, or not a real file
        return False


class ProgressBars:
    """One bar per step, drawn on stderr with rich, only when :func:`interactive` says so.

    A step seen for the first time gets its own bar; a step without a count (``total=None``) shows
    as running until the next step starts. Bars vanish when the ``with`` block ends.

    Parameters
    ----------
    stream
        Where to draw (default: stderr).
    enabled
        Force drawing on or off; ``None`` (the default) asks :func:`interactive`.

    Examples
    --------
    >>> with ProgressBars(enabled=False) as progress:
    ...     progress("read facility list")
    ...     progress("gather evidence", 3, 42)
    >>> progress.active
    False
    >>> import io
    >>> interactive(io.StringIO(), environ={})   # not a terminal
    False
    """

    def __init__(self, *, stream: IO[str] | None = None, enabled: bool | None = None) -> None:
        self._stream = sys.stderr if stream is None else stream
        self.active = interactive(self._stream) if enabled is None else enabled
        self._progress: Any = None
        self._tasks: dict[str, tuple[Any, int | None]] = {}  # step -> (rich task id, total)

    def __enter__(self) -> ProgressBars:
        if self.active:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self._stream),
                transient=True,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self._tasks.clear()

    def __call__(self, step: str, done: int = 0, total: int | None = None) -> None:
        if self._progress is None:
            return
        if step not in self._tasks:
            # a new step ends the steps before it that had no count (they show as done)
            for earlier, (task, known) in list(self._tasks.items()):
                if known is None:
                    self._progress.update(task, total=1, completed=1)
                    self._tasks[earlier] = (task, 1)
            self._tasks[step] = (self._progress.add_task(step, total=total), total)
        task, _ = self._tasks[step]
        self._tasks[step] = (task, total)
        self._progress.update(task, completed=done, total=total)
