"""Defaults from a settings file in the working directory (issue 25): auditor.toml or pyproject.toml's
[tool.auditor]; the command line wins, then the environment, then the file, then the profile."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import DISHUI_LAKE, HANGZHOU, REPO, write_csv

from auditor.cli import main
from auditor.cli.settings import load_settings
from auditor.config import AuditConfig
from auditor.errors import InputError

TABLE = REPO / "examples" / "shanghai-operator" / "data" / "ipasn_20140513-CN-HK-extract.dat"
AS_OF = "2026-11-01"


def _run(args: list[str], env: dict[str, str] | None = None):
    res = CliRunner().invoke(main, args, catch_exceptions=False, env=env)
    assert "Traceback" not in res.output
    return res


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with a facility list (one node inside, one outside) and no settings yet."""
    monkeypatch.chdir(tmp_path)
    for var in ("AUDITOR_ASN_TABLE", "AUDITOR_DNS_RECORDING", "AUDITOR_DNS_SERVER"):
        monkeypatch.delenv(var, raising=False)
    write_csv(tmp_path / "f.csv", ["id", "lon", "lat", "crs", "ip"], [["ok", *DISHUI_LAKE, "wgs84", "58.34.1.1"],
                                                                      ["far", *HANGZHOU, "wgs84", ""]])
    return tmp_path


def test_auditor_toml_gives_the_defaults_and_the_command_line_wins(work: Path) -> None:
    (work / "auditor.toml").write_text('out = "from-file"\nformat = ["json", "md"]\nfail-on = "indeterminate"\nquiet = true\n'
                                       'region = "shanghai"\n', encoding="utf-8")
    res = _run(["audit", "f.csv", "--as-of", AS_OF])
    assert res.exit_code == 1 and res.output.splitlines() == [
        "shanghai: verdict FAIL — 2 facilities (pass 1, fail 1, indeterminate 0, error 0)"]  # quiet, from the file
    assert sorted(p.name for p in (work / "from-file").glob("report.*")) == ["report.json", "report.md"]
    res = _run(["audit", "f.csv", "--as-of", AS_OF, "--out", "given", "--format", "json", "--no-figures"])
    assert sorted(p.name for p in (work / "given").glob("report.*")) == ["report.json"]


def test_pyproject_tool_auditor_and_the_settings_line(work: Path) -> None:
    (work / "pyproject.toml").write_text('[project]\nname = "ops"\n\n[tool.auditor]\nout = "pp"\nformat = "json"\n', encoding="utf-8")
    res = _run(["audit", "f.csv", "--region", "shanghai", "--as-of", AS_OF])
    assert res.exit_code == 1 and "  settings: pyproject.toml [tool.auditor]" in res.output.splitlines()
    assert (work / "pp" / "report.json").is_file()
    (work / "pyproject.toml").write_text('[project]\nname = "ops"\n', encoding="utf-8")  # no table: no settings
    res = _run(["audit", "f.csv", "--region", "shanghai", "--as-of", AS_OF, "--format", "json"])
    assert "settings:" not in res.output and (work / "reports" / "audit" / "report.json").is_file()


def test_evidence_precedence_command_line_environment_file_profile(work: Path) -> None:
    for name in ("cli", "env", "file", "profile"):
        shutil.copyfile(TABLE, work / f"{name}.dat")
    (work / "op.yaml").write_text(yaml.safe_dump({"name": "Op", "region": "shanghai", "services": ["IDC"], "facilities": "f.csv",
                                                  "evidence": {"asn_table": "profile.dat"}}), encoding="utf-8")
    (work / "auditor.toml").write_text('asn_table = "file.dat"\nformat = "json"\n', encoding="utf-8")

    def table_used(args: list[str], env: dict[str, str] | None = None) -> str:
        res = _run(["audit", "op.yaml", "--as-of", AS_OF, "--out", "o", *args], env=env)
        assert res.exit_code == 1, res.output
        report = json.loads((work / "o" / "report.json").read_text(encoding="utf-8"))
        (source,) = [d["path"] for d in report["data_sources"] if d["name"] == "asn_table"]
        return Path(source).name

    assert table_used(["--asn-table", "cli.dat"], env={"AUDITOR_ASN_TABLE": "env.dat"}) == "cli.dat"
    assert table_used([], env={"AUDITOR_ASN_TABLE": "env.dat"}) == "env.dat"
    assert table_used([]) == "file.dat"
    (work / "auditor.toml").write_text('format = "json"\n', encoding="utf-8")
    assert table_used([]) == "profile.dat"


