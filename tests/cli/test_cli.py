"""The command line: exit statuses, messages that name the place, and the help examples."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import DISHUI_LAKE, EXAMPLE, HANGZHOU, REPO, write_csv

from auditor.cli import main


@pytest.fixture
def runner():
    return CliRunner()


def test_audit_exit_0_when_nothing_fails(runner, tmp_path):
    p = write_csv(tmp_path / "f.csv", ["id", "lon", "lat", "crs"], [["a", *DISHUI_LAKE, "wgs84"]])
    res = runner.invoke(main, ["audit", str(p), "--region", "shanghai", "--out", str(tmp_path / "o"), "--as-of", "2026-11-01"])
    assert res.exit_code == 0, res.output
    assert "verdict PASS" in res.output
    report = json.loads((tmp_path / "o" / "report.json").read_text(encoding="utf-8"))
    assert report["summary"]["verdict"] == "pass"


def test_audit_exit_1_when_a_facility_fails(runner, tmp_path):
    p = write_csv(tmp_path / "f.csv", ["id", "lon", "lat", "crs"], [["a", *DISHUI_LAKE, "wgs84"], ["b", *HANGZHOU, "wgs84"]])
    res = runner.invoke(main, ["audit", str(p), "--region", "shanghai", "--out", str(tmp_path / "o"), "--format", "json"])
    assert res.exit_code == 1
    assert "verdict FAIL" in res.output


def test_example_profile(runner, tmp_path):
    res = runner.invoke(main, ["audit", str(EXAMPLE), "--out", str(tmp_path / "o"), "--as-of", "2026-11-01"])
    assert res.exit_code == 1
    assert "43 facilities" in res.output
    names = ["facilities.csv", "facilities.geojson", "report.html", "report.json", "report.md", "report.sarif"]
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [".auditor-complete", ".auditor.lock", *names]
    assert sorted(json.loads((tmp_path / "o" / ".auditor-complete").read_text())["files"]) == names


@pytest.mark.parametrize(
    "args, needle",
    [
        (["audit", "nope.csv", "--region", "shanghai"], "nope.csv: file not found"),
        (["audit", "{csv}"], "needs --region"),
        (["audit", "{csv}", "--region", "atlantis"], "atlantis"),
        (["audit", "{csv}", "--region", "shanghai", "--format", "docx"], "docx"),
        (["audit", "{csv}", "--region", "hainan", "--option", "include_mars=true"], "include_mars"),
        (["audit", "{csv}", "--region", "shanghai", "--as-of", "2026-13-01"], "--as-of"),
        (["audit", "{nocol}", "--region", "shanghai"], "column 'id'"),
        (["where", "31.2", "121.5"], "swapped"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(runner, tmp_path, args, needle):
    good = write_csv(tmp_path / "f.csv", ["id", "lon", "lat"], [["a", *DISHUI_LAKE]])
    nocol = write_csv(tmp_path / "n.csv", ["name", "lon", "lat"], [["a", *DISHUI_LAKE]])
    argv = [a.format(csv=good, nocol=nocol) for a in args] + ["--out", str(tmp_path / "o")] * (args[0] == "audit")
    res = runner.invoke(main, argv)
    assert res.exit_code == 2, res.output
    assert needle in res.output
    assert "Traceback" not in res.output


def test_where(runner):
    res = runner.invoke(main, ["where", "121.93", "30.905", "--region", "shanghai"])
    assert res.exit_code == 0
    assert "shanghai: inside; part: pudong, lingang-main" in res.output
    res = runner.invoke(main, ["where", "121.4365", "31.188"])
    assert "shanghai: outside" in res.output and "beijing: outside" in res.output


def test_where_converts_gcj(runner):
    from auditor.geo.crs import from_wgs84

    lon, lat = from_wgs84(121.93, 30.905, "gcj02")
    res = runner.invoke(main, ["where", f"{float(lon):.7f}", f"{float(lat):.7f}", "--crs", "gcj02", "--region", "shanghai"])
    assert "121.930000 30.905000 (wgs84)" in res.output


def test_regions_as_of(runner):
    res = runner.invoke(main, ["regions", "--as-of", "2024-06-01"])
    assert res.exit_code == 0
    assert res.output.count("announced since 2024-04-08") == 4
    res = runner.invoke(main, ["regions", "--as-of", "2025-01-01"])
    assert res.output.count("active since 2024-10-23") == 4
    assert "include_sansha" in res.output and "include_shenshan" in res.output


@pytest.mark.parametrize("command", ["audit", "regions", "where"])
def test_help_has_an_example(runner, command):
    res = runner.invoke(main, [command, "--help"])
    assert res.exit_code == 0 and "Example" in res.output


def test_locate_ip_prefix_and_bad_input(runner):
    res = runner.invoke(main, ["locate", "58.32.0.1", "1.0.0.0/8", "10.1.1.1", "nonsense value"])
    assert res.exit_code == 2  # one query is not an IP, prefix or hostname
    out = res.output
    assert "58.32.0.1 (ip)" in out and "answer=中国|0|上海|上海市|电信" in out and "shanghai: indeterminate" in out
    assert "1.0.0.0/8 (prefix)" in out and "beijing: inside 1,148,160 / outside 15,629,056" in out
    assert "10.1.1.1 (ip)" in out and "private or reserved" in out
    assert "not an IP address, prefix or hostname" in out
    ok = runner.invoke(main, ["locate", "58.32.0.1"])
    assert ok.exit_code == 0


def test_locate_with_mmdb(runner):
    from conftest import REPO

    db = REPO / "tests" / "fixtures" / "mmdb" / "GeoIP2-City-Test.mmdb"
    res = runner.invoke(main, ["locate", "2.125.160.216", "--mmdb", str(db)])
    assert res.exit_code == 0
    assert "mmdb [GeoIP2-City" in res.output and "status=ok" in res.output
