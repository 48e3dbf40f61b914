"""Streamed audits: chunk by chunk (here and on a Dask LocalCluster) they equal the in-memory audit."""

from __future__ import annotations

import json
from pathlib import Path

import distributed
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import AS_OF, EXAMPLE, write_csv

from auditor.cli import main
from auditor.engine import audit
from auditor.engine.stream import audit_streamed
from auditor.inventory.read import CsvChunks, read_table
from auditor.report import write_reports

EXAMPLE_PROFILE, EXAMPLE_AS_OF = EXAMPLE, AS_OF.isoformat()

STAMP = "2026-11-28T00:00:00+00:00"


def _report(folder: Path) -> dict:
    doc = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    doc.pop("generated_at")
    return doc


def _comparable(doc: dict) -> dict:
    """report.json without what a streamed report lists differently by design (detail and DNS answers)."""
    out = {k: v for k, v in doc.items() if k not in ("facilities", "dns")}
    out["summary"] = {k: v for k, v in doc["summary"].items() if k not in ("facilities_listed", "facility_tables")}
    return out


@pytest.fixture(scope="module")
def in_memory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mem")
    write_reports(audit(EXAMPLE_PROFILE, as_of=EXAMPLE_AS_OF), out, ("json", "csv"), generated_at=STAMP)
    return out