def test_resolve_puts_the_file_between_environment_and_profile() -> None:
    file = {"path": "auditor.toml", "settings": {"cymru_server": "127.0.0.4", "dns_resolver": "127.0.0.3", "give_up_after": 7}}
    c = AuditConfig.resolve(file=file, env={}, profile={"give_up_after": 2})
    assert (c.cymru_server, c.dns_resolver, c.give_up_after, c.notes) == ("127.0.0.4", "127.0.0.3", 7, ())
    # the deprecated alias stands for both servers within its own layer: the environment's beats the file's
    c = AuditConfig.resolve(file=file, env={"AUDITOR_DNS_SERVER": "127.0.0.1"}, cli={"cymru_server": "127.0.0.2"})
    assert (c.cymru_server, c.dns_resolver) == ("127.0.0.2", "127.0.0.1")
    assert c.notes and c.notes[0].startswith("AUDITOR_DNS_SERVER is deprecated: it sets both cymru_server")
    # the file is trusted like the environment; a profile's servers need the opt-in (which the file may give)
    c = AuditConfig.resolve(profile={"dns_server": "127.0.0.9"}, env={})
    assert c.ignored_from_profile == ("dns_server",) and c.cymru_server is None
    c = AuditConfig.resolve(profile={"dns_server": "127.0.0.9"}, env={}, file={"path": "auditor.toml", "settings": {"allow_profile_network": True}})
    assert c.ignored_from_profile == () and c.dns_resolver == "127.0.0.9"


def test_a_recording_in_the_file_and_a_live_resolver_on_the_command_line_conflict(work: Path) -> None:
    shutil.copyfile(REPO / "examples" / "shanghai-operator" / "data" / "dns-recording.json", work / "rec.json")
    (work / "auditor.toml").write_text('dns_recording = "rec.json"\n', encoding="utf-8")
    res = _run(["audit", "f.csv", "--region", "shanghai", "--out", "o", "--dns-resolver", "127.0.0.1:5353"])
    assert res.exit_code == 2 and not (work / "o").exists()
    assert ("conflicting DNS sources: dns_recording (auditor.toml: dns_recording) replays hostname resolutions and ECS sweeps "
            "(rec.json), but dns_resolver (--dns-resolver) would ask them live") in res.output


@pytest.mark.parametrize("files, needle", [
    ({"auditor.toml": 'fail_on = "sometimes"\n'}, "auditor.toml: fail_on: 'sometimes' is not one of fail, indeterminate, error"),
    ({"auditor.toml": "quiet = 1\n"}, "auditor.toml: quiet: 1 is not true or false"),
    ({"auditor.toml": 'fial_on = "fail"\n'}, "auditor.toml: unknown setting 'fial_on'; hint: did you mean fail_on?"),
    ({"auditor.toml": "out = [\n"}, "auditor.toml: not valid TOML: "),
    ({"pyproject.toml": '[tool]\nauditor = "x"\n'}, "pyproject.toml: [tool.auditor] must be a table of settings"),
    ({"auditor.toml": 'out = "a"\n', "pyproject.toml": '[tool.auditor]\nout = "b"\n'},
     "settings in both auditor.toml and pyproject.toml [tool.auditor]: keep them in one file"),
    ({"auditor.toml": "give_up_after = 0\n"}, "auditor.toml: give_up_after must be a whole number of failed lookups, at least 1"),
])
def test_bad_settings_stop_the_command_naming_the_file_and_the_key(work: Path, files: dict[str, str], needle: str) -> None:
    for name, text in files.items():
        (work / name).write_text(text, encoding="utf-8")
    res = _run(["audit", "f.csv", "--region", "shanghai", "--out", "o"])
    assert res.exit_code == 2 and needle in res.output, res.output
    assert not (work / "o").exists()
    assert _run(["where", "121.93", "30.905"]).exit_code == 0  # commands that take no settings do not read the file


def test_the_example_settings_file_is_valid() -> None:
    settings = load_settings(REPO / "examples" / "ci")
    assert settings.path == "auditor.toml"
    assert settings.audit == {"fail_on": "fail", "waivers_path": "waivers.yaml", "sarif_root": ".", "lang": "zh-CN"}
    assert settings.evidence == {"asn_table": "data/ipasn.dat", "dns_recording": "data/dns-recording.json"}


def test_no_settings_file_means_no_settings(tmp_path: Path) -> None:
    assert load_settings(tmp_path).path is None and load_settings(tmp_path).layer() is None
    (tmp_path / "auditor.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="auditor.toml: not UTF-8 text"):
        load_settings(tmp_path)


def test_locate_reads_the_evidence_settings_too(work: Path) -> None:
    shutil.copyfile(TABLE, work / "table.dat")
    assert "prefix-table" not in _run(["locate", "58.34.1.1"]).output
    (work / "auditor.toml").write_text('asn_table = "table.dat"\n', encoding="utf-8")
    res = _run(["locate", "58.34.1.1"])
    assert res.exit_code == 0 and "prefix-table [" in res.output and "asn=4812, prefix=58.34.0.0/16" in res.output


def test_a_deprecated_dns_server_in_the_file_is_warned_about(work: Path) -> None:
    write_csv(work / "g.csv", ["id", "lon", "lat", "crs"], [["ok", *DISHUI_LAKE, "wgs84"]])  # nothing to ask a server
    (work / "auditor.toml").write_text('dns_server = "127.0.0.1:5353"\nformat = "json"\n', encoding="utf-8")
    res = _run(["audit", "g.csv", "--region", "shanghai", "--as-of", AS_OF, "--out", "o"])
    assert res.exit_code == 0, res.output
    assert ("warning: auditor.toml: dns_server is deprecated: it sets both cymru_server (Team Cymru IP-to-ASN lookups) "
            "and dns_resolver (the inventory's hostnames)") in res.stderr
    assert json.loads((work / "o" / "report.json").read_text(encoding="utf-8"))["tool"]["mode"] == "online"  # a server is named
