"""Stated administrative units (adcode, province/city/district columns) → admin-unit claims.

The most specific unit the row proves is used. Names are matched against the
shipped partial gazetteer (``boundaries/admin-units.csv``); a district name is
only accepted together with a province or city that contains it, because many
district names repeat across China (朝阳区 is in Beijing and in Changchun).
Levels that contradict each other (北京 + 燕郊) give no claim and a note.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.model import EvidenceSource, Facility, LocationClaim
from auditor.regions import AdminUnit, Registry, adcode_prefix

__all__ = ["AdminFacts", "resolve_admin_unit"]


def resolve_admin_unit(
    registry: Registry, *, adcode: str = "", province: str = "", city: str = "", district: str = ""
) -> tuple[AdminUnit | None, list[str]]:
    """The most specific unit the stated facts prove, and notes on what was not used."""
    notes: list[str] = []
    if adcode:
        unit = registry.units.get(adcode) or AdminUnit(adcode, "", "")
        return unit, notes
    chosen: AdminUnit | None = None
    for level, name in (("province", province), ("city", city), ("district", district)):
        if not name:
            continue
        matches = registry.find_units(name)
        if chosen is not None:
            matches = [u for u in matches if adcode_prefix(u.adcode).startswith(adcode_prefix(chosen.adcode))]
        elif level == "district":
            notes.append(f"district {name!r} given without a province or city: ambiguous, not used")
            continue
        if len(matches) == 1:
            chosen = matches[0]
        elif not matches:
            other = registry.find_units(name)
            if other and chosen is not None:
                notes.append(
                    f"{level} {name!r} is not in {chosen.name_zh or chosen.adcode} "
                    f"(it is {', '.join(u.name_zh for u in other)}): the stated levels contradict each other"
                )
                return None, notes
            notes.append(f"{level} {name!r} is not in the shipped gazetteer")
        else:
            notes.append(f"{level} {name!r} is ambiguous ({', '.join(u.adcode for u in matches)})")
    return chosen, notes


class AdminFacts:
    """Resolver for administrative units an inventory states."""

    name = EvidenceSource.ADMIN_FACT.value

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def claims(self, facilities: Sequence[Facility]) -> list[LocationClaim]:
        out = []
        for f in facilities:
            if f.errors or not (f.adcode or f.province or f.city or f.district):
                continue
            unit, notes = resolve_admin_unit(
                self.registry, adcode=f.adcode, province=f.province, city=f.city, district=f.district
            )
            original = {k: v for k, v in (("adcode", f.adcode), ("province", f.province), ("city", f.city), ("district", f.district)) if v}
            if unit is None:
                out.append(
                    LocationClaim(
                        id=f"{f.id}#admin", subject=f.id, source=EvidenceSource.ADMIN_FACT, kind="unresolved",
                        original=original, notes=tuple(notes),
                    )
                )
                continue
            out.append(
                LocationClaim(
                    id=f"{f.id}#admin",
                    subject=f.id,
                    source=EvidenceSource.ADMIN_FACT,
                    kind="admin_unit",
                    adcode=unit.adcode,
                    label=" ".join(x for x in (unit.name_zh, unit.name_en) if x) or unit.adcode,
                    original=original,
                    notes=tuple(notes),
                )
            )
        return out
