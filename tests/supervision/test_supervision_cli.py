"""The supervision commands through click, as a user runs them: portfolio, history, sample."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from supervision_fixtures import (
    BEIJING,
    BEIJING_ROWS,
    SHANGHAI,
    SHANGHAI_ROWS,
    audit_report,
    db_url,
    postgres,
    write_operator,
)

from auditor.cli import main
from auditor.cli.supervision import register
from auditor.supervision.history import record_result


@pytest.fixture(scope="module")
def cli() -> click.Group:
    """The auditor command with the supervision commands registered (as `register(main)` will wire them)."""
    group = click.Group("auditor", commands=dict(main.commands))
    register(group)
    return group


def run(cli: click.Group, *args: str) -> object:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def example_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report folder of the Shanghai operator (4 facilities, 2 failing)."""
    base = tmp_path_factory.mktemp("report")
    _, report = audit_report(write_operator(base / "in", "alpha", SHANGHAI, SHANGHAI_ROWS))
    out = base / "alpha-report"
    out.mkdir()
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    return out


def test_register_adds_the_three_commands() -> None:
    group = click.Group("g")
    register(group)
    assert sorted(group.commands) == ["history", "portfolio", "sample"]
    assert "Example:" in (group.commands["sample"].help or "")


def test_portfolio_command(cli: click.Group, tmp_path: Path) -> None:
    folder = tmp_path / "operators"
    write_operator(folder, "alpha", SHANGHAI, SHANGHAI_ROWS)
    write_operator(folder, "beta", BEIJING, BEIJING_ROWS)
    r = run(cli, "portfolio", folder, "--out", tmp_path / "out", "--as-of", "2026-11-01", "--db", tmp_path / "h.db")
    assert r.exit_code == 1, r.output  # both operators have failing facilities
    doc = json.loads((tmp_path / "out" / "portfolio.json").read_text(encoding="utf-8"))
    assert [o["operator"] for o in doc["operators"]] == [SHANGHAI["name"], BEIJING["name"]]
    assert (tmp_path / "out" / "portfolio.html").is_file()
    assert f"{BEIJING['name']} (beijing): FAIL — 3 facilities" in r.output
    assert all(o["recorded_run"] for o in doc["operators"])
    r = run(cli, "portfolio", folder, "--out", tmp_path / "out", "--format", "pdf")
    assert r.exit_code == 2 and "--format: 'pdf'" in r.output


