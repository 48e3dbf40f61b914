"""Nothing silent (issue 25): hostnames that gave no address, IPv6 without evidence and unplaced
addresses are counted in report.json's summary and listed in report.md and report.html — the same
counts from an in-memory audit and a streamed one."""

from __future__ import annotations

import json

import pytest
from conftest import AS_OF, EXAMPLE, REPO

from auditor.model import EvidenceSource, Facility, LocationClaim
from auditor.report import render
from auditor.report.json_report import build_report
from auditor.result import Tallies

EXAMPLE_REPORT = json.loads((REPO / "reports" / "example" / "report.json").read_text(encoding="utf-8"))

# The example's DNS recording holds the answers for five of its nineteen CDN hostnames.
EXAMPLE_UNRESOLVED = ["SH-CDN-04", "SH-CDN-05", "SH-CDN-06", "SH-CDN-07", "SH-CDN-08", "SH-CDN-09", "SH-CDN-10",
                      "SH-CDN-11", "SH-CDN-12", "SH-CDN-13", "SH-CDN-15", "SH-CDN-16", "SH-CDN-18", "SH-CDN-19"]


def test_the_example_counts_and_lists_them(example_result):
    report = build_report(example_result, generated_at="")
    assert report["summary"]["unplaced"] == {
        "hostnames_unresolved": {"count": 14, "facilities": EXAMPLE_UNRESOLVED, "listed": 14},
        "ipv6_without_evidence": {"count": 1, "facilities": ["SH-IDC-06"], "listed": 1},
        "ips_unplaced": {"count": 1, "facilities": ["SH-NOC-01"], "listed": 1},
    }
    by_kind = {}
    for x in report["unplaced"]:
        by_kind.setdefault(x["kind"], []).append(x)
    assert by_kind["ipv6_without_evidence"] == [{"kind": "ipv6_without_evidence", "row": 13, "facility": "SH-IDC-06", "value": "240e:e0::1",
                                                 "why": "IPv6: the embedded ip2region database has IPv4 data only"}]
    assert by_kind["ips_unplaced"] == [{"kind": "ips_unplaced", "row": 12, "facility": "SH-NOC-01", "value": "10.20.30.40",
                                        "why": "private or reserved address: no location"}]
    first = by_kind["hostnames_unresolved"][0]
    assert first == {"kind": "hostnames_unresolved", "row": 10, "facility": "SH-CDN-04", "value": "hn-edge.static.example.com",
                     "why": "DNS gave no address"}  # what DNS said is in dns.resolutions (a streamed audit keeps it for detailed rows only)
    assert report["dns"]["resolutions"]["hn-edge.static.example.com"]["status"] == "not_recorded"
    # resolved hostnames are not listed
    assert not {"ljz-edge.static.example.com", "pvg-edge.static.example.com"} & {x["value"] for x in report["unplaced"]}
    # and the stored example report says the same
    assert EXAMPLE_REPORT["summary"]["unplaced"] == report["summary"]["unplaced"] and EXAMPLE_REPORT["unplaced"] == report["unplaced"]


def test_report_md_and_html_list_them_in_their_own_section(example_result):
    md = render(example_result, "md", generated_at="2026-11-28T00:00:00+00:00")
    section = md[md.index("## Unresolved hostnames and unplaced addresses"):]
    section = section[: section.index("\n## ", 1)]
    assert "| hostnames that did not resolve | 14 | 14 |" in section
    assert "| 10 | SH-CDN-04 | hostnames that did not resolve | hn-edge.static.example.com | DNS: not recorded" in section
    assert "| 13 | SH-IDC-06 | IPv6 addresses with no location evidence | 240e:e0::1 |" in section
    assert "| 12 | SH-NOC-01 | addresses no source could place | 10.20.30.40 | private or reserved address: no location |" in section
    html = render(example_result, "html", generated_at="2026-11-28T00:00:00+00:00")
    part = html[html.index('<section id="unplaced">'):]
    part = part[: part.index("</section>")]
    assert part.count('<tr data-facility="') == 16 and '<a href="#unplaced">' in html
    assert '<tr data-facility="SH-CDN-04" data-kind="hostnames_unresolved">' in part and "<code>hn-edge.static.example.com</code>" in part
    assert '<td>IPv6 addresses with no location evidence</td><td class="num">1</td>' in part


def _claim(cid, subject, source, kind, **kw):
    return LocationClaim(id=cid, subject=subject, source=source, kind=kind, **kw)


