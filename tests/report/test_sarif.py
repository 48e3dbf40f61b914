"""SARIF 2.1.0 output: valid against the OASIS schema, every rule described, waivers suppressed, deterministic."""

from __future__ import annotations

import copy
import datetime as dt
import json

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


def _kind_level_rule_holds(log):
    """SARIF 2.1.0 §3.27.9/§3.27.10: a kind other than "fail" has level "none"; a failing result a real level."""
    for r in log["runs"][0]["results"]:
        if r["kind"] == "fail":
            assert r["level"] in ("error", "warning", "note"), r
        else:
            assert r["kind"] in ("pass", "notApplicable", "review", "informational", "open") and r["level"] == "none", r


def test_kind_and_level_agree_in_every_result_of_the_example_log():
    stored = json.loads((REPO / "reports" / "example" / "report.sarif").read_text(encoding="utf-8"))
    assert stored["runs"][0]["results"]
    for log in (stored, build_sarif(EXAMPLE_REPORT), build_sarif(EXAMPLE_REPORT, include_passing=True)):
        _validate(log)
        _kind_level_rule_holds(log)


def test_results_kinds_levels_and_messages():
    run = build_sarif(EXAMPLE_REPORT)["runs"][0]
    expected = sum(1 for x in EXAMPLE_REPORT["operator_findings"] if x["status"] in ("fail", "indeterminate"))
    expected += sum(1 for f in EXAMPLE_REPORT["facilities"] for x in f["findings"] if x["status"] in ("fail", "indeterminate"))
    assert len(run["results"]) == expected
    by_status = {}
    for r in run["results"]:
        by_status.setdefault(r["properties"]["status"], set()).add((r["kind"], r["level"]))
    assert by_status["indeterminate"] == {("review", "none")}
    assert {k for k, _ in by_status["fail"]} == {"fail"} and ("fail", "error") in by_status["fail"]
    assert ("fail", "warning") in by_status["fail"]  # the consistency rule is of medium severity
    names = {f["id"]: f["name"] for f in EXAMPLE_REPORT["facilities"]}
    for r in run["results"]:
        subject = r["properties"]["subject"]
        if subject == "(operator)":
            assert r["message"]["text"].startswith("Operator Example Cloud Services (Shanghai Lingang) Co., Ltd.: ")
        else:
            assert r["message"]["text"].startswith(f"{subject} ({names[subject]}): ")
    cdn03 = [r for r in run["results"] if r["properties"]["subject"] == "SH-CDN-03"]
    assert cdn03 and all(r["message"]["text"].startswith("SH-CDN-03 (Pudong airport edge): ") for r in cdn03)


def test_passing_results_on_request():
    log = build_sarif(EXAMPLE_REPORT, include_passing=True)
    _validate(log)
    run = log["runs"][0]
    pairs = {(r["properties"]["status"], r["kind"], r["level"]) for r in run["results"]}
    assert ("pass", "pass", "none") in pairs and ("not_applicable", "notApplicable", "none") in pairs
    total = len(EXAMPLE_REPORT["operator_findings"]) + sum(len(f["findings"]) for f in EXAMPLE_REPORT["facilities"])
    assert len(run["results"]) == total and run["properties"]["passing_results"] == "included"
    assert build_sarif(EXAMPLE_REPORT)["runs"][0]["properties"]["passing_results"] == "omitted"


def test_paths_are_relative_to_a_named_base():
    rows = {f["id"]: f["row"] for f in EXAMPLE_REPORT["facilities"]}
    for root, prefix in ((None, ""), (REPO, "examples/shanghai-operator/")):
        run = build_sarif(EXAMPLE_REPORT, root=root)["runs"][0]
        (base,) = run["originalUriBaseIds"]
        assert base == "%SRCROOT%" and "uri" not in run["originalUriBaseIds"][base]  # no machine path in the file
        assert ("repository root" in run["originalUriBaseIds"][base]["description"]["text"]) is (root is not None)
        for r in run["results"]:
            (loc,) = r["locations"]
            art = loc["physicalLocation"]["artifactLocation"]
            assert art["uriBaseId"] == "%SRCROOT%"
            if r["properties"]["subject"] == "(operator)":
                assert art["uri"] == prefix + "operator.yaml" and "region" not in loc["physicalLocation"]
            else:
                assert art["uri"] == prefix + "facilities.csv"
                assert loc["physicalLocation"]["region"]["startLine"] == rows[r["properties"]["subject"]]


