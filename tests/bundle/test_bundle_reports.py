"""`auditor verify` re-renders every bundled report and compares it byte for byte; it refuses
archives that would unpack to far more than their size before unpacking anything."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import pytest
from bundle_helpers import manifest_of, read_members, rewrite, run_cli
from conftest import AS_OF, REPO

import auditor.bundle.verify as verify_module
from auditor.bundle import verify_bundle, write_bundle
from auditor.bundle.archive import ARCHIVE_RATIO_FLOOR, MAX_ARCHIVE_RATIO, entry_of, write_canonical_zip
from auditor.errors import DataError, InputError
from auditor.report import write_reports

STAMP = "2026-11-01T00:00:00+00:00"
FORMATS = "json,md,csv,geojson,html,sarif,parquet"


# --------------------------------------------------------------------------- helpers
def first_line_changed(old: bytes, new: bytes) -> int:
    at = next(i for i, (a, b) in enumerate(zip(old, new)) if a != b)
    return old[:at].count(b"\n") + 1


@pytest.fixture(scope="module")
def full_bundle(tmp_path_factory) -> Path:
    """The example audited into every format, with figures, and bundled."""
    out = tmp_path_factory.mktemp("full")
    code, output = run_cli(["audit", "examples/shanghai-operator/operator.yaml", "--out", str(out), "--as-of", "2026-11-01",
                            "--generated-at", STAMP, "--format", FORMATS, "--figures", "--bundle"], REPO)
    assert code == 1, output
    return out / "evidence-bundle.zip"


class Measured(tempfile.TemporaryDirectory):
    """A TemporaryDirectory that records how many bytes it held when it is removed."""

    held: list[int] = []

    def cleanup(self) -> None:
        Measured.held.append(sum(p.stat().st_size for p in Path(self.name).rglob("*") if p.is_file()))
        super().cleanup()


@pytest.fixture
def measured(monkeypatch) -> list[int]:
    """The bytes written to disk by each scratch folder verify_bundle makes (none made: nothing written)."""
    Measured.held = []
    monkeypatch.setattr(verify_module, "tempfile", type("T", (), {"TemporaryDirectory": Measured}))
    return Measured.held


# --------------------------------------------------------------------------- untouched: every report re-rendered
def test_every_report_and_figure_is_re_rendered_byte_for_byte(full_bundle, tmp_path):
    names = {n for n in read_members(full_bundle) if n.startswith("reports/")}
    assert len(names) == 13 and {"reports/facilities.parquet", "reports/figures/distance.png", "reports/report.md"} <= names
    v = verify_bundle(full_bundle)
    assert v.ok and v.exit_code == 0 and v.reports == () and v.reports_matched == 13, v.summary_lines()
    code, output = run_cli(["verify", str(full_bundle)], tmp_path)
    assert code == 0, output
    assert "reports: all 13 bundled reports are byte for byte the ones re-rendered from the recomputed audit" in output
    assert output.strip().endswith("VERIFIED")


# --------------------------------------------------------------------------- one report forged, manifest re-hashed
TEXT_FORGERIES = {  # member: (old, new) — the first occurrence is changed
    "reports/report.md": (b"FAIL", b"PASS"),
    "reports/report.html": (b">fail<", b">pass<"),
    "reports/report.sarif": (b'"level": "error"', b'"level": "note"'),
    "reports/facilities.csv": (b",fail,", b",pass,"),
    "reports/facilities.geojson": (b'"verdict":"fail"', b'"verdict":"pass"'),
    "reports/report.json": (b'"name": "Example Cloud', b'"name": "Exemplary Cloud'),  # no verdict changed: still caught
    "reports/figures/evidence.svg": (b'standalone="no"', b'standalone="yes"'),
}


def test_each_forged_report_fails_naming_it_and_where_it_first_differs(full_bundle, tmp_path):
    """Every report forged at once (text at its first differing line, binary at its byte), the manifest
    re-hashed: each is named, the others are not (one verification: each one re-runs the audit)."""
    members = read_members(full_bundle)
    expected = {}
    for member, (old, new) in TEXT_FORGERIES.items():
        assert old in members[member], member
        forged = members[member].replace(old, new, 1)
        line = first_line_changed(members[member], forged)
        members[member] = forged
        expected[member] = (f"{member}: differs from the report re-rendered from the recomputed audit, first at line {line}: bundled ",
                            repr(new.decode())[1:-1])
    for member in ("reports/facilities.parquet", "reports/figures/distance.png"):
        data = bytearray(members[member])
        at = len(data) // 2
        data[at] ^= 0x01
        members[member] = bytes(data)
        expected[member] = (f"{member}: differs from the report re-rendered from the recomputed audit, first at byte {at:,} "
                            f"(bundled {len(data):,} bytes, re-rendered {len(data):,})", "")
    v = verify_bundle(rewrite(members, tmp_path / "forged.zip"))
    assert v.integrity == () and v.inputs == () and v.verdicts == () and v.recomputed  # self-consistent, same verdicts ...
    assert v.exit_code == 1 and not v.ok  # ... but not the reports the audit gives
    reported = {r.split(":", 1)[0]: r for r in v.reports}
    assert sorted(reported) == sorted(expected) and len(v.reports) == len(expected), v.reports
    for member, (start, said) in expected.items():
        assert reported[member].startswith(start) and said in reported[member], reported[member]
        if member.endswith((".parquet", ".png")):
            assert reported[member] == start


def test_report_md_saying_pass_fails_through_the_cli(full_bundle, tmp_path):
    members = read_members(full_bundle)
    members["reports/report.md"] = members["reports/report.md"].replace(b"verdict FAIL", b"verdict PASS").replace(b"FAIL", b"PASS")
    forged = rewrite(members, tmp_path / "forged.zip")
    code, output = run_cli(["verify", str(forged)], tmp_path)
    assert code == 1 and output.strip().endswith("NOT VERIFIED"), output
    assert "integrity: every member matches MANIFEST.sha256" in output and "all match" in output  # hashes and verdicts agree
    assert "reports: FAILED" in output and "  reports/report.md: differs from the report re-rendered" in output


def test_an_added_report_or_a_removed_figure_fails(full_bundle, tmp_path):
    members = read_members(full_bundle)
    members["reports/summary.txt"] = b"Audit passed.\n"
    v = verify_bundle(rewrite(members, tmp_path / "added.zip"))
    assert v.reports == ("reports/summary.txt: not a report the auditor writes; it cannot be re-rendered from the recomputed audit",)
    members = read_members(full_bundle)
    del members["reports/figures/footprint.svg"], members["reports/figures/footprint.png"]  # an unflattering figure dropped
    v = verify_bundle(rewrite(members, tmp_path / "dropped.zip"))
    assert v.exit_code == 1 and v.reports == (
        "reports/figures/footprint.png: the recomputed audit draws this figure, but the bundle does not hold it",
        "reports/figures/footprint.svg: the recomputed audit draws this figure, but the bundle does not hold it",
    )


def test_without_report_json_the_bundle_takes_the_reports_timestamp(tmp_path):
    old = os.getcwd()
    os.chdir(REPO)
    try:
        from auditor.engine import audit

        result = audit("examples/shanghai-operator/operator.yaml", as_of=AS_OF)
        reports = write_reports(result, tmp_path / "r", ("md", "html"), generated_at=STAMP)
        bundle = write_bundle(result, tmp_path / "b.zip", reports=reports)  # no generated_at given: the reports' is used
        (tmp_path / "r" / "notes.txt").write_text("mine\n", encoding="utf-8")
        with pytest.raises(DataError, match="not a report file the auditor writes"):
            write_bundle(result, tmp_path / "c.zip", reports=[*reports, tmp_path / "r" / "notes.txt"])
    finally:
        os.chdir(old)
    assert json.loads(read_members(bundle)["reports/report.json"])["generated_at"] == STAMP
    v = verify_bundle(bundle)
    assert v.ok and v.reports_matched == 3, v.summary_lines()


# --------------------------------------------------------------------------- archives that unpack to far more than their size
def raw_zip(path: Path, members: list[tuple[str, bytes, int, int, int]]) -> Path:
    """A zip of (name, stored bytes, method, crc32, declared size) as given, lying headers included."""
    local, central, offset = [], [], 0
    for name, payload, method, crc, size in members:
        n = name.encode()
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x0800, method, 0, 33, crc, len(payload), size, len(n), 0) + n
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x0314, 20, 0x0800, method, 0, 33, crc, len(payload), size,
                                   len(n), 0, 0, 0, 0, 0o100644 << 16, offset) + n)
        local.append(header + payload)
        offset += len(header) + len(payload)
    directory = b"".join(central)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory), offset, 0)
    path.write_bytes(b"".join(local) + directory + end)
    return path


def deflated(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def test_many_small_zero_members_are_refused_before_anything_is_unpacked(full_bundle, tmp_path, measured):
    # 2,000 members of 1 MiB of zeros, each under the per-member ratio floor: 2 GiB from an archive of ~14 MB
    members = {n: b for n, b in read_members(full_bundle).items() if n != "MANIFEST.sha256"}
    zeros, mib = deflated(bytes(1 << 20)), bytes(1 << 20)
    names = [f"evidence/latency/zeros-{i:04d}.bin" for i in range(2000)]
    listed = dict(members) | {n: mib for n in names}
    entries = [(n, b, 0, zlib.crc32(b), len(b)) for n, b in members.items()]
    entries += [(n, zeros, 8, zlib.crc32(mib), len(mib)) for n in names]
    manifest = manifest_of(listed)
    archive = raw_zip(tmp_path / "zeros.zip", entries + [("MANIFEST.sha256", manifest, 0, zlib.crc32(manifest), len(manifest))])
    size = archive.stat().st_size
    assert size < 16 << 20 and 2000 * len(mib) > MAX_ARCHIVE_RATIO * size
    with pytest.raises(InputError) as err:
        verify_bundle(archive)
    message = str(err.value)
    assert str(archive) in message and "a decompression bomb; the archive is refused before anything is unpacked" in message
    assert f"({MAX_ARCHIVE_RATIO}:1 over the whole archive" in message
    assert measured == []  # no scratch folder was made: 0 bytes written to disk
    code, output = run_cli(["verify", str(archive)], tmp_path)
    assert code == 2 and "decompression bomb" in output and "Traceback" not in output


def test_an_unlisted_member_is_refused_before_anything_is_unpacked(full_bundle, tmp_path, measured):
    members = read_members(full_bundle)
    manifest = members.pop("MANIFEST.sha256")
    order = list(members) + ["extra.bin"]
    members["extra.bin"] = bytes(1000)
    write_canonical_zip(tmp_path / "x.zip", [entry_of(n, members[n]) for n in order] + [entry_of("MANIFEST.sha256", manifest)])
    with pytest.raises(InputError, match="'extra.bin' is not listed in MANIFEST.sha256"):
        verify_bundle(tmp_path / "x.zip")
    assert measured == []


def test_a_header_understating_a_size_unpacks_no_more_than_it_states(full_bundle, tmp_path, measured):
    # 64 MiB of zeros whose headers say 1 KiB: the copy stops at 1 KiB, and the archive fails to verify
    members = {n: b for n, b in read_members(full_bundle).items() if n != "MANIFEST.sha256"}
    big = bytes(64 << 20)
    listed = dict(members) | {"evidence/latency/zeros.bin": big}
    entries = [(n, b, 0, zlib.crc32(b), len(b)) for n, b in members.items()]
    entries.append(("evidence/latency/zeros.bin", deflated(big), 8, zlib.crc32(big), 1024))
    manifest = manifest_of(listed)
    archive = raw_zip(tmp_path / "liar.zip", entries + [("MANIFEST.sha256", manifest, 0, zlib.crc32(manifest), len(manifest))])
    v = verify_bundle(archive)
    assert v.exit_code == 1 and not v.recomputed
    assert any(line.startswith("evidence/latency/zeros.bin: ") for line in v.integrity), v.integrity
    declared = sum(len(b) for b in members.values()) + 1024
    assert len(measured) == 1 and measured[0] <= declared  # what was written is bounded by what the headers declare
    assert declared < ARCHIVE_RATIO_FLOOR + archive.stat().st_size