def test_what_counts_as_unplaced():
    """Read from claims as gather builds them: a hostname with address claims resolved; a failed one says why;
    an address placed by any source (here an mmdb disk) is not unplaced; an IPv4-mapped address is not IPv6."""
    f = Facility(id="F", row=7, source="f.csv", ip=("240e::1", "2001:db8::2", "::ffff:10.0.0.1", "58.34.1.1"), hostname=("ok.test", "down.test", "gone.test"))
    claims = (
        _claim("F#dns:ok.test:36.17.1.1", "F", EvidenceSource.IP2REGION, "admin_unit", adcode="310000", original={"ip": "36.17.1.1"}),
        _claim("F#dns:ok.test:240e::9", "F", EvidenceSource.IP2REGION, "unresolved", original={"ip": "240e::9"},
               notes=("IPv6: the embedded ip2region database has IPv4 data only", "ok.test resolves to 240e::9")),
        _claim("F#dns:down.test", "F", EvidenceSource.DNS, "unresolved", original={"hostname": "down.test"},
               notes=("DNS resolution of down.test failed: timeout (no answer within 2 s)",)),
        _claim("F#ip2region:240e::1", "F", EvidenceSource.IP2REGION, "unresolved", original={"ip": "240e::1"}, notes=("IPv6: no data",)),
        _claim("F#mmdb:240e::1", "F", EvidenceSource.MMDB, "point", lon=121.5, lat=31.2, uncertainty_m=5000, original={"ip": "240e::1"}),
        _claim("F#ip2region:2001:db8::2", "F", EvidenceSource.IP2REGION, "unresolved", original={"ip": "2001:db8::2"}, notes=("IPv6: no data",)),
        _claim("F#ip2region:::ffff:10.0.0.1", "F", EvidenceSource.IP2REGION, "unresolved", original={"ip": "::ffff:10.0.0.1"},
               notes=("private or reserved address: no location",)),
        _claim("F#ip2region:58.34.1.1", "F", EvidenceSource.IP2REGION, "admin_unit", adcode="310000", original={"ip": "58.34.1.1"}),
    )
    assert Tallies.unplaced_of(f, claims) == [
        ("hostnames_unresolved", "down.test", "DNS resolution of down.test failed: timeout (no answer within 2 s)"),
        ("hostnames_unresolved", "gone.test", ""),
        ("ipv6_without_evidence", "2001:db8::2", "IPv6: no data"),
        ("ips_unplaced", "::ffff:10.0.0.1", "private or reserved address: no location"),
        ("ipv6_without_evidence", "240e::9", "IPv6: the embedded ip2region database has IPv4 data only"),
    ]
    # an address with no claim at all is unplaced too (no source looked at it)
    assert Tallies.unplaced_of(Facility(id="G", row=2, source="f.csv", ip=("1.2.3.4",)), ()) == [("ips_unplaced", "1.2.3.4", "no evidence source placed it")]


def test_tallies_add_keeps_counts_and_the_first_listed_in_order():
    a, b = Tallies(), Tallies()
    a.unplaced = {"ips_unplaced": 2}
    a.unplaced_items = {"ips_unplaced": [(2, "A", "10.0.0.1", "private"), (3, "B", "10.0.0.2", "private")]}
    b.unplaced = {"ips_unplaced": 1, "hostnames_unresolved": 1}
    b.unplaced_items = {"ips_unplaced": [(9, "C", "10.0.0.3", "private")], "hostnames_unresolved": [(9, "C", "c.test", "")]}
    total = Tallies().add(a).add(b)
    assert total.unplaced == {"ips_unplaced": 3, "hostnames_unresolved": 1}
    assert [x[1] for x in total.unplaced_items["ips_unplaced"]] == ["A", "B", "C"]
    capped = Tallies()
    capped.unplaced_items = {"ips_unplaced": [(i, f"F{i}", "10.0.0.1", "") for i in range(Tallies.UNPLACED_LISTED)]}
    capped.add(b)
    assert len(capped.unplaced_items["ips_unplaced"]) == Tallies.UNPLACED_LISTED and capped.unplaced["ips_unplaced"] == 1


def _dns_operator(make_operator, tmp_path):
    """A profile with a DNS recording: one name answered with a placed address, one with an IPv6 address,
    one with a private address, one that timed out, one that does not exist; one name the recording lacks."""
    def res(name, status, addresses=(), reason=""):
        return {"name": name, "status": status, "chain": [name], "addresses": list(addresses), "provider": None, "provider_via": None,
                "ttl": 300 if status == "ok" else None, "reason": reason, "server": "127.0.0.1@15353",
                "queried_at": "2026-11-01T00:00:00Z", "notes": []}
    recording = {"schema": json.loads((EXAMPLE.parent / "data" / "dns-recording.json").read_text(encoding="utf-8"))["schema"],
                 "resolutions": [res("a.test", "ok", ["58.34.1.1"]), res("v6.test", "ok", ["240e:e0::7"]),
                                 res("lan.test", "ok", ["10.1.2.3"]), res("slow.test", "timeout", reason="no answer within 2 s"),
                                 res("nx.test", "nxdomain", reason="the name does not exist")],
                 "sweeps": []}
    rows = [["A", "CDN", "Pudong A", 121.5907, 31.2040, "wgs84", "", "a.test"],
            ["B", "CDN", "Pudong B", 121.6000, 31.1950, "wgs84", "", "v6.test"],
            ["C", "CDN", "Pudong C", 121.6040, 31.2660, "wgs84", "10.20.30.40", "lan.test"],
            ["D", "CDN", "Pudong D", 121.5890, 31.3480, "wgs84", "", "slow.test"],
            ["E", "CDN", "Pudong E", 121.5800, 31.1450, "wgs84", "", "nx.test"],
            ["F", "CDN", "Pudong F", 121.5650, 31.1200, "wgs84", "", "missing.test"]]
    path = make_operator({"name": "Op", "region": "shanghai", "services": ["CDN"], "evidence": {"dns_recording": "dns.json"}},
                         ["id", "kind", "name", "lon", "lat", "crs", "ip", "hostname"], rows)
    (tmp_path / "dns.json").write_text(json.dumps(recording), encoding="utf-8")
    return path


