"""The result of an audit: what it found, counted and shaped for reports and frames.

A value the engine builds and every renderer reads; it imports no reader, resolver or rule, so
that importing a renderer does not import the engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from auditor._version import __version__
from auditor.model import (
    Containment,
    Facility,
    FacilityVerdict,
    Finding,
    LocationClaim,
    Operator,
    Status,
)
from auditor.regions import DataSource, Region

if TYPE_CHECKING:
    from geopandas import GeoDataFrame

__all__ = ["AuditResult", "FACILITY_VERDICTS", "FINDING_STATUSES", "NO_ROWS_WARNING", "Tallies", "facilities_frame", "findings_frame"]


# enum members looked up once (each ``Enum.X`` lookup runs a descriptor on Python 3.11; these run per row)
_F_PASS, _F_FAIL, _F_INDETERMINATE, _F_ERROR = FacilityVerdict.PASS, FacilityVerdict.FAIL, FacilityVerdict.INDETERMINATE, FacilityVerdict.ERROR
_F_WAIVED = FacilityVerdict.WAIVED
_S_FAIL, _S_INDETERMINATE, _S_WAIVED = Status.FAIL, Status.INDETERMINATE, Status.WAIVED


@dataclass
class Tallies:
    """Counts over the facilities, addable: a streamed audit sums its chunks' tallies.

    ``rules`` keeps first-seen order (rule → status → count), as report.json lists them.

    ``unplaced`` counts the evidence that placed nothing, by kind (:attr:`UNPLACED_KINDS`): a
    facility's hostname that gave no address (``hostnames_unresolved``), an IPv6 address no
    source placed (``ipv6_without_evidence``), another address no source placed (``ips_unplaced``;
    private, not covered by the IP database, ...). Each is counted once per facility.
    ``unplaced_items`` lists the first :attr:`UNPLACED_LISTED` of each kind in row order as
    ``(row, facility id, hostname or address, why)``; ``why`` is "" where the claims do not say
    (a name DNS answered without an address, or one nobody asked: the report's DNS answers tell).
    """

    facility_count: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    rules: dict[str, dict[str, int]] = field(default_factory=dict)
    parts: dict[str, int] = field(default_factory=dict)
    bases: dict[str, int] = field(default_factory=dict)  # facilities by the evidence their location rests on
    unplaced: dict[str, int] = field(default_factory=dict)
    unplaced_items: dict[str, list[tuple[int, str, str, str]]] = field(default_factory=dict)

    UNPLACED_KINDS: ClassVar[tuple[str, ...]] = ("hostnames_unresolved", "ipv6_without_evidence", "ips_unplaced")
    UNPLACED_LISTED: ClassVar[int] = 1000

    def add(self, other: Tallies) -> Tallies:
        self.facility_count += other.facility_count
        for key, n in other.verdicts.items():
            self.verdicts[key] = self.verdicts.get(key, 0) + n
        for rule, counts in other.rules.items():
            mine = self.rules.setdefault(rule, {})
            for status, n in counts.items():
                mine[status] = mine.get(status, 0) + n
        for key, n in other.parts.items():
            self.parts[key] = self.parts.get(key, 0) + n
        for key, n in other.bases.items():
            self.bases[key] = self.bases.get(key, 0) + n
        for key, n in other.unplaced.items():
            self.unplaced[key] = self.unplaced.get(key, 0) + n
        for key, items in other.unplaced_items.items():
            mine_items = self.unplaced_items.setdefault(key, [])
            mine_items.extend(items[: max(0, self.UNPLACED_LISTED - len(mine_items))])
        return self

    @classmethod
    def of_findings(cls, findings: Sequence[Finding]) -> Tallies:
        t = cls()
        for x in findings:
            counts = t.rules.setdefault(x.rule, {})
            status = x.status._value_  # the plain string (``.value`` is a slow descriptor on 3.11)
            counts[status] = counts.get(status, 0) + 1
        return t

    @classmethod
    def of_facilities(cls, result: AuditResult) -> Tallies:
        """Facility verdicts, facility findings per rule, declared points per region part, and location bases."""
        t = cls.of_findings([x for f in result.facilities for x in result.findings_of(f)])
        t.facility_count = len(result.facilities)
        for f in result.facilities:
            v = result.facility_verdict(f)._value_
            t.verdicts[v] = t.verdicts.get(v, 0) + 1
            if not f.errors:
                b = "+".join(result.facility_basis(f)) or "none"
                t.bases[b] = t.bases.get(b, 0) + 1
            for c in result.claims_of(f):
                cont = result.containment.get(c.id)
                if cont is not None and c.kind == "point":
                    key = " + ".join(cont.parts) or "(none)"
                    t.parts[key] = t.parts.get(key, 0) + 1
            if not f.errors and (f.hostname or f.ip):
                for kind, value, why in cls.unplaced_of(f, result.claims_of(f)):
                    t.unplaced[kind] = t.unplaced.get(kind, 0) + 1
                    items = t.unplaced_items.setdefault(kind, [])
                    if len(items) < cls.UNPLACED_LISTED:
                        items.append((f.row, f.id, value, why))
        return t

    @staticmethod
    def unplaced_of(f: Facility, claims: Sequence[LocationClaim]) -> list[tuple[str, str, str]]:
        """(kind, hostname or address, why) for each of the facility's hostnames that gave no address
        and each of its addresses (declared, or a hostname's) that no claim places.

        Read from the claims alone (a streamed audit's chunks keep no DNS answers): a hostname that
        resolved has claims ``ID#dns:HOST:ADDRESS``, one whose servers failed an ``unresolved``
        claim ``ID#dns:HOST`` saying why, one that does not exist, has no address, was not recorded
        or was never asked (no DNS source) none at all.
        """
        import ipaddress

        out: list[tuple[str, str, str]] = []
        for host in f.hostname:
            own = f"{f.id}#dns:{host}"
            if any(c.id.startswith(own + ":") for c in claims):
                continue
            failed = next((c for c in claims if c.id == own), None)
            out.append(("hostnames_unresolved", host, failed.notes[0] if failed is not None and failed.notes else ""))
        by_address: dict[str, list[LocationClaim]] = {ip: [] for ip in f.ip if "/" not in ip}
        for c in claims:
            address = c.original.get("ip") or c.original.get("target")
            if isinstance(address, str) and (address in by_address or c.id.startswith(f"{f.id}#dns:")):
                by_address.setdefault(address, []).append(c)
        for address, about in by_address.items():
            if any(c.kind != "unresolved" for c in about):
                continue
            try:
                ip = ipaddress.ip_address(address.strip())
                v6 = isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None
            except ValueError:
                v6 = False
            why = next((c.notes[0] for c in about if c.notes), "no evidence source placed it")
            out.append(("ipv6_without_evidence" if v6 else "ips_unplaced", address, why))
        return out


#: An audit of an empty facility list: its verdict is indeterminate, never pass (see AuditResult.verdict).
NO_ROWS_WARNING = "the facility list has no rows: nothing was audited"


@dataclass
class AuditResult:
    """Everything an audit found; renderers turn it into reports."""

    operator: Operator
    region: Region
    as_of: dt.date
    facilities: list[Facility]
    claims: dict[str, tuple[LocationClaim, ...]]
    containment: dict[str, Containment]
    facility_findings: dict[str, list[Finding]]
    operator_findings: list[Finding]
    inputs: list[dict[str, Any]]
    data_sources: list[DataSource]
    tool_version: str = __version__
    rules_version: str = ""
    warnings: list[str] = field(default_factory=list)
    discovered: list[dict[str, Any]] = field(default_factory=list)
    evidence_sources: tuple[str, ...] = ()
    footprint: Any = None
    asn: dict[str, list[Any]] = field(default_factory=dict)
    dns: dict[str, Any] = field(default_factory=dict)
    sweeps: dict[str, Any] = field(default_factory=dict)
    # A streamed audit keeps only some facilities in memory (``facilities`` lists those); ``totals``
    # then counts every row and ``tables`` names the files that hold every row.
    totals: Tallies | None = None
    tables: dict[str, str] = field(default_factory=dict)
    # Where the evidence came from, as report.json's tool.mode says: "offline" (files only), "recorded"
    # (recorded DNS/ASN answers replayed) or "online" (a live network source); see AuditConfig.evidence_mode.
    evidence_mode: str = "offline"

    def claims_of(self, f: Facility) -> tuple[LocationClaim, ...]:
        """The facility's own claims: none for an unreadable row (its id may be another row's, e.g. a duplicate)."""
        return () if f.errors else self.claims.get(f.id, ())

    def findings_of(self, f: Facility) -> list[Finding]:
        """The facility's own findings: none for an unreadable row (its id may be another row's, e.g. a
        duplicate, whose findings are that row's)."""
        return [] if f.errors else self.facility_findings.get(f.id, [])

    def tallies(self) -> Tallies:
        """Counts over every facility (and every finding): ``totals`` when streamed, else counted here."""
        whole = Tallies.of_findings(self.operator_findings)
        return whole.add(self.totals if self.totals is not None else self._facility_tallies())

    def _facility_tallies(self) -> Tallies:
        """``Tallies.of_facilities(self)``, counted once (the reports ask a dozen times: 0.15 s each for
        20,000 rows) and again whenever the facilities, claims, containment or findings are other
        objects or of other sizes. The engine builds a result whole; nothing edits one in place."""
        key = tuple((id(part), len(part)) for part in (self.facilities, self.claims, self.containment, self.facility_findings))
        cached = self.__dict__.get("_tallied")
        if cached is None or cached[0] != key:
            cached = (key, Tallies.of_facilities(self))
            self.__dict__["_tallied"] = cached
        tallies: Tallies = cached[1]
        return tallies

    def facility_verdict(self, f: Facility) -> FacilityVerdict:
        """error if the row could not be read; else fail if a finding failed; else indeterminate if one was;
        else waived if a waiver covers a finding that would not have passed; else pass."""
        if f.errors:
            return _F_ERROR
        verdict = _F_PASS
        for x in self.facility_findings.get(f.id, ()):
            if x.status is _S_FAIL:
                return _F_FAIL
            if x.status is _S_INDETERMINATE:
                verdict = _F_INDETERMINATE
            elif x.status is _S_WAIVED and verdict is _F_PASS:
                verdict = _F_WAIVED
        return verdict

    def facility_basis(self, f: Facility) -> tuple[str, ...]:
        """The evidence its location was decided on (weight-table keys, declared first), from its
        location finding; () for an unreadable row (its id may be another row's) or one with no location evidence."""
        if f.errors:
            return ()
        for x in self.facility_findings.get(f.id, ()):
            if x.basis:
                return x.basis
        return ()

    def facilities_frame(self) -> GeoDataFrame:
        """Facilities as a GeoDataFrame, one row per input row (see :func:`facilities_frame`)."""
        return facilities_frame(self)

    def findings_frame(self) -> GeoDataFrame:
        """Findings as a GeoDataFrame (see :func:`findings_frame`)."""
        return findings_frame(self)

    @property
    def all_findings(self) -> list[Finding]:
        out = list(self.operator_findings)
        for f in self.facilities:
            out.extend(self.findings_of(f))
        return out

    @property
    def verdict(self) -> str:
        """fail if anything failed; else indeterminate if anything is indeterminate or unreadable,
        or if there was no facility to audit (an audit of nothing is not compliance); else pass."""
        t = self.tallies()
        statuses = {s for counts in t.rules.values() for s, n in counts.items() if n}
        verdicts = {v for v, n in t.verdicts.items() if n}
        if Status.FAIL.value in statuses or FacilityVerdict.FAIL.value in verdicts:
            return "fail"
        if Status.INDETERMINATE.value in statuses or verdicts & {FacilityVerdict.INDETERMINATE.value, FacilityVerdict.ERROR.value}:
            return "indeterminate"
        if t.facility_count == 0:
            return "indeterminate"
        return "pass"

    @property
    def exit_code(self) -> int:
        """The exit status of ``auditor audit`` (its default gate, ``--fail-on fail``): 1 a finding failed;
        else 3 a row could not be read (an ``error`` verdict); else 0 (2, unusable input, never gets a result)."""
        if self.verdict == "fail":
            return 1
        if self.tallies().verdicts.get(FacilityVerdict.ERROR.value, 0):
            return 3
        return 0


def _point_of(result: AuditResult, f: Facility) -> tuple[LocationClaim | None, Containment | None]:
    claims = result.claims_of(f)
    point = next((c for c in claims if c.kind == "point" and c.source.value == "declared_coordinates"), None)
    point = point or next((c for c in claims if c.kind == "point"), None)
    return point, (result.containment.get(point.id) if point else None)


#: Facility verdicts and finding statuses as ordered categories: from fine to needs attention.
FACILITY_VERDICTS = ("pass", "waived", "indeterminate", "fail", "error")
FINDING_STATUSES = ("pass", "not_applicable", "waived", "indeterminate", "fail")


def _part_column(part_id: str) -> str:
    return "in_" + part_id.replace("-", "_")


def facilities_frame(result: AuditResult) -> GeoDataFrame:
    """One row per input row, in input order, as a GeoDataFrame (WGS-84 points of the declared location).

    Columns: ``id``, ``row``, ``region``, ``kind``, ``tenure``, ``name``, ``address``, the coordinates
    as given (``lon``, ``lat``, ``crs``) and in WGS-84 (``lon_wgs84``, ``lat_wgs84``), ``verdict``
    (ordered categorical: pass < waived < indeterminate < fail < error), ``basis`` (the evidence the
    location was decided on), ``containment``, ``signed_distance_m`` (to the drawn line; positive
    inside), ``distance_to_boundary_m`` (unsigned), ``uncertainty_m``, ``parts`` and one boolean
    ``in_<part>`` column per region part, ``failed_rules``, ``indeterminate_rules``, ``errors``, then
    the input's own columns as read (``input:<name>`` where a name is taken by the columns above).
    ``.explore(tiles=None)`` draws it (needs folium: ``pip install 'pilot-zone-auditor[maps]'``).
    """
    import geopandas as gpd
    import pandas as pd
    import shapely

    core = {p.id for p in result.region.parts if p.role.value == "core"}
    part_ids = [p.id for p in result.region.parts]
    rows, geoms = [], []
    for f in result.facilities:
        point, cont = _point_of(result, f)
        findings = result.findings_of(f)
        distance = None if cont is None else cont.distance_m
        inside_line = cont is not None and bool(core.intersection(cont.parts))
        record: dict[str, Any] = {
            "id": f.id, "row": f.row, "region": result.region.id, "kind": f.kind, "tenure": f.tenure, "name": f.name,
            "address": f.address, "lon": f.lon, "lat": f.lat, "crs": f.crs,
            "lon_wgs84": None if point is None else point.lon, "lat_wgs84": None if point is None else point.lat,
            "verdict": result.facility_verdict(f).value,
            "basis": "+".join(result.facility_basis(f)),
            "containment": None if cont is None else cont.verdict.value,
            "signed_distance_m": None if distance is None else (distance if inside_line else -distance),
            "distance_to_boundary_m": distance,
            "uncertainty_m": None if point is None else point.uncertainty_m,
            "parts": "" if cont is None else "+".join(cont.parts),
            **{_part_column(pid): cont is not None and pid in cont.parts for pid in part_ids},
            "failed_rules": ";".join(x.rule for x in findings if x.status is Status.FAIL),
            "indeterminate_rules": ";".join(x.rule for x in findings if x.status is Status.INDETERMINATE),
            "errors": "; ".join(f"{e.column or 'row'}: {e.message}" for e in f.errors),
        }
        for name, value in f.extra.items():
            record[name if name not in record else f"input:{name}"] = value
        rows.append(record)
        geoms.append(None if point is None else shapely.Point(point.lon, point.lat))
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
    if len(frame):
        frame["verdict"] = pd.Categorical(frame["verdict"], categories=FACILITY_VERDICTS, ordered=True)
    return frame


def findings_frame(result: AuditResult) -> GeoDataFrame:
    """One row per finding (operator findings have no geometry), as a GeoDataFrame (WGS-84); ``status`` is an
    ordered categorical (pass < not_applicable < waived < indeterminate < fail)."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    rows: list[dict[str, Any]] = []
    geoms: list[shapely.Point | None] = []
    for x in result.operator_findings:
        rows.append({**x.as_dict(), "evidence": ";".join(x.evidence), "facility": None})
        geoms.append(None)
    for f in result.facilities:
        point, _ = _point_of(result, f)
        for x in result.facility_findings.get(f.id, []) if not f.errors else []:
            rows.append({**x.as_dict(), "evidence": ";".join(x.evidence), "facility": f.id})
            geoms.append(None if point is None else shapely.Point(point.lon, point.lat))
    for r in rows:
        r["region"] = result.region.id
        r["basis"] = "+".join(r.get("basis") or ())
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
    if len(frame):
        frame["status"] = pd.Categorical(frame["status"], categories=FINDING_STATUSES, ordered=True)
    return frame