def test_the_log_does_not_depend_on_the_working_directory(tmp_path, monkeypatch, make_operator):
    """The same profile audited from three directories (relative, bare and absolute paths): one SARIF log;
    with a root given, one log again, whichever way the root is written."""
    from auditor.engine import audit

    make_operator({"name": "Op [x](http://evil.example)", "region": "shanghai", "services": ["IDC"]},
                  ["id", "kind", "name", "lon", "lat", "crs"],
                  [["P1", "IDC", "Puxi DC", 121.4365, 31.1880, "wgs84"], ["P2", "IDC", "Dishui [lake]", 121.93, 30.905, "wgs84"]])
    (tmp_path / "ops").mkdir()
    for name in ("operator.yaml", "facilities.csv"):
        (tmp_path / name).rename(tmp_path / "ops" / name)
    logs, rooted = [], []
    for cwd, target, root in ((tmp_path, "ops/operator.yaml", "."), (tmp_path / "ops", "operator.yaml", ".."),
                              (REPO, str(tmp_path / "ops" / "operator.yaml"), str(tmp_path))):
        monkeypatch.chdir(cwd)
        result = audit(target, as_of=AS_OF)
        logs.append(render_sarif(result))
        rooted.append(render_sarif(result, root=root))
    assert logs[0] == logs[1] == logs[2] and rooted[0] == rooted[1] == rooted[2]
    for log, prefix in ((logs[0], ""), (rooted[0], "ops/")):
        uris = {(r["properties"]["subject"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
                for r in json.loads(log)["runs"][0]["results"]}
        assert ("P1", prefix + "facilities.csv") in uris and uris <= {("P1", prefix + "facilities.csv"), ("(operator)", prefix + "operator.yaml")}
    # input text is data: brackets are escaped, so no message holds an embedded link (SARIF §3.11.5)
    texts = [r["message"]["text"] for r in json.loads(logs[0])["runs"][0]["results"] if r["properties"]["subject"] == "P1"]
    assert texts and all(t.startswith("P1 (Puxi DC): ") for t in texts)
    op = build_sarif(json.loads(render_json_of(result)), include_passing=True)["runs"][0]["results"]
    assert any(r["message"]["text"].startswith("Operator Op \\[x\\](http://evil.example): ") for r in op)
    assert any(r["message"]["text"].startswith("P2 (Dishui \\[lake\\]): ") for r in op)


def render_json_of(result):
    from auditor.report.json_report import render_json

    return render_json(result, generated_at="")


def test_fingerprints_are_stable_and_ignore_wording_and_row_moves():
    fps = [r["partialFingerprints"]["auditorFinding/v2"] for r in build_sarif(EXAMPLE_REPORT)["runs"][0]["results"]]
    assert len(fps) == len(set(fps)) and all(len(fp) == 32 for fp in fps)
    assert fps == [r["partialFingerprints"]["auditorFinding/v2"] for r in build_sarif(copy.deepcopy(EXAMPLE_REPORT))["runs"][0]["results"]]
    moved = copy.deepcopy(EXAMPLE_REPORT)
    for f in moved["facilities"]:
        f["row"] += 3  # rows inserted above
        for x in f["findings"]:
            x["message"] = "reworded: " + x["message"]
    for x in moved["operator_findings"]:
        x["message"] = x["message"].replace("ECS sweep", "EDNS Client Subnet sweep")  # wording after the discriminator
    assert [r["partialFingerprints"]["auditorFinding/v2"] for r in build_sarif(moved)["runs"][0]["results"]] == fps
    # but another facility id, or another input file, is another finding
    renamed = copy.deepcopy(EXAMPLE_REPORT)
    target = next(f for f in renamed["facilities"] if any(x["status"] == "fail" for x in f["findings"]))
    old_id, target["id"] = target["id"], target["id"] + "-B"
    for x in target["findings"]:
        x["subject"] = target["id"]
    other = copy.deepcopy(EXAMPLE_REPORT)
    for f in other["facilities"]:
        f["source"] = f["source"].replace("facilities.csv", "nodes.csv")

    def by_subject(report):
        out = {}
        for r in build_sarif(report)["runs"][0]["results"]:
            out.setdefault(r["properties"]["subject"], set()).add(r["partialFingerprints"]["auditorFinding/v2"])
        return out

    base, after_rename, after_move = by_subject(EXAMPLE_REPORT), by_subject(renamed), by_subject(other)
    assert after_rename[target["id"]].isdisjoint(base[old_id])
    assert all(after_move[s].isdisjoint(base[s]) for s in base if s != "(operator)")
    assert after_move["(operator)"] == base["(operator)"]


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
        was = s["properties"]["original_status"]
        assert (r["kind"], r["level"]) == (("review", "none") if was == "indeterminate" else ("fail", "error"))
        assert s["properties"]["rules"] == ["facility_in_region"]
    _kind_level_rule_holds(log)
    assert all("suppressions" not in r for r in results if r["properties"]["status"] != "waived")
