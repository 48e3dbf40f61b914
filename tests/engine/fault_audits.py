"""Shared by the whole-audit fault tests: the operators they audit, their constants, helpers and the
fixtures that put every audit on virtual time (see test_audit_faults.py's docstring)."""


from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import pytest
import yaml
from click.testing import CliRunner
from conftest import AS_OF, DISHUI_LAKE, PUDONG_ZHANGJIANG, REPO, write_csv
from servers.blackhole import VirtualNetwork, virtual_network  # noqa: F401  (fixtures are found by name)
from servers.hostile_dns import FaultyDns
from servers.rdap import RdapServer, Route, load_routes

from auditor import render
from auditor.cli import main
from auditor.config import DEFAULT_GIVE_UP_AFTER, AuditConfig
from auditor.engine import AuditResult, audit
from auditor.engine.gather import use_network
from auditor.errors import InputError
from auditor.resolve import breaker as breaker_module
from auditor.resolve.asn import cymru as cymru_module
from auditor.resolve.asn import rdap as rdap_module
from auditor.resolve.dns.sweep import EcsSweeper

TIMEOUT = 0.5  # seconds per network request in these audits; virtual seconds (see the module docstring)
CYMRU_TRIES = cymru_module.DEFAULT_RETRIES + 1  # what the engine's CymruDnsSource makes of a failing name
RDAP_TRIES = rdap_module.DEFAULT_RETRIES + 1
SWEEP_TRIES = EcsSweeper().retries + 1
LUJIAZUI = (121.5055, 31.2397)
VERDICTS = {"pass", "fail", "indeterminate", "error"}

# A Shanghai IDC + CDN + ISP operator whose evidence needs every network source: hostnames (DNS),
# accelerated domains (DNS, then an ECS sweep), facility IPs and an ISP prefix (Team Cymru, RDAP).
MIXED_PROFILE = {
    "name": "Faulty Networks", "region": "shanghai", "services": ["IDC", "CDN", "ISP"],
    "cdn": {"accelerated_domains": ["static.example.com", "www.example.com"]},
    "isp": {"prefixes": ["58.34.0.0/16"], "upstream_asns": [4134, 4812], "service_area": ["浦东新区"]},
}
HEADER = ["id", "kind", "lon", "lat", "crs", "ip", "hostname"]
MIXED_ROWS = [
    ["coords-only", "IDC", *DISHUI_LAKE, "wgs84", "", ""],
    ["ip-cn", "IDC", *PUDONG_ZHANGJIANG, "wgs84", "58.34.1.1", ""],
    ["host-sh", "CDN", *LUJIAZUI, "wgs84", "", "ljz-edge.static.example.com"],  # Shanghai address
    ["host-hz", "CDN", *PUDONG_ZHANGJIANG, "wgs84", "", "hz-edge.static.example.com"],  # Hangzhou address
    ["host-only", "CDN", "", "", "", "", "pvg-edge.static.example.com"],  # only DNS places it (Hangzhou)
    ["bad-row", "IDC", "abc", 31.2, "wgs84", "", ""],
]

# An IDC operator whose only network evidence is RDAP (and the Cymru step RDAP needs).
RDAP_PROFILE = {"name": "Registry Watch", "region": "shanghai", "services": ["IDC"]}
RDAP_ROWS = [
    ["coords-only", "IDC", *DISHUI_LAKE, "wgs84", "", ""],
    ["ip-us", "IDC", *PUDONG_ZHANGJIANG, "wgs84", "74.125.225.229", ""],  # ARIN answer recorded
    ["ip-kr", "IDC", *PUDONG_ZHANGJIANG, "wgs84", "210.107.73.73", ""],  # APNIC answer recorded
    ["bad-row", "IDC", "abc", 31.2, "wgs84", "", ""],
]

# A CDN operator that declares both of static.example.com's Shanghai edges: a healthy sweep finds
# exactly two undeclared nodes, both outside: 49.65.10.20 in Nanjing (served to Jiangsu Telecom
# subnets) and 36.19.1.1 in Hangzhou (served to Zhejiang subnets).
SWEEP_PROFILE = {"name": "Edge Shanghai", "region": "shanghai", "services": ["CDN"],
                 "cdn": {"accelerated_domains": ["static.example.com"]}}
