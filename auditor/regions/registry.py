"""The region registry: programmes, regions, their parts and options, services, dated status.

Everything here is read from ``boundaries/regions.yaml``; code holds no region or
programme facts. :func:`load_registry` reads and checks it; :meth:`Registry.region`
builds a :class:`Region` with its options applied, whose :attr:`Region.geometry` does
the containment; :meth:`Registry.programme` gives a :class:`Programme` (a document that
opens service categories, with their foreign-equity caps, in its regions).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import shapely
import yaml
from shapely.geometry import shape

from auditor.errors import BoundaryError, DataError, UsageError
from auditor.geo.containment import PartRole, RegionGeometry, RegionPart, Verdict
from auditor.paths import boundaries_dir, sha256_file

__all__ = [
    "AdminAssumption",
    "AdminUnit",
    "DataSource",
    "Programme",
    "ProgrammeService",
    "Region",
    "Registry",
    "adcode_prefix",
    "StatusEntry",
    "load_registry",
]

STATUSES = ("announced", "active", "scope_reduced", "exited")


@dataclass(frozen=True, slots=True)
class DataSource:
    """A data file an answer rests on, for the report's provenance."""

    name: str
    path: str
    sha256: str
    version: str = ""


@dataclass(frozen=True, slots=True)
class StatusEntry:
    date: dt.date
    status: str
    services: tuple[str, ...]
    source: str
    note: str = ""
    programme: str = ""


@dataclass(frozen=True, slots=True)
class ProgrammeService:
    """A service category a programme opens: its foreign-equity cap (None: no cap) and scope."""

    category: str
    equity_cap_pct: float | None
    scope_en: str
    clause: str
    source: str


@dataclass(frozen=True)
class Programme:
    """A document that opens service categories to foreign investment in named regions (``programmes`` in the registry)."""

    id: str
    name_en: str
    name_zh: str
    document_zh: str
    number: str
    number_en: str
    date: dt.date
    issued_by_en: str
    issued_by_zh: str
    approved_by_en: str
    approved_by_zh: str
    source: str
    services: dict[str, ProgrammeService]
    excluded: tuple[str, ...]
    approval: dict[str, Any]
    unpublished: tuple[str, ...]
    regions: tuple[str, ...]

    @property
    def citation(self) -> str:
        """How findings cite it: '工信部通信函〔2024〕107号 (MIIT Letter [2024] No. 107, 2024-04-08)'."""
        inner = ", ".join(x for x in (self.number_en, self.date.isoformat()) if x)
        return f"{self.number} ({inner})"

    @property
    def approval_required(self) -> bool | None:
        """True when each operator needs an approval, None when the published text does not say."""
        value = self.approval.get("required")
        return None if value is None else bool(value)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name_en": self.name_en, "name_zh": self.name_zh, "document_zh": self.document_zh,
            "number": self.number, "number_en": self.number_en, "date": self.date.isoformat(),
            "issued_by": {"en": self.issued_by_en, "zh": self.issued_by_zh},
            "approved_by": {"en": self.approved_by_en, "zh": self.approved_by_zh} if self.approved_by_en else None,
            "source": self.source,
            "services": {c: {"equity_cap_pct": s.equity_cap_pct, "scope_en": s.scope_en, "source": s.source} for c, s in self.services.items()},
            "excluded": list(self.excluded), "approval_required": self.approval_required,
            "unpublished": list(self.unpublished), "regions": list(self.regions),
        }


@dataclass(frozen=True, slots=True)
class AdminUnit:
    adcode: str
    name_zh: str
    name_en: str
    aliases: tuple[str, ...] = ()
    parent: str = ""
    level: str = ""

    @property
    def prefix(self) -> str:
        """The adcode without its trailing zero pairs: 110000 -> '11', 460100 -> '4601'."""
        code = self.adcode
        while code.endswith("00") and len(code) > 2:
            code = code[:-2]
        return code


