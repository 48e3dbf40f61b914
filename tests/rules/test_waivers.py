"""Waivers: loading and checking the file, matching, expiry, and that nothing is deleted."""

from __future__ import annotations

import datetime as dt
import os

import pytest
import yaml
from conftest import AS_OF, EXAMPLE, REPO

from auditor.errors import InputError
from auditor.model import Finding, Severity, Status
from auditor.waivers import Waiver, apply_waivers, apply_waivers_to_result, load_waivers, parse_waivers

ENTRY = {
    "rule": "facility_in_region",
    "facility": "SH-CDN-*",
    "owner": "ops@example.com",
    "reason": "moving to Lingang",
    "expires": "2026-12-31",
    "reference": "CHG-1",
}


def _finding(rule: str, subject: str, status: Status) -> Finding:
    return Finding(rule=rule, clause="c", status=status, subject=subject, message=f"{subject} {status}", severity=Severity.HIGH)


def _waiver(number: int = 1, **kw) -> Waiver:
    d = {**ENTRY, **kw}
    d["expires"] = dt.date.fromisoformat(d["expires"]) if isinstance(d["expires"], str) else d["expires"]
    d["rules"] = d.pop("rule")
    return Waiver(number=number, **d)


def _write(tmp_path, doc) -> str:
    p = tmp_path / "waivers.yaml"
    p.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc), encoding="utf-8")
    return str(p)


