"""Latency evidence inside audits: feasible regions, physics contradicting a declaration, anycast CDN nodes."""

from __future__ import annotations

import json

from conftest import AS_OF, DISHUI_LAKE, write_csv

from auditor import render
from auditor.config import AuditConfig
from auditor.engine import audit
from auditor.model import Status


def finding(result, fid, rule):
    return next(x for x in result.facility_findings[fid] if x.rule == rule)


def test_latency_claims_in_an_audit(tmp_path, make_operator):
    rtt = write_csv(
        tmp_path / "rtt.csv",
        ["vantage_id", "vantage_lon", "vantage_lat", "target", "rtt_ms"],
        [
            ["sh", 121.544, 31.22, "lingang-dc", 0.9],       # within 90 km of Pudong
            ["hz", 120.16, 30.27, "lingang-dc", 2.8],
            ["bj", 116.4074, 39.9042, "liar", 0.8],          # within 80 km of Beijing
            ["bj", 116.4074, 39.9042, "58.34.1.1", 2.0],     # the same address 2 ms from Beijing and Shenzhen
            ["sz", 114.0579, 22.5431, "58.34.1.1", 2.0],
        ],
    )
    profile = {"name": "x", "region": "shanghai", "services": ["IDC", "CDN"], "evidence": {"latency": [str(rtt)]}}
    rows = [
        ["lingang-dc", "IDC", *DISHUI_LAKE, "wgs84", ""],
        ["liar", "IDC", 121.70, 31.19, "wgs84", ""],
        ["edge", "CDN", 121.70, 31.24, "wgs84", "58.34.1.1"],
    ]
    result = audit(make_operator(profile, ["id", "kind", "lon", "lat", "crs", "ip"], rows), as_of=AS_OF)
    assert finding(result, "lingang-dc", "facility_in_region").status is Status.PASS
    assert finding(result, "lingang-dc", "location_evidence_consistent").status is Status.PASS
    liar = finding(result, "liar", "location_evidence_consistent")
    assert liar.status is Status.FAIL and "bj at (116.4074, 39.9042): 0.8 ms, so within 80 km" in liar.message
    edge = finding(result, "edge", "cdn_nodes_in_region")
    assert edge.status is Status.FAIL and "anycast" in edge.message
    claim = next(c for c in result.claims["edge"] if c.kind == "anycast")
    assert result.containment[claim.id].verdict.value == "outside"
    gj = json.loads(render(result, "geojson"))
    layers = {f["properties"]["layer"] for f in gj["features"]}
    assert {"evidence-polygon", "evidence-anycast"} <= layers
    assert any(d.name == "latency" and d.version == "csv" for d in result.data_sources)


def test_bad_latency_rows_are_reported_not_fatal(tmp_path):
    rtt = write_csv(tmp_path / "rtt.csv", ["vantage_id", "vantage_lon", "vantage_lat", "target", "rtt_ms"],
                    [["a", 121.5, 31.2, "f1", "fast"], ["b", 121.5, 31.2, "f1", -3], ["c", 121.5, 31.2, "f1", 1.0]])
    inv = write_csv(tmp_path / "f.csv", ["id", "lon", "lat", "crs"], [["f1", *DISHUI_LAKE, "wgs84"]])
    result = audit(inv, region="shanghai", as_of=AS_OF, config=AuditConfig(latency=(str(rtt),)))
    assert len([n for n in result.warnings if "latency" in n]) >= 2
    assert any(c.source.value == "latency" for c in result.claims["f1"])
