"""One test group per rule, each with pass, fail and indeterminate (or not-applicable) cases."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from pathlib import Path

import pytest
import yaml
from conftest import AS_OF, DISHUI_LAKE, HANGZHOU, PUDONG_ZHANGJIANG, XUJIAHUI

import auditor.rules as rules_pkg
from auditor.engine import audit
from auditor.model import Status
from auditor.rules import RULE_IDS, all_rules
from auditor.rules.base import OPERATOR

HEADER = ["id", "kind", "tenure", "lon", "lat", "crs", "adcode"]
BASE = {"name": "Test Co", "region": "shanghai", "services": ["IDC"]}


def op_findings(result, rule):
    return [f for f in result.operator_findings if f.rule == rule]


def fac_findings(result, fid, rule):
    return [f for f in result.facility_findings.get(fid, []) if f.rule == rule]


def run(make_operator, profile=None, rows=None, as_of=AS_OF, **kw):
    rows = rows if rows is not None else [["A", "IDC", "owned", *DISHUI_LAKE, "wgs84", ""]]
    path = make_operator({**BASE, **(profile or {})}, HEADER, rows)
    return audit(path, as_of=as_of, **kw)


# -- the catalogue -------------------------------------------------------------------------

def test_every_rule_module_is_catalogued_and_id_is_module_name():
    found = {m.name for m in pkgutil.iter_modules(rules_pkg.__path__) if not m.name.startswith("_") and m.name != "base"}
    assert found == set(RULE_IDS)
    for rid in RULE_IDS:
        mod = importlib.import_module(f"auditor.rules.{rid}")
        assert mod.SPEC.id == rid
        assert mod.SPEC.clauses and mod.SPEC.rationale and mod.SPEC.remediation and mod.SPEC.title
        assert mod.SPEC.scope in ("operator", "facility")


def test_clause_table_and_rules_agree():
    doc = yaml.safe_load((Path(rules_pkg.__file__).parent.parent / "data" / "clauses.yaml").read_text(encoding="utf-8"))
    table = {clause: set(c["rules"]) for clause, c in doc["clauses"].items()}
    from_rules: dict[str, set[str]] = {}
    for mod in all_rules():
        for clause in mod.SPEC.clauses:
            from_rules.setdefault(clause, set()).add(mod.SPEC.id)
    assert table == from_rules
    for c in doc["clauses"].values():
        assert c["summary"].strip()


# -- service_eligible ----------------------------------------------------------------------

@pytest.mark.parametrize(
    "services, status",
    [
        (["IDC", "CDN"], Status.PASS),
        (["互联网数据中心", "B12"], Status.PASS),
        (["IDC", "online audio and video"], Status.FAIL),
        (["互联网新闻信息"], Status.FAIL),
        (["IDC", "quantum teleportation"], Status.INDETERMINATE),
        ([], Status.INDETERMINATE),
    ],
)
def test_service_eligible(make_operator, services, status):
    result = run(make_operator, {"services": services})
    (f,) = op_findings(result, "service_eligible")
    assert f.status is status


def test_service_eligible_not_applicable_for_bare_list(tmp_path):
    from conftest import write_csv

    p = write_csv(tmp_path / "f.csv", HEADER, [["A", "IDC", "owned", *DISHUI_LAKE, "wgs84", ""]])
    result = audit(p, region="shanghai", as_of=AS_OF)
    assert op_findings(result, "service_eligible")[0].status is Status.NOT_APPLICABLE
    assert op_findings(result, "registration_in_region")[0].status is Status.NOT_APPLICABLE


# -- region_active -------------------------------------------------------------------------

@pytest.mark.parametrize(
    "day, status",
    [
        (dt.date(2024, 1, 1), Status.FAIL),      # before the notice
        (dt.date(2024, 6, 1), Status.FAIL),      # announced, not approved
        (dt.date(2024, 10, 23), Status.PASS),    # the day of the approvals
        (dt.date(2026, 11, 1), Status.PASS),
    ],
)
def test_region_active_by_date(make_operator, day, status):
    result = run(make_operator, as_of=day)
    (f,) = op_findings(result, "region_active")
    assert f.status is status
    assert str(day) in f.message


def test_region_active_exit_and_scope_reduction(tmp_path, make_operator):
    """A registry entry for an exit or a scope reduction changes the verdict from its date on."""
    import shutil

    from auditor.regions import load_registry

    root = tmp_path / "boundaries"
    shutil.copytree(Path(rules_pkg.__file__).parents[2] / "boundaries", root)
    doc = yaml.safe_load((root / "regions.yaml").read_text(encoding="utf-8"))
    doc["sources"]["test-exit"] = {"title": "test notice", "date": dt.date(2026, 1, 1)}
    doc["regions"]["shanghai"]["status"].append({"programme": "notice-2024-107", "date": dt.date(2026, 1, 1), "status": "scope_reduced", "services": ["idc"], "source": "test-exit"})
    doc["regions"]["shanghai"]["status"].append({"programme": "notice-2024-107", "date": dt.date(2026, 6, 1), "status": "exited", "source": "test-exit"})
    (root / "regions.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    reg = load_registry(root)
    path = make_operator({**BASE, "services": ["IDC", "CDN"]}, HEADER, [["A", "IDC", "owned", *DISHUI_LAKE, "wgs84", ""]])
    before = audit(path, as_of=dt.date(2025, 12, 31), registry=reg)
    reduced = audit(path, as_of=dt.date(2026, 3, 1), registry=reg)
    exited = audit(path, as_of=dt.date(2026, 7, 1), registry=reg)
    assert [f.status for f in op_findings(before, "region_active")] == [Status.PASS]
    (r,) = op_findings(reduced, "region_active")
    assert r.status is Status.FAIL and "CDN" in r.message and "IDC" not in r.message.split("covers:")[1]
    (e,) = op_findings(exited, "region_active")
    assert e.status is Status.FAIL and "no longer a pilot region" in e.message


# -- registration_in_region ----------------------------------------------------------------

@pytest.mark.parametrize(
    "registration, status",
    [
        ({"lon": DISHUI_LAKE[0], "lat": DISHUI_LAKE[1], "crs": "wgs84"}, Status.PASS),
        ({"lon": XUJIAHUI[0], "lat": XUJIAHUI[1], "crs": "wgs84"}, Status.FAIL),
        ({"adcode": "310115"}, Status.PASS),
        ({"adcode": "310104"}, Status.FAIL),
        ({"adcode": "310120"}, Status.INDETERMINATE),  # Fengxian straddles the Jinhui line
        ({"address": "上海市浦东新区某路1号"}, Status.PASS),          # address evidence: Pudong
        ({"address": "上海市奉贤区某路1号"}, Status.INDETERMINATE),    # Fengxian straddles the Jinhui cut
        ({"address": "上海市徐汇区漕溪北路1号"}, Status.FAIL),          # Puxi
        ({"address": "临港新片区环湖西二路888号"}, Status.PASS),        # Lingang named, no district
        ({"address": "somewhere, somehow"}, Status.INDETERMINATE),
        ({}, Status.INDETERMINATE),
    ],
)
def test_registration_in_region(make_operator, registration, status):
    result = run(make_operator, {"registration": registration})
    (f,) = op_findings(result, "registration_in_region")
    assert f.status is status
    if status is Status.INDETERMINATE:
        assert f.missing


# -- facility_in_region --------------------------------------------------------------------

def test_facility_in_region_pass_fail_indeterminate(make_operator):
    rows = [
        ["in", "IDC", "rented", *PUDONG_ZHANGJIANG, "wgs84", ""],
        ["out", "IDC", "purchased", *HANGZHOU, "wgs84", ""],
        ["near", "IDC", "owned", 121.5061, 30.9300, "wgs84", ""],  # ~300 m east of the Jinhui line
        ["coarse", "IDC", "owned", "121.5", "31.2", "wgs84", ""],  # one decimal: ±~7 km, 1-3 km from the Huangpu line
        ["none", "IDC", "owned", "", "", "", ""],
    ]
    result = run(make_operator, rows=rows)
    status = {fid: fac_findings(result, fid, "facility_in_region")[0].status for fid in ("in", "out", "near", "coarse", "none")}
    assert status == {
        "in": Status.PASS, "out": Status.FAIL, "near": Status.INDETERMINATE,
        "coarse": Status.INDETERMINATE, "none": Status.INDETERMINATE,
    }
    out = fac_findings(result, "out", "facility_in_region")[0]
    assert "outside shanghai" in out.message and "(purchased)" in out.message and out.evidence == ("out#coordinates",)
    near = fac_findings(result, "near", "facility_in_region")[0]
    assert "1,000 m" in near.message  # the Lingang cut's accuracy is named


def test_facility_gcj_and_bd_coordinates_are_converted(make_operator):
    from auditor.geo.crs import from_wgs84

    g_lon, g_lat = from_wgs84(*XUJIAHUI, "gcj02")
    b_lon, b_lat = from_wgs84(*XUJIAHUI, "bd09")
    rows = [["g", "IDC", "owned", f"{float(g_lon):.7f}", f"{float(g_lat):.7f}", "gcj02", ""], ["b", "IDC", "owned", f"{float(b_lon):.7f}", f"{float(b_lat):.7f}", "bd09", ""]]
    result = run(make_operator, rows=rows)
    for fid in ("g", "b"):
        claim = result.claims[fid][0]
        assert abs(claim.lon - XUJIAHUI[0]) < 1e-6 and abs(claim.lat - XUJIAHUI[1]) < 1e-6
        assert fac_findings(result, fid, "facility_in_region")[0].status is Status.FAIL


def test_unstated_crs_widens_the_claim(make_operator):
    rows = [["u", "IDC", "owned", "121.593000", "31.204000", "", ""], ["s", "IDC", "owned", "121.593000", "31.204000", "wgs84", ""]]
    result = run(make_operator, rows=rows)
    unstated, stated = result.claims["u"][0], result.claims["s"][0]
    assert stated.uncertainty_m < 1
    assert 300 < unstated.uncertainty_m < 1200
    assert any("not stated" in n for n in unstated.notes)
    assert result.warnings


def test_error_rows_get_no_findings_and_error_verdict(make_operator):
    rows = [["bad", "IDC", "owned", "121.5O", "31.2", "wgs84", ""], ["ok", "IDC", "owned", *DISHUI_LAKE, "wgs84", ""]]
    result = run(make_operator, rows=rows)
    bad = next(f for f in result.facilities if f.id == "bad")
    assert result.facility_verdict(bad).value == "error"
    assert "bad" not in result.facility_findings
    assert result.verdict != "fail" and result.exit_code == 3  # a row could not be read and nothing failed (issue 25)


# -- cdn_nodes_in_region -------------------------------------------------------------------

def test_cdn_nodes(make_operator):
    rows = [
        ["edge-in", "CDN", "rented", *PUDONG_ZHANGJIANG, "wgs84", ""],
        ["edge-out", "CDN", "rented", *HANGZHOU, "wgs84", ""],
        ["edge-near", "CDN", "rented", 121.5061, 30.9300, "wgs84", ""],
    ]
    result = run(make_operator, {"services": ["IDC", "CDN"], "cdn": {"accelerated_domains": ["www.example.com"]}}, rows)
    got = {fid: fac_findings(result, fid, "cdn_nodes_in_region")[0].status for fid in ("edge-in", "edge-out", "edge-near")}
    assert got == {"edge-in": Status.PASS, "edge-out": Status.FAIL, "edge-near": Status.INDETERMINATE}
    (op,) = op_findings(result, "cdn_nodes_in_region")
    assert op.status is Status.INDETERMINATE and "www.example.com" in op.message and "DNS" in op.missing


def test_cdn_not_applicable_without_cdn(make_operator):
    result = run(make_operator)
    assert [f.status for f in op_findings(result, "cdn_nodes_in_region")] == [Status.NOT_APPLICABLE]


# -- isp_footprint_in_region and isp_upstream_basic_telecom --------------------------------

def test_isp_footprint(make_operator):
    pop_in = ["pop1", "ISP_POP", "rented", *DISHUI_LAKE, "wgs84", ""]
    pop_out = ["pop2", "ISP_POP", "rented", *XUJIAHUI, "wgs84", ""]
    isp = {"services": ["ISP"], "isp": {"service_area": ["浦东新区"], "upstream_asns": [4134]}}
    passing = run(make_operator, {**isp, "isp": {**isp["isp"], "prefixes": []}}, [pop_in])
    failing = run(make_operator, isp, [pop_in, pop_out])
    assert op_findings(passing, "isp_footprint_in_region")[0].status is Status.INDETERMINATE  # no address space declared
    f = op_findings(failing, "isp_footprint_in_region")[0]
    assert f.status is Status.FAIL and "pop2" in f.message
    with_prefixes = run(make_operator, {**isp, "isp": {**isp["isp"], "prefixes": ["203.0.113.0/24"]}}, [pop_in])
    g = op_findings(with_prefixes, "isp_footprint_in_region")[0]
    # a documentation prefix: no address of it is placed anywhere
    assert g.status is Status.INDETERMINATE and "256 not placed by the IP database" in g.message
    area_out = run(make_operator, {**isp, "isp": {"service_area": ["徐汇区"], "prefixes": ["203.0.113.0/24"]}}, [pop_in])
    assert op_findings(area_out, "isp_footprint_in_region")[0].status is Status.FAIL
    assert op_findings(run(make_operator), "isp_footprint_in_region")[0].status is Status.NOT_APPLICABLE


@pytest.mark.parametrize(
    "asns, status, named",
    [
        ([4134, 4837, "AS9808"], Status.PASS, ""),
        ([9394], Status.PASS, "China Mobile"),                         # China TieTong, merged into China Mobile
        ([4134, 13335], Status.INDETERMINATE, "AS13335"),              # neither listed nor named by holder
        ([], Status.INDETERMINATE, ""),
        ([4134, 23764], Status.FAIL, "international arm"),             # China Telecom Global
        ([58453], Status.FAIL, "China Mobile International"),
        ([4837, 37963], Status.FAIL, "not a basic telecommunications enterprise's network: AS37963"),  # a cloud
    ],
)
def test_isp_upstream_basic_telecom(make_operator, asns, status, named):
    result = run(make_operator, {"services": ["ISP"], "isp": {"upstream_asns": asns}})
    (f,) = op_findings(result, "isp_upstream_basic_telecom")
    assert f.status is status, f.message
    assert named in f.message


def test_networks_are_classified_by_list_then_by_registered_holder():
    from auditor.engine.plan import load_basic_telecom

    table = load_basic_telecom()[0]
    assert table.classify(9394).kind == "access" and table.classify(9394).owner == "China Mobile"
    assert table.classify(10099).kind == "international" and table.classify(55990).kind == "not_basic"
    assert table.classify(4538).kind == "not_basic"  # CERNET: research network, not a basic carrier's
    # not listed: the registered holder decides, international patterns before domestic ones
    assert table.classify(64500, "CHINANET-SH-AP China Telecom (Group)").kind == "access"
    assert table.classify(64500, "CHINA TELECOM GLOBAL LIMITED").kind == "international"
    assert table.classify(64500, "China Broadcasting Network Corporation Ltd.").owner == "China Broadnet"
    assert table.classify(64500, "Example Hosting Ltd").kind == "unknown"
    assert table.classify(64500).how == "not listed, holder unknown"


def test_isp_upstream_not_applicable(make_operator):
    assert op_findings(run(make_operator), "isp_upstream_basic_telecom")[0].status is Status.NOT_APPLICABLE


# -- location_evidence_consistent ----------------------------------------------------------

def test_location_evidence_consistent(make_operator):
    rows = [
        ["agree", "IDC", "owned", *PUDONG_ZHANGJIANG, "wgs84", "310115"],
        ["clash", "IDC", "owned", *XUJIAHUI, "wgs84", "310115"],
        ["single", "IDC", "owned", *PUDONG_ZHANGJIANG, "wgs84", ""],
    ]
    result = run(make_operator, rows=rows)
    got = {fid: fac_findings(result, fid, "location_evidence_consistent")[0].status for fid in ("agree", "clash", "single")}
    assert got == {"agree": Status.PASS, "clash": Status.FAIL, "single": Status.NOT_APPLICABLE}
    assert fac_findings(result, "clash", "facility_in_region")[0].status is Status.INDETERMINATE
    assert result.facility_verdict(next(f for f in result.facilities if f.id == "clash")).value == "fail"


def test_contradicting_admin_levels(make_operator, tmp_path):
    from conftest import write_csv

    p = write_csv(tmp_path / "f.csv", ["id", "province", "city"], [["yj", "北京", "燕郊"], ["ok", "上海", "浦东新区"]])
    result = audit(p, region="beijing", as_of=AS_OF)
    (c,) = fac_findings(result, "yj", "location_evidence_consistent")
    assert c.status is Status.FAIL and "燕郊" in c.message
    ok = fac_findings(result, "ok", "facility_in_region")[0]
    assert ok.status is Status.FAIL  # Pudong is outside Beijing


def test_operator_subject_is_reserved():
    assert OPERATOR == "(operator)"
