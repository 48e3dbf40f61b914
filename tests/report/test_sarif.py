"""SARIF 2.1.0 output: valid against the OASIS schema, every rule described, waivers suppressed, deterministic."""

from __future__ import annotations

import datetime as dt
import json
import os

import jsonschema
import pytest
from conftest import AS_OF, EXAMPLE, REPO

from auditor.report.sarif_report import build_sarif, render_sarif
from auditor.rules import RULE_IDS
from auditor.waivers import Waiver, apply_waivers_to_result

SCHEMA = json.loads((REPO / "tests" / "fixtures" / "sarif" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
EXAMPLE_REPORT = json.loads((REPO / "reports" / "example" / "report.json").read_text(encoding="utf-8"))


def _validate(log):
    jsonschema.Draft4Validator(SCHEMA).validate(log)




def test_valid_and_covers_every_rule():
    log = json.loads(render_sarif(EXAMPLE_REPORT))
    _validate(log)
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(RULE_IDS)
    assert all(r["shortDescription"]["text"] and r["fullDescription"]["text"] and r["help"]["text"] for r in rules)
    assert all(r["properties"]["clauses"] and r["properties"]["severity"] for r in rules)
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]


def test_results_levels_and_locations():
    run = build_sarif(EXAMPLE_REPORT)["runs"][0]
    expected = sum(1 for x in EXAMPLE_REPORT["operator_findings"] if x["status"] in ("fail", "indeterminate"))
    expected += sum(1 for f in EXAMPLE_REPORT["facilities"] for x in f["findings"] if x["status"] in ("fail", "indeterminate"))
    assert len(run["results"]) == expected
    by_status = {}
    for r in run["results"]:
        by_status.setdefault(r["properties"]["status"], set()).add(r["level"])
    assert by_status["indeterminate"] == {"note"}
    assert by_status["fail"] <= {"error", "warning", "note"} and "error" in by_status["fail"]
    rows = {f["id"]: f["row"] for f in EXAMPLE_REPORT["facilities"]}
    fac = [r for r in run["results"] if r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].startswith("facility/")]
    assert fac
    for r in fac:
        loc = r["locations"][0]
        fid = loc["logicalLocations"][0]["name"]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == "examples/shanghai-operator/facilities.csv"
        assert loc["physicalLocation"]["region"]["startLine"] == rows[fid]
    fps = [r["partialFingerprints"]["auditorFinding/v1"] for r in run["results"]]
    assert len(fps) == len(set(fps))


def test_deterministic(example_result):
    a = render_sarif(example_result)
    assert a == render_sarif(example_result)
    # an AuditResult and its report.json give the same log
    assert a == render_sarif(EXAMPLE_REPORT)


def test_waived_finding_has_an_external_suppression(example_result):
    waiver = Waiver(1, "facility_in_region", "*", "ops@example.com", "moving to Lingang", dt.date(2026, 12, 31), "CHG-7", "waivers.yaml")
    new, waived = apply_waivers_to_result(example_result, [waiver])
    log = build_sarif(new, waived=waived)
    _validate(log)
    results = log["runs"][0]["results"]
    sup = [r for r in results if r["properties"]["status"] == "waived"]
    assert len(sup) == len(waived) > 0
    for r in sup:
        (s,) = r["suppressions"]
        assert s["kind"] == "external" and s["justification"] == "moving to Lingang"
        assert s["properties"]["owner"] == "ops@example.com" and s["properties"]["reference"] == "CHG-7"
        assert s["properties"]["expires"] == "2026-12-31"
        assert r["level"] == ("note" if s["properties"]["original_status"] == "indeterminate" else "error")
    assert all("suppressions" not in r for r in results if r["properties"]["status"] != "waived")
