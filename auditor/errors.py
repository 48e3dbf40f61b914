"""Exceptions raised by the auditor.

One root, fields instead of formatted strings, third-party errors converted at
the adapter (``raise ... from exc``)::

    AuditorError
    ├── DataError              a shipped or supplied data file is missing or malformed
    │   └── BoundaryError      a boundary file is unreadable or its geometry invalid
    ├── RegistryError          the region registry is inconsistent, or an unknown region/option
    ├── InputError             an operator's file cannot be used at all (exit status 2)
    │   └── InventoryError     ... and names the source, row, column, value and a hint
    └── UsageError             a bad option value; lists the valid ones

(``auditor.supervision.history.HistoryError``, a history database that cannot be used, is an
``AuditorError`` too.)

``InputError`` and ``UsageError`` are also ``ValueError`` s (a bad value was given), so code that
catches the built-in catches them.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "os_reason",
    "AuditorError",
    "BoundaryError",
    "DataError",
    "InputError",
    "InventoryError",
    "LongListWarning",
    "RegistryError",
    "UsageError",
]


class AuditorError(Exception):
    """Root of every error the auditor raises on purpose."""


class LongListWarning(UserWarning):
    """A list of over 50,000 rows is audited in memory (about 20 KB a row); audit_streamed bounds it.

    Warned by :func:`auditor.audit`; the length is :data:`auditor.config.IN_MEMORY_ROWS`.
    """


class DataError(AuditorError):
    """A data file (boundary, registry, table) is missing or malformed."""

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None) -> None:
        self.path = path
        self.hint = hint
        parts = [f"{path}: {message}" if path else message]
        if hint:
            parts.append(f"hint: {hint}")
        super().__init__("; ".join(parts))


class BoundaryError(DataError):
    """A boundary file is unreadable or holds an invalid geometry."""


class RegistryError(AuditorError):
    """The region registry is inconsistent, or a region or option is unknown."""


class InputError(AuditorError, ValueError):
    """An input file cannot be used at all; the CLI exits with status 2."""

    def __init__(self, message: str, *, source: str | None = None, hint: str | None = None) -> None:
        self.source = source
        self.hint = hint
        parts = [f"{source}: {message}" if source else message]
        if hint:
            parts.append(f"hint: {hint}")
        super().__init__("; ".join(parts))


class InventoryError(InputError):
    """A problem at a place in an inventory: file, row (1-based, header is row 1), column."""

    def __init__(
        self,
        message: str,
        *,
        source: str,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        hint: str | None = None,
    ) -> None:
        self.row = row
        self.column = column
        self.value = value
        where = source
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        text = message if value is None else f"{message} (value {str(value)[:80]!r})"
        super().__init__(text, source=where, hint=hint)
        self.source = source


class UsageError(AuditorError, ValueError):
    """An option has a value outside its allowed set."""

    def __init__(self, option: str, value: object, valid: Iterable[str], *, message: str | None = None) -> None:
        self.option = option
        self.value = value
        self.valid = tuple(valid)
        super().__init__(message or f"{option}: {value!r} is not one of: {', '.join(self.valid)}")


def os_reason(exc: OSError) -> str:
    """The one wording of a file or socket failure in a message: the system's own reason
    ("Permission denied", "No such file or directory"), or the exception's text when it has none."""
    return exc.strerror or str(exc) or type(exc).__name__