@dataclass(frozen=True, slots=True)
class AdminAssumption:
    """A reviewed reading of a unit whose only land outside a region is islands apart from it.

    From ``admin_assumptions`` in ``boundaries/regions.yaml``. It applies only where
    ``admin-relations.csv`` gives the unit relation ``islands`` (every part of it outside the
    region's core is an island that does not touch the core; the build checks this), and it
    says what a place named by the unit alone (no islet named) counts as, and why.
    """

    adcode: str
    islands: str                # what lies outside the region: where, how large
    assumption: str             # the assumption, in the words a finding gives
    island_names: tuple[str, ...]  # names of those islands: text that names one is not covered
    source: str


def adcode_prefix(adcode: str) -> str:
    return AdminUnit(adcode, "", "").prefix


@dataclass(frozen=True)
class Region:
    """A region with its options applied.

    ``status`` is its history under its first programme (the one that named it first in the
    registry); ``statuses`` holds its history under each programme it belongs to. ``units`` is
    set for a region defined by administrative units (admin-unit claims are then judged by the
    unit hierarchy, not by ``admin-relations.csv``).
    """

    id: str
    name_en: str
    name_zh: str
    scope_note: str
    parts: tuple[RegionPart, ...]
    part_files: tuple[str, ...]
    options: dict[str, bool]
    option_specs: dict[str, dict[str, Any]]
    status: tuple[StatusEntry, ...]
    registry: Registry = field(repr=False, compare=False)
    statuses: dict[str, tuple[StatusEntry, ...]] = field(default_factory=dict, compare=False)
    units: tuple[str, ...] = ()

    @cached_property
    def geometry(self) -> RegionGeometry:
        return RegionGeometry(self.id, list(self.parts))

    @property
    def programmes(self) -> tuple[str, ...]:
        """The programmes this region belongs to, in the order they first named it."""
        return tuple(self.statuses)

    def status_on(self, day: dt.date, programme: str | None = None) -> StatusEntry | None:
        """The latest status entry on or before ``day`` (None before the first), under ``programme``
        (default: the region's first programme; None too when the region is not in ``programme``)."""
        entries = self.status if programme is None else self.statuses.get(programme, ())
        current = None
        for entry in entries:
            if entry.date <= day:
                current = entry
        return current

    def is_active_on(self, day: dt.date, programme: str | None = None) -> bool:
        entry = self.status_on(day, programme)
        return entry is not None and entry.status in ("active", "scope_reduced")

    def data_sources(self) -> list[DataSource]:
        root = self.registry.root
        files = sorted(set(self.part_files) | {"regions.yaml", "admin-units.csv", "admin-relations.csv"})
        return [DataSource(name=f"boundaries/{f}", path=f"boundaries/{f}", sha256=sha256_file(root / f)) for f in files]

    # -- admin units ---------------------------------------------------------------------

    @cached_property
    def _relation_memo(self) -> dict[str, tuple[Verdict, str]]:
        return {}

    def admin_relation(self, adcode: str, *, text: str = "") -> tuple[Verdict, str]:
        """How an administrative unit relates to this region; see :meth:`_admin_relation` (answers are remembered).

        ``text`` is the place as written (an address), when there is one. A unit that is inside
        only by a reviewed assumption (:class:`AdminAssumption`: "a place named by this unit and
        no islet is on the island") is not assumed inside when ``text`` names one of its islands.
        """
        if text:
            verdict, reason = self.admin_relation(adcode)
            code = str(adcode).strip()
            assumed = self.registry.admin_assumptions(self.id).get(code)
            by_islands = assumed is not None and not self.units and self.registry.relations(self.id, self.options_key).get(code) == "islands"
            if assumed is not None and by_islands and verdict is Verdict.INSIDE:
                named = next((n for n in assumed.island_names if n.lower() in text.lower()), None)
                if named is not None:
                    unit = self.registry.units.get(assumed.adcode)
                    return Verdict.INDETERMINATE, (
                        f"the place names {named}, one of the islands of {unit.name_zh if unit else assumed.adcode} "
                        f"outside {self.id} ({assumed.islands})"
                    )
            return verdict, reason
        memo = self._relation_memo
        if adcode not in memo:
            memo[adcode] = self._admin_relation(adcode)
        return memo[adcode]

    def _listed_relation(self, code: str, relation: str) -> tuple[Verdict, str]:
        """The verdict for a unit listed in admin-relations.csv with ``relation``."""
        note = self.registry.admin_notes(self.id).get(code, "")
        unit = self.registry.units.get(code)
        name = (unit.name_zh if unit else "") or code
        tail = f" ({note})" if note else ""
        if relation == "inside":
            return Verdict.INSIDE, f"{name} lies wholly inside {self.id}{tail}"
        if relation == "islands":
            assumed = self.registry.admin_assumptions(self.id).get(code)
            if assumed is not None:
                return Verdict.INSIDE, (
                    f"{name} is taken to be inside {self.id}: outside it lie only {assumed.islands}; "
                    f"assumption: {assumed.assumption}"
                )
            return Verdict.INDETERMINATE, f"{name} lies partly inside {self.id}: the rest is islands apart from it{tail}"
        return Verdict.INDETERMINATE, f"{name} lies partly inside {self.id}{tail}"

    def _unit_relation(self, code: str) -> tuple[Verdict, str]:
        """How a unit relates to a region defined by administrative units (``units``), by the hierarchy.

        Units partition the country level by level and come from the same source as the region's
        polygon, so the hierarchy is exact: a unit that is, or lies under, one of the region's
        units is inside; one that holds one of them (the province of a city) straddles; any other
        is outside (a neighbour shares the line, it does not cross it).
        """
        units = self.registry.units
        names = ", ".join(f"{u} {units[u].name_zh if u in units else ''}".strip() for u in self.units)
        unit = units.get(code)
        name = (unit.name_zh if unit else "") or code
        note = self.registry.admin_notes(self.id).get(code, "")
        tail = f" ({note})" if note else ""
        if unit is None:
            target = adcode_prefix(code)
            for own in self.units:
                if target.startswith(adcode_prefix(own)):
                    return Verdict.INSIDE, f"{code} (not in the gazetteer) lies in {own}, which {self.id} is defined by"
            if any(adcode_prefix(own).startswith(target) for own in self.units):
                return Verdict.INDETERMINATE, f"{code} (not in the gazetteer) holds {names}, which {self.id} is defined by, and more"
            return Verdict.OUTSIDE, f"{code} (not in the gazetteer) is not {names} or within it"
        lineage = self.registry.lineage(code)
        for own in self.units:
            if own in lineage:
                what = f"{'one of the units' if len(self.units) > 1 else 'the unit'} {self.id} is defined by"
                if own == code:
                    return Verdict.INSIDE, f"{name} is {what}{tail}"
                return Verdict.INSIDE, f"{name} lies in {own} {units[own].name_zh if own in units else ''}, {what}{tail}"
        held = [own for own in self.units if code in self.registry.lineage(own)]
        if held:
            return Verdict.INDETERMINATE, f"{name} holds {', '.join(held)}, which {self.id} is defined by, and more{tail}"
        return Verdict.OUTSIDE, f"{name} is not {names} and does not lie in it{tail}"

    def part_relation(self, part_id: str, adcode: str = "", text: str = "") -> tuple[Verdict, str]:
        """How a named part of a pilot region (Lingang, Xiaoyangshan, Pudong, Hainan Island) relates to this region.

        A part of this region lies wholly inside it. A part of another region is judged by the
        unit the address proves (``adcode``, which the address parser only gives when it agrees
        with the part), else by the units the part lies in (its ``within`` in the registry):
        regions overlap now (the 2024 notice's Pudong lies in the 2025 plan's Shanghai).
        """
        if any(p.id == part_id for p in self.parts):
            return Verdict.INSIDE, f"names {part_id}, a part of this pilot region"
        owner = self.registry.part_owner(part_id)
        within = self.registry.part_within(part_id)
        if adcode:
            verdict, why = self.admin_relation(adcode, text=text)
            if verdict is not Verdict.INDETERMINATE or not within:
                return verdict, f"names {part_id}, a part of {owner or 'another region'}; {why}"
        if within:
            rels = [self.admin_relation(code) for code in within]
            verdicts = {v for v, _ in rels}
            verdict = verdicts.pop() if len(verdicts) == 1 else Verdict.INDETERMINATE
            codes = "+".join(within)
            if verdict is Verdict.INSIDE:
                return verdict, f"names {part_id}, a part of {owner}, which lies in {codes}, inside {self.id}"
            if verdict is Verdict.OUTSIDE:
                return verdict, f"names {part_id}, a part of {owner}, which lies in {codes}, outside {self.id}"
            return verdict, f"names {part_id}, a part of {owner}, which lies in {codes}, partly inside {self.id}"
        return Verdict.OUTSIDE, f"names {part_id}, a part of another pilot region"

    def _admin_relation(self, adcode: str) -> tuple[Verdict, str]:
        """How an administrative unit relates to this region (with its options applied).

        From the precomputed table ``boundaries/admin-relations.csv`` (built by
        ``scripts/build_admin_table.py`` from the same Amap source as the region):
        units listed are inside or straddle; units not listed are outside. The
        two come from one dataset and share their lines, so a unit that only
        touches the region (Dongguan for Shenzhen) is outside, not indeterminate.
        An adcode missing from the gazetteer is placed by its listed relatives.
        """
        code = str(adcode).strip()
        if self.units:
            return self._unit_relation(code)
        table = self.registry.relations(self.id, self.options_key)
        note = self.registry.admin_notes(self.id).get(code, "")
        unit = self.registry.units.get(code)
        name = (unit.name_zh if unit else "") or code
        tail = f" ({note})" if note else ""
        if code in table:
            return self._listed_relation(code, table[code])
        if unit is not None:
            return Verdict.OUTSIDE, f"{name} does not overlap {self.id}{tail}"
        target = adcode_prefix(code)
        listed = sorted(table.items(), key=lambda kv: -len(adcode_prefix(kv[0])))
        for other, _relation in listed:
            if adcode_prefix(other).startswith(target) and other != code:
                return Verdict.INDETERMINATE, f"{code} (not in the gazetteer) contains {other}, which is (partly) in {self.id}"
        for other, rel in listed:
            if target.startswith(adcode_prefix(other)):
                verdict, why = self._listed_relation(other, rel)
                if verdict is Verdict.INSIDE:
                    return Verdict.INSIDE, f"{code} (not in the gazetteer) lies in {other}: {why}"
                return Verdict.INDETERMINATE, f"{code} (not in the gazetteer) lies in {other}, which straddles {self.id}"
        return Verdict.OUTSIDE, f"{code} (not in the gazetteer) is not within any unit that overlaps {self.id}"

    @cached_property
    def options_key(self) -> str:
        """The canonical option string of the admin-relations table, e.g. 'include_islets=0;include_sansha=1'."""
        return ";".join(f"{k}={int(v)}" for k, v in sorted(self.options.items()))