def test_load_valid_file(tmp_path):
    text = "waivers:\n  - rule: facility_in_region\n    facility: 'SH-CDN-*'\n    owner: ops\n    reason: r\n    expires: 2026-12-31\n    reference: CHG-1\n"
    ws = load_waivers(_write(tmp_path, text))
    assert ws == [Waiver(1, "facility_in_region", "SH-CDN-*", "ops", "r", dt.date(2026, 12, 31), "CHG-1", str(tmp_path / "waivers.yaml"))]
    assert load_waivers(_write(tmp_path, "waivers: []\n")) == []


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ({**ENTRY, "rule": "no_such_rule"}, "unknown rule 'no_such_rule'"),
        ({k: v for k, v in ENTRY.items() if k != "owner"}, "missing 'owner'"),
        ({**ENTRY, "reason": ""}, "'reason' must be a non-empty text"),
        ({**ENTRY, "reference": 12}, "'reference' must be a non-empty text"),
        ({**ENTRY, "expires": "31/12/2026"}, "'expires' must be a date YYYY-MM-DD"),
        ({**ENTRY, "expires": "2026-02-30"}, "'expires' must be a date YYYY-MM-DD"),
        ({**ENTRY, "expires": dt.datetime(2026, 12, 31, 10, 0)}, "not a date and time"),
        ({**ENTRY, "colour": "red"}, "unknown key(s): colour"),
        ({**ENTRY, "rule": []}, "'rule' is an empty list"),
        ({**ENTRY, "rule": ["facility_in_region", "*"]}, '"*" (every rule) stands alone'),
        ({**ENTRY, "rule": ["facility_in_region", "no_such_rule"]}, "unknown rule 'no_such_rule'"),
        ({**ENTRY, "rule": ["facility_in_region", "facility_in_region"]}, "rule 'facility_in_region' is named twice"),
        ({**ENTRY, "rule": ["facility_in_region", 7]}, "'rule' must be a rule id, a list of rule ids, or \"*\" (got 7)"),
        ({**ENTRY, "rule": {"id": "facility_in_region"}}, "'rule' must be a rule id"),
        ({**ENTRY, "rules": ["cdn_nodes_in_region"]}, "give 'rule' or 'rules', not both"),
        ("just text", "must be a mapping"),
    ],
)
def test_bad_entries_name_the_file_and_the_waiver(tmp_path, entry, needle):
    path = _write(tmp_path, {"waivers": [ENTRY, entry]})
    with pytest.raises(InputError) as exc:
        load_waivers(path)
    msg = str(exc.value)
    assert path in msg and "waiver 2:" in msg and needle in msg


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("waivers: {rule: x}\n", "must be a list"),
        ("waivers: []\nextra: 1\n", "unknown top-level key(s): extra"),
        ("waivers: [\n", "cannot parse waivers file (line 2"),
    ],
)
def test_bad_files(tmp_path, text, needle):
    path = _write(tmp_path, text)
    with pytest.raises(InputError, match="waivers.yaml") as exc:
        load_waivers(path)
    assert needle in str(exc.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_waivers(tmp_path / "nope.yaml")


def test_match_by_pattern_and_operator():
    w = _waiver()
    assert w.matches(_finding("facility_in_region", "SH-CDN-07", Status.FAIL))
    assert not w.matches(_finding("facility_in_region", "SH-IDC-01", Status.FAIL))
    assert not w.matches(_finding("location_evidence_consistent", "SH-CDN-07", Status.FAIL))
    star = _waiver(facility="*")
    assert not star.matches(_finding("facility_in_region", "(operator)", Status.FAIL))
    op = _waiver(rule="isp_footprint_in_region", facility="(operator)")
    assert op.matches(_finding("isp_footprint_in_region", "(operator)", Status.FAIL))
    assert not op.matches(_finding("isp_footprint_in_region", "SH-CDN-01", Status.FAIL))


def test_apply_waives_fail_and_indeterminate_and_keeps_everything():
    op = [_finding("isp_footprint_in_region", "(operator)", Status.FAIL)]
    fac = {
        "SH-CDN-01": [_finding("facility_in_region", "SH-CDN-01", Status.FAIL)],
        "SH-CDN-02": [_finding("facility_in_region", "SH-CDN-02", Status.INDETERMINATE)],
        "SH-CDN-03": [_finding("facility_in_region", "SH-CDN-03", Status.PASS)],
        "SH-IDC-01": [_finding("facility_in_region", "SH-IDC-01", Status.FAIL)],
    }
    out = apply_waivers(op, fac, [_waiver()], AS_OF)
    assert out.operator_findings == op
    statuses = {fid: [f.status for f in fs] for fid, fs in out.facility_findings.items()}
    assert statuses == {
        "SH-CDN-01": [Status.WAIVED], "SH-CDN-02": [Status.WAIVED], "SH-CDN-03": [Status.PASS], "SH-IDC-01": [Status.FAIL],
    }
    assert {m.original_status for m in out.waived.values()} == {Status.FAIL, Status.INDETERMINATE}
    waived = out.facility_findings["SH-CDN-01"][0]
    rec = out.waived[waived].as_dict()
    assert rec["original_status"] == "fail" and rec["owner"] == "ops@example.com" and rec["reference"] == "CHG-1"
    assert rec["expires"] == "2026-12-31" and rec["reason"] == "moving to Lingang"
    assert out.notes == []
    # pure: inputs untouched
    assert fac["SH-CDN-01"][0].status is Status.FAIL


def test_expired_waiver_does_not_apply_and_notes_it():
    fac = {"SH-CDN-01": [_finding("facility_in_region", "SH-CDN-01", Status.FAIL)]}
    out = apply_waivers([], fac, [_waiver(3, expires="2026-10-31")], AS_OF)
    assert out.facility_findings["SH-CDN-01"][0].status is Status.FAIL
    assert out.waived == {}
    assert out.notes == ["waiver 3 for rule facility_in_region on SH-CDN-* expired on 2026-10-31"]
    # the expiry day itself is still covered
    same_day = apply_waivers([], fac, [_waiver(expires=AS_OF.isoformat())], AS_OF)
    assert same_day.facility_findings["SH-CDN-01"][0].status is Status.WAIVED


def test_first_unexpired_waiver_wins_and_unused_are_noted():
    fac = {"SH-CDN-01": [_finding("facility_in_region", "SH-CDN-01", Status.FAIL)]}
    ws = [_waiver(1, expires="2020-01-01"), _waiver(2, owner="a"), _waiver(3, owner="b")]
    out = apply_waivers([], fac, ws, AS_OF)
    (match,) = out.waived.values()
    assert match.waiver.number == 2
    assert out.notes == [
        "waiver 1 for rule facility_in_region on SH-CDN-* expired on 2020-01-01",
        "waiver 3 for rule facility_in_region on SH-CDN-* matched no failing or indeterminate finding",
    ]


def test_parse_waivers_accepts_yaml_dates():
    (w,) = parse_waivers({"waivers": [{**ENTRY, "expires": dt.date(2027, 1, 1)}]})
    assert w.expires == dt.date(2027, 1, 1)




def test_apply_to_a_real_result(example_result):
    before = {f.id: example_result.facility_verdict(f).value for f in example_result.facilities}
    from auditor.rules import all_rules

    facility_rules = [m.SPEC.id for m in all_rules() if m.SPEC.scope == "facility"]
    ws = [_waiver(i, rule=r, facility="*") for i, r in enumerate(facility_rules, start=1)]
    new, waived = apply_waivers_to_result(example_result, ws)
    assert len(new.all_findings) == len(example_result.all_findings)
    after = {f.id: new.facility_verdict(f).value for f in new.facilities}
    for fid, v in before.items():
        assert after[fid] == ("waived" if v in ("fail", "indeterminate") else v)  # covered, not fixed (issue 16)
    assert waived and all(f.status is Status.WAIVED for f in waived)
    assert new.warnings[: len(example_result.warnings)] == example_result.warnings


def test_a_waived_only_facility_is_waived_in_every_output(tmp_path):
    """Issue 16: a facility whose only non-pass finding is waived is `waived` — never `pass` — in report.json,
    facilities.csv, report.md (with the waiver's owner, reason and expiry) and report.html."""
    import csv as csv_module
    import json

    from click.testing import CliRunner
    from conftest import DISHUI_LAKE, XUJIAHUI, write_csv

    from auditor.cli import main

    listing = write_csv(tmp_path / "f.csv", ["id", "kind", "lon", "lat", "crs"],
                        [["lingang", "IDC", *DISHUI_LAKE, "wgs84"], ["puxi", "IDC", *XUJIAHUI, "wgs84"]])
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(yaml.safe_dump({"waivers": [{
        "rule": "facility_in_region", "facility": "puxi", "owner": "Wang Li", "reason": "moving to Lingang by March",
        "expires": "2027-03-31", "reference": "SH-CA-2026-17"}]}), encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["audit", str(listing), "--region", "shanghai", "--as-of", AS_OF.isoformat(),
                                    "--out", str(out), "--waivers", str(waivers), "--format", "json,csv,md,html"])
    assert res.exit_code == 0, res.output
    assert "(pass 1, fail 0, indeterminate 0, error 0, waived 1)" in res.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert {f["id"]: f["verdict"] for f in report["facilities"]} == {"lingang": "pass", "puxi": "waived"}
    assert report["summary"]["facilities"]["waived"] == 1
    with open(out / "facilities.csv", encoding="utf-8-sig", newline="") as fh:  # written with a BOM for Excel
        assert {r["id"]: r["verdict"] for r in csv_module.DictReader(fh)} == {"lingang": "pass", "puxi": "waived"}
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Waived findings" in md and "| `facility_in_region` | puxi | fail | Wang Li | moving to Lingang by March | 2027-03-31 | SH-CA-2026-17 |" in md
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<div class="card v-waived"><div class="count">1</div><div>waived</div></div>' in html


# -- several rules, or every rule, for one facility pattern (issue 25) --------------------------

EXAMPLE_WAIVERS = REPO / "examples" / "shanghai-operator" / "waivers.yaml"


def test_a_waiver_may_name_several_rules_or_every_rule(tmp_path):
    text = (
        "waivers:\n"
        "  - {rule: [facility_in_region, cdn_nodes_in_region], facility: SH-CDN-12, owner: a, reason: r, expires: 2026-12-31, reference: C1}\n"
        "  - {rule: '*', facility: 'SH-IDC-1?', owner: b, reason: r, expires: 2026-12-31, reference: C2}\n"
        "  - {rules: [location_evidence_consistent], facility: SH-CDN-02, owner: c, reason: r, expires: 2026-12-31, reference: C3}\n"
        "  - {rules: isp_footprint_in_region, facility: (operator), owner: d, reason: r, expires: 2026-12-31, reference: C4}\n"
    )
    several, every, spelled, operator = load_waivers(_write(tmp_path, text))
    assert several.rules == ("facility_in_region", "cdn_nodes_in_region") and several.rule == "facility_in_region, cdn_nodes_in_region"
    assert every.rules == ("*",) and spelled.rules == ("location_evidence_consistent",) and operator.rules == ("isp_footprint_in_region",)
    assert several.matches(_finding("facility_in_region", "SH-CDN-12", Status.FAIL))
    assert several.matches(_finding("cdn_nodes_in_region", "SH-CDN-12", Status.FAIL))
    assert not several.matches(_finding("location_evidence_consistent", "SH-CDN-12", Status.FAIL))
    assert not several.matches(_finding("facility_in_region", "SH-CDN-13", Status.FAIL))
    from auditor.rules import RULE_IDS

    assert all(every.matches(_finding(rule, "SH-IDC-14", Status.FAIL)) for rule in RULE_IDS)
    assert not every.matches(_finding("facility_in_region", "SH-IDC-1", Status.FAIL))   # the pattern still holds
    assert not every.matches(_finding("isp_footprint_in_region", "(operator)", Status.FAIL))  # a facility pattern never covers the operator
    assert operator.matches(_finding("isp_footprint_in_region", "(operator)", Status.FAIL))
    assert several.describe() == "waiver 1 for rules facility_in_region, cdn_nodes_in_region on SH-CDN-12"
    assert every.describe() == "waiver 2 for every rule on SH-IDC-1?"
    assert spelled.describe() == "waiver 3 for rule location_evidence_consistent on SH-CDN-02"


def test_every_rule_waiver_is_still_a_single_dated_decision():
    fac = {"SH-IDC-14": [_finding("facility_in_region", "SH-IDC-14", Status.FAIL),
                         _finding("location_evidence_consistent", "SH-IDC-14", Status.INDETERMINATE),
                         _finding("cdn_nodes_in_region", "SH-IDC-14", Status.PASS)]}
    every = _waiver(4, rule=("*",), facility="SH-IDC-14", expires="2026-11-01")
    out = apply_waivers([], fac, [every], AS_OF)  # holds on its expiry day
    assert [f.status for f in out.facility_findings["SH-IDC-14"]] == [Status.WAIVED, Status.WAIVED, Status.PASS]
    assert {m.original_status for m in out.waived.values()} == {Status.FAIL, Status.INDETERMINATE}
    assert {tuple(m.as_dict()["rules"]) for m in out.waived.values()} == {("*",)}
    later = apply_waivers([], fac, [every], AS_OF + dt.timedelta(days=1))  # and not the day after, for any rule
    assert [f.status for f in later.facility_findings["SH-IDC-14"]] == [Status.FAIL, Status.INDETERMINATE, Status.PASS]
    assert later.notes == ["waiver 4 for every rule on SH-IDC-14 expired on 2026-11-01"]
    several = _waiver(5, rule=("facility_in_region", "cdn_nodes_in_region"), facility="SH-IDC-14")
    partial = apply_waivers([], fac, [several], AS_OF)
    assert [f.status for f in partial.facility_findings["SH-IDC-14"]] == [Status.WAIVED, Status.INDETERMINATE, Status.PASS]


def test_the_example_waivers_file(example_result):
    """examples/shanghai-operator/waivers.yaml: one entry of each form, each turning one failing facility `waived`."""
    ws = load_waivers(EXAMPLE_WAIVERS)
    assert [w.rules for w in ws] == [("facility_in_region",), ("facility_in_region", "cdn_nodes_in_region"), ("*",)]
    before = {f.id: example_result.facility_verdict(f).value for f in example_result.facilities}
    new, waived = apply_waivers_to_result(example_result, ws)
    after = {f.id: new.facility_verdict(f).value for f in new.facilities}
    changed = {fid: (before[fid], after[fid]) for fid in before if before[fid] != after[fid]}
    assert changed == {"HZ-IDC-01": ("fail", "waived"), "SH-CDN-12": ("fail", "waived"), "SH-IDC-16": ("fail", "waived")}
    assert {(m.waiver.number, f.subject, f.rule) for f, m in waived.items()} == {
        (1, "HZ-IDC-01", "facility_in_region"), (2, "SH-CDN-12", "facility_in_region"),
        (2, "SH-CDN-12", "cdn_nodes_in_region"), (3, "SH-IDC-16", "facility_in_region")}
    assert new.warnings == example_result.warnings  # every waiver matched something, none expired


def test_the_readme_waivers_example_is_a_valid_file():
    import re

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Waivers"):]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block, "README's Waivers subsection shows a YAML example"
    ws = parse_waivers(yaml.safe_load(block.group(1)), source="README.md")
    assert {w.rules for w in ws} >= {("*",)} and any(len(w.rules) > 1 for w in ws)
    assert "--waivers" in section[: section.index("\n## ") if "\n## " in section else None]