@pytest.mark.parametrize("chunk_rows", [1, 7, 1000])
def test_streamed_example_equals_in_memory_audit(in_memory: Path, tmp_path: Path, chunk_rows: int) -> None:
    streamed = audit_streamed(EXAMPLE_PROFILE, tmp_path, as_of=EXAMPLE_AS_OF, chunk_rows=chunk_rows, formats=("csv", "parquet", "json"))
    write_reports(streamed.result, tmp_path, ("json",), generated_at=STAMP)
    assert streamed.chunks == -(-43 // chunk_rows)
    # the facility table is byte for byte the in-memory one, whatever the chunking
    assert (tmp_path / "facilities.csv").read_bytes() == (in_memory / "facilities.csv").read_bytes()
    mem, st = _report(in_memory), _report(tmp_path)
    assert _comparable(st) == _comparable(mem)
    assert st["summary"]["facility_count"] == 43 and st["summary"]["facilities"]["fail"] == 12
    # the detail lists exactly the facilities that did not pass, as the in-memory report has them
    not_passed = [f for f in mem["facilities"] if f["verdict"] != "pass"]
    assert st["facilities"] == not_passed
    assert st["summary"]["facility_tables"] == {"csv": "facilities.csv", "parquet": "facilities.parquet"}


def test_parquet_table_holds_every_row_typed(tmp_path: Path) -> None:
    audit_streamed(EXAMPLE_PROFILE, tmp_path, as_of=EXAMPLE_AS_OF, chunk_rows=10, formats=("parquet",))
    table = pq.read_table(tmp_path / "facilities.parquet")
    assert table.num_rows == 43
    assert str(table.schema.field("row").type) == "int64" and str(table.schema.field("lon_wgs84").type) == "double"
    rows = table.to_pylist()
    assert [r["row"] for r in rows] == sorted(r["row"] for r in rows)
    assert {r["verdict"] for r in rows} == {"pass", "fail", "indeterminate", "error"}
    assert not (tmp_path / "facilities.csv").exists()  # only the formats asked for


def test_detail_cap_keeps_counts_whole(tmp_path: Path) -> None:
    out = audit_streamed(EXAMPLE_PROFILE, tmp_path, as_of=EXAMPLE_AS_OF, chunk_rows=5, detail_cap=3)
    write_reports(out.result, tmp_path, ("json", "md", "html"), generated_at=STAMP)
    doc = _report(tmp_path)
    assert len(doc["facilities"]) == 3
    assert doc["summary"]["facility_count"] == 43 and doc["summary"]["facilities_listed"] == 3
    assert sum(doc["summary"]["facilities"].values()) == 43
    assert out.result.verdict == "fail" and out.result.exit_code == 1
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Streamed audit of 43 facilities: this report details the first 3" in md
    assert "facilities.csv, facilities.parquet hold every row" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_duplicate_ids_across_chunks_are_found_as_in_one_pass(tmp_path: Path) -> None:
    ids = [f"F{i}" for i in range(9)]
    ids[7] = "F1"          # a duplicate two chunks after its first use
    ids[4] = ""            # no id: not a duplicate of anything
    ids[6] = ids[8] = "X"  # a duplicate inside one chunk
    path = write_csv(tmp_path / "dups.csv", ["id", "lon", "lat", "crs"], [[i, "121.6", "31.2", "wgs84"] for i in ids])
    mem = audit(path, region="shanghai", as_of=EXAMPLE_AS_OF)
    write_reports(mem, tmp_path / "mem", ("csv",))
    audit_streamed(path, tmp_path / "st", region="shanghai", as_of=EXAMPLE_AS_OF, chunk_rows=3, formats=("csv",))
    text = (tmp_path / "st" / "facilities.csv").read_text(encoding="utf-8")
    assert text == (tmp_path / "mem" / "facilities.csv").read_text(encoding="utf-8")
    assert "duplicate id (first used on row 3)" in text  # F1 was first used on file line 3
    assert "duplicate id (first used on row 8)" in text  # X, within the last chunk
    assert text.count("duplicate id") == 2


def test_csv_chunks_have_the_rows_of_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(
        "\n\nid,name,lon,lat\r\nA,\"two\nlines\",121.6,31.2\n\nB,b,121.7,31.3,extra\nC,c\n\"D\",\"quote \"\"x\"\"\",1,2\n".encode("gb18030")
    )
    whole = read_table(path)
    chunks = CsvChunks(path, chunk_rows=2)
    parts = list(chunks)
    assert [len(t.rows) for t in parts] == [2, 2]
    assert [r for t in parts for r in t.rows] == whole.rows
    assert {k: v for t in parts for k, v in t.row_problems.items()} == whole.row_problems
    assert chunks.notes == whole.notes == ["3 blank line(s) ignored", "header found on line 3"]


def test_unclosed_quote_is_refused_before_any_chunk(tmp_path: Path) -> None:
    path = tmp_path / "open.csv"
    path.write_text('id,lon,lat\nA,121.6,31.2\nB,"121.7,31.3\nC,121.8,31.4\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["audit", str(path), "--region", "shanghai", "--stream", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "unclosed quote: the record starting on line 3" in result.output
    assert not (tmp_path / "o" / "facilities.csv").exists()


def test_cli_stream_prints_totals_and_writes_tables(tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = CliRunner().invoke(main, [
        "audit", str(EXAMPLE_PROFILE), "--as-of", EXAMPLE_AS_OF, "--out", str(out), "--chunk-rows", "10",
        "--format", "json,md,geojson",
    ])
    assert result.exit_code == 1, result.output
    assert "verdict FAIL — 43 facilities (pass 26, fail 12, indeterminate 3, error 2)" in result.output
    assert "writes no facilities.geojson" in result.output
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == {"facilities.csv", "facilities.parquet", "report.json", "report.md"}


def test_dask_local_cluster_gives_the_single_process_result(tmp_path: Path) -> None:
    """Two worker processes judge the chunks; tables and report equal the single-process run's."""
    single = tmp_path / "single"
    out1 = audit_streamed(EXAMPLE_PROFILE, single, as_of=EXAMPLE_AS_OF, chunk_rows=6)
    write_reports(out1.result, single, ("json",), generated_at=STAMP)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            out2 = audit_streamed(EXAMPLE_PROFILE, tmp_path / "dask", as_of=EXAMPLE_AS_OF, chunk_rows=6, client=client)
            # the chunks really ran on the workers (each records the tasks it ran)
            ran = client.run(lambda dask_worker: len(dask_worker.state.log) > 0)
    write_reports(out2.result, tmp_path / "dask", ("json",), generated_at=STAMP)
    assert out2.chunks == out1.chunks == 8
    assert len(ran) == 2 and any(ran.values())  # the chunks ran on the cluster (the scheduler may favour one worker)
    for name in ("facilities.csv", "facilities.parquet"):
        assert (tmp_path / "dask" / name).read_bytes() == (single / name).read_bytes(), name
    assert _report(tmp_path / "dask") == _report(single)


VARIANTS = {
    # name: (encoding, text) -- lines are records unless quoted; both readers must agree on rows and notes
    "plain utf-8, CRLF": ("utf-8", "id,name,lon,lat,crs\r\nA,a,121.6,31.2,wgs84\r\nB,b,121.3,31.2,wgs84\r\n"),
    "BOM, blank lines, header on line 3": ("utf-8-sig", "\n,,\nid,name,lon,lat\nA,a,121.6,31.2\n\nB,b,121.7,31.3,extra\nC,c\n \nD,d,121.8,31.1"),
    "GB18030 with Chinese headers": ("gb18030", "编号,名称,经度,纬度\nA,浦东数据中心,121.6,31.2\nB,徐汇,121.43,31.18\n"),
    "quoted fields (read by the driver)": ("utf-8", 'id,name,lon,lat\nA,"a, with comma",121.6,31.2\nB,"two\nlines",121.7,31.3\n'),
    "header only": ("utf-8", "id,name,lon,lat\n"),
}


@pytest.mark.parametrize("variant", VARIANTS, ids=list(VARIANTS))
def test_streamed_csv_variants_equal_in_memory(variant: str, tmp_path: Path) -> None:
    encoding, text = VARIANTS[variant]
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode(encoding))
    mem = audit(path, region="shanghai", as_of=EXAMPLE_AS_OF)
    write_reports(mem, tmp_path / "mem", ("json", "csv"), generated_at=STAMP)
    out = audit_streamed(path, tmp_path / "st", region="shanghai", as_of=EXAMPLE_AS_OF, chunk_rows=2, formats=("csv", "json"))
    write_reports(out.result, tmp_path / "st", ("json",), generated_at=STAMP)
    assert (tmp_path / "st" / "facilities.csv").read_bytes() == (tmp_path / "mem" / "facilities.csv").read_bytes()
    st_doc, mem_doc = _report(tmp_path / "st"), _report(tmp_path / "mem")
    assert st_doc["inputs"] == mem_doc["inputs"]  # encoding, notes (blank lines, header line), row count
    assert _comparable(st_doc) == _comparable(mem_doc)
    assert st_doc["summary"]["facility_count"] == len(mem.facilities)


def test_streamed_waivers_equal_in_memory_waivers(tmp_path: Path) -> None:
    from auditor.waivers import apply_waivers_to_result, load_waivers

    waivers_file = tmp_path / "waivers.yaml"
    waivers_file.write_text(
        "waivers:\n"
        "  - {rule: facility_in_region, facility: 'SH-*', owner: ops, reason: moving, expires: 2027-06-30, reference: MIIT-1}\n"
        "  - {rule: cdn_nodes_in_region, facility: '(operator)', owner: ops, reason: sweep, expires: 2026-01-01, reference: MIIT-2}\n",
        encoding="utf-8",
    )
    waivers = load_waivers(waivers_file)
    mem, _ = apply_waivers_to_result(audit(EXAMPLE_PROFILE, as_of=EXAMPLE_AS_OF), waivers)
    write_reports(mem, tmp_path / "mem", ("json", "csv"), generated_at=STAMP)
    out = audit_streamed(EXAMPLE_PROFILE, tmp_path / "st", as_of=EXAMPLE_AS_OF, chunk_rows=5, waivers=waivers, formats=("csv", "json"))
    write_reports(out.result, tmp_path / "st", ("json",), generated_at=STAMP)
    st_doc, mem_doc = _report(tmp_path / "st"), _report(tmp_path / "mem")
    assert (tmp_path / "st" / "facilities.csv").read_bytes() == (tmp_path / "mem" / "facilities.csv").read_bytes()
    assert st_doc["summary"]["rules"]["facility_in_region"].get("waived", 0) >= 1  # the waiver applied
    assert any("expired" in w for w in st_doc["warnings"])                         # and the expired one is said
    assert _comparable(st_doc) == _comparable(mem_doc)


def test_cli_streams_long_lists_by_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import auditor.config as config

    path = write_csv(tmp_path / "big.csv", ["id", "lon", "lat", "crs"], [[f"F{i}", 121.6, 31.2, "wgs84"] for i in range(30)])
    monkeypatch.setattr(config, "IN_MEMORY_ROWS", 30)  # 31 lines: the header and 30 rows
    result = CliRunner().invoke(main, ["audit", str(path), "--region", "shanghai", "--out", str(tmp_path / "o"), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "streamed: the summary reports detail 0 facilities" in result.output
    # every row in facilities.csv; no facilities.parquet, since neither geojson nor parquet was asked for
    assert (tmp_path / "o" / "facilities.csv").exists() and not (tmp_path / "o" / "facilities.parquet").exists()
    result = CliRunner().invoke(main, ["audit", str(path), "--region", "shanghai", "--out", str(tmp_path / "n"), "--format", "json", "--no-stream"])
    assert result.exit_code == 0 and "streamed" not in result.output   # asked in memory: every facility listed
    assert len(_report(tmp_path / "n")["facilities"]) == 30
    result = CliRunner().invoke(main, ["audit", str(path), "--region", "shanghai", "--out", str(tmp_path / "w"), "--no-stream", "--chunk-rows", "5"])
    assert result.exit_code == 2 and "--no-stream audits in memory: --chunk-rows needs a streamed audit" in result.output
    monkeypatch.setattr(config, "IN_MEMORY_ROWS", 31)
    result = CliRunner().invoke(main, ["audit", str(path), "--region", "shanghai", "--out", str(tmp_path / "p"), "--format", "json"])
    assert result.exit_code == 0 and "streamed" not in result.output


def test_a_long_list_with_bundle_is_audited_whole_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--bundle needs a whole audit: a list long enough to be streamed is held in memory instead
    (with a note), not refused; --stream with --bundle is still refused."""
    import auditor.config as config

    path = write_csv(tmp_path / "big.csv", ["id", "lon", "lat", "crs"], [[f"F{i}", 121.6, 31.2, "wgs84"] for i in range(30)])
    monkeypatch.setattr(config, "IN_MEMORY_ROWS", 10)
    result = CliRunner().invoke(main, ["audit", str(path), "--region", "shanghai", "--out", str(tmp_path / "o"), "--bundle"])
    assert result.exit_code == 0, result.output
    assert "big.csv has over 10 rows, which are streamed by default; --bundle needs a whole audit" in result.output
    assert (tmp_path / "o" / "evidence-bundle.zip").exists() and (tmp_path / "o" / "facilities.geojson").exists()
    result = CliRunner().invoke(main, ["audit", str(path), "--region", "shanghai", "--out", "-", "--quiet"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["facilities"]) == 30  # every row in report.json: not streamed
    result = CliRunner().invoke(main, ["audit", str(path), "--region", "shanghai", "--out", str(tmp_path / "s"), "--bundle", "--stream"])
    assert result.exit_code == 2 and "--bundle needs a whole audit" in result.output


def test_a_chunk_that_cannot_be_judged_leaves_no_half_table(tmp_path: Path) -> None:
    """An evidence file that breaks mid-audit stops it with a message; the partial tables are removed."""
    bad_db = tmp_path / "broken.xdb"
    bad_db.write_bytes(b"\0" * 64)  # read by the first chunk that has an IP address
    rows = [[f"F{i}", 121.6, 31.2, "wgs84", "" if i < 4 else "58.34.1.1"] for i in range(8)]
    path = write_csv(tmp_path / "f.csv", ["id", "lon", "lat", "crs", "ip"], rows)
    result = CliRunner().invoke(main, ["audit", str(path), "--region", "shanghai", "--chunk-rows", "4",
                                       "--ip-db", str(bad_db), "--out", str(tmp_path / "o"), "--format", "json,csv"])
    assert result.exit_code == 2, result.output
    assert "broken.xdb" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o" / "facilities.csv").exists() and not (tmp_path / "o" / "facilities.parquet").exists()


def test_parquet_is_geoparquet_and_equal_in_memory_and_streamed(tmp_path: Path) -> None:
    import geopandas as gpd

    write_reports(audit(EXAMPLE_PROFILE, as_of=EXAMPLE_AS_OF), tmp_path / "mem", ("parquet",))
    audit_streamed(EXAMPLE_PROFILE, tmp_path / "st", as_of=EXAMPLE_AS_OF, chunk_rows=4, formats=("parquet",))
    mem, st = pq.read_table(tmp_path / "mem" / "facilities.parquet"), pq.read_table(tmp_path / "st" / "facilities.parquet")
    assert mem.equals(st) and mem.num_rows == 43
    frame = gpd.read_parquet(tmp_path / "st" / "facilities.parquet")
    assert frame.crs.to_string() == "OGC:CRS84"
    located = frame[frame.geometry.notna()]
    assert len(located) == frame["lon_wgs84"].notna().sum() > 30
    assert (located.geometry.x == located["lon_wgs84"]).all() and (located.geometry.y == located["lat_wgs84"]).all()


def test_a_parquet_write_that_fails_on_its_thread_stops_the_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parquet is written on a thread: what it raises reaches the audit (at a later write or at close),
    and abort removes both half-written tables."""
    import dataclasses

    import pyarrow as pa

    from auditor.engine.stream import TableWriter
    from auditor.report.folder import ReportFolder

    path = write_csv(tmp_path / "f.csv", ["id", "lon", "lat", "crs"], [[f"F{i}", 121.6, 31.2, "wgs84"] for i in range(6)])
    outcomes = []
    real_write = TableWriter.write
    monkeypatch.setattr(TableWriter, "write", lambda self, outcome: (outcomes.append(outcome), real_write(self, outcome))[1])
    audit_streamed(path, tmp_path / "ok", region="shanghai", as_of=AS_OF, chunk_rows=3, formats=("csv", "parquet"))
    monkeypatch.undo()
    good, other = outcomes
    wrong_schema = dataclasses.replace(other, arrow=other.arrow.append_column("surprise", pa.array([1] * other.arrow.num_rows)))
    with ReportFolder(tmp_path / "out") as folder:
        writer = TableWriter(folder, ("csv", "parquet"))
        writer.write(good)
        with pytest.raises(ValueError, match="schema"):
            writer.write(wrong_schema)
            for _ in range(TableWriter.PARQUET_QUEUED):
                writer.write(good)
            writer.close()
        staged = [writer.csv_path, writer.parquet_path]
        assert all(p is not None and p.exists() for p in staged)
        writer.abort()
        assert not any(p is not None and p.exists() for p in staged)


def test_a_duplicate_id_row_has_no_findings_of_its_own(tmp_path: Path) -> None:
    """The second row with an id is an error row: it lists no rules and no findings (they are the first
    row's), the tallies count the first row's findings once, and a streamed audit whose detail holds
    both rows keeps the first row's claims and findings — in memory and streamed alike."""
    rows = [["A", 120.15, 30.27, "wgs84"], ["B", 121.47, 31.23, "wgs84"], ["A", 121.9, 30.9, "wgs84"]]  # A fails: listed in detail
    path = write_csv(tmp_path / "f.csv", ["id", "lon", "lat", "crs"], rows)
    result = audit(path, region="shanghai", as_of=AS_OF)
    first, _, again = result.facilities
    assert again.errors and result.findings_of(again) == [] and result.findings_of(first)
    tallies = result.tallies()
    assert sum(tallies.rules["facility_in_region"].values()) == 2  # A and B, not A twice
    write_reports(result, tmp_path / "mem", ("json", "csv"), generated_at="2026-12-06T00:00:00+00:00")
    table = (tmp_path / "mem" / "facilities.csv").read_text(encoding="utf-8-sig").splitlines()
    assert table[3].split(",")[15:25] == ["error"] + [""] * 9 and "duplicate id" in table[3]
    report = json.loads((tmp_path / "mem" / "report.json").read_text(encoding="utf-8"))
    by_row = {f["row"]: f for f in report["facilities"]}
    assert by_row[4]["findings"] == [] and by_row[2]["findings"]
    streamed = audit_streamed(path, tmp_path / "st", region="shanghai", as_of=AS_OF, chunk_rows=2, formats=("csv",))
    write_reports(streamed.result, tmp_path / "st", ("json",), generated_at="2026-12-06T00:00:00+00:00")
    assert (tmp_path / "st" / "facilities.csv").read_bytes() == (tmp_path / "mem" / "facilities.csv").read_bytes()
    st_report = json.loads((tmp_path / "st" / "report.json").read_text(encoding="utf-8"))
    st_rows = {f["row"]: f for f in st_report["facilities"]}
    assert st_rows[4]["findings"] == [] and st_rows[2]["findings"] == by_row[2]["findings"] and st_rows[2]["claims"] == by_row[2]["claims"]


def test_an_audit_that_stops_midway_leaves_the_interpreter_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process runner sets a short thread switch interval while a chunk's geometry runs beside
    the wording of another; an audit stopped by an error restores it at once, even while the caller
    keeps the error (and its traceback, which holds the runner's frames)."""
    import sys

    from auditor.engine.stream import TableWriter

    path = write_csv(tmp_path / "f.csv", ["id", "lon", "lat", "crs"], [[f"F{i}", 121.6, 31.2, "wgs84"] for i in range(9)])
    before = sys.getswitchinterval()
    calls = []
    real_write = TableWriter.write

    def failing(self, outcome):  # noqa: ANN001, ANN202
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_write(self, outcome)

    monkeypatch.setattr(TableWriter, "write", failing)
    kept = None
    try:
        audit_streamed(path, tmp_path / "o", region="shanghai", as_of=AS_OF, chunk_rows=3, formats=("csv",))
    except OSError as error:
        kept = error
    assert kept is not None and kept.__traceback__ is not None
    assert sys.getswitchinterval() == before
    assert not (tmp_path / "o" / "facilities.csv").exists()
