"""IP evidence: ip2region answers → admin-unit claims, audits with IPs, and address-space footprints."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest
from conftest import AS_OF, DISHUI_LAKE, write_csv

from auditor.engine import audit
from auditor.engine.gather import relation_of_answer
from auditor.geo.containment import Verdict
from auditor.model import Status
from auditor.resolve.ipgeo.footprint import address_footprint
from auditor.resolve.ipgeo.ip2region import normalise_ip, parse_region_text, unit_for_answer
from auditor.resolve.ipgeo.xdb import XdbDatabase


@pytest.fixture(scope="module")
def db():
    return XdbDatabase.load()


def first_segment(db, text):
    """(first, last) address of the largest segment whose answer is exactly ``text``."""
    rid = db.regions.index(text)
    idx = np.flatnonzero(db.region_ids == rid)
    sizes = db.ends[idx].astype(np.int64) - db.starts[idx].astype(np.int64)
    i = idx[np.argmax(sizes)]
    return int(db.starts[i]), int(db.ends[i])


def ip_in(db, text):
    first, last = first_segment(db, text)
    return str(ipaddress.IPv4Address((first + last) // 2))


@pytest.mark.parametrize(
    "text, layout, fields",
    [
        ("中国|0|上海|上海市|电信", "v2", ("中国", "上海", "上海市", "电信")),
        ("中国|0|海南省|0|电信", "v2", ("中国", "海南省", "", "电信")),
        ("中国|广东省|深圳市|电信|CN", "auto", ("中国", "广东省", "深圳市", "电信")),
        ("0|0|0|内网IP|内网IP", "v2", ("", "", "内网IP", "内网IP")),
    ],
)
def test_parse_region_text(text, layout, fields):
    a = parse_region_text(text, layout)
    assert (a.country, a.province, a.city, a.isp) == fields


@pytest.mark.parametrize(
    "text, region, options, expected",
    [
        ("中国|0|北京|北京市|联通", "beijing", {}, Verdict.INSIDE),
        ("中国|0|上海|上海市|电信", "shanghai", {}, Verdict.INDETERMINATE),   # Shanghai is not enough
        ("中国|0|浙江省|杭州市|电信", "shanghai", {}, Verdict.OUTSIDE),
        ("中国|0|海南省|海口市|电信", "hainan", {}, Verdict.INSIDE),
        ("中国|0|海南省|0|电信", "hainan", {}, Verdict.INDETERMINATE),        # province only: Sansha is in it
        ("中国|0|海南省|三沙市|电信", "hainan", {}, Verdict.OUTSIDE),
        ("中国|0|海南省|三沙市|电信", "hainan", {"include_sansha": True}, Verdict.INSIDE),
        ("中国|0|广东省|东莞市|电信", "shenzhen", {}, Verdict.OUTSIDE),       # touches, same source: outside
        ("中国|0|香港|0|电讯盈科", "shenzhen", {}, Verdict.OUTSIDE),
        ("中国|0|青海省|海南|电信", "hainan", {}, Verdict.OUTSIDE),            # Hainan prefecture of Qinghai
        ("美国|0|加利福尼亚|0|0", "shenzhen", {}, Verdict.OUTSIDE),
        ("0|0|0|内网IP|内网IP", "beijing", {}, None),
    ],
)
def test_answer_relation(registry, text, region, options, expected):
    assert relation_of_answer(registry, registry.region(region, options), text) is expected


def test_every_chinese_answer_in_the_database_names_a_unit(db, registry):
    unresolved = set()
    for text in db.regions:
        a = parse_region_text(text, "v2")
        if a.country == "中国" and a.province:
            unit, _ = unit_for_answer(registry, a)
            if unit is None:
                unresolved.add(text)
    assert unresolved == set()


@pytest.mark.parametrize(
    "text, expected",
    [("1.2.3.4", "1.2.3.4"), ("::ffff:1.2.3.4", "1.2.3.4"), ("10.0.0.1", None), ("2001:db8::1", None), ("240e::1", None), ("x", None)],
)
def test_normalise_ip(text, expected):
    assert normalise_ip(text)[0] == expected


def test_audit_with_ips_gives_claims_and_flags_disagreement(db, tmp_path):
    hangzhou_ip = ip_in(db, "中国|0|浙江省|杭州市|阿里云")
    shanghai_ip = ip_in(db, "中国|0|上海|上海市|电信")
    rows = [
        ["agrees", "IDC", *DISHUI_LAKE, "wgs84", shanghai_ip],
        ["clash", "IDC", *DISHUI_LAKE, "wgs84", hangzhou_ip],
        ["ip-only", "CDN", "", "", "", hangzhou_ip],
        ["private", "IDC", "", "", "", "192.168.1.1"],
    ]
    p = write_csv(tmp_path / "f.csv", ["id", "kind", "lon", "lat", "crs", "ip"], rows)
    result = audit(p, region="shanghai", as_of=AS_OF)
    find = lambda fid, rule: next(x for x in result.facility_findings[fid] if x.rule == rule)  # noqa: E731
    assert find("agrees", "facility_in_region").status is Status.PASS
    assert find("agrees", "location_evidence_consistent").status is Status.PASS
    # an IP database against declared coordinates is a doubt to check on site, not a failure
    assert find("clash", "location_evidence_consistent").status is Status.INDETERMINATE
    assert "杭州市" in find("clash", "location_evidence_consistent").message
    assert find("clash", "facility_in_region").status is Status.INDETERMINATE
    assert find("clash", "facility_in_region").basis == ("declared_coordinates", "ip2region")
    assert find("agrees", "facility_in_region").basis == ("declared_coordinates",)
    # an address alone places nothing: never pass, never fail
    assert find("ip-only", "facility_in_region").status is Status.INDETERMINATE
    assert find("ip-only", "facility_in_region").basis == ("ip2region",)
    assert find("private", "facility_in_region").status is Status.INDETERMINATE
    claim = next(c for c in result.claims["clash"] if c.source.value == "ip2region")
    assert claim.adcode == "330100" and claim.data_version == db.version and claim.original["ip"] == hangzhou_ip
    assert any(d.name == "ip2region" and d.sha256 == db.sha256 for d in result.data_sources)


def test_footprint_counts_intervals_not_addresses(db, registry):
    region = registry.region("beijing")
    rel = lambda t: relation_of_answer(registry, region, t)  # noqa: E731
    first, last = first_segment(db, "中国|0|北京|北京市|联通")
    inside_net = next(ipaddress.summarize_address_range(ipaddress.IPv4Address(first), ipaddress.IPv4Address(last)))
    fp = address_footprint([str(inside_net)], db, rel)
    assert fp.inside == inside_net.num_addresses and fp.outside == fp.indeterminate == fp.unlocated == 0
    # a /8 is answered from its segments; the total is exact
    big = address_footprint(["1.0.0.0/8", "1.2.0.0/16", "2001:db8::/32", "10.0.0.0/8", "not-a-prefix"], db, rel)
    assert big.invalid == ("not-a-prefix",)
    assert big.total == 2**24 + 2**96 + 2**24  # the /16 lies in the /8: counted once
    assert [p.prefix for p in big.prefixes] == ["1.0.0.0/8", "1.2.0.0/16", "2001:db8::/32", "10.0.0.0/8"]
    assert big.prefixes[3].unlocated == 2**24 and "private" in big.prefixes[3].note
    assert big.prefixes[2].unlocated == 2**96
    eight = big.prefixes[0]
    assert eight.total == 2**24 and eight.outside > 0 and eight.inside > 0


def test_footprint_matches_address_by_address_lookup(db, registry):
    region = registry.region("shanghai")
    rel = lambda t: relation_of_answer(registry, region, t)  # noqa: E731
    net = ipaddress.ip_network("58.32.0.0/20")
    fp = address_footprint([str(net)], db, rel)
    ids = db.lookup([str(ip) for ip in net])
    counts = {"inside": 0, "outside": 0, "indeterminate": 0, "unlocated": 0}
    for rid in ids.tolist():
        v = rel(db.region_text(rid)) if rid >= 0 else None
        counts["unlocated" if v is None else v.value] += 1
    assert (fp.inside, fp.outside, fp.indeterminate, fp.unlocated) == tuple(counts.values())


def test_isp_footprint_rule_with_real_prefixes(db, make_operator):
    bj_first, bj_last = first_segment(db, "中国|0|北京|北京市|联通")
    hz_first, hz_last = first_segment(db, "中国|0|浙江省|杭州市|阿里云")
    bj = str(next(ipaddress.summarize_address_range(ipaddress.IPv4Address(bj_first), ipaddress.IPv4Address(bj_last))))
    hz = str(next(ipaddress.summarize_address_range(ipaddress.IPv4Address(hz_first), ipaddress.IPv4Address(hz_last))))
    header = ["id", "kind", "lon", "lat", "crs"]
    pop = [["pop", "ISP_POP", 116.3975, 39.9087, "wgs84"]]
    base = {"name": "ISP", "region": "beijing", "services": ["ISP"], "isp": {"service_area": ["北京市"], "upstream_asns": [4808]}}
    ok = audit(make_operator({**base, "isp": {**base["isp"], "prefixes": [bj]}}, header, pop), as_of=AS_OF)
    f = next(x for x in ok.operator_findings if x.rule == "isp_footprint_in_region")
    assert f.status is Status.PASS, f.message
    bad = audit(make_operator({**base, "isp": {**base["isp"], "prefixes": [bj, hz]}}, header, pop), as_of=AS_OF)
    g = next(x for x in bad.operator_findings if x.rule == "isp_footprint_in_region")
    assert g.status is Status.FAIL and hz in g.message
    assert bad.footprint.outside == ipaddress.ip_network(hz).num_addresses


def test_audit_with_an_mmdb_gives_disk_claims(tmp_path):
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    from auditor.config import AuditConfig

    w = MMDBWriter(ip_version=4, database_type="Test-Disks")
    # a precise point in Lingang (5 km disk: inside) and a vague one in Hangzhou (20 km disk: outside)
    w.insert_network(IPSet(["222.66.0.0/16"]), {"location": {"latitude": 30.905, "longitude": 121.93, "accuracy_radius": 5}, "city": {"names": {"en": "Lingang"}}})
    w.insert_network(IPSet(["115.236.0.0/16"]), {"location": {"latitude": 30.27, "longitude": 120.16, "accuracy_radius": 20}, "city": {"names": {"en": "Hangzhou"}}})
    db = tmp_path / "disks.mmdb"
    w.to_db_file(str(db))
    p = write_csv(tmp_path / "f.csv", ["id", "ip"], [["lingang", "222.66.1.1"], ["hangzhou", "115.236.1.1"], ["absent", "8.8.8.8"]])
    result = audit(p, region="shanghai", as_of=AS_OF, config=AuditConfig(mmdb=(str(db),)))
    claim = next(c for c in result.claims["lingang"] if c.source.value == "mmdb")
    assert claim.kind == "point" and claim.uncertainty_m == 5000.0
    assert result.containment[claim.id].verdict is Verdict.INSIDE
    hz = next(c for c in result.claims["hangzhou"] if c.source.value == "mmdb")
    assert result.containment[hz.id].verdict is Verdict.OUTSIDE
    absent = next(c for c in result.claims["absent"] if c.source.value == "mmdb")
    assert absent.kind == "unresolved" and "not_found" in absent.notes[0]
    assert any(d.name == "mmdb" and d.version.startswith("Test-Disks") for d in result.data_sources)


def test_truncated_ip_database_is_a_clear_cli_error(tmp_path):
    from click.testing import CliRunner

    from auditor.cli import main

    full = XdbDatabase.load().path
    cut = tmp_path / "cut.xdb"
    with open(full, "rb") as f:
        cut.write_bytes(f.read()[:100_000])
    p = write_csv(tmp_path / "f.csv", ["id", "ip"], [["a", "58.34.1.1"]])
    res = CliRunner().invoke(main, ["audit", str(p), "--region", "shanghai", "--ip-db", str(cut), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert str(cut) in res.output and "Traceback" not in res.output


def test_plain_ipv4_fast_path_agrees_with_ipaddress() -> None:
    """The dotted-quad fast path answers exactly as the ipaddress module on random and special addresses."""
    import ipaddress
    import random

    from auditor.iptext import is_dotted_quad, is_plain_global_ipv4
    from auditor.resolve.ipgeo.ip2region import normalise_ip

    rng = random.Random(7)
    texts = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(20_000)]
    for net in ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
                "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
                "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4"):
        n = ipaddress.ip_network(net)
        for v in (int(n.network_address) - 1, int(n.network_address), int(n.broadcast_address), int(n.broadcast_address) + 1):
            if 0 <= v < 2**32:
                texts.append(str(ipaddress.IPv4Address(v)))
    texts += ["01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1", " 8.8.8.8 ", "8.8.8.8\n", "::ffff:8.8.8.8", "1.2.3.04"]
    for t in texts:
        try:
            addr = ipaddress.ip_address(t)
        except ValueError:
            addr = None
        assert is_dotted_quad(t) == (addr is not None and addr.version == 4 and str(addr) == t), t
        if is_plain_global_ipv4(t):
            assert addr is not None and addr.is_global, t
        stripped = t.strip()
        try:
            slow = ipaddress.ip_address(stripped)
            expected = stripped if slow.version == 4 and slow.is_global else None
        except ValueError:
            expected = None
        got = normalise_ip(t)[0]
        if got is not None and ":" not in stripped:
            assert got == expected, t
        if expected is not None:
            assert got == expected, t


def test_vectorised_is_global_equals_ipaddress_at_every_boundary_and_at_random() -> None:
    import ipaddress
    import random

    import numpy as np

    from auditor.iptext import _constant_networks, global_ipv4

    values = {0, 2**32 - 1}
    for n in _constant_networks():  # every boundary ipaddress's tables have, and both sides of it
        for v in (int(n.network_address), int(n.broadcast_address)):
            values.update(x for x in (v - 1, v, v + 1) if 0 <= x < 2**32)
    rng = random.Random(11)
    values.update(rng.getrandbits(32) for _ in range(50_000))
    values.update((octet << 24) | rng.getrandbits(24) for octet in (0, 10, 100, 127, 169, 172, 192, 198, 203, 224, 240, 255) for _ in range(2_000))
    ordered = sorted(values)
    got = global_ipv4(np.array(ordered, dtype=np.uint32)).tolist()
    assert got == [ipaddress.IPv4Address(v).is_global for v in ordered]
    assert sum(got) not in (0, len(got))  # both answers occur