def test_history_lists_two_recorded_audits(cli: click.Group, db_url: str, tmp_path: Path) -> None:
    """Done when: two audits recorded → `auditor history --format json` lists both (SQLite and PostgreSQL)."""
    result, report = audit_report(write_operator(tmp_path / "a", "alpha", SHANGHAI, SHANGHAI_ROWS))
    first = record_result(db_url, result, report)
    rows = [r for r in SHANGHAI_ROWS if r[0] != "A-CDN-3"]
    result2, report2 = audit_report(write_operator(tmp_path / "b", "alpha", SHANGHAI, rows))
    second = record_result(db_url, result2, report2)
    r = run(cli, "history", "--db", db_url, "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert [x["id"] for x in doc["runs"]] == [first.id, second.id]
    assert [x["facility_count"] for x in doc["runs"]] == [4, 3]
    trend = doc["trends"][SHANGHAI["name"]]
    assert trend[1]["delta"]["fail"] == -1 and trend[1]["changes"] == {"removed": 1}
    text = run(cli, "history", "--db", db_url).output
    assert f"run {first.id:>4}" in text and "(fail -1; removed 1)" in text
    assert "| fail | 2 | 2 |" in run(cli, "history", "--db", db_url, "--format", "md").output
    # two recorded runs compared: Hangzhou removed is no regression; the reverse is a new failing facility
    assert run(cli, "history", "--db", db_url, "--diff", first.id, second.id).exit_code == 0
    back = run(cli, "history", "--db", db_url, "--diff", second.id, first.id, "--format", "json")
    assert back.exit_code == 1 and json.loads(back.output)["facilities"]["regressed"][0]["key"] == "A-CDN-3"
    missing = run(cli, "history", "--db", db_url, "--operator", "Nobody Ltd.")
    assert missing.exit_code == 2 and "no recorded run of operator 'Nobody Ltd.'" in missing.output


def test_history_records_report_folders(cli: click.Group, example_report: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    r = run(cli, "history", "--db", db, "--record", example_report, "--programme", "mofcom-2025-84", "--format", "json")
    assert r.exit_code == 0
    (only,) = json.loads(r.stdout)["runs"]
    assert only["programme"] == "mofcom-2025-84" and only["source"] == f"report:{example_report}"
    bad = run(cli, "history", "--db", "mysql://u:pw@host/x")
    assert bad.exit_code == 2 and "pw" not in bad.output


def test_sample_is_reproducible_exact_and_differs_between_seeds(cli: click.Group, example_report: Path) -> None:
    a = run(cli, "sample", example_report, "--n", 3, "--seed", 11, "--format", "json")
    b = run(cli, "sample", example_report, "--n", 3, "--seed", 11, "--format", "json")
    c = run(cli, "sample", example_report, "--n", 3, "--seed", 12, "--format", "json")
    assert a.exit_code == 0 and a.stdout == b.stdout
    doc = json.loads(a.stdout)
    assert doc["seed"] == 11 and len(doc["picks"]) == 3 and "seed 11: 3 of 4 facilities drawn" in a.stderr
    seeds = {tuple(p["key"] for p in json.loads(run(cli, "sample", example_report, "--n", 2, "--seed", s, "--format", "json").stdout)["picks"])
             for s in range(12)}
    assert len(seeds) > 1 and json.loads(c.stdout)["seed"] == 12
    assert doc["estimate"]["source"].startswith("audit verdicts")
    fresh = run(cli, "sample", example_report, "--n", 2, "--format", "json")
    assert str(json.loads(fresh.stdout)["seed"]) in fresh.stderr  # no --seed: a fresh one, printed and written


def test_sample_csv_filled_in_gives_the_on_site_estimate(cli: click.Group, example_report: Path, tmp_path: Path) -> None:
    out = tmp_path / "checks.csv"
    r = run(cli, "sample", example_report, "--n", 3, "--seed", 5, "--format", "csv", "--out", out, "--weight", "fail=20")
    assert r.exit_code == 0 and out.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    picks = [x for x in rows if x["key"] and not x["key"].startswith("#")]
    assert len(picks) == 3 and all(x["outcome"] == "" for x in picks)
    assert any(x["key"] == "# estimate" for x in rows)
    filled = tmp_path / "filled.csv"
    with open(filled, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        for x in picks:
            w.writerow({**x, "outcome": "compliant"})
    done = run(cli, "sample", example_report, "--n", 3, "--seed", 5, "--weight", "fail=20", "--outcomes", filled, "--format", "json")
    est = json.loads(done.stdout)["estimate"]
    assert est["source"] == "on-site outcomes" and est["non_compliant_picks"] == 0 and est["share"] == 0
    assert [p["outcome"] for p in csv.DictReader(io.StringIO(run(cli, "sample", example_report, "--n", 3, "--seed", 5, "--weight", "fail=20",
                                                                 "--outcomes", filled, "--format", "csv").stdout.lstrip("\ufeff")))
            if p["key"] and not p["key"].startswith("#")] == ["compliant"] * 3
    wrong = run(cli, "sample", example_report, "--n", 3, "--seed", 6, "--outcomes", filled)
    assert wrong.exit_code == 2 and "not picks of this sample" in wrong.output


def test_sample_from_the_database_by_operator(cli: click.Group, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    for stem, profile, rows in (("alpha", SHANGHAI, SHANGHAI_ROWS), ("beta", BEIJING, BEIJING_ROWS)):
        result, report = audit_report(write_operator(tmp_path / stem, stem, profile, rows))
        record_result(db, result, report)
    r = run(cli, "sample", "--db", db, "--n", 2, "--seed", 3, "--by", "operator", "--format", "json")
    doc = json.loads(r.stdout)
    assert r.exit_code == 0 and doc["population"] == 7 and len(doc["picks"]) == 4
    assert {p["stratum"] for p in doc["picks"]} == {SHANGHAI["name"], BEIJING["name"]}
    md = run(cli, "sample", "--db", db, "--n", 2, "--seed", 3, "--operator", BEIJING["name"]).stdout
    assert "## Estimate" in md and md.index("## Estimate") > md.index("| 2 |")  # the estimate ends the output
    for args, words in (((), "either REPORT"), (("--db", db, str(tmp_path)), "either REPORT"), (("--db", db, "--weight", "fail"), "NAME=VALUE"),
                        (("--db", db, "--weight", "urgent=3"), "--weight: 'urgent'")):
        bad = run(cli, "sample", "--n", 2, *args)
        assert bad.exit_code == 2 and words in bad.output, bad.output
