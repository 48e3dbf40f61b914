"""Writing a file whole or not at all: the one atomic writer every output goes through.

A temporary file is made beside the target (same file system), written, then moved over the
target with :func:`os.replace` — which replaces a symlink planted at the target rather than
writing through it — and removed if anything fails first. Report folders
(:mod:`auditor.report.folder`) stage whole sets of files the same way.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_text_atomic"]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, suffix: str = "", mode: int | None = 0o644) -> Iterator[Path]:
    """A temporary path beside ``target`` to write to; on a clean exit it becomes ``target``.

    ``mode``: the permissions the file ends with (``mkstemp`` makes 0600; reports, recordings and
    bundles are meant to be shared); None keeps 0600 (a private cache).

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with atomic_path(pathlib.Path(d) / "a.txt") as tmp:
    ...         _ = tmp.write_text("whole")
    ...     (pathlib.Path(d) / "a.txt").read_text(), sorted(p.name for p in pathlib.Path(d).iterdir())
    ('whole', ['a.txt'])
    """
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=final.parent, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(target: str | os.PathLike[str], text: str, *, mode: int | None = 0o644) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``target`` whole or not at all; returns the path."""
    with atomic_path(target, suffix=Path(target).suffix, mode=mode) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    return Path(target)
