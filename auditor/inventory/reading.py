"""How to read a facility list when the caller knows better than the guess: which sheet, which header
row, which header is which column; and the gazetteer check for administrative-unit names.

:class:`InventorySource` is a facility list's path together with its :class:`Reading`; it is
path-like (``os.fspath`` gives the file), so an audit plan can carry it where a path was carried.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["InventorySource", "Reading", "UnitNames", "source_and_reading"]


@runtime_checkable
class UnitNames(Protocol):
    """Checks the province / city / district a row states against a gazetteer.

    Returns one warning per name the gazetteer does not hold where the row puts it, with
    "did you mean" when a unit's name is one slip away (``auditor.resolve.address.suggest``).
    """

    def check(self, province: str, city: str, district: str) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Reading:
    """What the caller says about a list instead of letting the reader guess.

    Attributes
    ----------
    sheet
        A workbook's sheet: its name, or its 1-based position (an int, or digits that name no sheet).
    header_row
        The 1-based row (CSV line, sheet row) that holds the header.
    columns
        ``{canonical column: header}``; an empty header reads no column as that one.
    origin
        Where ``columns`` came from, for messages (``--columns`` or ``profile columns:``).
    unit_names
        A gazetteer check for the province / city / district columns (None: names are not checked here).
    """

    sheet: str | int | None = None
    header_row: int | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    origin: str = "--columns"
    unit_names: UnitNames | None = None

    @property
    def given_headers(self) -> frozenset[str]:
        from auditor.inventory.columns import normalise_header

        return frozenset(normalise_header(h) for h in self.columns.values() if h)


@dataclass(frozen=True)
class InventorySource(os.PathLike[str]):
    """A facility list and how to read it."""

    path: Path
    reading: Reading = Reading()

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)


def source_and_reading(path: Path | str | InventorySource, reading: Reading | None = None) -> tuple[Path, Reading]:
    """The file and the reading for ``path`` (an :class:`InventorySource` carries its own)."""
    if isinstance(path, InventorySource):
        return path.path, reading or path.reading
    return Path(path), reading or Reading()