EXPECTED_DNS_CASE = {
    "hostnames_unresolved": {"count": 3, "facilities": ["D", "E", "F"], "listed": 3},
    "ipv6_without_evidence": {"count": 1, "facilities": ["B"], "listed": 1},
    "ips_unplaced": {"count": 2, "facilities": ["C"], "listed": 2},
}


@pytest.mark.parametrize("chunk_rows", [2, 4])
def test_streamed_and_in_memory_audits_count_the_same(tmp_path, make_operator, chunk_rows):
    from auditor.engine import audit
    from auditor.engine.stream import audit_streamed

    path = _dns_operator(make_operator, tmp_path)
    whole = build_report(audit(path, as_of=AS_OF), generated_at="")
    assert whole["summary"]["unplaced"] == EXPECTED_DNS_CASE
    why = {(x["facility"], x["value"]): x["why"] for x in whole["unplaced"]}
    assert why == {
        ("D", "slow.test"): "DNS resolution of slow.test failed: timeout (no answer within 2 s)",
        ("E", "nx.test"): "DNS gave no address",
        ("F", "missing.test"): "DNS gave no address",
        ("B", "240e:e0::7"): "IPv6: the embedded ip2region database has IPv4 data only",
        ("C", "10.20.30.40"): "private or reserved address: no location",
        ("C", "10.1.2.3"): "private or reserved address: no location",
    }
    # the human reports quote what DNS said, from report.json's dns.resolutions
    md = render(audit(path, as_of=AS_OF), "md", generated_at="x")
    assert "| 6 | E | hostnames that did not resolve | nx.test | DNS: nxdomain (the name does not exist) |" in md
    assert "| 7 | F | hostnames that did not resolve | missing.test | DNS: not recorded (no recorded resolution of missing.test in the recording) |" in md
    assert "| 5 | D | hostnames that did not resolve | slow.test | DNS resolution of slow.test failed: timeout" in md
    streamed = audit_streamed(path, tmp_path / "st", as_of=AS_OF, chunk_rows=chunk_rows, formats=("csv",), detail_cap=1)
    doc = build_report(streamed.result, generated_at="")
    assert doc["summary"]["unplaced"] == whole["summary"]["unplaced"]
    assert doc["unplaced"] == whole["unplaced"]
    # facilities the streamed report does not detail still have their gaps listed
    assert len(doc["facilities"]) == 1 and len(doc["unplaced"]) == 6


def test_no_dns_source_is_said_and_markup_is_escaped(tmp_path):
    from conftest import write_csv

    from auditor.engine import audit

    listing = write_csv(tmp_path / "f.csv", ["id", "kind", "lon", "lat", "crs", "hostname"],
                        [["<b>X</b>", "CDN", 121.5907, 31.2040, "wgs84", "edge.example.com"]])
    result = audit(str(listing), region="shanghai", as_of=AS_OF)
    doc = build_report(result, generated_at="")
    assert doc["unplaced"] == [{"kind": "hostnames_unresolved", "row": 2, "facility": "<b>X</b>", "value": "edge.example.com",
                                "why": "not looked up: no DNS server (--dns-server) or DNS recording (--dns-recording) was given"}]
    html = render(result, "html", generated_at="x")
    part = html[html.index('<section id="unplaced">'):]
    assert "<b>X</b>" not in part and "&lt;b&gt;X&lt;/b&gt;" in part
    md = render(result, "md", generated_at="x")
    assert "| 2 | &lt;b&gt;X&lt;/b&gt; | hostnames that did not resolve | edge.example.com | not looked up" in md


def test_a_report_with_nothing_unplaced_says_so(tmp_path):
    from conftest import write_csv

    from auditor.engine import audit

    listing = write_csv(tmp_path / "f.csv", ["id", "kind", "lon", "lat", "crs"], [["A", "IDC", 121.5907, 31.2040, "wgs84"]])
    result = audit(str(listing), region="shanghai", as_of=AS_OF)
    doc = build_report(result, generated_at="")
    assert all(c["count"] == 0 for c in doc["summary"]["unplaced"].values()) and doc["unplaced"] == []
    assert "Every hostname resolved and some source placed every address." in render(result, "md", generated_at="x")
    assert "Every hostname resolved and some source placed every address." in render(result, "html", generated_at="x")
