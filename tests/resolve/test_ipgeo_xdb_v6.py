"""ip2region's IPv6 xdb (structure 3, IP version 6) and its newer answer layout (issue 19, item 6).

No upstream IPv6 file is available offline, so the tests write one with their own writer
(``tests/fixtures/ip2region/write_xdb.py``, following the documented layout). 2402:f000::/32 is
Tsinghua University's CERNET2 block in Beijing (project reference domain-facts-2025.md).
"""

from __future__ import annotations

import importlib.util
import ipaddress
import random

import numpy as np
import pytest
from conftest import AS_OF, REPO

from auditor.engine import audit
from auditor.errors import DataError
from auditor.resolve.ipgeo.ip2region import normalise_ip, parse_region_text
from auditor.resolve.ipgeo.xdb import XdbDatabase

_spec = importlib.util.spec_from_file_location("write_xdb", REPO / "tests" / "fixtures" / "ip2region" / "write_xdb.py")
assert _spec is not None and _spec.loader is not None
write_xdb_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(write_xdb_module)
write_xdb = write_xdb_module.write_xdb

SEGMENTS = [
    ("2001:da8::", "2001:da8:ffff:ffff:ffff:ffff:ffff:ffff", "中国|北京市|北京市|教育网|CN"),          # CERNET
    ("2402:f000::", "2402:f000:ffff:ffff:ffff:ffff:ffff:ffff", "中国|北京市|北京市|教育网|CN"),        # Tsinghua (CERNET2)
    ("2402:f001::", "2402:f001:ffff:ffff:ffff:ffff:ffff:ffff", "中国|上海市|上海市|教育网|CN"),
    ("240e:e0::", "240e:e0:ffff:ffff:ffff:ffff:ffff:ffff", "中国|上海市|上海市|电信|CN"),
    ("2a00:1450::", "2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff", "美国|0|0|Google|US"),
]


@pytest.fixture(scope="module")
def v6_path(tmp_path_factory):
    return write_xdb(tmp_path_factory.mktemp("xdb") / "ip2region_v6.xdb", SEGMENTS)


def test_reads_an_ipv6_file(v6_path):
    db = XdbDatabase.load(v6_path)
    assert db.ip_version == 6 and db.starts.size == 5 and "xdb 3, IPv6" in db.version
    ids = db.lookup(["2402:f000::1", "2402:f000:1:2:3:4:5:6", "2402:f001::8", "2402:f002::1", "1.2.3.4", "nonsense", "240e:e0::ffff"])
    texts = [db.region_text(i) for i in ids.tolist()]
    assert texts == ["中国|北京市|北京市|教育网|CN", "中国|北京市|北京市|教育网|CN", "中国|上海市|上海市|教育网|CN", None, None, None,
                     "中国|上海市|上海市|电信|CN"]


def test_lookups_agree_with_a_plain_search_at_every_boundary(v6_path):
    """The vectorised search against a plain Python scan, on each segment's first and last address and their neighbours."""
    db = XdbDatabase.load(v6_path)
    spans = [(int(ipaddress.ip_address(a)), int(ipaddress.ip_address(b)), t) for a, b, t in SEGMENTS]
    probes = [v + d for s, e, _ in spans for v in (s, e) for d in (-1, 0, 1)]
    rng = random.Random(5)
    probes += [rng.randrange(s - 2**40, e + 2**40) for s, e, _ in spans for _ in range(50)]
    got = [db.region_text(i) for i in db.lookup([str(ipaddress.IPv6Address(p)) for p in probes]).tolist()]
    want = [next((t for s, e, t in spans if s <= p <= e), None) for p in probes]
    assert got == want


def test_the_newer_answer_layout():
    a = parse_region_text("中国|北京市|北京市|教育网|CN")
    assert (a.country, a.province, a.city, a.isp) == ("中国", "北京市", "北京市", "教育网")
    b = parse_region_text("美国|0|0|Google|US")
    assert (b.country, b.province, b.city) == ("美国", "", "")


def test_normalise_ip_by_database_version():
    assert normalise_ip("2402:f000::1", 6) == ("2402:f000::1", "")
    assert normalise_ip("2402:f000::1", 4)[0] is None
    assert normalise_ip("1.2.3.4", 6)[0] is None and "IPv6 data only" in normalise_ip("1.2.3.4", 6)[1]
    assert normalise_ip("fe80::1", 6)[0] is None


def test_an_ipv4_file_written_the_same_way_still_reads(tmp_path):
    path = write_xdb(tmp_path / "v4.xdb", [("1.0.0.0", "1.0.0.255", "中国|北京市|北京市|电信|CN")], version=4)
    db = XdbDatabase.load(path)
    assert db.ip_version == 4 and db.region_text(int(db.lookup(["1.0.0.7"])[0])) == "中国|北京市|北京市|电信|CN"
    assert db.lookup(["1.0.1.0"]).tolist() == [-1]


def test_a_broken_ipv6_file_is_a_clear_error(v6_path, tmp_path):
    raw = bytearray(v6_path.read_bytes())
    first = int.from_bytes(raw[8:12], "little")
    raw[first:first + 16], raw[first + 38:first + 54] = raw[first + 38:first + 54], raw[first:first + 16]  # two starts swapped
    bad = tmp_path / "bad.xdb"
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataError) as e:
        XdbDatabase.load(bad)
    assert "bad.xdb" in str(e.value) and ("out of order" in str(e.value) or "ends before it starts" in str(e.value))
    raw = bytearray(v6_path.read_bytes())
    bucket = 0x24 << 8 | 0x02
    raw[256 + bucket * 8:256 + bucket * 8 + 8] = bytes(8)  # the vector entry of 2402::/16 emptied
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataError) as e:
        XdbDatabase.load(bad)
    assert "vector index" in str(e.value) and "2402" in str(e.value)


def test_an_ipv6_only_node_in_tsinghuas_block_is_inside_beijing_through_the_audit(v6_path, make_operator):
    """ip2region is weak evidence: inside beijing, but the facility stays indeterminate on it alone (no declared location)."""
    path = make_operator(
        {"name": "Test Co", "region": "beijing", "services": ["IDC"], "evidence": {"ip_db": str(v6_path)}},
        ["id", "kind", "tenure", "ip"],
        [["THU-V6", "IDC", "owned", "2402:f000:1:8401::1"], ["SH-V6", "IDC", "owned", "240e:e0::1"]],
    )
    result = audit(path, as_of=AS_OF)
    thu, sh = result.facilities
    (claim,) = result.claims_of(thu)
    assert claim.kind == "admin_unit" and claim.adcode == "110000" and claim.original["answer"] == "中国|北京市|北京市|教育网|CN"
    assert result.containment[claim.id].verdict.value == "inside"
    assert result.facility_verdict(thu).value == "indeterminate"
    (finding,) = [f for f in result.facility_findings["THU-V6"] if f.rule == "facility_in_region"]
    assert finding.status.value == "indeterminate" and finding.basis == ("ip2region",)
    (sh_claim,) = result.claims_of(sh)
    assert result.containment[sh_claim.id].verdict.value == "outside"


def test_the_shipped_ipv4_database_is_unchanged():
    db = XdbDatabase.load()
    assert db.ip_version == 4 and db.starts.dtype == np.uint32