class Registry:
    """The parsed region registry."""

    def __init__(self, root: Path, doc: dict[str, Any], units: dict[str, AdminUnit]) -> None:
        self.root = root
        self.doc = doc
        self.units = units
        self.sources: dict[str, dict[str, Any]] = doc.get("sources", {})
        self.categories: dict[str, dict[str, Any]] = doc["services"]["categories"]
        self.excluded: dict[str, dict[str, Any]] = doc["services"]["excluded"]
        self._regions: dict[str, dict[str, Any]] = doc["regions"]
        self.default_programme: str = str(doc["default_programme"])
        self.programmes: dict[str, Programme] = {pid: _programme(pid, spec, self._regions) for pid, spec in doc["programmes"].items()}
        self._relations: dict[tuple[str, str], dict[str, str]] | None = None
        # regions by (id, chosen options): a region's geometry (buffers, prepared polygons) costs
        # tens of milliseconds to build, and look-ups ask for the same region again and again
        self._built: dict[tuple[str, tuple[tuple[str, bool], ...]], Region] = {}

    def relations(self, region_id: str, options_key: str) -> dict[str, str]:
        """adcode -> 'inside' | 'islands' | 'straddles' for one region and option set (unlisted: outside)."""
        if self._relations is None:
            table: dict[tuple[str, str], dict[str, str]] = {}
            path = self.root / "admin-relations.csv"
            with open(path, encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f):
                    table.setdefault((row["region"], row["options"]), {})[row["adcode"]] = row["relation"]
            self._relations = table
        key = (region_id, options_key)
        if key not in self._relations:
            raise DataError(
                f"no admin relations for region {region_id!r} with options {options_key!r}",
                path=str(self.root / "admin-relations.csv"), hint="regenerate with scripts/build_admin_table.py",
            )
        return self._relations[key]

    def programme(self, programme_id: str | None = None) -> Programme:
        """The programme ``programme_id`` (default: the registry's default programme)."""
        pid = programme_id or self.default_programme
        if pid not in self.programmes:
            raise UsageError("programme", pid, list(self.programmes))
        return self.programmes[pid]

    def lineage(self, adcode: str) -> tuple[str, ...]:
        """The unit's adcode and its ancestors', from the unit up to its province."""
        out: list[str] = []
        code = adcode
        while code and code in self.units and code not in out:
            out.append(code)
            code = self.units[code].parent
        return tuple(out)

    def part_owner(self, part_id: str) -> str | None:
        """The region a part id belongs to (the first that lists it), or None."""
        for rid, spec in self._regions.items():
            if any(str(p["id"]) == part_id for p in spec["parts"]):
                return rid
        return None

    def part_within(self, part_id: str) -> tuple[str, ...]:
        """The administrative units a part lies in: the registry's ``within`` for the part, else the
        feature's ``within`` (reconstructed parts) or its six-digit ``adcode``; () when none is known."""
        for spec in self._regions.values():
            for p in spec["parts"]:
                if str(p["id"]) != part_id:
                    continue
                if p.get("within"):
                    return tuple(str(c) for c in p["within"])
                props = _feature(self.root / p["file"], p["feature"])["properties"]
                if props.get("within"):
                    return tuple(str(c) for c in props["within"])
                code = str(props.get("adcode") or "")
                return (code,) if len(code) == 6 and code.isdigit() else ()
        return ()

    def admin_notes(self, region_id: str) -> dict[str, str]:
        """Human notes on units of special interest (from the registry's admin_notes)."""
        return {str(n["adcode"]): n["note"] for n in self._regions[region_id].get("admin_notes") or ()}

    def admin_assumptions(self, region_id: str) -> dict[str, AdminAssumption]:
        """Reviewed assumptions about units that straddle the region only by islands (from the registry)."""
        return {
            str(a["adcode"]): AdminAssumption(
                adcode=str(a["adcode"]),
                islands=str(a["islands"]),
                assumption=str(a["assumption"]),
                island_names=tuple(str(n) for n in a.get("island_names") or ()),
                source=str(a["source"]),
            )
            for a in self._regions[region_id].get("admin_assumptions") or ()
        }

    def part_options(self, region_id: str) -> dict[str, str | None]:
        """Each part of the region and the option that turns it on (None: always on)."""
        if region_id not in self._regions:
            raise UsageError("region", region_id, self.region_ids)
        return {str(p["id"]): p.get("option") for p in self._regions[region_id]["parts"]}

    @property
    def region_ids(self) -> list[str]:
        return list(self._regions)

    def region(self, region_id: str, options: dict[str, bool] | None = None) -> Region:
        """The region ``region_id`` with ``options`` applied (others at their defaults)."""
        if region_id not in self._regions:
            raise UsageError("region", region_id, self.region_ids)
        spec = self._regions[region_id]
        specs = spec.get("options") or {}
        chosen = {name: bool(o.get("default", False)) for name, o in specs.items()}
        for name, value in (options or {}).items():
            if name not in specs:
                raise UsageError(f"option for region {region_id}", name, list(specs) or ["(none)"])
            chosen[name] = bool(value)
        key = (region_id, tuple(sorted(chosen.items())))
        if key not in self._built:
            self._built[key] = self._build(region_id, spec, specs, chosen)
        return self._built[key]

    def _build(self, region_id: str, spec: dict[str, Any], specs: dict[str, Any], chosen: dict[str, bool]) -> Region:
        parts, files = [], []
        for p in spec["parts"]:
            if p.get("option") and not chosen.get(p["option"]):
                continue
            feature = _feature(self.root / p["file"], p["feature"])
            props = feature["properties"]
            parts.append(
                RegionPart(
                    id=p["id"],
                    geometry=feature["geometry"],
                    accuracy_m=float(p.get("accuracy_m", props["accuracy_m"])),
                    role=PartRole(p.get("role", "core")),
                    name_en=props.get("name_en", ""),
                    name_zh=props.get("name_zh", ""),
                )
            )
            files.append(p["file"])
        statuses: dict[str, tuple[StatusEntry, ...]] = {}
        for s in spec["status"]:
            pid = str(s["programme"])
            statuses[pid] = statuses.get(pid, ()) + (
                StatusEntry(
                    date=_date(s["date"]),
                    status=s["status"],
                    services=self._services(s.get("services"), pid),
                    source=s["source"],
                    note=s.get("note", ""),
                    programme=pid,
                ),
            )
        status = next(iter(statuses.values()), ())
        return Region(
            id=region_id,
            name_en=spec["name_en"],
            name_zh=spec["name_zh"],
            scope_note=spec.get("scope_note", ""),
            parts=tuple(parts),
            part_files=tuple(files),
            options=chosen,
            option_specs=specs,
            status=status,
            registry=self,
            statuses=statuses,
            units=tuple(str(u) for u in spec.get("units") or ()),
        )

    def _services(self, value: Any, programme: str) -> tuple[str, ...]:
        """The categories a status entry covers: ``all_opened`` (or nothing said) is every category the programme opens."""
        if value in (None, "all_opened"):
            return tuple(self.programmes[programme].services)
        return tuple(value)

    def service_category(self, name: str) -> tuple[str, str] | None:
        """('category'|'excluded', id) for a declared service name, or None if unknown.

        ``category`` is a catalogue category (which programmes open it is in :attr:`programmes`);
        ``excluded`` a sub-category that stays closed where information services are opened.
        """
        key = " ".join(str(name).strip().lower().replace("_", " ").split())
        for group, table in (("excluded", self.excluded), ("category", self.categories)):
            for cid, meta in table.items():
                names = {cid.replace("_", " ")} | {" ".join(a.lower().replace("_", " ").split()) for a in meta.get("aliases", [])}
                if key in names:
                    return group, cid
        return None

    def find_units(self, name: str) -> list[AdminUnit]:
        """Admin units whose name, English name or alias equals ``name`` (case-insensitive)."""
        key = str(name).strip().lower()
        return list(self._name_index.get(key, ())) if key else []

    @cached_property
    def _name_index(self) -> dict[str, tuple[AdminUnit, ...]]:
        index: dict[str, list[AdminUnit]] = {}
        for u in self.units.values():
            for n in {u.name_zh.lower(), u.name_en.lower(), *(a.lower() for a in u.aliases)}:
                if n:
                    index.setdefault(n, []).append(u)
        return {k: tuple(v) for k, v in index.items()}


