"""The weight table: declared evidence decides, strong independent evidence overrules, weak evidence only doubts.

Case by case on hand-made claims (the rules are pure functions of claims and their containment),
property tests over random mixes of evidence, one end-to-end case per trap the issue names
(a Yanjiao data centre on a Beijing-registered block), and the README's table held to the code's.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import AS_OF, write_csv
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.engine import audit
from auditor.engine.plan import load_basic_telecom
from auditor.geo.containment import Verdict
from auditor.model import Containment, EvidenceSource, Facility, FacilityVerdict, LocationClaim, Operator, Status
from auditor.regions import load_registry
from auditor.resolve.ipgeo.xdb import XdbDatabase
from auditor.result import AuditResult
from auditor.rules import facility_in_region, location_evidence_consistent
from auditor.rules._weights import DECLARED, INDEPENDENT, STRONG, WEAK, WEIGHTS, basis_text
from auditor.rules.base import RuleContext

REPO = Path(__file__).resolve().parents[2]
IN, OUT, UNSURE = Verdict.INSIDE, Verdict.OUTSIDE, Verdict.INDETERMINATE

# (source, kind) of each kind of evidence the cases use
COORDS = ("declared_coordinates", "point")
ADDRESS = ("address", "admin_unit")
ADMIN = ("admin_fact", "admin_unit")
LATENCY = ("latency", "polygon")
ANYCAST = ("latency", "anycast")
IP2REGION = ("ip2region", "admin_unit")
MMDB = ("mmdb", "point")
DNS = ("dns", "admin_unit")
DECLARED_KINDS = (COORDS, ADDRESS, ADMIN)
WEAK_KINDS = (IP2REGION, MMDB, DNS, ANYCAST)


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def context(registry, evidence: list[tuple[tuple[str, str], Verdict]], region: str = "shanghai") -> tuple[RuleContext, Facility]:
    """A rule context for one facility whose claims give these containments (no geometry needed)."""
    f = Facility(id="F", row=2, source="t.csv", kind="CDN")
    claims, containment = [], {}
    for i, ((source, kind), verdict) in enumerate(evidence):
        c = LocationClaim(id=f"F#{source}:{i}", subject="F", source=EvidenceSource(source), kind=kind)
        claims.append(c)
        containment[c.id] = Containment(c.id, region, verdict, None, (), "")
    ctx = RuleContext(
        operator=Operator(name="T", region=region), facilities=(f,), claims={"F": tuple(claims)}, containment=containment,
        region=registry.region(region, {}), registry=registry, as_of=AS_OF, basic_telecom=load_basic_telecom()[0],
    )
    return ctx, f


def judged(registry, evidence):
    """(facility_in_region finding, consistency finding, facility verdict) for this evidence."""
    ctx, f = context(registry, evidence)
    where = facility_in_region.judge(ctx, f, facility_in_region.SPEC, "facility")
    (agree,) = location_evidence_consistent.evaluate(ctx)
    result = AuditResult(
        operator=ctx.operator, region=ctx.region, as_of=AS_OF, facilities=[f], claims=dict(ctx.claims),
        containment=dict(ctx.containment), facility_findings={"F": [where, agree]}, operator_findings=[], inputs=[], data_sources=[],
    )
    return where, agree, result.facility_verdict(f)


# -- the table, case by case -------------------------------------------------------------------

CASES = [
    # evidence                                   facility_in_region     consistency                basis
    ([(COORDS, IN)],                               Status.PASS,          Status.NOT_APPLICABLE,    ("declared_coordinates",)),
    ([(COORDS, IN), (ADDRESS, IN)],                Status.PASS,          Status.PASS,              ("declared_coordinates", "address")),
    ([(ADDRESS, IN)],                              Status.PASS,          Status.NOT_APPLICABLE,    ("address",)),
    ([(COORDS, OUT)],                              Status.FAIL,          Status.NOT_APPLICABLE,    ("declared_coordinates",)),
    # a declared location clearly outside fails, whatever weak evidence says; the consistency rule reports the disagreement
    ([(COORDS, OUT), (ADDRESS, OUT), (IP2REGION, IN)], Status.FAIL,      Status.INDETERMINATE,     ("declared_coordinates", "address")),
    # weak evidence against a declared inside: check on site, never fail
    ([(COORDS, IN), (IP2REGION, OUT)],             Status.INDETERMINATE, Status.INDETERMINATE,     ("declared_coordinates", "ip2region")),
    ([(COORDS, IN), (MMDB, OUT)],                  Status.INDETERMINATE, Status.INDETERMINATE,     ("declared_coordinates", "mmdb")),
    ([(COORDS, IN), (ANYCAST, OUT)],               Status.INDETERMINATE, Status.INDETERMINATE,     ("declared_coordinates", "latency/anycast")),
    # weak evidence that agrees adds nothing to the basis
    ([(COORDS, IN), (IP2REGION, IN)],              Status.PASS,          Status.PASS,              ("declared_coordinates",)),
    # declarations that contradict each other: indeterminate naming both; the consistency rule fails
    ([(COORDS, IN), (ADDRESS, OUT)],               Status.INDETERMINATE, Status.FAIL,              ("declared_coordinates", "address")),
    # no declared location: never pass, whatever the independent evidence
    ([(IP2REGION, IN)],                            Status.INDETERMINATE, Status.NOT_APPLICABLE,    ("ip2region",)),
    ([(IP2REGION, OUT)],                           Status.INDETERMINATE, Status.NOT_APPLICABLE,    ("ip2region",)),
    ([(IP2REGION, IN), (MMDB, IN)],                Status.INDETERMINATE, Status.PASS,              ("mmdb", "ip2region")),
    ([(LATENCY, IN)],                              Status.INDETERMINATE, Status.NOT_APPLICABLE,    ("latency",)),
    # strong independent evidence outside fails, whatever is declared
    ([(LATENCY, OUT)],                             Status.FAIL,          Status.NOT_APPLICABLE,    ("latency",)),
    ([(COORDS, IN), (LATENCY, OUT)],               Status.FAIL,          Status.FAIL,              ("latency",)),
    # declared outside, round-trip times inside: the declaration looks wrong
    ([(COORDS, OUT), (LATENCY, IN)],               Status.INDETERMINATE, Status.FAIL,              ("declared_coordinates", "latency")),
    # round-trip times that agree with the declaration settle a weak doubt
    ([(COORDS, IN), (LATENCY, IN), (IP2REGION, OUT)], Status.PASS,       Status.PASS,              ("declared_coordinates", "latency")),
    # declared but within its uncertainty of the line
    ([(COORDS, UNSURE)],                           Status.INDETERMINATE, Status.NOT_APPLICABLE,    ("declared_coordinates",)),
    ([(COORDS, UNSURE), (IP2REGION, IN)],          Status.INDETERMINATE, Status.PASS,              ("declared_coordinates", "ip2region")),
    # a declared inside decides over a declared unit that straddles the line
    ([(COORDS, IN), (ADMIN, UNSURE)],              Status.PASS,          Status.PASS,              ("declared_coordinates",)),
]


@pytest.mark.parametrize("evidence, status, consistency, basis", CASES, ids=[
    " ".join(f"{s}:{v.value}" for (s, _), v in case[0]) for case in CASES
])
def test_weight_table_case(registry, evidence, status, consistency, basis):
    where, agree, _ = judged(registry, evidence)
    assert where.status is status, where.message
    assert agree.status is consistency, agree.message
    assert where.basis == basis


def test_messages_say_why(registry):
    doubt, agree, verdict = judged(registry, [(COORDS, IN), (IP2REGION, OUT)])
    assert "declared inside" in doubt.message and "check on site" in doubt.message
    assert "where its block is registered" in doubt.message and doubt.missing.startswith("an on-site check")
    assert verdict is FacilityVerdict.INDETERMINATE
    undeclared, _, _ = judged(registry, [(IP2REGION, IN)])
    assert "no declared location" in undeclared.message and "declared coordinates" in undeclared.missing
    both, agree, verdict = judged(registry, [(COORDS, IN), (ADDRESS, OUT)])
    assert "contradict each other" in both.message and "inside" in both.message and "outside" in both.message
    assert verdict is FacilityVerdict.FAIL  # through the consistency rule: the filing contradicts itself
    proven, _, _ = judged(registry, [(COORDS, IN), (LATENCY, OUT)])
    assert proven.message.startswith("Round-trip times place") and "the declaration is wrong" in proven.message


# -- properties --------------------------------------------------------------------------------

VERDICTS = st.sampled_from([IN, OUT, UNSURE])
DECLARED_EVIDENCE = st.lists(st.tuples(st.sampled_from(DECLARED_KINDS), VERDICTS), max_size=3)
STRONG_EVIDENCE = st.lists(st.tuples(st.just(LATENCY), VERDICTS), max_size=1)
WEAK_EVIDENCE = st.lists(st.tuples(st.sampled_from(WEAK_KINDS), VERDICTS), min_size=1, max_size=4)

_RANK = {FacilityVerdict.PASS: 0, FacilityVerdict.INDETERMINATE: 1, FacilityVerdict.FAIL: 2}


@settings(max_examples=300, deadline=None, derandomize=True)
@given(DECLARED_EVIDENCE, STRONG_EVIDENCE, WEAK_EVIDENCE)
def test_weak_evidence_never_makes_a_pass_and_never_rescues_a_fail(registry, declared, strong, weak):
    before_where, _, before = judged(registry, declared + strong)
    after_where, _, after = judged(registry, declared + strong + weak)
    if after_where.status is Status.PASS:
        assert before_where.status is Status.PASS  # weak evidence turned nothing into a pass
    if before_where.status is Status.FAIL:
        assert after_where.status is Status.FAIL  # nor a location fail into anything else
    if after is FacilityVerdict.PASS:
        assert before is FacilityVerdict.PASS
    if before is FacilityVerdict.FAIL:
        assert after is FacilityVerdict.FAIL
    # and weak evidence fails nothing on its own: the facility is never worse than indeterminate for it
    assert _RANK[after] <= max(_RANK[before], _RANK[FacilityVerdict.INDETERMINATE])


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from((LATENCY, *WEAK_KINDS)), VERDICTS), max_size=5))
def test_without_a_declared_location_nothing_passes(registry, independent):
    where, _, verdict = judged(registry, independent)
    assert where.status is not Status.PASS and verdict is not FacilityVerdict.PASS
    if where.status is Status.FAIL:
        assert (LATENCY, OUT) in independent  # only physics fails an undeclared facility


@settings(max_examples=200, deadline=None, derandomize=True)
@given(DECLARED_EVIDENCE, STRONG_EVIDENCE, st.lists(st.tuples(st.sampled_from(WEAK_KINDS), VERDICTS), max_size=4))
def test_a_pass_always_rests_on_a_declared_location_inside(registry, declared, strong, weak):
    where, _, _ = judged(registry, declared + strong + weak)
    if where.status is Status.PASS:
        assert any(v is IN for _, v in declared)
        assert (LATENCY, OUT) not in strong
        assert where.basis and WEIGHTS[where.basis[0]].role == DECLARED


# -- the traps, end to end ---------------------------------------------------------------------

YANJIAO = (116.8300, 39.9620)     # Yanjiao, Sanhe (Hebei), east of Beijing's Tongzhou: outside Beijing
GUOMAO = (116.4610, 39.9090)      # Chaoyang, Beijing


@pytest.fixture(scope="module")
def beijing_ip():
    db = XdbDatabase.load()
    rid = db.regions.index(next(t for t in db.regions if t.startswith("中国|0|北京|北京市|")))
    i = int(np.flatnonzero(db.region_ids == rid)[0])
    return str(ipaddress.IPv4Address((int(db.starts[i]) + int(db.ends[i])) // 2))


def _beijing_audit(tmp_path, rows):
    path = write_csv(tmp_path / "list.csv", ["id", "name", "kind", "lon", "lat", "crs", "address", "ip"], rows)
    result = audit(path, region="beijing", as_of=dt.date(2026, 11, 1))
    return {f.id: f for f in result.facilities}, result


def test_yanjiao_data_centre_on_a_beijing_block(tmp_path, beijing_ip):
    facilities, result = _beijing_audit(tmp_path, [
        ["YJ-IP", "燕郊数据中心", "IDC", "", "", "", "", beijing_ip],
        ["YJ-DECL", "燕郊数据中心", "IDC", *YANJIAO, "wgs84", "河北省廊坊市三河市燕郊镇", beijing_ip],
        ["BJ", "国贸机房", "IDC", *GUOMAO, "wgs84", "北京市朝阳区建国门外大街1号", ""],
    ])

    def where(fid):
        return next(x for x in result.facility_findings[fid] if x.rule == "facility_in_region")

    # an IP-only row never passes: the block is registered in Beijing, the building may be anywhere
    assert where("YJ-IP").status is Status.INDETERMINATE and where("YJ-IP").basis == ("ip2region",)
    assert result.facility_verdict(facilities["YJ-IP"]) is FacilityVerdict.INDETERMINATE
    # coordinates and address clearly outside fail in facility_in_region itself, whatever the IP says
    assert where("YJ-DECL").status is Status.FAIL
    assert where("YJ-DECL").basis == ("declared_coordinates", "address")
    # clearly inside, with an agreeing address, passes
    assert where("BJ").status is Status.PASS and result.facility_verdict(facilities["BJ"]) is FacilityVerdict.PASS


def test_basis_reaches_every_output(tmp_path, beijing_ip):
    import json

    from auditor.report import render

    _, result = _beijing_audit(tmp_path, [
        ["YJ-IP", "燕郊数据中心", "IDC", "", "", "", "", beijing_ip],
        ["BJ", "国贸机房", "IDC", *GUOMAO, "wgs84", "北京市朝阳区建国门外大街1号", ""],
    ])
    stamp = "2026-11-01T00:00:00+00:00"
    report = json.loads(render(result, "json", generated_at=stamp))
    assert {f["id"]: f["basis"] for f in report["facilities"]} == {"YJ-IP": ["ip2region"], "BJ": ["declared_coordinates", "address"]}
    assert report["summary"]["location_basis"] == {"declared_coordinates+address": 1, "ip2region": 1}
    md = render(result, "md", generated_at=stamp)
    assert "| YJ-IP | 2 | IDC | **indeterminate** | ip2region |" in md
    assert "| declared coordinates + declared address | 1 |" in md
    import csv as csv_module
    import io

    rows = list(csv_module.DictReader(io.StringIO(render(result, "csv", generated_at=stamp).lstrip("\ufeff"))))
    assert [(r["id"], r["verdict"], r["basis"]) for r in rows] == [("YJ-IP", "indeterminate", "ip2region"), ("BJ", "pass", "declared_coordinates+address")]
    assert "<td>declared coordinates + declared address</td>" in render(result, "html", generated_at=stamp)
    features = json.loads(render(result, "geojson", generated_at=stamp))["features"]
    assert [f["properties"]["basis"] for f in features if f["properties"].get("layer") == "facility"] == [["ip2region"], ["declared_coordinates", "address"]]


# -- the README's table ------------------------------------------------------------------------

def test_readme_table_is_the_codes_table():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z0-9_/]+)` \| (declared|independent) \| (decisive|strong|weak) \|", readme, flags=re.M)
    assert rows, "the README has no weight table"
    assert {key: (role, strength) for key, role, strength in rows} == {k: (w.role, w.strength) for k, w in WEIGHTS.items()}
    assert all(w.role in (DECLARED, INDEPENDENT) and w.strength in ("decisive", STRONG, WEAK) for w in WEIGHTS.values())
    assert basis_text(["declared_coordinates", "ip2region"]) == "declared coordinates + ip2region"
