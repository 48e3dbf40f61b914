"""Addresses through the whole audit (issue 19, item 8's remainder).

The address text reaches the admin relation (an islet named voids the island assumption), the
assumption an inside verdict rests on is stated in the finding, 临港 under Minhang is not Lingang,
and development zones (洋浦, 外高桥, 张江, 前海, 亦庄, 河套) are placed by the units they lie in.
"""

from __future__ import annotations

import pytest
from conftest import AS_OF

from auditor.engine import audit
from auditor.engine.judge import contain
from auditor.geo.containment import Verdict
from auditor.resolve.address import claim_for_parse, parse_address

HEADER = ["id", "kind", "tenure", "address"]


def run(make_operator, region, addresses):
    rows = [[f"F{i}", "IDC", "owned", a] for i, a in enumerate(addresses)]
    path = make_operator({"name": "Test Co", "region": region, "services": ["IDC"]}, HEADER, rows)
    result = audit(path, as_of=AS_OF)
    out = {}
    for f in result.facilities:
        (finding,) = [x for x in result.facility_findings.get(f.id, []) if x.rule == "facility_in_region"]
        out[f.address] = (result.facility_verdict(f).value, finding.message)
    return out


def test_island_assumption_is_stated_and_a_named_islet_voids_it(make_operator):
    got = run(make_operator, "hainan", ["海南省文昌市龙楼镇", "海南省文昌市七洲列岛北峙", "海南省陵水黎族自治县英州镇", "海南省海口市美兰区"])
    verdict, message = got["海南省文昌市龙楼镇"]
    assert verdict == "pass"
    assert "assumption:" in message and "Qizhou" in message and "no islet named" in message
    verdict, message = got["海南省文昌市七洲列岛北峙"]
    assert verdict == "indeterminate"
    assert "七洲列岛" in message and "assumption:" not in message
    assert got["海南省陵水黎族自治县英州镇"][0] == "pass" and "assumption:" in got["海南省陵水黎族自治县英州镇"][1]
    verdict, message = got["海南省海口市美兰区"]
    assert verdict == "pass" and "assumption" not in message  # wholly on the island: nothing assumed


def test_contain_passes_the_address_text_to_the_admin_relation(registry):
    region = registry.region("hainan")
    plain = claim_for_parse("A", parse_address("海南省文昌市", registry))
    islet = claim_for_parse("B", parse_address("海南省文昌市七洲列岛", registry))
    assert plain.kind == islet.kind == "admin_unit" and plain.adcode == islet.adcode == "469005"
    got = contain(region, [plain, islet])
    assert got[plain.id].verdict is Verdict.INSIDE and "assumption:" in got[plain.id].reason
    assert got[islet.id].verdict is Verdict.INDETERMINATE and "七洲列岛" in got[islet.id].reason


def test_lingang_named_under_minhang_is_outside_shanghai(make_operator):
    got = run(make_operator, "shanghai", ["上海市闵行区浦江镇临港", "上海市浦东新区临港", "上海市奉贤区临港新片区"])
    assert got["上海市闵行区浦江镇临港"][0] == "fail"
    assert got["上海市浦东新区临港"][0] == "pass"
    assert got["上海市奉贤区临港新片区"][0] == "pass"


@pytest.mark.parametrize("region, address, verdict", [
    ("hainan", "海南省洋浦经济开发区", "pass"),
    ("hainan", "海南省儋州市洋浦经济开发区", "pass"),
    ("hainan", "海南省儋州市那大镇", "indeterminate"),  # Danzhou alone: its island is inhabited
    ("shanghai", "上海市外高桥保税区", "pass"),
    ("shanghai", "上海市张江科学城", "pass"),
    ("shanghai", "上海市闵行区张江高新区紫竹园", "fail"),
    ("shenzhen", "深圳市前海深港现代服务业合作区", "pass"),
    ("shenzhen", "深圳市河套深港科技创新合作区", "pass"),
    ("shenzhen", "河套深港科技创新合作区", "indeterminate"),
    ("shenzhen", "香港河套深港科技创新合作区", "fail"),
    ("beijing", "北京经济技术开发区", "pass"),
    ("beijing", "北京市亦庄", "pass"),
    ("shanghai-municipality", "上海市闵行区浦江镇", "pass"),
    ("shanghai-municipality", "浙江省舟山市嵊泗县小洋山", "fail"),
    ("hainan-province", "海南省洋浦经济开发区", "pass"),
])
def test_zones_through_the_audit(make_operator, region, address, verdict):
    if region in ("shanghai-municipality", "hainan-province"):
        path = make_operator({"name": "T", "programme": "workplan-2025-84", "region": region, "services": ["ISP"]},
                             HEADER, [["F0", "IDC", "owned", address]])
        result = audit(path, as_of=AS_OF)
        got = result.facility_verdict(result.facilities[0]).value
    else:
        got = run(make_operator, region, [address])[address][0]
    assert got == verdict
