"""Report folders (auditor.report.folder): a whole set or nothing, never over an input, never through a symlink."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import AS_OF, DISHUI_LAKE, REPO, XUJIAHUI, write_csv

from auditor.cli import main
from auditor.errors import InputError
from auditor.report import ReportFolder, write_reports
from auditor.report.folder import COMPLETE_MARKER

STAMP = "2026-11-01T00:00:00+00:00"


def _digest(folder: Path) -> dict[str, str]:
    """The report set as a reader sees it: every file but the lock and a staging folder."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".auditor.lock"
            and not p.relative_to(folder).parts[0].startswith(".auditor-partial-")}


def _facilities(path: Path) -> Path:
    return write_csv(path, ["id", "kind", "lon", "lat", "crs"], [
        ["lingang", "IDC", *DISHUI_LAKE, "wgs84"], ["puxi", "IDC", *XUJIAHUI, "wgs84"]])


def _audit(args: list[str]):
    return CliRunner().invoke(main, ["audit", *args, "--as-of", AS_OF.isoformat(), "--generated-at", STAMP])


def test_out_dot_never_overwrites_the_facility_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listing = _facilities(tmp_path / "facilities.csv")
    before = listing.read_bytes()
    monkeypatch.chdir(tmp_path)
    res = _audit(["facilities.csv", "--region", "shanghai", "--out", "."])
    assert res.exit_code == 2
    assert "the report file facilities.csv would overwrite an input of this audit" in res.output
    assert listing.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("report")]


def test_a_profiles_facility_list_in_the_out_folder_is_protected_too(tmp_path: Path) -> None:
    listing = _facilities(tmp_path / "facilities.csv")
    before = listing.read_bytes()
    (tmp_path / "operator.yaml").write_text("name: X\nregion: shanghai\nservices: [IDC]\nfacilities: facilities.csv\n")
    res = _audit([str(tmp_path / "operator.yaml"), "--out", str(tmp_path), "--format", "json"])
    assert res.exit_code == 2 and "would overwrite an input" in res.output
    assert listing.read_bytes() == before


def test_an_input_reached_through_a_symlinked_report_name_is_protected(tmp_path: Path) -> None:
    listing = _facilities(tmp_path / "list.csv")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").symlink_to(listing)
    res = _audit([str(listing), "--region", "shanghai", "--out", str(out), "--format", "json"])
    assert res.exit_code == 2 and "report.json would overwrite an input" in res.output
    assert listing.read_text().startswith("id,kind")


def test_a_planted_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").symlink_to(Path("..") / "elsewhere.txt")
    res = _audit([str(_facilities(tmp_path / "f.csv")), "--region", "shanghai", "--out", str(out), "--format", "md,json"])
    assert res.exit_code == 1, res.output  # Puxi fails
    assert elsewhere.read_text() == "keep me"
    assert not (out / "report.md").is_symlink() and (out / "report.md").read_text().startswith("#")


def test_report_files_of_an_earlier_run_are_removed(tmp_path: Path) -> None:
    listing, out = _facilities(tmp_path / "f.csv"), tmp_path / "out"
    assert _audit([str(listing), "--region", "shanghai", "--out", str(out), "--figures"]).exit_code == 1
    assert (out / "facilities.geojson").is_file() and (out / "figures").is_dir()
    assert _audit([str(listing), "--region", "shanghai", "--out", str(out), "--format", "json"]).exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == [".auditor-complete", ".auditor.lock", "report.json"]
    marker = json.loads((out / COMPLETE_MARKER).read_text())
    assert marker == {"files": {"report.json": hashlib.sha256((out / "report.json").read_bytes()).hexdigest()}}


def test_files_that_are_not_reports_are_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert _audit([str(_facilities(tmp_path / "f.csv")), "--region", "shanghai", "--out", str(out), "--format", "json"]).exit_code == 1
    assert (out / "notes.txt").read_text() == "mine"


def test_a_failure_while_writing_leaves_the_earlier_set_whole(example_result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    write_reports(example_result, out, ("json", "md", "html"), generated_at=STAMP)
    before = _digest(out)
    import auditor.report as report

    real = report.render

    def render_then_break(result, fmt, **kw):  # noqa: ANN001, ANN003
        if fmt == "html":
            raise MemoryError("renderer ran out of memory")
        return real(result, fmt, **kw)

    monkeypatch.setattr(report, "render", render_then_break)
    with pytest.raises(MemoryError):
        write_reports(example_result, out, ("json", "md", "html", "csv"), generated_at="2026-12-01T00:00:00+00:00")
    assert _digest(out) == before
    assert not list(out.glob(".auditor-partial-*"))


def test_a_second_writer_is_refused_while_the_first_holds_the_folder(tmp_path: Path) -> None:
    out, listing = tmp_path / "out", _facilities(tmp_path / "f.csv")
    with ReportFolder(out) as first:
        first.path("report.md").write_text("# first")
        res = _audit([str(listing), "--region", "shanghai", "--out", str(out), "--format", "json"])
        assert res.exit_code == 2 and "another audit is writing reports into this folder" in res.output
        first.commit()
    assert sorted(_digest(out)) == [COMPLETE_MARKER, "report.md"]
    assert _audit([str(listing), "--region", "shanghai", "--out", str(out), "--format", "json"]).exit_code == 1


_KILLED_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from auditor.report import ReportFolder
    with ReportFolder(sys.argv[1]) as folder:
        for name in ("report.json", "report.md", "facilities.csv"):
            folder.path(name).write_text("new " + name)
        print("staged", flush=True)
        sys.stdin.read()  # killed here, before the commit
        folder.commit()
""")


def test_sigkill_before_the_commit_leaves_the_earlier_set_and_the_next_run_cleans_up(example_result, tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_reports(example_result, out, ("json", "md"), generated_at=STAMP)
    before = _digest(out)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True, env=env) as child:
        assert child.stdout is not None and child.stdout.readline() == "staged\n"  # the writer signals: files staged
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    assert _digest(out) == before  # the old set, whole, and marked complete
    assert len(list(out.glob(".auditor-partial-*"))) == 1  # what the killed run staged, out of sight
    write_reports(example_result, out, ("json",), generated_at=STAMP)
    assert not list(out.glob(".auditor-partial-*"))
    assert sorted(_digest(out)) == [COMPLETE_MARKER, "report.json"]


def test_streamed_tables_are_staged_until_the_audit_is_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import auditor.engine.stream as stream

    listing, out = _facilities(tmp_path / "f.csv"), tmp_path / "out"
    seen: list[list[str]] = []
    real_add = stream._Fold.add

    def add_and_look(self, outcome, *more):  # noqa: ANN001, ANN002
        seen.append(sorted(p.name for p in out.iterdir() if not p.name.startswith(".")))
        return real_add(self, outcome, *more)

    monkeypatch.setattr(stream._Fold, "add", add_and_look)
    result = stream.audit_streamed(listing, out, region="shanghai", as_of=AS_OF, chunk_rows=1, formats=("csv", "parquet"))
    assert seen == [[], []]  # two chunks written, nothing under a final name yet
    assert [p.name for p in result.tables] == ["facilities.csv", "facilities.parquet"]
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["facilities.csv", "facilities.parquet"]


def test_a_folder_that_cannot_be_written_is_a_clean_refusal(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot write reports here"):
        ReportFolder(blocker / "out").__enter__()
