"""Diff of two report.json mappings: each category, keys, regression, renderers."""

from __future__ import annotations

import copy
import json

import pytest
from conftest import REPO

from auditor.errors import InputError
from auditor.report.diff import diff_json, diff_markdown, diff_reports, diff_text, has_regression, load_report

EXAMPLE_REPORT = REPO / "reports" / "example" / "report.json"


def _f(subject, rule, status, message="m"):
    return {"rule": rule, "clause": "c", "status": status, "severity": "high", "subject": subject, "message": message, "evidence": []}


def _report(facilities, operator=(), verdict="fail"):
    return {
        "schema": "pilot-zone-auditor/report/1",
        "as_of": "2026-11-01",
        "summary": {"verdict": verdict},
        "operator_findings": list(operator),
        "facilities": [{"id": fid, "row": i + 2, "source": "f.csv", "verdict": v, "findings": list(fs)}
                       for i, (fid, v, fs) in enumerate(facilities)],
    }


def _keys(changes):
    return [c.key for c in changes]


def test_each_category():
    old = _report([
        ("A", "fail", [_f("A", "r1", "fail")]),                # fixed
        ("B", "pass", [_f("B", "r1", "pass")]),                # regressed
        ("C", "indeterminate", [_f("C", "r1", "indeterminate")]),  # indeterminate -> fail: regressed
        ("D", "pass", [_f("D", "r1", "pass")]),                # unchanged
        ("E", "fail", [_f("E", "r1", "fail")]),                # removed
        ("G", "pass", [_f("G", "r1", "pass")]),                # pass -> indeterminate: lost its proof, regressed
        ("H", "waived", [_f("H", "r1", "waived")]),            # waived -> fail: unwaived (a regression)
        ("W", "fail", [_f("W", "r1", "fail")]),                # fail -> waived: waived, never fixed
    ], operator=[_f("(operator)", "r0", "fail")])
    new = _report([
        ("A", "pass", [_f("A", "r1", "not_applicable")]),
        ("B", "fail", [_f("B", "r1", "fail")]),
        ("C", "fail", [_f("C", "r1", "fail")]),
        ("D", "pass", [_f("D", "r1", "pass")]),
        ("F", "pass", [_f("F", "r1", "pass")]),                # new
        ("G", "indeterminate", [_f("G", "r1", "indeterminate")]),
        ("H", "fail", [_f("H", "r1", "fail")]),
        ("N", "fail", [_f("N", "r1", "fail")]),                # absent -> fail: regressed
        ("W", "waived", [_f("W", "r1", "waived")]),
    ], operator=[_f("(operator)", "r0", "fail")])
    d = diff_reports(old, new)
    assert _keys(d.findings["fixed"]) == ["A r1"]
    assert _keys(d.findings["regressed"]) == ["B r1", "C r1", "G r1", "N r1"]
    assert _keys(d.findings["unwaived"]) == ["H r1"] and _keys(d.findings["waived"]) == ["W r1"]
    assert _keys(d.findings["new"]) == ["F r1"]
    assert _keys(d.findings["removed"]) == ["E r1"]
    assert _keys(d.findings["changed"]) == []
    assert _keys(d.findings["unchanged"]) == ["(operator) r0", "D r1"]
    assert _keys(d.facilities["fixed"]) == ["A"]
    assert _keys(d.facilities["regressed"]) == ["B", "C", "G", "N"]
    assert _keys(d.facilities["unwaived"]) == ["H"] and _keys(d.facilities["waived"]) == ["W"]
    assert "W" not in _keys(d.facilities["fixed"])
    assert _keys(d.facilities["new"]) == ["F"]
    assert _keys(d.facilities["removed"]) == ["E"]
    assert _keys(d.facilities["changed"]) == []
    assert [(c.key, c.why) for c in d.facilities["regressed"]] == [
        ("B", "now fails"), ("C", "now fails"), ("G", "lost its proof"), ("N", "now fails")]
    assert [c.key for c in d.regressions] == ["B", "C", "G", "N", "H", "B r1", "C r1", "G r1", "N r1", "H r1"]
    assert has_regression(d) and d.has_regression


