"""What every rule shares: its metadata, its context and a finding builder."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auditor.model import (
    Containment,
    Facility,
    Finding,
    LocationClaim,
    Operator,
    Severity,
    Status,
)
from auditor.regions import Region, Registry
from auditor.rules._location import locate

if TYPE_CHECKING:  # types only: the rules import no resolver
    from auditor.resolve.dns import SweepResult
    from auditor.resolve.ipgeo.footprint import Footprint

__all__ = ["RuleSpec", "RuleContext", "BasicTelecomTable", "FacilityDigest", "CDN_KINDS", "ISP_KINDS"]

OPERATOR = "(operator)"
CDN_KINDS = frozenset({"CDN", "CDN_NODE", "EDGE", "CDN_EDGE", "CACHE"})
ISP_KINDS = frozenset({"ISP_POP", "POP", "ISP", "ACCESS", "BRAS"})


@dataclass(frozen=True, slots=True)
class FacilityDigest:
    """What the operator-scope rules need to know about the facilities: small, and mergeable.

    A streamed audit judges the facilities chunk by chunk and the operator once; the
    chunks' digests, merged in file order, stand in for the facilities there.
    """

    kinds: frozenset[str] = frozenset()  # kinds of the facilities whose rows could be read
    # ISP access points in file order: (facility id, combined location verdict or None, evidence ids)
    access_points: tuple[tuple[str, Any, tuple[str, ...]], ...] = ()

    def merged(self, later: FacilityDigest) -> FacilityDigest:
        return FacilityDigest(self.kinds | later.kinds, self.access_points + later.access_points)

    def has_kind(self, kinds: frozenset[str]) -> bool:
        return bool(self.kinds & kinds)


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule's metadata. ``id`` equals its module name (a test enforces it)."""

    id: str
    clauses: tuple[str, ...]
    title: str
    severity: Severity
    scope: str  # "operator" or "facility"
    rationale: str
    remediation: str

    @property
    def clause(self) -> str:
        return "; ".join(self.clauses)

    def finding(
        self, status: Status, subject: str, message: str, *, evidence: Sequence[str] = (), missing: str = "",
        basis: Sequence[str] = (),
    ) -> Finding:
        return Finding(
            rule=self.id, clause=self.clause, status=status, subject=subject, message=message,
            severity=self.severity, evidence=tuple(evidence), missing=missing, basis=tuple(basis),
        )


@dataclass(frozen=True, slots=True)
class BasicTelecomTable:
    """ASNs of the basic telecommunications enterprises, with the table's date."""

    compiled: dt.date
    carriers: Mapping[str, tuple[str, tuple[int, ...]]]  # id -> (English name, ASNs)

    def carrier_of(self, asn: int) -> str | None:
        for _, (name, asns) in self.carriers.items():
            if asn in asns:
                return name
        return None


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule may look at; rules never fetch anything themselves."""

    operator: Operator
    facilities: tuple[Facility, ...]
    claims: Mapping[str, tuple[LocationClaim, ...]]   # subject -> claims
    containment: Mapping[str, Containment]            # claim id -> containment in the region
    region: Region
    registry: Registry
    as_of: dt.date
    basic_telecom: BasicTelecomTable
    evidence_sources: frozenset[str] = field(default_factory=frozenset)
    footprint: Footprint | None = None                # ISP address-space footprint (IP evidence)
    asn: Mapping[str, Any] = field(default_factory=dict)  # query -> ASN answers
    sweeps: Mapping[str, SweepResult | str] = field(default_factory=dict)  # accelerated domain -> sweep, or why not swept
    discovered: tuple[dict[str, Any], ...] = ()             # undeclared nodes found by sweeps
    digest: FacilityDigest | None = None                    # given when the facilities are judged elsewhere (streaming)
    located: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # locate()'s answers, by subject

    def declares_service(self, category: str) -> bool:
        """Whether the operator declares a service of this opened category (e.g. "cdn", "isp")."""
        return any((self.registry.service_category(s) or ("", ""))[1] == category for s in self.operator.services)

    def audited_facilities(self) -> tuple[Facility, ...]:
        """Facilities whose rows could be read (error rows get no findings)."""
        return tuple(f for f in self.facilities if not f.errors)

    def facility_digest(self) -> FacilityDigest:
        """The digest given, else the digest of this context's facilities."""
        if self.digest is not None:
            return self.digest
        audited = self.audited_facilities()
        points = []
        for f in audited:
            if f.kind in ISP_KINDS:
                answer = locate(self, f.id)
                points.append((f.id, answer.verdict, answer.evidence_ids))
        return FacilityDigest(frozenset(f.kind for f in audited), tuple(points))
