"""Programmes in the rules (issue 19, items 2-4): services and caps by programme, the pilot approval, region status.

One group per rule, each with pass, fail and indeterminate (or not-applicable) cases; the 2024 notice
(工信部通信函〔2024〕107号) and the 2025 work plan (商资函〔2025〕84号) side by side.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import AS_OF, DISHUI_LAKE

from auditor.engine import audit
from auditor.errors import InputError
from auditor.inventory.profile import parse_profile
from auditor.model import Status

HEADER = ["id", "kind", "tenure", "lon", "lat", "crs", "address"]
TIANHE = (113.3245, 23.1064)  # Tianhe district, Guangzhou
LINGANG = {"name": "Test Co", "region": "shanghai", "services": ["IDC"], "foreign_equity_pct": 100}
GUANGZHOU = {"name": "Test Co", "programme": "workplan-2025-84", "region": "guangzhou", "services": ["IP-VPN"], "foreign_equity_pct": 50}
APPROVAL = {"number": "工信部电管函〔2025〕123号 (fictional)", "date": "2025-02-26", "authority": "工业和信息化部", "region": "shanghai", "services": ["IDC"]}


def run(make_operator, profile, rows=None, as_of=AS_OF):
    if rows is None:
        point = TIANHE if profile.get("region") == "guangzhou" else DISHUI_LAKE
        rows = [["A", "IDC", "owned", *point, "wgs84", ""]]
    return audit(make_operator(profile, HEADER, rows), as_of=as_of)


def finding(result, rule):
    (f,) = [x for x in result.operator_findings if x.rule == rule]
    return f


# -- equity_within_cap -----------------------------------------------------------------------------------
@pytest.mark.parametrize("profile, status, words", [
    (LINGANG, Status.PASS, ["100 %", "idc (no cap)", "工信部通信函〔2024〕107号"]),
    ({**GUANGZHOU, "foreign_equity_pct": 50}, Status.PASS, ["50 %", "ip_vpn (cap 50 %", "商资函〔2025〕84号"]),
    ({**GUANGZHOU, "foreign_equity_pct": 50.5}, Status.FAIL, ["50.5 % exceeds", "ip_vpn (cap 50 %"]),
    ({**GUANGZHOU, "services": ["ISP", "应用商店", "IP-VPN"], "foreign_equity_pct": 100}, Status.FAIL, ["ip_vpn"]),
    ({**GUANGZHOU, "services": ["ISP", "App Store"], "foreign_equity_pct": 100}, Status.PASS, ["isp (no cap; Internet access services limited to providing Internet access to users)", "app_store (no cap"]),
    ({**GUANGZHOU, "foreign_equity_pct": None}, Status.INDETERMINATE, ["no foreign equity", "ip_vpn 50 %"]),
    ({**LINGANG, "services": ["IP-VPN"]}, Status.NOT_APPLICABLE, ["No declared service is a category 工信部通信函〔2024〕107号 opens"]),
    ({**LINGANG, "programme": "notice-2099"}, Status.INDETERMINATE, ["'notice-2099'", "workplan-2025-84 (商资函〔2025〕84号)"]),
])
def test_equity_within_cap(make_operator, profile, status, words):
    f = finding(run(make_operator, profile), "equity_within_cap")
    assert f.status is status, f.message
    for w in words:
        assert w in f.message, (w, f.message)
    if status is Status.INDETERMINATE and profile.get("foreign_equity_pct", 0) is None:
        assert "foreign_equity_pct" in f.missing


def test_equity_not_applicable_without_a_profile(tmp_path):
    from conftest import write_csv

    p = write_csv(tmp_path / "f.csv", HEADER, [["A", "IDC", "owned", *DISHUI_LAKE, "wgs84", ""]])
    assert finding(audit(p, region="shanghai", as_of=AS_OF), "equity_within_cap").status is Status.NOT_APPLICABLE


# -- service_eligible under each programme --------------------------------------------------------------------
@pytest.mark.parametrize("profile, status, words", [
    ({**LINGANG, "services": ["IDC", "CDN"]}, Status.PASS, ["opened by 工信部通信函〔2024〕107号"]),
    ({**LINGANG, "services": ["IDC", "IP-VPN"]}, Status.FAIL, ["Not opened by 工信部通信函〔2024〕107号", "IP-VPN", "opened by 商资函〔2025〕84号"]),
    ({**GUANGZHOU, "services": ["IP-VPN", "App Store", "ISP"]}, Status.PASS, ["ip_vpn, app_store, isp"]),
    ({**GUANGZHOU, "services": ["IDC"]}, Status.FAIL, ["Not opened by 商资函〔2025〕84号", "opened by 工信部通信函〔2024〕107号"]),
    ({**GUANGZHOU, "services": ["网络视听"]}, Status.FAIL, ["Not opened by 商资函〔2025〕84号"]),
    ({**LINGANG, "services": ["网络视听"]}, Status.FAIL, ["Excluded from the pilot"]),
])
def test_service_eligible_by_programme(make_operator, profile, status, words):
    f = finding(run(make_operator, profile), "service_eligible")
    assert f.status is status, f.message
    for w in words:
        assert w in f.message, (w, f.message)


# -- region_active under each programme -------------------------------------------------------------------------
@pytest.mark.parametrize("profile, day, status, words", [
    (GUANGZHOU, AS_OF, Status.PASS, ["active region of 商资函〔2025〕84号", "since 2025-04-11", "Not published, so not checked"]),
    (GUANGZHOU, dt.date(2025, 4, 10), Status.FAIL, ["not yet a region of 商资函〔2025〕84号"]),
    ({**GUANGZHOU, "region": "shanghai"}, AS_OF, Status.FAIL, ["shanghai is not a region of 商资函〔2025〕84号", "shanghai-municipality", "it is a region of 工信部通信函〔2024〕107号"]),
    ({**LINGANG, "region": "guangzhou"}, AS_OF, Status.FAIL, ["guangzhou is not a region of 工信部通信函〔2024〕107号"]),
    ({**GUANGZHOU, "region": "beijing"}, dt.date(2025, 5, 1), Status.PASS, ["active region of 商资函〔2025〕84号"]),
    ({**LINGANG, "region": "beijing"}, dt.date(2024, 6, 1), Status.FAIL, ["announced but not yet approved"]),
])
def test_region_active_by_programme(make_operator, profile, day, status, words):
    rows = [["A", "IDC", "owned", 116.4, 39.9, "wgs84", ""]] if profile["region"] == "beijing" else None
    f = finding(run(make_operator, profile, rows=rows, as_of=day), "region_active")
    assert f.status is status, f.message
    for w in words:
        assert w in f.message, (w, f.message)


# -- pilot_approval_covers_services ------------------------------------------------------------------------------
@pytest.mark.parametrize("approvals, services, status, words", [
    ([APPROVAL], ["IDC"], Status.PASS, ["idc by 工信部电管函〔2025〕123号 (fictional) (2025-02-26, 工业和信息化部)"]),
    (None, ["IDC"], Status.INDETERMINATE, ["gives no approval", "试点批复"]),
    ([{**APPROVAL, "region": "beijing"}], ["IDC"], Status.FAIL, ["is for beijing, not shanghai"]),
    ([{**APPROVAL, "date": "2027-01-05"}], ["IDC"], Status.FAIL, ["dated 2027-01-05, after the audit date 2026-11-01"]),
    ([APPROVAL], ["IDC", "CDN"], Status.INDETERMINATE, ["cdn: no approval given lists it", "covered: idc by"]),
    ([{**APPROVAL, "date": None}], ["IDC"], Status.INDETERMINATE, ["gives no date"]),
    ([{**APPROVAL, "authority": "上海市通信管理局"}], ["IDC"], Status.INDETERMINATE, ["names 上海市通信管理局 issuing authority", "MIIT"]),
    ([{**APPROVAL, "region": "beijing", "services": ["IDC"]}, {**APPROVAL, "services": ["IDC"]}], ["IDC"], Status.PASS, ["idc by"]),  # one good approval is enough
    ([{**APPROVAL, "region": "上海自贸试验区临港新片区及浦东社会主义现代化建设引领区"}], ["IDC"], Status.PASS, ["idc by"]),  # the region's name
    ([{**APPROVAL, "services": ["互联网数据中心业务", "B12"]}], ["IDC", "CDN"], Status.PASS, ["idc, cdn by"]),
])
def test_pilot_approval(make_operator, approvals, services, status, words):
    profile = {**LINGANG, "services": services}
    if approvals is not None:
        profile["approvals"] = approvals
    f = finding(run(make_operator, profile), "pilot_approval_covers_services")
    assert f.status is status, f.message
    for w in words:
        assert w in f.message, (w, f.message)
    if status is Status.INDETERMINATE:
        assert "approvals" in f.missing
    assert f.clause == "Notice III"


def test_pilot_approval_under_the_2025_plan(make_operator):
    f = finding(run(make_operator, GUANGZHOU), "pilot_approval_covers_services")
    assert f.status is Status.NOT_APPLICABLE and "names no approval" in f.message and "商资函〔2025〕84号" in f.message
    given = {**GUANGZHOU, "approvals": [{**APPROVAL, "region": "shenzhen", "services": ["IP-VPN"]}]}
    f = finding(run(make_operator, given), "pilot_approval_covers_services")
    assert f.status is Status.FAIL and "is for shenzhen, not guangzhou" in f.message


def test_the_2024_approval_date_is_after_the_as_of_date_only_on_earlier_days(make_operator):
    profile = {**LINGANG, "approvals": [APPROVAL]}
    assert finding(run(make_operator, profile, as_of=dt.date(2025, 2, 26)), "pilot_approval_covers_services").status is Status.PASS
    assert finding(run(make_operator, profile, as_of=dt.date(2025, 2, 25)), "pilot_approval_covers_services").status is Status.FAIL


# -- the profile ------------------------------------------------------------------------------------------------
def test_profile_reads_programme_and_approvals():
    op = parse_profile({**LINGANG, "programme": "workplan-2025-84", "approvals": {**APPROVAL, "date": dt.date(2025, 2, 26)}}, source="p.yaml")
    assert op.programme == "workplan-2025-84"
    (a,) = op.approvals
    assert (a.number, a.date, a.authority, a.region, a.services) == (APPROVAL["number"], dt.date(2025, 2, 26), "工业和信息化部", "shanghai", ("IDC",))
    assert parse_profile(LINGANG, source="p.yaml").programme == ""  # the registry's default


@pytest.mark.parametrize("approvals, words", [
    ("工信部...", "must be a list of approvals"),
    ([{**APPROVAL, "date": "26/02/2025"}], "approvals[1].date"),
    ([{**APPROVAL, "signed_by": "x"}], "approvals[1].signed_by"),
    ([["IDC"]], "approvals[1] must be a mapping"),
    ([{**APPROVAL, "region": ["shanghai"]}], "approvals[1].region"),
])
def test_profile_rejects_bad_approvals(approvals, words):
    with pytest.raises(InputError) as e:
        parse_profile({**LINGANG, "approvals": approvals}, source="p.yaml")
    assert words in str(e.value)


# -- a 2025-plan operator located through admin units and polygons ------------------------------------------------
def test_a_guangzhou_operator_is_audited_through_addresses_and_coordinates(make_operator):
    rows = [
        ["tianhe-xy", "IDC", "owned", *TIANHE, "wgs84", ""],
        ["tianhe-addr", "IDC", "owned", "", "", "", "广东省广州市天河区珠江新城"],
        ["dongguan-addr", "IDC", "owned", "", "", "", "广东省东莞市南城街道"],
        ["guangdong-addr", "IDC", "owned", "", "", "", "广东省"],
    ]
    result = run(make_operator, GUANGZHOU, rows=rows)
    verdicts = {f.id: result.facility_verdict(f).value for f in result.facilities}
    assert verdicts["tianhe-xy"] == "pass"
    assert verdicts["dongguan-addr"] == "fail"
    assert verdicts["guangdong-addr"] == "indeterminate"
    # an address alone is declared evidence at unit precision: inside its unit, so it passes
    assert verdicts["tianhe-addr"] == "pass"
