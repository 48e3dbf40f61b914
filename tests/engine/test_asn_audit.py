"""ASN evidence inside an audit: two sources against a real Knot server, kept side by side.

The audits run on virtual time (``servers.blackhole.VirtualNetwork``): Knot's answers are waited for
as long as they take, and a query the black hole swallows times out at once."""

from __future__ import annotations

from conftest import AS_OF, DISHUI_LAKE, REPO, write_csv

from auditor import render
from auditor.config import AuditConfig
from auditor.engine import audit
from auditor.engine.gather import use_network
from auditor.model import Status

TABLE = REPO / "tests" / "fixtures" / "asn" / "ipasn_20140513-CN-HK-extract.dat"


def test_table_and_cymru_disagree_and_both_are_kept(knot_dns, make_operator, loopback_only, virtual_network):
    profile = {
        "name": "ISP", "region": "shanghai", "services": ["ISP"],
        "isp": {"prefixes": ["58.34.0.0/16"], "upstream_asns": [4134], "service_area": ["浦东新区"]},
    }
    path = make_operator(profile, ["id", "kind", "lon", "lat", "crs", "ip"], [["pop", "ISP_POP", *DISHUI_LAKE, "wgs84", "58.34.1.1"]])
    config = AuditConfig(asn_table=str(TABLE), dns_server=f"{knot_dns.host}:{knot_dns.port}", timeout_s=1.0)
    with use_network(virtual_network):
        result = audit(path, as_of=AS_OF, config=config)
    answers = {a.source: a.asn for a in result.asn["58.34.1.1"]}
    assert answers == {"prefix-table": 4812, "cymru-dns": 4134}   # provincial vs backbone
    (up,) = [f for f in result.operator_findings if f.rule == "isp_upstream_basic_telecom"]
    assert up.status is Status.PASS
    assert "prefix-table AS4812" in up.message and "cymru-dns AS4134" in up.message and "the sources disagree" in up.message
    import json

    report = json.loads(render(result, "json", generated_at="x"))
    pop = report["facilities"][0]
    assert [a["source"] for a in pop["asn"]] == ["prefix-table", "cymru-dns"]
    assert "obtained_at" in pop["asn"][1] and "obtained_at" not in pop["asn"][0]
    assert {d["name"] for d in report["data_sources"]} >= {"asn_table", "ip2region"}


def test_dns_server_that_never_answers_gives_timeout_evidence(dns_blackhole, make_operator, loopback_only, virtual_network):
    path = make_operator(
        {"name": "x", "region": "shanghai", "services": ["IDC"]},
        ["id", "lon", "lat", "crs", "ip"], [["a", *DISHUI_LAKE, "wgs84", "58.34.1.1"]],
    )
    config = AuditConfig(dns_server=f"127.0.0.1:{dns_blackhole}", timeout_s=0.2)
    with use_network(virtual_network):
        result = audit(path, as_of=AS_OF, config=config)
    (a,) = result.asn["58.34.1.1"]
    assert a.status == "timeout" and "timed out" in a.reason
    assert a.detail["attempts"] == 3 and virtual_network.sent_to(dns_blackhole) == 3  # Team Cymru's tries, each timed out
    assert result.facility_verdict(result.facilities[0]).value == "pass"  # a failed lookup is evidence, not a crash