def _programme(pid: str, spec: dict[str, Any], regions: dict[str, dict[str, Any]]) -> Programme:
    issued = spec.get("issued_by") or {}
    approved = spec.get("approved_by") or {}
    services = {
        str(cid): ProgrammeService(
            category=str(cid),
            equity_cap_pct=None if s.get("equity_cap_pct") is None else float(s["equity_cap_pct"]),
            scope_en=str(s.get("scope_en", "")),
            clause=str(s.get("clause", "")),
            source=str(s.get("source", spec.get("source", ""))),
        )
        for cid, s in (spec.get("services") or {}).items()
    }
    members = tuple(rid for rid, r in regions.items() if any(str(s.get("programme")) == pid for s in r.get("status") or ()))
    return Programme(
        id=pid, name_en=str(spec["name_en"]), name_zh=str(spec["name_zh"]), document_zh=str(spec.get("document_zh", "")),
        number=str(spec["number"]), number_en=str(spec.get("number_en") or ""), date=_date(spec["date"]),
        issued_by_en=str(issued.get("en", "")), issued_by_zh=str(issued.get("zh", "")),
        approved_by_en=str(approved.get("en", "")), approved_by_zh=str(approved.get("zh", "")),
        source=str(spec["source"]), services=services, excluded=tuple(str(x) for x in spec.get("excluded") or ()),
        approval=dict(spec.get("approval") or {}), unpublished=tuple(str(x) for x in spec.get("unpublished") or ()),
        regions=members,
    )


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