def test_an_expired_waiver_alone_is_a_regression_and_a_new_waiver_is_not_a_fix():
    covered = _report([("A", "waived", [_f("A", "r1", "waived")])])
    failing = _report([("A", "fail", [_f("A", "r1", "fail")])])
    unwaived = diff_reports(covered, failing)
    assert _keys(unwaived.facilities["unwaived"]) == ["A"] and unwaived.has_regression
    assert "facilities unwaived (1):" in diff_text(unwaived)
    waived = diff_reports(failing, covered)
    assert _keys(waived.facilities["waived"]) == ["A"] and not waived.facilities["fixed"] and not waived.has_regression


def test_no_regression_when_only_fixed():
    old = _report([("A", "fail", [_f("A", "r1", "fail")])])
    new = _report([("A", "pass", [_f("A", "r1", "pass")])], verdict="pass")
    d = diff_reports(old, new)
    assert not has_regression(d)
    assert json.loads(diff_json(d))["has_regression"] is False
    assert "regression: no" in diff_text(d)


def test_duplicate_subject_rule_keys_use_the_message_head():
    op_old = [_f("(operator)", "cdn", "pass", "a.example: ok"), _f("(operator)", "cdn", "fail", "b.example: outside")]
    op_new = [_f("(operator)", "cdn", "fail", "a.example: outside"), _f("(operator)", "cdn", "pass", "b.example: ok")]
    d = diff_reports(_report([], op_old), _report([], op_new))
    assert _keys(d.findings["regressed"]) == ["(operator) cdn [a.example]"]
    assert _keys(d.findings["fixed"]) == ["(operator) cdn [b.example]"]


def test_example_report_against_a_modified_copy():
    old = load_report(EXAMPLE_REPORT)
    assert not has_regression(diff_reports(old, old))
    new = copy.deepcopy(old)
    passing = next(f for f in new["facilities"] if f["verdict"] == "pass")
    failing = next(f for f in new["facilities"] if f["verdict"] == "fail")
    passing["verdict"] = "fail"
    passing["findings"][0]["status"] = "fail"
    failing["verdict"] = "pass"
    for x in failing["findings"]:
        x["status"] = "pass"
    gone = new["facilities"].pop()
    d = diff_reports(old, new)
    assert _keys(d.facilities["regressed"]) == [passing["id"]]
    assert _keys(d.facilities["fixed"]) == [failing["id"]]
    assert _keys(d.facilities["removed"]) == [gone["id"]]
    assert len(d.facilities["unchanged"]) == len(old["facilities"]) - 3
    assert [c.subject for c in d.findings["regressed"]] == [passing["id"]]
    assert {c.subject for c in d.findings["fixed"]} == {failing["id"]}
    assert {c.subject for c in d.findings["removed"]} == {gone["id"]}
    assert has_regression(d)
    # renderers: deterministic, and they name what regressed
    assert diff_json(d) == diff_json(diff_reports(copy.deepcopy(old), copy.deepcopy(new)))
    doc = json.loads(diff_json(d))
    assert doc["schema"] == "pilot-zone-auditor/diff/1" and doc["counts"]["facilities"]["regressed"] == 1
    text, md = diff_text(d), diff_markdown(d)
    assert f"{passing['id']}: pass → fail" in text
    assert md.startswith("# Audit diff") and f"| {passing['id']} | pass | fail |" in md


def test_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="not a pilot-zone-auditor/report/1 report"):
        diff_reports({"schema": "x"}, load_report(EXAMPLE_REPORT))
    p = tmp_path / "r.json"
    p.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="r.json"):
        load_report(p)
    with pytest.raises(InputError, match="not found"):
        load_report(tmp_path / "missing.json")


# -- what can be compared -------------------------------------------------------------------

EXAMPLE_REPORT = REPO / "reports" / "example" / "report.json"