SWEEP_ROWS = [
    ["coords-only", "IDC", *DISHUI_LAKE, "wgs84", "", ""],
    ["ljz", "CDN", *LUJIAZUI, "wgs84", "", "ljz-edge.static.example.com"],
    ["cs", "CDN", *PUDONG_ZHANGJIANG, "wgs84", "117.185.1.1", ""],
]
SWEEP_HEALTHY = 100  # the sweep asks Jiangsu Telecom subnets as queries 187-190 of 426, Zhejiang as 247-258


# --------------------------------------------------------------------------- helpers
def write_operator(folder: Path, profile: dict[str, Any], rows: list[list[object]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "facilities.csv", HEADER, rows)
    path = folder / "operator.yaml"
    path.write_text(yaml.safe_dump({**profile, "facilities": "facilities.csv"}, allow_unicode=True), encoding="utf-8")
    return path


def run(path: Path, registry: Any, **config: Any) -> tuple[AuditResult, dict[str, Any]]:
    result = audit(path, as_of=AS_OF, registry=registry, config=AuditConfig(timeout_s=TIMEOUT, **config))
    return result, json.loads(render(result, "json", generated_at="fixed"))


def assert_complete(result: AuditResult, report: dict[str, Any], rows: list[list[object]]) -> None:
    """Every input row exactly once, in order, with a verdict; unreadable rows are ``error``."""
    ids = [str(r[0]) for r in rows]
    assert [f.id for f in result.facilities] == ids
    assert [f["id"] for f in report["facilities"]] == ids
    for f, entry in zip(result.facilities, report["facilities"]):
        assert entry["verdict"] == result.facility_verdict(f).value
        assert entry["verdict"] in VERDICTS
        assert (entry["verdict"] == "error") == (f.id == "bad-row")
    assert report["summary"]["facility_count"] == len(rows)
    assert sum(report["summary"]["facilities"].values()) == len(rows)


def assert_every_query_answered(result: AuditResult, queries: list[str], sources: list[str]) -> None:
    """Each ASN source answered each query exactly once (nothing lost), and a failure says why."""
    assert sorted(result.asn) == sorted(queries)
    for q in queries:
        assert [a.source for a in result.asn[q]] == sources, q
        for a in result.asn[q]:
            assert (a.status == "ok") == (a.reason == ""), (q, a)


def facility_findings(result: AuditResult, fid: str) -> list[tuple[str, str, str]]:
    return [(x.rule, x.status.value, x.message) for x in result.facility_findings.get(fid, [])]


def operator_findings(result: AuditResult, *, skip: tuple[str, ...] = ()) -> list[tuple[str, str, str]]:
    return [(x.rule, x.status.value, x.message) for x in result.operator_findings if x.rule not in skip]


def only(findings: list[Any], rule: str) -> Any:
    (x,) = [f for f in findings if f.rule == rule]
    return x


def claims_of(report: dict[str, Any], fid: str) -> list[dict[str, Any]]:
    return next(f for f in report["facilities"] if f["id"] == fid)["claims"]


def origin(ip: str) -> str:
    return ".".join(reversed(ip.split("."))) + ".origin.asn.cymru.com."


@pytest.fixture(autouse=True)
def net(virtual_network: VirtualNetwork) -> Iterator[VirtualNetwork]:
    """Every test's audits (and CLI runs in this process) on virtual time; none may reach the backstop."""
    with use_network(virtual_network):
        yield virtual_network


@pytest.fixture
def rdap_local():
    """A private RDAP server (recorded routes) for one test, so a fault set here stays here."""
    with RdapServer(load_routes()) as server:
        yield server


# the command-line tests' operator
CLI_PROFILE = {"name": "Quiet Racks", "region": "shanghai", "services": ["IDC"], "evidence": {"timeout_s": TIMEOUT}}
CLI_ROWS = [  # nothing fails with healthy servers: exit 0
    ["coords-only", "IDC", *DISHUI_LAKE, "wgs84", "", ""],
    ["ip-cn", "IDC", *PUDONG_ZHANGJIANG, "wgs84", "58.34.1.1", ""],
    ["host-sh", "IDC", *LUJIAZUI, "wgs84", "", "ljz-edge.static.example.com"],
]
