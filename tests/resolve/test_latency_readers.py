"""Latency evidence, the readers (auditor.resolve.latency): RIPE Atlas probe metadata and ping results
(every firmware variant, in the project's own fixtures under tests/fixtures/atlas) and plain CSV files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from conftest import TESTS
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from auditor.errors import InputError, UsageError
from auditor.geo.measure import geodesic_distance_m
from auditor.geo.multilateration import (
    DEFAULT_DISK_POINTS,
    Disk,
    DiskPolygons,
    RttSample,
    disk_polygon,
    disk_polygons,
    greedy_disjoint,
    locate_target,
    locate_targets,
    minimum_rtts,
    pairwise_disjoint,
    rtt_radius_m,
)
from auditor.resolve.latency import (
    ATLAS_POSITION_UNCERTAINTY_M,
    AtlasProbe,
    atlas_ping_samples,
    read_atlas_pings,
    read_atlas_probes,
    read_rtt_csv,
)

ATLAS = TESTS / "fixtures" / "atlas"
KM_PER_MS = 99.93081933333333   # 0.5e-3 s x 2/3 x 299,792,458 m/s, in km

LINGANG = (121.93, 30.905)
SHANGHAI = (121.4737, 31.2304)   # People's Square
def sample(vantage: str, where: tuple[float, float], rtt_ms: float, target: str = "lingang-dc1", unc: float = 0.0) -> RttSample:
    return RttSample(vantage, where[0], where[1], unc, target, rtt_ms, "test")


# --------------------------------------------------------------------------- readers: RIPE Atlas probe metadata


def atlas_metadata() -> dict[int, AtlasProbe]:
    """Every probe position the fixtures publish: the v1 and the v2 metadata files together."""
    v1, v2 = read_atlas_probes(ATLAS / "probes-v1.json").probes, read_atlas_probes(ATLAS / "probes-v2.json").probes
    assert not set(v1) & set(v2)
    return {**v1, **v2}


def test_probe_metadata_v1_fixture():
    probes, problems = read_atlas_probes(ATLAS / "probes-v1.json")
    assert problems == []
    assert sorted(probes) == [7101, 7102, 7103, 7104]
    assert (probes[7102].lon, probes[7102].lat) == (8.6821, 50.1109)    # flat longitude/latitude
    assert (probes[7104].lon, probes[7104].lat) == (-3.7038, 40.4168)   # west of Greenwich
    assert [probes[i].status for i in (7101, 7103, 7104)] == ["Connected", "Abandoned", "Disconnected"]   # status_name
    assert [probes[i].country_code for i in sorted(probes)] == ["NL", "DE", "FR", "ES"]
    assert all(p.uncertainty_m == ATLAS_POSITION_UNCERTAINTY_M == 400.0 for p in probes.values())


def test_probe_metadata_v2_fixture_lon_lat_order_and_a_probe_without_position():
    path = ATLAS / "probes-v2.json"
    probes, problems = read_atlas_probes(path)
    assert sorted(probes) == [7201, 7202, 7203, 7205]
    # GeoJSON order [lon, lat]: read the other way round, Tokyo's 139.69 would be an impossible latitude
    assert (probes[7201].lon, probes[7201].lat) == (139.6917, 35.6895)
    assert (probes[7205].lon, probes[7205].lat) == (151.2093, -33.8688)
    assert (probes[7201].status, probes[7205].status, probes[7203].country_code) == ("Connected", "Disconnected", "US")
    assert [(p.file, p.record, p.reason) for p in problems] == [
        (str(path), 4, "probe 7204: no position published (longitude/latitude missing or not numbers)")
    ]


def test_probe_metadata_v2_with_impossible_coordinates_is_reported_with_file_and_probe():
    path = ATLAS / "probe-v2-impossible-latitude.json"
    probes, problems = read_atlas_probes(path)
    assert probes == {}
    assert [(p.record, p.reason) for p in problems] == [(1, "probe 7299: impossible latitude 666 (must be within [-90, 90])")]
    text = str(problems[0])
    assert str(path) in text and "probe 7299" in text and "666" in text and "latitude" in text


def test_probe_metadata_shapes_and_bad_records(tmp_path):
    v2 = {
        "count": 6,
        "results": [
            {"id": 10, "geometry": {"type": "Point", "coordinates": [121.47, 31.23]}, "status": {"name": "Connected"}},
            {"id": 11, "geometry": None},
            {"id": 12, "geometry": {"type": "Point", "coordinates": [231.0, 31.0]}},
            {"id": 13, "geometry": {"type": "Point", "coordinates": [0, 0]}},
            {"id": 10, "geometry": {"type": "Point", "coordinates": [100.0, 30.0]}},
            {"geometry": {"type": "Point", "coordinates": [100.0, 30.0]}},
            "not a probe",
        ],
    }
    path = tmp_path / "probes-v2.json"
    path.write_text(json.dumps(v2))
    probes, problems = read_atlas_probes(path)
    assert list(probes) == [10]
    assert (probes[10].lon, probes[10].lat, probes[10].status) == (121.47, 31.23, "Connected")   # [lon, lat] order
    reasons = {p.record: p.reason for p in problems}
    assert reasons[2].startswith("probe 11: no position")
    assert reasons[3] == "probe 12: impossible longitude 231 (must be within [-180, 180])"
    assert "placeholder" in reasons[4]
    assert "listed again" in reasons[5]
    assert "numeric id" in reasons[6]
    assert "not a probe object" in reasons[7]

    v1 = {"meta": {"total_count": 1}, "objects": [{"id": "7", "latitude": "31.2", "longitude": "121.5"}]}
    path.write_text(json.dumps(v1))
    probes, problems = read_atlas_probes(path)
    assert problems == [] and (probes[7].lon, probes[7].lat) == (121.5, 31.2)


@pytest.mark.parametrize("content, message", [("", "empty"), ("{not json", "not JSON"), ('{"foo": 1}', "no probe objects")])
def test_unusable_probe_file_raises_naming_it(tmp_path, content, message):
    path = tmp_path / "probes.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_atlas_probes(path)
    assert str(path) in str(info.value)
    with pytest.raises(InputError, match="not found"):
        read_atlas_probes(tmp_path / "missing.json")


# --------------------------------------------------------------------------- readers: RIPE Atlas ping results

PROBES = {1: AtlasProbe(1, 121.47, 31.23), 2: AtlasProbe(2, 120.16, 30.27)}


def ping(**fields):
    base = {"type": "ping", "prb_id": 1, "msm_id": 42, "dst_addr": "192.0.2.1", "timestamp": 1700000000, "fw": 4790}
    base.update(fields)
    return base


def rtts(records):
    samples, problems = atlas_ping_samples(enumerate(records, start=1), PROBES, source="hand.jsonl")
    return [s.rtt_ms for s in samples], [(p.record, p.reason) for p in problems]


def test_hand_made_records_for_the_odd_cases():
    got, problems = rtts(
        [
            ping(fw=0, min="57.876", avg="58.042", max="58.272", rcvd="3", sent="3"),           # 1 string numbers
            ping(result=[{"x": "*"}, {"rtt": "12.5"}, {"rtt": 11.0, "ttl": 50}]),             # 2 lost + string rtt
            ping(rcvd=0, min=-1, avg=-1, max=-1, result=[{"x": "*"}, {"x": "*"}, {"x": "*"}]),  # 3 rcvd 0, -1
            ping(rcvd=0, min=None, max=None, result=[]),                                     # 4 null min
            ping(result=[{"error": "sendto failed: Network is unreachable"}]),               # 5 error entries
            ping(result=[{"dup": 1, "rtt": 3.0}, {"rtt": 30.0}, {"late": 1}]),               # 6 duplicate, late
            ping(rcvd=1, min=None, result=[{"x": "*"}]),                                     # 7 no rtt anywhere
            ping(prb_id=99, min=5.0, result=[{"rtt": 5.0}]),                                 # 8 unknown probe
            ping(type="traceroute"),                                                         # 9 not a ping
            ping(dst_addr=None),                                                             # 10 no target
            ping(prb_id="x"),                                                                # 11 no probe id
            ping(**{" prb_id": 2, " min": 9.5}),                                             # 12 spaced keys
            {"fw": 1, "prb_id": 2, "addr": "192.0.2.9", "from": "198.51.100.1", "min": 8.25, "rcvd": 3},   # 13 fw 1
            ping(min=0, result=[{"rtt": 0.0}, {"rtt": -3.0}]),                                # 14 no positive rtt
            [1, 2, 3],                                                                       # 15 not an object
        ]
    )
    assert got == [57.876, 11.0, 30.0, 9.5, 8.25]
    assert problems == [
        (3, "probe 1 to 192.0.2.1: no reply (rcvd 0)"),
        (4, "probe 1 to 192.0.2.1: no reply (rcvd 0)"),
        (5, "probe 1 to 192.0.2.1: no reply: error 'sendto failed: Network is unreachable'"),
        (7, "probe 1 to 192.0.2.1: no reply: 1 packet(s) lost"),
        (8, "probe 99 to 192.0.2.1: no position for probe 99 in the probe metadata given"),
        (9, "not a ping result (type 'traceroute')"),
        (10, "probe 1: no target (dst_addr, addr, dst_name or name)"),
        (11, "no numeric prb_id ('x')"),
        (14, "probe 1 to 192.0.2.1: no usable RTT (min 0, no per-packet reply times)"),
        (15, "not a result object (a JSON list)"),
    ]


def test_atlas_sample_fields():
    samples, _ = atlas_ping_samples([(3, ping(prb_id=2, min=4.0, result=[{"rtt": 4.0}]))], PROBES, source="f.json")
    s = samples[0]
    assert (s.vantage_id, s.vantage_lon, s.vantage_lat, s.vantage_uncertainty_m) == ("atlas:2", 120.16, 30.27, 400.0)
    assert (s.target, s.rtt_ms, s.measured_at) == ("192.0.2.1", 4.0, "2023-11-14T22:13:20Z")
    assert s.source == "RIPE Atlas msm 42 (f.json, record 3)"


def test_ping_file_as_json_array_and_as_lines_with_a_broken_line(tmp_path):
    records = [ping(min=5.0, result=[{"rtt": 5.0}]), ping(prb_id=2, result=[{"rtt": 7.0}])]
    as_array = tmp_path / "results.json"
    as_array.write_text(json.dumps(records))
    samples, problems = read_atlas_pings(as_array, PROBES)
    assert [s.rtt_ms for s in samples] == [5.0, 7.0] and problems == []
    as_lines = tmp_path / "results.jsonl"
    as_lines.write_text(json.dumps(records[0]) + "\n{broken\n\n" + json.dumps(records[1]) + "\n")
    samples, problems = read_atlas_pings(as_lines, PROBES)
    assert [s.rtt_ms for s in samples] == [5.0, 7.0]
    assert [(p.file, p.record) for p in problems] == [(str(as_lines), 2)] and "not JSON" in problems[0].reason


@pytest.mark.parametrize("content, message", [("", "empty"), ("nothing\nhere\n", "not JSON"), ("[]", "no ping results")])
def test_unusable_ping_file_raises_naming_it(tmp_path, content, message):
    path = tmp_path / "results.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_atlas_pings(path, PROBES)
    assert str(path) in str(info.value)


def test_traceroute_results_are_not_ping_results():
    path = ATLAS / "traceroute-results.jsonl"
    with pytest.raises(InputError, match=r"no ping results in the file \(found: traceroute\)") as info:
        read_atlas_pings(path, PROBES)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------- readers: RIPE Atlas fixture files

#: Fastest non-duplicate reply of every usable record in the fixtures (tests/fixtures/atlas/README.md lists what
#: each line exercises): per-packet lists with duplicates excluded, else the ``min`` field; the metadata files
#: place every probe of the firmware file, so only its record 14 (rcvd 0) is left out.
FIRMWARE_RTTS = [7.412, 243.118, 1.187, 238.77, 8.876, 26.958, 249.93, 8.64, 26.512, 236.402, 7.205, 1.116, 163.512, 87.96]
MIXED_RTTS = [1.912, 2.311, 5.803, 3.107, 71.203, 148.306, 8.97]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_fixture_results_every_firmware():
    path = ATLAS / "ping-firmware-variants.jsonl"
    records = _lines(path)
    assert [r["fw"] for r in records] == [0, 1, 4420, 4460, 4480, 4500, 4520, 4550, 4560, 4570, 4600, 4610, 4610, 4600, 4650]
    # the shapes the expected values below depend on
    assert records[0]["min"] == "7.412" and "result" not in records[0]
    assert "dst_addr" not in records[1] and "type" not in records[1] and records[1]["name"] == "ping.example.net"
    assert "dst_addr" not in records[2] and records[2]["srcaddr"] and records[2]["mode"] == "ICMP4"
    assert {"dup": 1, "rtt": 41.07, "ttl": 49} in records[12]["result"] and records[12]["min"] == 163.512
    assert records[13]["rcvd"] == 0 and records[13]["avg"] == -1 and any("rtt" in x for x in records[13]["result"])
    probes = atlas_metadata()
    samples, problems = read_atlas_pings(path, probes)
    assert [s.rtt_ms for s in samples] == FIRMWARE_RTTS
    # duplicates are no replies: record 13's 41.07 ms is not its RTT, and record 14 (only duplicates came back) has none
    assert [(p.record, p.reason) for p in problems] == [(14, "probe 7104 to 192.0.2.10: no reply (rcvd 0)")]
    # fw 0 and 4400 have no dst_addr, fw 1 names the target "addr" (its "name" is a host name, not the target)
    assert [s.target for s in samples[:3]] == ["192.0.2.10"] * 3
    assert {s.target for s in samples} == {"192.0.2.10", "198.51.100.7"}
    first = samples[0]
    assert (first.vantage_id, first.vantage_lon, first.vantage_lat) == ("atlas:7101", 4.8897, 52.374)   # from probes-v1.json
    assert first.vantage_uncertainty_m == 400.0
    assert first.measured_at == "2012-01-01T12:30:00Z"
    assert first.source == f"RIPE Atlas msm 2001 ({path}, record 1)"
    assert [s.vantage_id for s in samples if s.rtt_ms > 200] == ["atlas:7201"] * 4


def test_fixture_results_spaced_keys_empty_results_ipv6_and_probes_without_position():
    path = ATLAS / "ping-mixed.jsonl"
    records = _lines(path)
    assert " proto" in records[0] and " lts" in records[1] and records[6]["type"] == "traceroute"
    assert (records[10]["rcvd"], records[10]["result"], records[10]["min"], records[10]["max"]) == (0, [], None, None)
    samples, problems = read_atlas_pings(path, atlas_metadata())
    assert [s.rtt_ms for s in samples] == MIXED_RTTS
    assert [(p.record, p.reason) for p in problems] == [
        (7, "not a ping result (type 'traceroute')"),
        (8, "probe 7204 to 203.0.113.53: no position for probe 7204 in the probe metadata given"),
        (9, "probe 7299 to 203.0.113.53: no position for probe 7299 in the probe metadata given"),
        (10, "probe 7301 to 2001:db8:53::1: no position for probe 7301 in the probe metadata given"),
        (11, "probe 7102 to 203.0.113.53: no reply (rcvd 0)"),
        (12, "probe 7104 to 2001:db8:53::1: no reply: error 'sendto failed: Network is unreachable' (and 2 more)"),
    ]
    assert sorted({s.target for s in samples}) == ["198.51.100.7", "2001:db8:53::1", "203.0.113.53"]
    # dst_addr wins over a host name in dst_name; the spaced-key records are read like any other
    assert samples[-1].target == "198.51.100.7" and samples[0].vantage_id == "atlas:7101"
    assert samples[4].measured_at == "2020-09-13T12:26:40Z" and samples[4].vantage_lat == 40.7128


def test_fixture_results_without_probe_positions_are_each_reported():
    """With the v1 metadata only, every result of a probe it does not place is a problem naming the probe."""
    probes, _ = read_atlas_probes(ATLAS / "probes-v1.json")
    located, unplaced, other = set(), [], []
    for name in ("ping-firmware-variants.jsonl", "ping-mixed.jsonl"):
        samples, problems = read_atlas_pings(ATLAS / name, probes)
        located |= {s.vantage_id for s in samples}
        for p in problems:
            (unplaced if "no position for probe" in p.reason else other).append((name, p.record, p.reason))
    assert located == {"atlas:7101", "atlas:7102", "atlas:7103", "atlas:7104"}
    assert sorted(int(r.split()[1]) for _, _, r in unplaced) == [7201] * 5 + [7202, 7202, 7203, 7203, 7204, 7205, 7299, 7301]
    assert [(n, r) for n, r, _ in other] == [
        ("ping-firmware-variants.jsonl", 14), ("ping-mixed.jsonl", 7), ("ping-mixed.jsonl", 11), ("ping-mixed.jsonl", 12)
    ]
    # no metadata at all: nothing is located, and every ping with a reply says so
    samples, problems = read_atlas_pings(ATLAS / "ping-firmware-variants.jsonl", {})
    assert samples == [] and len(problems) == 15 and sum("no position for probe" in p.reason for p in problems) == 14


def test_fixture_results_located():
    """The fixtures' RTTs through the whole path: per (probe, target) minimum, disks, targets, anycast."""
    probes = atlas_metadata()
    samples = []
    for name in ("ping-firmware-variants.jsonl", "ping-mixed.jsonl"):
        samples += read_atlas_pings(ATLAS / name, probes).samples
    best = {(s.target, s.vantage_id): s.rtt_ms for s in minimum_rtts(samples)}
    assert best[("192.0.2.10", "atlas:7201")] == 236.402   # four results over two years: 243.118, 238.77, 249.93, 236.402
    assert best[("192.0.2.10", "atlas:7102")] == 1.116     # fw 4420's 1.187, fw 4610's 1.116
    assert best[("198.51.100.7", "atlas:7103")] == 8.64    # two files: 8.876, 8.64 (the reply after two lost), 8.97
    ev = locate_targets(samples, polygons="bounding")
    assert sorted(ev) == ["192.0.2.10", "198.51.100.7", "2001:db8:53::1", "203.0.113.53"]
    assert [len(ev[t].disks) for t in sorted(ev)] == [6, 2, 2, 4]
    # one place each; a duplicate taken for a reply (Singapore 41.07 ms) would have made 192.0.2.10 anycast
    frankfurt, paris, los_angeles = (8.6821, 50.1109), (2.3522, 48.8566), (-118.2437, 34.0522)
    for target, where in (("192.0.2.10", frankfurt), ("198.51.100.7", paris), ("2001:db8:53::1", los_angeles)):
        assert not ev[target].anycast and ev[target].feasible.contains(Point(where)), target
    assert ev["192.0.2.10"].disks[0].vantage_id == "atlas:7102"
    assert ev["192.0.2.10"].disks[0].radius_m == pytest.approx(1.116 * KM_PER_MS * 1000.0 + 400.0)
    # Amsterdam, Tokyo and Singapore all answered within 3.2 ms: three instances at least
    anycast = ev["203.0.113.53"]
    assert anycast.anycast and anycast.instances_lower_bound == 3 and anycast.feasible is None
    assert {d.vantage_id for d in anycast.disjoint} == {"atlas:7101", "atlas:7201", "atlas:7202"}


