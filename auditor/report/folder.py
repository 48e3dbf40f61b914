"""The report folder: a whole report set or nothing, never over an input, never through a symlink.

An audit writes its files into a staging folder inside ``--out`` (``.auditor-partial-<pid>/``,
under their final names, so a streamed table is never seen under its final name until it is
whole), then :meth:`ReportFolder.commit` moves each into place with ``os.replace`` — which
replaces a planted symlink itself and never writes through it — removes the report files of
earlier runs that this run did not write (an older facilities.geojson beside newer reports would
tell another story), and writes ``.auditor-complete``, the list of the set's files with their
sha256, last. A run that fails or is killed before the commit leaves the earlier set as it was;
its staging folder is removed then, or by the next run.

A lock (``.auditor.lock``, ``flock``) keeps a second audit out of a folder another is writing:
it is refused at once, naming the folder, rather than left to wait or to mix its files in.

Outputs never touch inputs: a folder in which any report name resolves to an input (the
facility list, the profile, waivers, evidence files) is refused before anything is written, so
``auditor audit facilities.csv --out .`` cannot overwrite the list it audits.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from auditor.errors import InputError, os_reason
from auditor.paths import sha256_file

__all__ = ["COMPLETE_MARKER", "LOCK_FILE", "REPORT_NAMES", "ReportFolder"]

#: Every name a report set may hold in its folder (files, and the figures folder).
REPORT_NAMES = (
    "report.json", "report.md", "report.html", "report.sarif",
    "facilities.csv", "facilities.geojson", "facilities.parquet", "report.xlsx", "report.pdf",
    "evidence-bundle.zip", "figures",
)
LOCK_FILE = ".auditor.lock"
COMPLETE_MARKER = ".auditor-complete"
_STAGING_PREFIX = ".auditor-partial-"


class ReportFolder:
    """Stage a report set in ``out_dir`` and commit it whole (a context manager).

    ``protect``: input files that no report may overwrite; more can be added with
    :meth:`protect` until the commit, which checks them all again before it moves anything.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp, ReportFolder(tmp) as folder:
    ...     _ = folder.path("report.md").write_text("# audit")
    ...     [p.name for p in folder.commit()]
    ['report.md']
    """

    def __init__(self, out_dir: str | os.PathLike[str], *, protect: Iterable[str | os.PathLike[str]] = ()) -> None:
        self.out = Path(os.path.normpath(out_dir))  # "a/./b/../c" must not create a/b on the way
        self._protected: set[str] = set()
        self._kept: set[str] = set()
        self._lock_fd: int | None = None
        self._staging: Path | None = None
        self._committed: list[Path] | None = None
        self.protect(protect)

    # -- the context ----------------------------------------------------------------------------

    def __enter__(self) -> ReportFolder:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self._lock()
            for stale in self.out.glob(_STAGING_PREFIX + "*"):  # a killed run's leftovers
                _remove(stale)
            self._check_inputs()
            self._staging = self.out / f"{_STAGING_PREFIX}{os.getpid()}"
            self._staging.mkdir()
        except OSError as exc:
            self._unlock()
            raise InputError(f"cannot write reports here: {os_reason(exc)}", source=str(self.out)) from None
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if self._staging is not None:
                _remove(self._staging)
        finally:
            self._unlock()

    # -- staging --------------------------------------------------------------------------------

    def path(self, name: str) -> Path:
        """Where to write the report file ``name`` (a name from :data:`REPORT_NAMES`) before the commit."""
        if self._staging is None:
            raise RuntimeError("ReportFolder.path() outside its with-block")
        if name not in REPORT_NAMES:
            raise ValueError(f"{name!r} is not a report file name")
        return self._staging / name

    def final(self, path: str | os.PathLike[str]) -> Path:
        """The place a staged ``path`` (or a path below a staged folder) has once committed."""
        if self._staging is None:
            return Path(path)
        return self.out / Path(path).relative_to(self._staging)

    def keep(self, names: Iterable[str]) -> None:
        """Report files already in the folder that belong to this set (a streamed audit's tables,
        committed before its summaries): the commit does not remove them as an earlier run's."""
        self._kept |= set(names)

    @property
    def staging(self) -> Path:
        """The staging folder (the figures go in its ``figures/``)."""
        if self._staging is None:
            raise RuntimeError("ReportFolder.staging outside its with-block")
        return self._staging

    def protect(self, paths: Iterable[str | os.PathLike[str] | None]) -> None:
        """Add input files that no report may overwrite."""
        self._protected |= {os.path.realpath(p) for p in paths if p}

    # -- the commit -----------------------------------------------------------------------------

    def commit(self) -> list[Path]:
        """Move the staged set into place, remove older report files it does not replace, mark it complete."""
        if self._committed is not None:
            return self._committed
        if self._staging is None:
            raise RuntimeError("ReportFolder.commit() outside its with-block")
        self._check_inputs()
        staged = sorted(p.name for p in self._staging.iterdir())
        marker = self.out / COMPLETE_MARKER
        try:
            _remove(marker)  # while the set is being swapped it is not complete
            for name in staged:
                target = self.out / name
                if (self._staging / name).is_dir() and target.is_dir() and not target.is_symlink():
                    _remove(target)  # a folder (figures/) cannot be replaced over a non-empty one
                os.replace(self._staging / name, target)
            for name in REPORT_NAMES:
                if name not in staged and name not in self._kept:
                    _remove(self.out / name)
            files = sorted(p for name in sorted({*staged, *self._kept}) for p in _files(self.out / name))
            listing = {p.relative_to(self.out).as_posix(): sha256_file(p) for p in files}
            tmp = self._staging / COMPLETE_MARKER
            tmp.write_text(json.dumps({"files": listing}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            os.replace(tmp, marker)
        except OSError as exc:
            raise InputError(f"cannot write reports here: {os_reason(exc)}", source=str(self.out)) from None
        self._committed = [self.out / name for name in staged]
        return self._committed

    # -- checks and the lock --------------------------------------------------------------------

    def _check_inputs(self) -> None:
        for name in REPORT_NAMES:
            target = self.out / name
            hit = os.path.realpath(target) in self._protected
            if not hit and target.is_dir() and not target.is_symlink():
                hit = any(os.path.realpath(p) in self._protected for p in _files(target))
            if hit:
                raise InputError(
                    f"the report file {name} would overwrite an input of this audit",
                    source=str(target), hint="choose another --out folder",
                )

    def _lock(self) -> None:
        fd = os.open(self.out / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise InputError("another audit is writing reports into this folder",
                                 source=str(self.out), hint="wait for it to finish, or choose another --out") from None
            raise
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None


def _files(path: Path) -> list[Path]:
    if path.is_symlink() or not path.is_dir():
        return [path] if path.is_file() and not path.is_symlink() else []
    return [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]


def _remove(path: Path) -> None:
    """Remove a file, a symlink (never what it points to) or a folder; nothing if it is not there."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path)
