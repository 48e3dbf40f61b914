"""The operator's CI gate on the command line (issue 25): exit statuses with one meaning each, --fail-on,
the in-memory and the streamed audit agreeing, nothing silent on the terminal, --quiet, --out -,
--sarif-root (and the bundle that records it), --db, --lang, and the README's table held to the code."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DISHUI_LAKE, EXAMPLE, HANGZHOU, REPO, write_csv

from auditor.cli import main
from auditor.cli.gate import EXIT_STATUSES, FAIL_ON, gate_exit
from auditor.engine import audit
from auditor.report.diff import CATEGORIES

AS_OF = "2026-11-01"
ROWS = {
    "pass": ["ok", "IDC", *DISHUI_LAKE, "wgs84", ""],
    "fail": ["far", "IDC", *HANGZHOU, "wgs84", ""],
    "indeterminate": ["unsure", "IDC", "", "", "", "上海市"],  # the city straddles Pudong ∪ Lingang
    "error": ["bad", "IDC", 121.5, "abc", "wgs84", ""],      # a latitude typo: the row cannot be read
}
HEADER = ["id", "kind", "lon", "lat", "crs", "address"]

# (rows in the list) -> expected status under --fail-on fail, indeterminate, error
LADDER = [
    (("pass",), (0, 0, 0)),
    (("pass", "fail"), (1, 1, 1)),
    (("pass", "fail", "error"), (1, 1, 1)),
    (("pass", "error"), (3, 3, 1)),
    (("pass", "indeterminate"), (0, 1, 1)),
    (("pass", "indeterminate", "error"), (3, 1, 1)),
]


def _listing(tmp_path: Path, kinds: tuple[str, ...]) -> Path:
    return write_csv(tmp_path / "f.csv", HEADER, [ROWS[k] for k in kinds])


def _run(args: list[str], **kw):
    res = CliRunner().invoke(main, args, catch_exceptions=False, **kw)
    assert "Traceback" not in res.output
    return res


@pytest.mark.parametrize("kinds, expected", LADDER, ids=["+".join(k) for k, _ in LADDER])
def test_exit_status_and_the_fail_on_ladder_in_memory_and_streamed(tmp_path: Path, kinds, expected) -> None:
    listing = _listing(tmp_path, kinds)
    result = audit(listing, region="shanghai", as_of=AS_OF)
    assert result.exit_code == expected[0]  # AuditResult.exit_code is the default gate
    for fail_on, status in zip(FAIL_ON, expected):
        assert gate_exit(result, fail_on) == status, fail_on
        for stream in ([], ["--stream", "--chunk-rows", "1"]):
            out = tmp_path / f"o-{fail_on}-{len(stream)}"
            res = _run(["audit", str(listing), "--region", "shanghai", "--as-of", AS_OF, "--out", str(out), "--format", "json",
                        "--fail-on", fail_on, *stream])
            assert res.exit_code == status, (fail_on, stream, res.output)
            assert f"exit status {status}: " in res.output
            report = json.loads((out / "report.json").read_text(encoding="utf-8"))
            assert report["summary"]["exit_code"] == expected[0]  # report.json states the default gate's status


def test_the_exit_status_line_says_why(tmp_path: Path) -> None:
    listing = _listing(tmp_path, ("pass", "indeterminate", "error"))
    base = ["audit", str(listing), "--region", "shanghai", "--as-of", AS_OF, "--out", str(tmp_path / "o"), "--format", "json"]
    assert "exit status 3: 1 row could not be read (error verdicts) and nothing else failed" in _run(base).output
    strict = _run([*base, "--fail-on", "indeterminate"]).output
    assert re.search(r"exit status 1: 1 facility and \d+ findings? indeterminate, and --fail-on indeterminate fails on them", strict)


def test_an_empty_list_fails_only_the_indeterminate_gate(tmp_path: Path) -> None:
    listing = write_csv(tmp_path / "f.csv", HEADER, [])
    base = ["audit", str(listing), "--region", "shanghai", "--as-of", AS_OF, "--out", str(tmp_path / "o"), "--format", "json"]
    assert _run(base).exit_code == 0
    res = _run([*base, "--fail-on", "indeterminate"])
    assert res.exit_code == 1 and "no rows were audited" in res.output


def test_unusable_input_is_2_whatever_the_gate(tmp_path: Path) -> None:
    res = _run(["audit", str(tmp_path / "missing.csv"), "--region", "shanghai", "--fail-on", "error", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "missing.csv" in res.output
    res = _run(["audit", str(_listing(tmp_path, ("pass",))), "--region", "shanghai", "--fail-on", "never"])
    assert res.exit_code == 2 and "'never' is not one of 'fail', 'indeterminate', 'error'" in res.output


def test_the_readme_table_is_the_code() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\d)` \| (.+?) \|$", readme, re.M))
    assert {int(k): v for k, v in rows.items()} == EXIT_STATUSES
    help_text = _run(["audit", "--help"]).output
    for status in EXIT_STATUSES:
        assert re.search(rf"^\s+{status}  \S", help_text, re.M), status


def test_diff_help_names_every_category() -> None:
    text = _run(["diff", "--help"]).output
    for category in CATEGORIES:
        if category != "unchanged":
            assert re.search(rf"^\s+{category}\s+\S", text, re.M), category


def test_waivers_help_says_a_rule_may_be_a_list_or_star() -> None:
    text = " ".join(_run(["audit", "--help"]).output.split())
    assert 'one rule id, a list of them, or "*" for every rule' in text


# --------------------------------------------------------------------------- nothing silent
@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("example") / "o"
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        res = _run(["audit", str(EXAMPLE.relative_to(REPO)), "--as-of", AS_OF, "--out", str(out), "--format", "json,sarif"])
    finally:
        os.chdir(cwd)
    return res, json.loads((out / "report.json").read_text(encoding="utf-8")), out


def test_the_terminal_lists_failing_indeterminate_and_unreadable_ids(example_run) -> None:
    res, report, _ = example_run
    assert res.exit_code == 1
    lines = res.output.splitlines()
    by_verdict: dict[str, list[str]] = {}
    for f in report["facilities"]:
        by_verdict.setdefault(f["verdict"], []).append(f["id"])
    failed = next(line for line in lines if line.startswith("  failed ("))
    total = len(by_verdict["fail"])
    assert total > 10  # the example has more failing facilities than are listed
    assert failed == f"  failed ({total}): {', '.join(by_verdict['fail'][:10])} … and {total - 10} more"
    indeterminate = next(line for line in lines if line.startswith("  indeterminate ("))
    assert indeterminate == f"  indeterminate ({len(by_verdict['indeterminate'])}): {', '.join(by_verdict['indeterminate'])}"
    unreadable = next(line for line in lines if line.startswith("  could not be read ("))
    rows = {f["id"]: f["row"] for f in report["facilities"] if f["verdict"] == "error"}
    assert unreadable == f"  could not be read ({len(rows)}): " + ", ".join(f"{i} (row {r})" for i, r in rows.items())


def test_the_terminal_says_what_placed_nothing(example_run) -> None:
    res, report, _ = example_run
    unplaced = report["summary"]["unplaced"]
    hosts = unplaced["hostnames_unresolved"]
    assert hosts["count"] == 14 and len(hosts["facilities"]) == 14
    assert f"  14 hostnames did not resolve ({', '.join(hosts['facilities'][:3])} … and 11 more)" in res.output.splitlines()
    (v6,) = unplaced["ipv6_without_evidence"]["facilities"]
    assert f"  1 IPv6 address had no location evidence ({v6})" in res.output.splitlines()
    (ip,) = unplaced["ips_unplaced"]["facilities"]
    assert f"  1 address could not be placed by any source ({ip})" in res.output.splitlines()


def test_quiet_prints_the_verdict_line_only(tmp_path: Path) -> None:
    listing = _listing(tmp_path, ("pass", "fail", "error"))
    res = _run(["audit", str(listing), "--region", "shanghai", "--as-of", AS_OF, "--out", str(tmp_path / "o"), "--format", "json", "-q"])
    assert res.exit_code == 1
    assert res.output.splitlines() == ["shanghai: verdict FAIL — 3 facilities (pass 1, fail 1, indeterminate 0, error 1)"]
    assert (tmp_path / "o" / "report.json").is_file()


def test_out_dash_writes_report_json_to_stdout_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listing = _listing(tmp_path, ("pass", "fail"))
    monkeypatch.chdir(tmp_path)
    res = _run(["audit", str(listing), "--region", "shanghai", "--as-of", AS_OF, "--out", "-", "--generated-at", "2026-11-28T00:00:00+00:00"])
    assert res.exit_code == 1
    report = json.loads(res.stdout)  # the whole of standard output is report.json
    assert report["summary"]["verdict"] == "fail" and report["generated_at"] == "2026-11-28T00:00:00+00:00"
    assert "verdict FAIL" in res.stderr and "exit status 1" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.csv"]  # no folder named "-", no report written
    for refused, needle in ((["--format", "json,md"], "--format also asks for md"), (["--bundle"], "--bundle needs a folder"),
                            (["--figures"], "--figures needs a folder"), (["--stream"], "needs a whole audit")):
        res = _run(["audit", str(listing), "--region", "shanghai", "--out", "-", *refused])
        assert res.exit_code == 2 and needle in res.output, refused


# --------------------------------------------------------------------------- --sarif-root
def test_sarif_paths_are_relative_to_the_git_root_by_default(example_run) -> None:
    _, _, out = example_run
    log = json.loads((out / "report.sarif").read_text(encoding="utf-8"))
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"] for loc in r["locations"]
            if "physicalLocation" in loc}
    # the audit ran at the repository root with relative paths; a subfolder gives the same paths (below)
    assert uris == {"examples/shanghai-operator/facilities.csv", "examples/shanghai-operator/operator.yaml"}


def test_sarif_root_from_a_subfolder_and_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)                 # a repository root (a worktree's .git file would do too)
    inventory = repo / "ops" / "inventory"
    inventory.mkdir(parents=True)
    listing = write_csv(inventory / "nodes.csv", ["id", "lon", "lat", "crs"], [["far", *HANGZHOU, "wgs84"]])

    def uris(out: Path) -> set[str]:
        log = json.loads((out / "report.sarif").read_text(encoding="utf-8"))
        return {loc["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"] for loc in r["locations"]}

    monkeypatch.chdir(inventory)
    res = _run(["audit", "nodes.csv", "--region", "shanghai", "--as-of", AS_OF, "--out", str(tmp_path / "a"), "--format", "sarif"])
    assert res.exit_code == 1 and uris(tmp_path / "a") == {"ops/inventory/nodes.csv"}
    res = _run(["audit", str(listing), "--region", "shanghai", "--as-of", AS_OF, "--out", str(tmp_path / "b"), "--format", "sarif",
                "--sarif-root", str(repo / "ops")])
    assert res.exit_code == 1 and uris(tmp_path / "b") == {"inventory/nodes.csv"}
    res = _run(["audit", "nodes.csv", "--region", "shanghai", "--out", str(tmp_path / "c"), "--sarif-root", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "--sarif-root: not a folder" in res.output


def test_a_bundle_records_the_sarif_root_and_verifies_from_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    sub = repo / "ops"
    sub.mkdir()
    write_csv(sub / "nodes.csv", ["id", "lon", "lat", "crs"], [["ok", *DISHUI_LAKE, "wgs84"], ["far", *HANGZHOU, "wgs84"]])
    monkeypatch.chdir(sub)
    res = _run(["audit", "nodes.csv", "--region", "shanghai", "--as-of", AS_OF, "--out", "out", "--bundle", "--format", "json,sarif"])
    assert res.exit_code == 1, res.output
    bundle = sub / "out" / "evidence-bundle.zip"
    import zipfile

    with zipfile.ZipFile(bundle) as zf:
        description = json.loads(zf.read("bundle.json"))
    assert description["audit"]["sarif_root"] == ".." and description["audit"]["sarif_paths"] == {"nodes.csv": "ops/nodes.csv"}
    elsewhere = tmp_path / "far" / "away"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)  # another directory, outside the repository: the same report.sarif is rendered
    res = _run(["verify", str(bundle)])
    assert res.exit_code == 0 and "all 2 bundled reports are byte for byte" in res.output, res.output


# --------------------------------------------------------------------------- --db and --lang
def test_db_records_the_audit_in_the_history(tmp_path: Path) -> None:
    listing = _listing(tmp_path, ("pass", "fail"))
    db = tmp_path / "history.db"
    for n in (1, 2):
        res = _run(["audit", str(listing), "--region", "shanghai", "--as-of", AS_OF, "--out", str(tmp_path / f"o{n}"),
                    "--format", "json", "--db", f"sqlite:///{db}"])
        assert res.exit_code == 1 and f"recorded in the history database (--db) as run {n}" in res.output
    con = sqlite3.connect(db)
    try:
        assert con.execute("select count(*) from auditor_runs").fetchone() == (2,)
    finally:
        con.close()
    listed = _run(["history", "--db", f"sqlite:///{db}", "--format", "json"])
    runs = json.loads(listed.output)
    assert [r["verdict"] for r in runs["runs"]] == ["fail", "fail"]


def test_lang_reaches_the_human_reports(tmp_path: Path) -> None:
    listing = _listing(tmp_path, ("pass",))
    for lang, title in (("zh-CN", "# 试点地区审计"), ("en", "# Pilot-region audit")):
        out = tmp_path / lang
        res = _run(["audit", str(listing), "--region", "shanghai", "--as-of", AS_OF, "--out", str(out), "--format", "json,md",
                    "--lang", lang])
        assert res.exit_code == 0, res.output
        assert (out / "report.md").read_text(encoding="utf-8").startswith(title)