# --------------------------------------------------------------------------- readers: plain CSV

HEADER = "vantage_id,vantage_lon,vantage_lat,target,rtt_ms"


def test_csv_good_and_bad_rows_reported_per_row(tmp_path):
    path = tmp_path / "rtt.csv"
    path.write_text(
        "\n".join(
            [
                HEADER,
                "sh,121.4737,31.2304,lingang-dc1,1.0",     # 2 good
                "hz,120.1551,30.2741,lingang-dc1,abc",     # 3 non-numeric RTT
                "hz,120.1551,30.2741,lingang-dc1,-1",      # 4 negative RTT
                "hz,120.1551,30.2741,lingang-dc1",         # 5 missing column
                "hz,120.1551,30.2741,,3.0",                # 6 empty target
                "hz,120.1551,95.0,lingang-dc1,3.0",        # 7 impossible latitude
                "hz,120.1551,30.2741,lingang-dc1,3.0,x",   # 8 extra field
                "",                                        # 9 blank: skipped
                "hz,120.1551,30.2741,192.0.2.1,inf",       # 10 not finite
                "hz,120.1551,30.2741,lingang-dc1,3.0",     # 11 good
            ]
        )
        + "\n"
    )
    samples, problems = read_rtt_csv(path)
    assert [(s.vantage_id, s.target, s.rtt_ms, s.vantage_uncertainty_m) for s in samples] == [
        ("sh", "lingang-dc1", 1.0, 0.0),
        ("hz", "lingang-dc1", 3.0, 0.0),
    ]
    assert samples[0].source == f"{path}, line 2"
    assert [(p.file, p.record, p.reason) for p in problems] == [
        (str(path), 3, "rtt_ms is not a finite number ('abc')"),
        (str(path), 4, "negative rtt_ms -1 (no reply?)"),
        (str(path), 5, "4 fields where the header has 5"),
        (str(path), 6, "missing value for column 'target'"),
        (str(path), 7, "vantage 'hz': impossible latitude 95 (must be within [-90, 90])"),
        (str(path), 8, "6 fields where the header has 5"),
        (str(path), 10, "rtt_ms is not a finite number ('inf')"),
    ]
    ev = locate_target(samples)
    assert ev.feasible.contains(Point(LINGANG))