def test_reports_of_another_region_are_refused_unless_forced():
    old = load_report(EXAMPLE_REPORT)
    new = copy.deepcopy(old)
    new["region"]["id"] = "beijing"
    with pytest.raises(InputError, match="do not audit the same thing: the region differs: shanghai → beijing"):
        diff_reports(old, new)
    forced = diff_reports(old, new, force=True)
    assert forced.notes[0] == "compared anyway (--force): the region differs: shanghai → beijing"
    assert "note: compared anyway" in diff_text(forced) and "note: compared anyway" in diff_markdown(forced)
    assert json.loads(diff_json(forced))["notes"][0].startswith("compared anyway")


def test_reports_of_another_operator_or_other_region_options_are_refused():
    old = load_report(EXAMPLE_REPORT)
    other_operator = copy.deepcopy(old)
    other_operator["operator"]["name"] = "Someone Else Ltd."
    with pytest.raises(InputError, match="the operator differs"):
        diff_reports(old, other_operator)
    other_options = copy.deepcopy(old)
    other_options["region"]["options"] = [{"name": "include_shenshan", "value": True}]
    with pytest.raises(InputError, match="the region's options differ"):
        diff_reports(old, other_options)
    # as report.json writes them: {name: {"value", "default", "description"}}
    sansha_off, sansha_on = copy.deepcopy(old), copy.deepcopy(old)
    sansha_off["region"]["options"] = {"include_sansha": {"value": False, "default": False, "description": ""}}
    sansha_on["region"]["options"] = {"include_sansha": {"value": True, "default": False, "description": ""}}
    with pytest.raises(InputError, match="the region's options differ"):
        diff_reports(sansha_off, sansha_on)
    assert not diff_reports(sansha_on, copy.deepcopy(sansha_on)).has_regression


def test_dates_versions_and_data_changes_are_stated_not_refused():
    old = load_report(EXAMPLE_REPORT)
    new = copy.deepcopy(old)
    new["as_of"] = "2026-12-01"
    new["tool"]["version"] = "0.2.0"
    new["data_sources"][0]["sha256"] = "0" * 64
    d = diff_reports(old, new)
    assert d.notes == ("judged as of 2026-11-01 → 2026-12-01", "tool version 0.1.0 → 0.2.0",
                       f"data files changed: {old['data_sources'][0]['name']}")
    assert diff_reports(old, copy.deepcopy(old)).notes == ()


def test_cli_diff_takes_report_folders_and_refuses_another_region(tmp_path):
    from click.testing import CliRunner

    from auditor.cli import main

    other = tmp_path / "other"
    other.mkdir()
    doc = json.loads(EXAMPLE_REPORT.read_text(encoding="utf-8"))
    doc["region"]["id"] = "beijing"
    (other / "report.json").write_text(json.dumps(doc), encoding="utf-8")
    same = CliRunner().invoke(main, ["diff", str(EXAMPLE_REPORT.parent), str(EXAMPLE_REPORT.parent)])
    assert same.exit_code == 0 and "regression: no" in same.output
    refused = CliRunner().invoke(main, ["diff", str(EXAMPLE_REPORT.parent), str(other)])
    assert refused.exit_code == 2 and "the region differs: shanghai → beijing" in refused.output
    forced = CliRunner().invoke(main, ["diff", str(EXAMPLE_REPORT.parent), str(other), "--force"])
    assert forced.exit_code in (0, 1) and "note: compared anyway (--force): the region differs" in forced.output


