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

__all__ = ["RuleSpec", "RuleContext", "BasicTelecomTable", "Carrier", "Network", "FacilityDigest", "CDN_KINDS", "ISP_KINDS"]

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
class Network:
    """What an upstream network is, for the access rule: whose, and how that was decided."""

    kind: str       # "access" (a basic carrier's domestic access network) | "international" | "not_basic" | "unknown"
    owner: str      # the carrier's or holder's name ("" when unknown)
    how: str        # "listed" or "registered holder <name>"
    source: str = ""


@dataclass(frozen=True, slots=True)
class Carrier:
    """One basic telecommunications enterprise: its listed networks and the holder names it registers under."""

    id: str
    name_en: str
    name_zh: str
    access_asns: frozenset[int]
    international: Mapping[int, str]  # ASN -> name of the international arm
    holder_patterns: tuple[str, ...]
    international_patterns: tuple[str, ...]
    source: str = ""


@dataclass(frozen=True, slots=True)
class BasicTelecomTable:
    """The basic telecommunications enterprises' networks, with the table's date (``auditor/data/basic_telecom_asns.yaml``)."""

    compiled: dt.date
    carriers: Mapping[str, tuple[str, tuple[int, ...]]]  # id -> (English name, domestic access ASNs)
    details: tuple[Carrier, ...] = ()
    others: Mapping[int, tuple[str, str, str]] = field(default_factory=dict)  # ASN -> (name, why, source): not basic telecom

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> BasicTelecomTable:
        """The table from its YAML document (parsed elsewhere: the rules open no file)."""
        compiled = doc["compiled"] if isinstance(doc["compiled"], dt.date) else dt.date.fromisoformat(str(doc["compiled"]))
        details = []
        for cid, c in doc["carriers"].items():
            intl = c.get("international_asns") or {}
            details.append(Carrier(
                id=cid, name_en=c["name_en"], name_zh=c.get("name_zh", ""),
                access_asns=frozenset(int(a) for a in c.get("access_asns") or ()),
                international={int(a): str(v.get("name", "")) for a, v in intl.items()},
                holder_patterns=tuple(str(x).upper() for x in c.get("holder_patterns") or ()),
                international_patterns=tuple(str(x).upper() for x in c.get("international_holder_patterns") or ()),
                source=str(c.get("source", "")),
            ))
        others = {int(a): (str(v["name"]), str(v["why"]), str(v.get("source", ""))) for a, v in (doc.get("not_basic_telecom") or {}).items()}
        carriers = {c.id: (c.name_en, tuple(sorted(c.access_asns))) for c in details}
        return cls(compiled, carriers, tuple(details), others)

    def carrier_of(self, asn: int) -> str | None:
        """The carrier whose network (domestic or international) this ASN is, by the list."""
        for c in self.details:
            if asn in c.access_asns or asn in c.international:
                return c.name_en
        for _, (name, asns) in self.carriers.items():
            if asn in asns:
                return name
        return None

    def classify(self, asn: int, holder: str = "") -> Network:
        """The network behind ``asn``: by the reviewed list first, else by its registered holder's name."""
        for c in self.details:
            if asn in c.access_asns:
                return Network("access", c.name_en, "listed", c.source)
            if asn in c.international:
                return Network("international", c.international[asn] or f"{c.name_en} (international)", "listed", c.source)
        if asn in self.others:
            name, why, source = self.others[asn]
            return Network("not_basic", name, f"listed: {why}", source)
        name = holder.upper()
        if name:
            for c in self.details:
                if any(p in name for p in c.international_patterns):
                    return Network("international", f"{c.name_en} (international)", f"registered holder {holder!r}")
            for c in self.details:
                if any(p in name for p in c.holder_patterns):
                    return Network("access", c.name_en, f"registered holder {holder!r}")
        return Network("unknown", holder, f"registered holder {holder!r}" if holder else "not listed, holder unknown")


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