@lru_cache(maxsize=64)
def _feature_collection(path: Path, sha: str) -> dict[str, dict[str, Any]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        features = {}
        for f in doc["features"]:
            geom = shape(f["geometry"])
            if not shapely.is_valid(geom):
                raise BoundaryError(
                    f"feature {f['properties'].get('id')!r} is not a valid polygon: {shapely.is_valid_reason(geom)}",
                    path=str(path),
                )
            features[f["properties"]["id"]] = {"geometry": geom, "properties": f["properties"]}
        return features
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BoundaryError(f"cannot read boundary file: {exc}", path=str(path)) from exc


def _feature(path: Path, feature_id: str) -> dict[str, Any]:
    if not path.is_file():
        raise BoundaryError("boundary file missing", path=str(path), hint="the registry names a file that is not in boundaries/")
    features = _feature_collection(path, sha256_file(path))
    if feature_id not in features:
        raise BoundaryError(f"no feature with id {feature_id!r}", path=str(path))
    return features[feature_id]


def _load_units(path: Path) -> dict[str, AdminUnit]:
    with open(path, encoding="utf-8", newline="") as f:
        return {
            row["adcode"]: AdminUnit(
                adcode=row["adcode"],
                name_zh=row["name_zh"],
                name_en=row["name_en"],
                aliases=tuple(a for a in row.get("aliases", "").split("|") if a),
                parent=row.get("parent_adcode", "") or "",
                level=row.get("level", "") or "",
            )
            for row in csv.DictReader(f)
        }


@lru_cache(maxsize=8)
def _load_registry_cached(root: str, sha: str) -> Registry:
    path = Path(root) / "regions.yaml"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"cannot read the region registry: {exc}", path=str(path)) from exc
    _check_registry(doc, path)
    return Registry(Path(root), doc, _load_units(Path(root) / "admin-units.csv"))