# -- a loss of proof is a regression (issue 25) ------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "category", "why"),
    [
        ("pass", "error", "regressed", "the row can no longer be read"),
        ("pass", "indeterminate", "regressed", "lost its proof"),
        ("pass", "fail", "regressed", "now fails"),
        ("indeterminate", "error", "regressed", "the row can no longer be read"),
        ("fail", "error", "regressed", "the row can no longer be read"),
        ("waived", "error", "regressed", "the row can no longer be read"),
        (None, "error", "regressed", "the row can no longer be read"),
        ("error", "fail", "regressed", "now fails"),
        ("waived", "fail", "unwaived", "the waiver expired or was removed"),
        ("waived", "indeterminate", "unwaived", "the waiver expired or was removed"),
        ("fail", "pass", "fixed", ""),
        ("error", "pass", "fixed", ""),
        ("waived", "pass", "fixed", ""),
        ("fail", "indeterminate", "improved", ""),
        ("error", "indeterminate", "improved", ""),
        ("pass", "waived", "waived", ""),
        (None, "indeterminate", "new", ""),
        ("indeterminate", None, "removed", ""),
    ],
)
def test_facility_verdict_changes(old, new, category, why):
    before = _report([("A", old, [])] if old else [])
    after = _report([("A", new, [])] if new else [])
    d = diff_reports(before, after)
    (change,) = [c for cat in d.facilities.values() for c in cat]
    assert (change.category, change.why) == (category, why)
    assert d.has_regression is (category in ("regressed", "unwaived"))
    assert d.regressions == ([change] if d.has_regression else [])
    doc = json.loads(diff_json(d))
    assert doc["has_regression"] is d.has_regression and doc["counts"]["facilities"][category] == 1
    if why:
        assert doc["facilities"][category] == [{"key": "A", "subject": "A", "old": old, "new": new, "why": why}]
        assert f"A: {old or '(absent)'} → {new} ({why})" in diff_text(d)
        assert f"| A | {old or '—'} | {new} | {why} |" in diff_markdown(d)


def _audit_report(path):
    from auditor.engine import audit
    from auditor.report.json_report import build_report

    return build_report(audit(str(path), region="shanghai", as_of="2026-11-01"), generated_at="")


def test_a_latitude_typo_and_lost_coordinates_are_regressions_end_to_end(tmp_path):
    """Two real audits of one list: a latitude typo (pass → error) and coordinates deleted (pass →
    indeterminate) each fail the gate, in the diff and in `auditor diff`'s exit status."""
    from click.testing import CliRunner
    from conftest import write_csv

    from auditor.cli import main

    header = ["id", "kind", "name", "lon", "lat", "crs"]
    rows = [["A", "IDC", "Zhangjiang A", 121.5907, 31.2040, "wgs84"], ["B", "IDC", "Zhangjiang B", 121.6000, 31.1950, "wgs84"],
            ["C", "IDC", "Jinqiao", 121.6040, 31.2660, "wgs84"]]
    old = _audit_report(write_csv(tmp_path / "old.csv", header, rows))
    typo = _audit_report(write_csv(tmp_path / "typo.csv", header, [[*rows[0][:4], "31.2O40", "wgs84"], rows[1], rows[2]]))
    lost = _audit_report(write_csv(tmp_path / "lost.csv", header, [rows[0], ["B", "IDC", "Zhangjiang B", "", "", ""], rows[2]]))
    assert {f["id"]: f["verdict"] for f in old["facilities"]} == {"A": "pass", "B": "pass", "C": "pass"}
    for new, fid, verdict, why in ((typo, "A", "error", "the row can no longer be read"), (lost, "B", "indeterminate", "lost its proof")):
        d = diff_reports(old, new)
        assert [(c.key, c.old, c.new, c.why) for c in d.facilities["regressed"]] == [(fid, "pass", verdict, why)]
        assert d.has_regression and not d.facilities["changed"]
        assert _keys(d.facilities["unchanged"]) == sorted({"A", "B", "C"} - {fid})
        # the CLI's gate: exit 1 (pass → indeterminate was only "changed", exit 0, before issue 25)
        for name, doc in (("old", old), ("new", new)):
            (tmp_path / name).mkdir(exist_ok=True)
            (tmp_path / name / "report.json").write_text(json.dumps(doc), encoding="utf-8")
        res = CliRunner().invoke(main, ["diff", str(tmp_path / "old"), str(tmp_path / "new")])
        assert res.exit_code == 1, res.output
        assert f"{fid}: pass → {verdict} ({why})" in res.output and "regression: yes" in res.output
    # and back: the fix is an improvement, not a regression
    back = diff_reports(lost, old)
    assert _keys(back.facilities["fixed"]) == ["B"] and not back.has_regression
