"""Value objects shared by every layer: facilities, operators, claims, findings.

All frozen; enums are string enums so that they serialise as themselves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from auditor.geo.containment import Verdict

__all__ = [
    "Status",
    "FacilityVerdict",
    "Severity",
    "Facility",
    "Operator",
    "PilotApproval",
    "RowError",
    "LocationClaim",
    "Containment",
    "Finding",
    "EvidenceSource",
]


class Status(StrEnum):
    """The status of one finding (DESIGN §2)."""

    PASS = "pass"
    FAIL = "fail"
    INDETERMINATE = "indeterminate"
    NOT_APPLICABLE = "not_applicable"
    WAIVED = "waived"


class FacilityVerdict(StrEnum):
    """A facility's verdict (DESIGN §2): error, else fail, else indeterminate, else waived (a recorded
    waiver covers a finding that would not pass), else pass."""

    PASS = "pass"
    FAIL = "fail"
    INDETERMINATE = "indeterminate"
    ERROR = "error"
    WAIVED = "waived"


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class EvidenceSource(StrEnum):
    """Where a location claim comes from."""

    DECLARED_COORDINATES = "declared_coordinates"
    ADMIN_FACT = "admin_fact"
    ADDRESS = "address"
    IP2REGION = "ip2region"
    MMDB = "mmdb"
    DNS = "dns"
    LATENCY = "latency"


@dataclass(frozen=True, slots=True)
class RowError:
    """Why a row cannot be audited: where, and what to do about it."""

    column: str | None
    message: str
    value: str | None = None
    hint: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"column": self.column, "message": self.message, "value": self.value, "hint": self.hint}


@dataclass(frozen=True, slots=True)
class Facility:
    """One row of a facility list, validated.

    ``row`` is the 1-based line in the source (the header is row 1 in CSV and
    XLSX; the first feature is row 1 in GeoJSON/GeoPackage/Parquet). A row that
    cannot be read still becomes a Facility, with ``errors`` saying why.
    """

    id: str
    row: int
    source: str
    kind: str = ""
    tenure: str = ""
    name: str = ""
    address: str = ""
    lon: float | None = None
    lat: float | None = None
    crs: str | None = None           # wgs84 | gcj02 | bd09, or None when not stated
    crs_stated: bool = False
    coordinate_decimals: int | None = None
    uncertainty_m: float | None = None
    ip: tuple[str, ...] = ()
    hostname: tuple[str, ...] = ()
    adcode: str = ""
    province: str = ""
    city: str = ""
    district: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    errors: tuple[RowError, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def has_coordinates(self) -> bool:
        return self.lon is not None and self.lat is not None


@dataclass(frozen=True, slots=True)
class PilotApproval:
    """An approval the operator holds for its pilot operation (the 2024 notice's clause III, 试点批复), as declared."""

    number: str = ""
    date: dt.date | None = None
    authority: str = ""
    region: str = ""
    services: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class Operator:
    """An operator profile (DESIGN §5). ``programme`` is the registry's programme id ("" for the default)."""

    name: str
    region: str
    region_options: dict[str, bool] = field(default_factory=dict)
    registration_address: str = ""
    registration_lon: float | None = None
    registration_lat: float | None = None
    registration_crs: str | None = None
    registration_adcode: str = ""
    services: tuple[str, ...] = ()
    foreign_equity_pct: float | None = None
    isp_prefixes: tuple[str, ...] = ()
    isp_service_area: tuple[str, ...] = ()
    upstream_asns: tuple[int, ...] = ()
    cdn_domains: tuple[str, ...] = ()
    facilities_path: str = ""
    source: str = ""
    has_profile: bool = True
    programme: str = ""
    approvals: tuple[PilotApproval, ...] = ()


@dataclass(frozen=True, slots=True)
class LocationClaim:
    """Where one piece of evidence puts a subject: a WGS-84 geometry with uncertainty.

    ``kind`` is ``point`` (lon/lat with ``uncertainty_m``) or ``admin_unit``
    (an administrative unit by adcode, whose relation to each region is in the
    registry). Later evidence sources add ``disk`` and ``polygon``.
    """

    id: str
    subject: str
    source: EvidenceSource
    kind: str
    lon: float | None = None
    lat: float | None = None
    uncertainty_m: float = 0.0
    adcode: str = ""
    label: str = ""
    original: dict[str, Any] = field(default_factory=dict)
    data_version: str = ""
    notes: tuple[str, ...] = ()
    geometry: Any = None  # WGS-84 shapely geometry for kind "polygon" (e.g. a latency feasible region)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "source": self.source.value, "kind": self.kind}
        if self.geometry is not None:
            import shapely

            d["bounds"] = [round(float(v), 6) for v in shapely.bounds(self.geometry)]
            d["area_km2"] = round(_geodesic_area_km2(self.geometry), 3)
        if self.kind == "point":
            d.update(lon=_r(self.lon, 7), lat=_r(self.lat, 7), crs="wgs84", uncertainty_m=_r(self.uncertainty_m, 2))
        if self.adcode:
            d["adcode"] = self.adcode
        if self.label:
            d["label"] = self.label
        if self.original:
            d["original"] = self.original
        if self.data_version:
            d["data_version"] = self.data_version
        if self.notes:
            d["notes"] = list(self.notes)
        return d


@dataclass(frozen=True, slots=True)
class Containment:
    """A claim tested against the region."""

    claim_id: str
    region: str
    verdict: Verdict
    distance_m: float | None = None
    parts: tuple[str, ...] = ()
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"claim": self.claim_id, "region": self.region, "verdict": self.verdict.value}
        if self.distance_m is not None:
            d["distance_to_boundary_m"] = _r(self.distance_m, 1)
        d["parts"] = list(self.parts)
        if self.reason:
            d["reason"] = self.reason
        return d


@dataclass(frozen=True, slots=True)
class Finding:
    """The outcome of one rule for one subject."""

    rule: str
    clause: str
    status: Status
    subject: str
    message: str
    severity: Severity = Severity.HIGH
    evidence: tuple[str, ...] = ()
    missing: str = ""
    waiver: dict[str, Any] | None = field(default=None, compare=False, hash=False)  # set when a waiver covers it
    basis: tuple[str, ...] = ()  # location findings: the weight-table keys of the evidence that decided

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "rule": self.rule,
            "clause": self.clause,
            "status": self.status.value,
            "severity": self.severity.value,
            "subject": self.subject,
            "message": self.message,
            "evidence": list(self.evidence),
        }
        if self.basis:
            d["basis"] = list(self.basis)
        if self.missing:
            d["missing"] = self.missing
        if self.waiver:
            d["waiver"] = dict(self.waiver)
        return d


def _geodesic_area_km2(geom: Any) -> float:
    from pyproj import Geod

    return abs(Geod(ellps="WGS84").geometry_area_perimeter(geom)[0]) / 1e6


def _r(value: float | None, ndigits: int) -> float | None:
    return None if value is None else round(float(value), ndigits)


def today() -> dt.date:
    return dt.date.today()