def load_registry(root: Path | str | None = None) -> Registry:
    """Read and check the region registry in ``root`` (default: :func:`~auditor.paths.boundaries_dir`)."""
    base = Path(root) if root is not None else boundaries_dir()
    return _load_registry_cached(str(base), sha256_file(base / "regions.yaml"))


def _check_registry(doc: Any, path: Path) -> None:
    if not isinstance(doc, dict) or "regions" not in doc or "services" not in doc or "programmes" not in doc:
        raise DataError("registry must have 'services', 'programmes' and 'regions'", path=str(path))
    sources = doc.get("sources") or {}
    services = doc["services"]
    if not isinstance(services, dict) or not isinstance(services.get("categories"), dict) or not isinstance(services.get("excluded"), dict):
        raise DataError("'services' must have 'categories' and 'excluded' mappings", path=str(path))
    programmes = doc["programmes"]
    if not isinstance(programmes, dict) or not programmes:
        raise DataError("'programmes' must be a non-empty mapping", path=str(path))
    if doc.get("default_programme") not in programmes:
        raise DataError(f"default_programme {doc.get('default_programme')!r} is not in 'programmes'", path=str(path))
    for pid, spec in programmes.items():
        where = f"programme {pid!r}"
        if not isinstance(spec, dict):
            raise DataError(f"{where} must be a mapping", path=str(path))
        for key in ("name_en", "name_zh", "number", "date", "issued_by", "source", "services"):
            if not spec.get(key):
                raise DataError(f"{where} lacks {key!r}", path=str(path))
        try:
            _date(spec["date"])
        except ValueError:
            raise DataError(f"{where}: date {spec['date']!r} is not YYYY-MM-DD", path=str(path)) from None
        named = [spec["source"]] + [s.get("source") for s in spec["services"].values() if isinstance(s, dict) and s.get("source")]
        named += [(spec.get("approval") or {}).get("source")] if (spec.get("approval") or {}).get("source") else []
        for src in named:
            if src not in sources:
                raise DataError(f"{where}: source {src!r} is not in 'sources'", path=str(path))
        for cid, s in spec["services"].items():
            if cid not in services["categories"]:
                raise DataError(f"{where}: service {cid!r} is not a category in 'services'", path=str(path))
            cap = (s or {}).get("equity_cap_pct")
            if cap is not None and (isinstance(cap, bool) or not isinstance(cap, (int, float)) or not 0 <= cap <= 100):
                raise DataError(f"{where}: service {cid!r}: equity_cap_pct must be a percentage or null, not {cap!r}", path=str(path))
        for cid in spec.get("excluded") or ():
            if cid not in services["excluded"]:
                raise DataError(f"{where}: excluded {cid!r} is not in services.excluded", path=str(path))
    for rid, spec in doc["regions"].items():
        for key in ("name_en", "name_zh", "parts", "status"):
            if key not in spec:
                raise DataError(f"region {rid!r} lacks {key!r}", path=str(path))
        for code in spec.get("units") or ():
            if not (isinstance(code, str) and len(code) == 6 and code.isdigit()):
                raise DataError(f"region {rid!r}: unit {code!r} must be a six-digit adcode in quotes", path=str(path))
        last: dict[str, dt.date] = {}
        for s in spec["status"]:
            pid = s.get("programme")
            if pid not in programmes:
                raise DataError(f"region {rid!r}: status programme {pid!r} is not in 'programmes'", path=str(path))
            if s.get("status") not in STATUSES:
                raise DataError(f"region {rid!r}: status {s.get('status')!r} is not one of {STATUSES}", path=str(path))
            if s.get("source") not in sources:
                raise DataError(f"region {rid!r}: status source {s.get('source')!r} is not in 'sources'", path=str(path))
            day = _date(s["date"])
            if pid in last and day < last[pid]:
                raise DataError(f"region {rid!r}: status history under {pid} is not in date order", path=str(path))
            last[pid] = day
        for p in spec["parts"]:
            if p.get("option") and p["option"] not in (spec.get("options") or {}):
                raise DataError(f"region {rid!r}: part {p['id']!r} names unknown option {p['option']!r}", path=str(path))
        seen: set[str] = set()
        for a in spec.get("admin_assumptions") or ():
            code = str(a.get("adcode", "")) if isinstance(a, dict) else ""
            where = f"region {rid!r}: admin assumption {code or a!r}"
            if len(code) != 6 or not code.isdigit():
                raise DataError(f"{where}: 'adcode' must be six digits", path=str(path))
            if code in seen:
                raise DataError(f"{where}: listed twice", path=str(path))
            seen.add(code)
            for key in ("islands", "assumption", "source"):
                if not str(a.get(key) or "").strip():
                    raise DataError(f"{where}: lacks {key!r}", path=str(path))
            if a["source"] not in sources:
                raise DataError(f"{where}: source {a['source']!r} is not in 'sources'", path=str(path))
            if not isinstance(a.get("island_names") or [], list):
                raise DataError(f"{where}: 'island_names' must be a list", path=str(path))
