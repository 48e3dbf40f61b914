"""The audit engine: inputs → evidence → claims → containment → rules → result.

This is the only layer that wires I/O (readers, resolvers) to the pure core
(geometry, rules). Renderers take the :class:`AuditResult` it returns.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from auditor import __version__
from auditor.errors import InputError
from auditor.geo.containment import VERDICT_CODES, Verdict
from auditor.inventory.profile import PROFILE_SUFFIXES, load_profile, profile_default_crs
from auditor.inventory.read import RawTable, read_table
from auditor.inventory.validate import validate_rows
from auditor.models import (
    Containment,
    Facility,
    FacilityVerdict,
    Finding,
    LocationClaim,
    Operator,
    Status,
)
from auditor.paths import package_data_dir, sha256_file
from auditor.regions import DataSource, Region, Registry, load_registry
from auditor.config import AuditConfig
from auditor.evidence import gather
from auditor.rules import all_rules
from auditor.rules.base import OPERATOR, BasicTelecomTable, FacilityDigest, RuleContext

__all__ = ["AuditResult", "AuditPlan", "Judgement", "Tallies", "audit", "judge", "prepare", "run_rules", "load_basic_telecom"]


# enum members looked up once (each ``Enum.X`` lookup runs a descriptor on Python 3.11; these run per row)
_F_PASS, _F_FAIL, _F_INDETERMINATE, _F_ERROR = FacilityVerdict.PASS, FacilityVerdict.FAIL, FacilityVerdict.INDETERMINATE, FacilityVerdict.ERROR
_S_FAIL, _S_INDETERMINATE = Status.FAIL, Status.INDETERMINATE


@dataclass
class Tallies:
    """Counts over the facilities, addable: a streamed audit sums its chunks' tallies.

    ``rules`` keeps first-seen order (rule → status → count), as report.json lists them.
    """

    facility_count: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    rules: dict[str, dict[str, int]] = field(default_factory=dict)
    parts: dict[str, int] = field(default_factory=dict)

    def add(self, other: "Tallies") -> "Tallies":
        self.facility_count += other.facility_count
        for key, n in other.verdicts.items():
            self.verdicts[key] = self.verdicts.get(key, 0) + n
        for rule, counts in other.rules.items():
            mine = self.rules.setdefault(rule, {})
            for status, n in counts.items():
                mine[status] = mine.get(status, 0) + n
        for key, n in other.parts.items():
            self.parts[key] = self.parts.get(key, 0) + n
        return self

    @classmethod
    def of_findings(cls, findings: Sequence[Finding]) -> "Tallies":
        t = cls()
        for x in findings:
            counts = t.rules.setdefault(x.rule, {})
            status = x.status._value_  # the plain string (``.value`` is a slow descriptor on 3.11)
            counts[status] = counts.get(status, 0) + 1
        return t

    @classmethod
    def of_facilities(cls, result: "AuditResult") -> "Tallies":
        """Facility verdicts, facility findings per rule, and declared points per region part."""
        t = cls.of_findings([x for f in result.facilities for x in result.facility_findings.get(f.id, [])])
        t.facility_count = len(result.facilities)
        for f in result.facilities:
            v = result.facility_verdict(f)._value_
            t.verdicts[v] = t.verdicts.get(v, 0) + 1
            for c in result.claims_of(f):
                cont = result.containment.get(c.id)
                if cont is not None and c.kind == "point":
                    key = " + ".join(cont.parts) or "(none)"
                    t.parts[key] = t.parts.get(key, 0) + 1
        return t


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

    def claims_of(self, f: Facility) -> tuple[LocationClaim, ...]:
        """The facility's own claims: none for an unreadable row (its id may be another row's, e.g. a duplicate)."""
        return () if f.errors else self.claims.get(f.id, ())

    def tallies(self) -> Tallies:
        """Counts over every facility (and every finding): ``totals`` when streamed, else counted here."""
        whole = Tallies.of_findings(self.operator_findings)
        return whole.add(self.totals if self.totals is not None else Tallies.of_facilities(self))

    def facility_verdict(self, f: Facility) -> FacilityVerdict:
        """error if the row could not be read; else fail if a finding failed; else indeterminate if one was; else pass."""
        if f.errors:
            return _F_ERROR
        verdict = _F_PASS
        for x in self.facility_findings.get(f.id, ()):
            if x.status is _S_FAIL:
                return _F_FAIL
            if x.status is _S_INDETERMINATE:
                verdict = _F_INDETERMINATE
        return verdict

    def facilities_frame(self):  # noqa: ANN201
        """Facilities as a GeoDataFrame (see :func:`facilities_frame`); ``.explore()`` draws them."""
        return facilities_frame(self)

    def findings_frame(self):  # noqa: ANN201
        """Findings as a GeoDataFrame (see :func:`findings_frame`)."""
        return findings_frame(self)

    @property
    def all_findings(self) -> list[Finding]:
        out = list(self.operator_findings)
        for f in self.facilities:
            out.extend(self.facility_findings.get(f.id, []))
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
        """0 nothing failed; 1 a finding failed or a row could not be read."""
        if self.verdict == "fail" or self.tallies().verdicts.get(FacilityVerdict.ERROR.value, 0):
            return 1
        return 0


def _point_of(result: "AuditResult", f: Facility):  # noqa: ANN202
    claims = result.claims_of(f)
    point = next((c for c in claims if c.kind == "point" and c.source.value == "declared_coordinates"), None)
    point = point or next((c for c in claims if c.kind == "point"), None)
    return point, (result.containment.get(point.id) if point else None)


def facilities_frame(result: "AuditResult"):  # noqa: ANN201 - geopandas.GeoDataFrame
    """One row per input row: verdict, location and findings summary, as a GeoDataFrame (WGS-84)."""
    import geopandas as gpd
    import shapely

    from auditor.models import Status

    rows, geoms = [], []
    for f in result.facilities:
        point, cont = _point_of(result, f)
        findings = result.facility_findings.get(f.id, [])
        rows.append({
            "id": f.id, "row": f.row, "kind": f.kind, "tenure": f.tenure, "name": f.name, "address": f.address,
            "verdict": result.facility_verdict(f).value,
            "containment": None if cont is None else cont.verdict.value,
            "distance_to_boundary_m": None if cont is None else cont.distance_m,
            "uncertainty_m": None if point is None else point.uncertainty_m,
            "parts": "" if cont is None else "+".join(cont.parts),
            "failed_rules": ";".join(x.rule for x in findings if x.status is Status.FAIL),
            "indeterminate_rules": ";".join(x.rule for x in findings if x.status is Status.INDETERMINATE),
            "errors": "; ".join(f"{e.column or 'row'}: {e.message}" for e in f.errors),
        })
        geoms.append(None if point is None else shapely.Point(point.lon, point.lat))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


def findings_frame(result: "AuditResult"):  # noqa: ANN201 - geopandas.GeoDataFrame
    """One row per finding (operator findings have no geometry), as a GeoDataFrame (WGS-84)."""
    import geopandas as gpd
    import shapely

    rows, geoms = [], []
    for x in result.operator_findings:
        rows.append({**x.as_dict(), "evidence": ";".join(x.evidence), "facility": None})
        geoms.append(None)
    for f in result.facilities:
        point, _ = _point_of(result, f)
        for x in result.facility_findings.get(f.id, []):
            rows.append({**x.as_dict(), "evidence": ";".join(x.evidence), "facility": f.id})
            geoms.append(None if point is None else shapely.Point(point.lon, point.lat))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


def load_basic_telecom(path: Path | None = None) -> tuple[BasicTelecomTable, DataSource]:
    return _basic_telecom(str(path or package_data_dir() / "basic_telecom_asns.yaml"))


@functools.lru_cache(maxsize=4)
def _basic_telecom(path: str) -> tuple[BasicTelecomTable, DataSource]:
    p = Path(path)
    doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    carriers = {cid: (c["name_en"], tuple(int(a) for a in c.get("asns") or ())) for cid, c in doc["carriers"].items()}
    compiled = doc["compiled"] if isinstance(doc["compiled"], dt.date) else dt.date.fromisoformat(str(doc["compiled"]))
    return BasicTelecomTable(compiled, carriers), DataSource("basic_telecom_asns", f"auditor/data/{p.name}", sha256_file(p), str(compiled))


@functools.lru_cache(maxsize=1)
def _clauses_version() -> tuple[str, DataSource]:
    p = package_data_dir() / "clauses.yaml"
    doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    return str(doc["catalogue_version"]), DataSource("clauses", f"auditor/data/{p.name}", sha256_file(p), str(doc["catalogue_version"]))


def _registration_facility(op: Operator) -> Facility | None:
    if op.registration_lon is None and not op.registration_adcode and not op.registration_address:
        return None
    decimals = None
    if op.registration_lon is not None and op.registration_lat is not None:
        parts = [repr(float(v)).split(".") for v in (op.registration_lon, op.registration_lat)]
        decimals = min(len(p[1]) if len(p) == 2 and "e" not in p[1] else 0 for p in parts)
    return Facility(
        id=OPERATOR, row=0, source=op.source, lon=op.registration_lon, lat=op.registration_lat,
        crs=op.registration_crs, crs_stated=op.registration_crs is not None,
        coordinate_decimals=decimals, adcode=op.registration_adcode, address=op.registration_address,
    )


def contain(region: Region, claims: Sequence[LocationClaim]) -> dict[str, Containment]:
    """Test every claim against the region: points in one vectorised call, admin units by the registry."""
    out: dict[str, Containment] = {}
    points = [c for c in claims if c.kind == "point"]
    if points:
        geom = region.geometry
        res = geom.classify_points(
            np.array([c.lon for c in points]), np.array([c.lat for c in points]), np.array([c.uncertainty_m for c in points])
        )
        undecided = np.flatnonzero(res.verdict == 2)
        accuracy = {}
        if undecided.size:
            acc = geom.nearest_part_accuracy_m(
                np.array([points[i].lon for i in undecided]), np.array([points[i].lat for i in undecided])
            )
            accuracy = dict(zip(undecided.tolist(), acc.tolist()))
        part_ids = [p.id for p in geom.parts]
        # each row's parts as one integer (bit k: part k), turned into a tuple once per pattern
        codes = (np.asarray(res.part_mask, dtype=np.int64) << np.arange(len(part_ids), dtype=np.int64)).sum(axis=1).tolist()
        parts_of = {code: tuple(pid for k, pid in enumerate(part_ids) if code >> k & 1) for code in set(codes)}
        verdict_of = VERDICT_CODES
        indeterminate = Verdict.INDETERMINATE
        for i, (c, v, dist, nominal, code) in enumerate(zip(points, res.verdict.tolist(), res.distance_m.tolist(), res.nominal_inside.tolist(), codes)):
            verdict = verdict_of[v]
            reason = ""
            if verdict is indeterminate:
                side = "inside" if nominal else "outside"
                reason = (
                    f"{dist:,.0f} m {side} the drawn line, within the claim's uncertainty "
                    f"({c.uncertainty_m:,.0f} m) plus the line's accuracy there ({accuracy.get(i, 0):,.0f} m)"
                )
            out[c.id] = Containment(c.id, region.id, verdict, float(dist), parts_of[code], reason)
    polygons = [c for c in claims if c.kind == "polygon" and c.geometry is not None]
    if polygons:
        verdicts = region.geometry.classify_geometries([c.geometry for c in polygons], [c.uncertainty_m for c in polygons])
        for c, verdict in zip(polygons, verdicts):
            reason = "" if verdict is not Verdict.INDETERMINATE else (
                "the area the evidence allows reaches both inside and outside the region (within the line's accuracy)"
            )
            if c.original.get("vantages"):
                reason = "; ".join(x for x in (reason, "RTTs: " + _vantage_text(c.original["vantages"])) if x)
            out[c.id] = Containment(c.id, region.id, verdict, None, (), reason)
    for c in claims:
        if c.kind == "anycast" and c.geometry is not None:
            instances = list(getattr(c.geometry, "geoms", [c.geometry]))
            verdicts = region.geometry.classify_geometries(instances)
            outside = [i for i, v in enumerate(verdicts) if v is Verdict.OUTSIDE]
            if outside:
                out[c.id] = Containment(c.id, region.id, Verdict.OUTSIDE, None, (),
                                        f"anycast: an instance lies outside the region ({c.notes[0] if c.notes else ''})")
            else:
                out[c.id] = Containment(c.id, region.id, Verdict.INDETERMINATE, None, (),
                                        "anycast: one address in several places cannot attest a single location")
    for c in claims:
        if c.kind == "region_part":
            # a named part of a pilot region (e.g. Lingang's Xiaoyangshan, recognised in an address):
            # wholly inside the region that has that part, and in no other region
            part_ids = {p.id for p in region.parts}
            inside = c.label in part_ids
            out[c.id] = Containment(
                c.id, region.id, Verdict.INSIDE if inside else Verdict.OUTSIDE, None, (c.label,) if inside else (),
                f"names {c.label}, a part of {'this' if inside else 'another'} pilot region",
            )
        if c.kind == "country":
            out[c.id] = Containment(c.id, region.id, Verdict.OUTSIDE, None, (), f"{c.label}: outside mainland China")
        if c.kind == "admin_unit":
            verdict, note = region.admin_relation(c.adcode)
            reason = f"{c.label or c.adcode}: {note}"
            if verdict is Verdict.INDETERMINATE:
                reason += "; coordinates would settle it"
            out[c.id] = Containment(c.id, region.id, verdict, None, (), reason)
    return out


def _profile_paths(settings: dict[str, Any] | None, profile: Path) -> dict[str, Any] | None:
    """Evidence settings from a profile, with file paths taken relative to the profile."""
    if not settings:
        return settings
    out = dict(settings)
    for key in ("ip_db", "asn_table", "cache_dir", "dns_recording"):
        if isinstance(out.get(key), str) and not Path(out[key]).is_absolute():
            out[key] = str(profile.parent / out[key])
    for key in ("mmdb", "latency"):
        if out.get(key):
            paths = [out[key]] if isinstance(out[key], str) else list(out[key])
            out[key] = tuple(p if Path(p).is_absolute() else str(profile.parent / p) for p in paths)
    return out


def _vantage_text(vantages: list[dict[str, Any]]) -> str:
    return ", ".join(f"{v['vantage']} ({v['lon']}, {v['lat']}) {v['rtt_ms']:g} ms ≤ {v['radius_km']:,.0f} km" for v in vantages[:6])


def run_rules(ctx: RuleContext) -> tuple[list[Finding], dict[str, list[Finding]]]:
    operator_findings: list[Finding] = []
    per_facility: dict[str, list[Finding]] = {}
    for module in all_rules():
        for finding in module.evaluate(ctx):
            if finding.subject == OPERATOR:
                operator_findings.append(finding)
            else:
                per_facility.setdefault(finding.subject, []).append(finding)
    return operator_findings, per_facility


def _input_record(table: RawTable, role: str) -> dict[str, Any]:
    rec: dict[str, Any] = {"role": role, "path": table.source, "sha256": table.sha256, "format": table.format, "rows": len(table.rows)}
    if table.encoding:
        rec["encoding"] = table.encoding
    if table.notes:
        rec["notes"] = list(table.notes)
    return rec


UNSTATED_CRS_WARNING = (
    "Some coordinates do not state their system (WGS-84, GCJ-02 or BD-09); their claims are widened by the "
    "datum offset. Add a crs column, facilities_crs to the profile, or --crs."
)


def crs_unstated(facilities: Sequence[Facility], default_crs: str | None) -> bool:
    """Whether some coordinates state no system and none was given for them (see UNSTATED_CRS_WARNING)."""
    return default_crs is None and any(f.has_coordinates and not f.crs for f in facilities)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while an audit allocates its per-row objects.

    An audit makes millions of small acyclic objects (claims, containments, findings); the
    collector's repeated scans of them cost 20-30 % of a chunk's time (measured on 50,000 rows).
    Reference counting still frees them; cycles wait until the collector resumes.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class AuditPlan:
    """What an audit is of, resolved from its target and options before any row is read."""

    registry: Registry
    operator: Operator
    region: Region
    as_of: dt.date
    inventory_path: Path
    default_crs: str | None
    config: AuditConfig
    inputs: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...]


def prepare(
    target: str | Path,
    *,
    region: str | None = None,
    region_options: dict[str, bool] | None = None,
    as_of: dt.date | str | None = None,
    crs: str | None = None,
    registry: Registry | None = None,
    config: AuditConfig | None = None,
    cli_config: dict[str, Any] | None = None,
) -> AuditPlan:
    """Read the profile (if any), pick the region and its options, and resolve the evidence configuration."""
    reg = registry or load_registry()
    day = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    target_p = Path(target)
    inputs: list[dict[str, Any]] = []
    warnings: list[str] = []
    if target_p.suffix.lower() in PROFILE_SUFFIXES:
        operator, doc = load_profile(target_p)
        evidence_settings = doc.get("evidence") if isinstance(doc.get("evidence"), dict) else None
        inputs.append({"role": "operator_profile", "path": str(target_p), "sha256": sha256_file(target_p), "format": target_p.suffix.lower().lstrip(".")})
        if region and region != operator.region:
            warnings.append(f"--region {region} overrides the profile's region {operator.region}")
        if not operator.facilities_path:
            raise InputError("the profile names no facility list ('facilities')", source=str(target_p))
        inventory_path = Path(operator.facilities_path)
        default_crs = crs or profile_default_crs(doc)
    else:
        if not region:
            raise InputError("a bare facility list needs --region", source=str(target_p), hint=f"one of: {', '.join(reg.region_ids)}")
        operator = Operator(name="", region=region, has_profile=False, source=str(target_p))
        evidence_settings = None
        inventory_path = target_p
        default_crs = crs
    options = dict(operator.region_options)
    options.update(region_options or {})
    the_region = reg.region(region or operator.region, options)
    cfg = config or AuditConfig.resolve(cli=cli_config, profile=_profile_paths(evidence_settings, target_p))
    if cfg.ignored_from_profile:
        warnings.append(
            f"the profile's evidence settings {', '.join(cfg.ignored_from_profile)} were ignored: a profile cannot make "
            "this machine contact the servers it names; give them on the command line, or --allow-profile-network"
        )
    return AuditPlan(reg, operator, the_region, day, inventory_path, default_crs, cfg, tuple(inputs), tuple(warnings))


def audit(
    target: str | Path,
    *,
    region: str | None = None,
    region_options: dict[str, bool] | None = None,
    as_of: dt.date | str | None = None,
    crs: str | None = None,
    registry: Registry | None = None,
    config: AuditConfig | None = None,
    cli_config: dict[str, Any] | None = None,
    progress: Callable[..., None] | None = None,
) -> AuditResult:
    """Audit an operator profile (YAML/TOML) or a bare facility list.

    Parameters
    ----------
    target
        An operator profile, or a facility list (CSV, XLSX, GeoJSON, GeoPackage, Parquet).
    region
        The region id; required for a bare facility list, and overrides the profile's.
    region_options
        Registry options for the region (e.g. ``{"include_sansha": True}``).
    as_of
        The date the rules are judged on (default: today).
    crs
        The coordinate system of rows whose ``crs`` cell is empty (overrides the profile's ``facilities_crs``).

    Examples
    --------
    From the repository root::

        result = audit("examples/shanghai-operator/operator.yaml", as_of="2026-11-01")
        result.verdict          # 'fail': Puxi and Hangzhou facilities
        result.exit_code        # 1
    """
    plan = prepare(target, region=region, region_options=region_options, as_of=as_of, crs=crs,
                   registry=registry, config=config, cli_config=cli_config)
    with paused_gc():
        return _audit_in_memory(plan, progress)


def _audit_in_memory(plan: AuditPlan, progress: Callable[..., None] | None) -> AuditResult:
    step = progress or (lambda *_a, **_k: None)
    operator, the_region, day = plan.operator, plan.region, plan.as_of
    inputs, warnings = list(plan.inputs), list(plan.warnings)

    step("read facility list")
    table = read_table(plan.inventory_path)
    inputs.append(_input_record(table, "facility_list"))
    facilities = validate_rows(table, default_crs=plan.default_crs)
    if crs_unstated(facilities, plan.default_crs):
        warnings.append(UNSTATED_CRS_WARNING)
    if not facilities:
        warnings.insert(0, NO_ROWS_WARNING)

    registration = _registration_facility(operator)
    j = judge(facilities, operator, registration, plan, progress=step)
    basic_source, clauses_source = load_basic_telecom()[1], _clauses_version()[1]
    data_sources = the_region.data_sources() + j.evidence.data_sources + [basic_source, clauses_source]
    ev = j.evidence
    return AuditResult(
        operator=operator, region=the_region, as_of=day, facilities=facilities, claims=j.claims,
        containment=j.containment, facility_findings=j.facility_findings, operator_findings=j.operator_findings,
        inputs=inputs, data_sources=data_sources, rules_version=_clauses_version()[0], warnings=warnings + ev.all_notes(),
        evidence_sources=tuple(dict.fromkeys(ev.sources_run)), footprint=ev.footprint, asn=ev.asn,
        discovered=list(ev.discovered), dns=ev.dns, sweeps=ev.sweeps,
    )


@dataclass
class Judgement:
    """Evidence, containment and findings for one set of subjects (all facilities, a chunk, or the operator)."""

    evidence: Any  # auditor.evidence.Evidence
    claims: dict[str, tuple[LocationClaim, ...]]
    containment: dict[str, Containment]
    context: RuleContext
    operator_findings: list[Finding]
    facility_findings: dict[str, list[Finding]]


def judge(
    facilities: Sequence[Facility],
    operator: Operator,
    registration: Facility | None,
    plan: AuditPlan,
    *,
    digest: FacilityDigest | None = None,
    declared_elsewhere: Sequence[str] | set[str] = (),
    session: str | None = None,
    progress: Callable[..., None] | None = None,
) -> Judgement:
    """Gather evidence, test containment and apply every rule: the one path every audit takes.

    An in-memory audit judges all facilities and the operator at once; a streamed audit
    (:mod:`auditor.stream`) judges chunks of facilities, then the operator with the chunks'
    ``digest`` and ``declared_elsewhere`` addresses.
    """
    step = progress or (lambda *_a, **_k: None)
    step("gather evidence", 0, len(facilities))
    ev = gather(facilities, operator, registration, plan.registry, plan.region, plan.config,
                declared_elsewhere=declared_elsewhere, session=session)
    step("gather evidence", len(facilities), len(facilities))
    claims: dict[str, tuple[LocationClaim, ...]] = {}
    for c in ev.claims:
        claims[c.subject] = claims.get(c.subject, ()) + (c,)
    step("test containment")
    containment = contain(plan.region, ev.claims)
    ctx = RuleContext(
        operator=operator, facilities=tuple(facilities), claims=claims, containment=containment,
        region=plan.region, registry=plan.registry, as_of=plan.as_of, basic_telecom=load_basic_telecom()[0],
        evidence_sources=frozenset(ev.sources_run), footprint=ev.footprint, asn=ev.asn,
        sweeps=ev.sweeps, discovered=tuple(ev.discovered), digest=digest,
    )
    step("apply rules")
    operator_findings, per_facility = run_rules(ctx)
    return Judgement(ev, claims, containment, ctx, operator_findings, per_facility)
