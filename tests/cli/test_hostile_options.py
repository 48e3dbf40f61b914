"""Hostile files and option values beside the facility list (issue 22): each ends in exit 2 with one line
naming what is wrong, or in a verdict that says why — never a traceback, never minutes or gigabytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DISHUI_LAKE, TESTS, write_csv

from auditor.cli import main
from auditor.config import AuditConfig
from auditor.errors import InputError

CORPUS = TESTS / "corpus"


def _listing(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "f.csv", ["id", "kind", "lon", "lat", "crs"], [["a", "IDC", *DISHUI_LAKE, "wgs84"]])


def _run(args: list[str]):
    res = CliRunner().invoke(main, args, catch_exceptions=False)
    assert "Traceback" not in res.output
    return res


def _one_line_refusal(res, needle: str) -> None:
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert lines[-1].startswith("auditor: error: ") and needle in lines[-1], res.output


@pytest.mark.parametrize("option, value, needle", [
    ("--dns-server", "127.0.0.1:abc", "the port must be a whole number from 1 to 65535"),
    ("--dns-server", "127.0.0.1:0", "the port must be a whole number from 1 to 65535"),
    ("--dns-server", "127.0.0.1:70000", "the port must be a whole number from 1 to 65535"),
    ("--dns-server", "notanip", "'notanip' is not an IP address"),
    ("--sweep-server", "[::1", "write [IPv6]:PORT"),
    ("--dns-server", "169.254.169.254", "link-local"),
    ("--dns-server", "10.1.2.3:53", "private-range address; refused unless --allow-private-network"),
    ("--rdap-url", "http://169.254.169.254/latest/meta-data/", "link-local"),
    ("--rdap-url", "http://metadata.google.internal/", "cloud metadata service"),
    ("--rdap-url", "http://[fe80::1]/", "link-local"),
    ("--rdap-url", "gopher://rdap.example.net/", "an http:// or https:// URL with a host is needed"),
    ("--rdap-url", "http://rdap.example.net:99999/", "--rdap-url"),
])
def test_network_options_are_checked_before_anything_runs(tmp_path: Path, option: str, value: str, needle: str) -> None:
    res = _run(["audit", str(_listing(tmp_path)), "--region", "shanghai", "--out", str(tmp_path / "o"), option, value])
    _one_line_refusal(res, needle)
    assert not (tmp_path / "o").exists()


def test_private_and_loopback_targets_with_the_opt_in() -> None:
    assert AuditConfig(dns_server="127.0.0.1:5353").dns_server == "127.0.0.1:5353"  # loopback: this machine
    assert AuditConfig(rdap_url="http://10.0.0.8/rdap", allow_private_network=True).rdap_url == "http://10.0.0.8/rdap"
    with pytest.raises(InputError, match="private-range"):
        AuditConfig(rdap_url="http://10.0.0.8/rdap")


@pytest.mark.parametrize("args, needle", [
    (["--nameserver", "notanip:53"], "'notanip' is not an IP address"),
    (["--nameserver", "127.0.0.1:0"], "the port must be a whole number from 1 to 65535"),
    (["--nameserver", "169.254.169.254"], "link-local"),
])
def test_sweep_nameserver_is_checked(args: list[str], needle: str) -> None:
    _one_line_refusal(_run(["sweep", "x.test", *args]), needle)


def test_sweep_per_pair_must_be_positive() -> None:
    res = _run(["sweep", "x.test", "--nameserver", "127.0.0.1", "--per-pair", "-3"])
    assert res.exit_code == 2 and "-3 is not in the range 1<=x<=64" in res.output


def test_profile_network_settings_need_the_opt_in() -> None:
    profile = {"dns_server": "127.0.0.1:5353", "online": True, "timeout_s": 1.0}
    ignored = AuditConfig.resolve(profile=profile, env={})
    assert (ignored.dns_server, ignored.online, ignored.timeout_s) == (None, False, 1.0)
    assert ignored.ignored_from_profile == ("dns_server", "online")
    allowed = AuditConfig.resolve(profile=profile, env={}, cli={"allow_profile_network": True})
    assert (allowed.dns_server, allowed.online, allowed.ignored_from_profile) == ("127.0.0.1:5353", True, ())


def test_a_waivers_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    bomb = (CORPUS / "profile_billion_laughs.yaml").read_text(encoding="utf-8")
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers: []\n" + bomb, encoding="utf-8")
    res = _run(["audit", str(_listing(tmp_path)), "--region", "shanghai", "--out", str(tmp_path / "o"), "--waivers", str(waivers)])
    _one_line_refusal(res, "aliases (*name) are not allowed in a waivers file")


def _deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_a_deeply_nested_report_given_to_diff_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / "old.json"
    deep.write_text(_deep_json(100_000), encoding="utf-8")
    res = _run(["diff", str(deep), str(deep)])
    _one_line_refusal(res, "nested more than 100 levels deep")


def test_a_deeply_nested_latency_file_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / "rtt.json"
    deep.write_text(_deep_json(100_000), encoding="utf-8")
    res = _run(["audit", str(_listing(tmp_path)), "--region", "shanghai", "--out", str(tmp_path / "o"), "--latency", str(deep)])
    _one_line_refusal(res, "nested too deeply")


@pytest.mark.parametrize("option", ["--latency", "--waivers"])
def test_a_device_given_as_a_file_is_refused_before_it_is_read(tmp_path: Path, option: str) -> None:
    res = _run(["audit", str(_listing(tmp_path)), "--region", "shanghai", "--out", str(tmp_path / "o"), option, "/dev/zero"])
    _one_line_refusal(res, "is not a regular file")


def test_where_refuses_an_uncertainty_beyond_the_planet() -> None:
    res = _run(["where", "121.93", "30.905", "--uncertainty", "1e11"])
    _one_line_refusal(res, "--uncertainty must be from 0 to 20,000,000 metres")


def test_an_unwritable_out_folder_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = _run(["audit", str(_listing(tmp_path)), "--region", "shanghai", "--out", str(blocker / "sub")])
    _one_line_refusal(res, "cannot write reports here")


def test_report_is_written_when_the_profile_names_network_targets(tmp_path: Path) -> None:
    write_csv(tmp_path / "f.csv", ["id", "kind", "lon", "lat", "crs"], [["a", "IDC", *DISHUI_LAKE, "wgs84"]])
    (tmp_path / "p.yaml").write_text("name: N\nregion: shanghai\nservices: [IDC]\nfacilities: f.csv\n"
                                     "evidence: {sweep_server: '192.0.2.1:53'}\n", encoding="utf-8")
    res = _run(["audit", str(tmp_path / "p.yaml"), "--out", str(tmp_path / "o"), "--format", "json"])
    assert res.exit_code == 0, res.output
    warnings = json.loads((tmp_path / "o" / "report.json").read_text(encoding="utf-8"))["warnings"]
    assert any("sweep_server were ignored" in w for w in warnings)


def test_a_deeply_nested_dns_recording_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / "rec.json"
    deep.write_text(_deep_json(100_000), encoding="utf-8")
    listing = write_csv(tmp_path / "f.csv", ["id", "kind", "lon", "lat", "crs", "hostname"], [["a", "CDN", *DISHUI_LAKE, "wgs84", "a.example.com"]])
    res = _run(["audit", str(listing), "--region", "shanghai", "--out", str(tmp_path / "o"), "--dns-recording", str(deep)])
    _one_line_refusal(res, "nested too deeply")
    res = _run(["sweep", "a.example.com", "--dns-recording", str(deep)])
    _one_line_refusal(res, "nested too deeply")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_out_into_proc_is_one_line(tmp_path: Path) -> None:
    res = _run(["audit", str(_listing(tmp_path)), "--region", "shanghai", "--out", "/proc"])
    _one_line_refusal(res, "/proc: cannot write reports here")
