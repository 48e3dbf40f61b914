"""Evidence sources. Each turns facilities into location claims behind one small interface.

A resolver has a ``name`` and a ``claims(facilities)`` method returning
:class:`~auditor.model.LocationClaim` objects; those that touch the network
or files do so only here. This issue provides the two offline sources that need
nothing but the inventory: declared coordinates and stated administrative units.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from auditor.model import Facility, LocationClaim

__all__ = ["Resolver"]


class Resolver(Protocol):
    """One source of location evidence."""

    name: str

    def claims(self, facilities: Sequence[Facility]) -> list[LocationClaim]:
        """Claims for the facilities it can say something about (others get none)."""
        ...