def test_csv_optional_columns_uncertainty_crs_time(tmp_path):
    path = tmp_path / "rtt.csv"
    path.write_text(
        "\ufeff Vantage_ID ,vantage_lon,vantage_lat,target,rtt_ms,vantage_uncertainty_m,vantage_crs,measured_at\n"
        "sh,121.4781,31.2285,dc1,1.0,250,gcj02,2026-11-01T00:00:00Z\n"
        "hz,120.1551,30.2741,dc1,3.0,,,\n"
        "bj,116.4,39.9,dc1,3.0,-5,,\n"
        "gz,113.26,23.13,dc1,3.0,,mars,\n",
        encoding="utf-8",
    )
    samples, problems = read_rtt_csv(path)
    sh, hz = samples
    assert sh.vantage_uncertainty_m == 250.0 and sh.measured_at == "2026-11-01T00:00:00Z"
    # GCJ-02 converted to WGS-84: a few hundred metres west/north
    assert 300 < geodesic_distance_m(121.4781, 31.2285, sh.vantage_lon, sh.vantage_lat) < 700
    assert (hz.vantage_uncertainty_m, hz.measured_at, hz.vantage_lon) == (0.0, None, 120.1551)
    assert [p.record for p in problems] == [4, 5]
    assert "vantage_uncertainty_m" in problems[0].reason and "crs" in problems[1].reason


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty"),
        ("vantage_id,lon,lat,target,rtt\nx,1,2,t,3\n", "missing column"),
        (HEADER + ",rtt_ms\n", "more than once"),
    ],
)
def test_unusable_csv_raises_naming_the_file(tmp_path, content, message):
    path = tmp_path / "rtt.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_rtt_csv(path)
    assert str(path) in str(info.value)


def test_csv_not_utf8_raises(tmp_path):
    path = tmp_path / "rtt.csv"
    path.write_bytes((HEADER + "\n上海,121.47,31.23,dc1,1\n").encode("gb18030"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_rtt_csv(path)


def test_disk_is_the_documented_shape():
    ev = locate_target([sample("sh", SHANGHAI, 1.0)])
    d = ev.disks[0]
    assert isinstance(d, Disk)
    assert (d.vantage_id, d.lon, d.lat, d.rtt_ms) == ("sh", SHANGHAI[0], SHANGHAI[1], 1.0)
    with pytest.raises(AttributeError):
        d.radius_m = 0.0  # frozen
