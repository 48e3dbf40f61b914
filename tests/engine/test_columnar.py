"""The columnar path (auditor.engine.columnar) judges plain chunks exactly as the per-row path does.

The per-row path is the reference: every test here judges the same rows both ways and compares
what a report is made of — the table rows (CSV text and Parquet), the tallies with their key
order (report.json lists them in that order), the operator's digest, the sources and notes, and
the facilities listed in detail.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

import pytest
from conftest import AS_OF

from auditor.config import AuditConfig
from auditor.engine.plan import prepare
from auditor.engine.stream import ChunkOutcome, ChunkPlan, audit_streamed, detail_of, facility_view, judge_chunk
from auditor.inventory.read import RawTable
from auditor.report import write_reports

HEADERS = ["id", "name", "kind", "tenure", "lon", "lat", "crs", "ip", "remark"]

# places: inside (Pudong, Lingang, Xiaoyangshan), outside (Puxi, Hangzhou, Beijing), and points a
# few hundred metres from the Huangpu (Pudong's western line) that two decimals cannot place
PLACES = [
    ("121.60", "31.20"), ("121.5443", "31.2215"), ("121.9123", "30.9001"), ("122.0512", "30.6333"),
    ("121.4701", "31.2303"), ("120.1551", "30.2741"), ("116.3975", "39.9087"),
    ("121.49", "31.24"), ("121.50", "31.23"), ("121.51", "31.22"), ("121.4976", "31.2391"),
]
KINDS = ["IDC", "CDN", "ISP_POP", "OFFICE", "", "自建机房", "CDN节点", "租用机房"]
TENURES = ["", "", "owned", "自有", "租用"]
SYSTEMS = ["", "wgs84", "gcj02", "bd09", "高德", "GPS", "WGS-84", "百度"]
# Shanghai and Hangzhou blocks, foreign, private and special-purpose addresses, and global ones
# whose first octet begins a special-purpose block
ADDRESSES = [
    "", "", "222.69.238.160", "203.156.215.207", "101.226.4.6", "115.236.1.1", "8.8.8.8", "1.1.1.1", "10.1.2.3",
    "192.168.1.1", "100.64.1.1", "203.0.113.5", "127.0.0.1", "224.0.0.1", "172.32.1.1", "192.0.2.1", "58.32.0.1",
]
REMARKS = ["", "ok", "=HYPERLINK(\"http://x\")", "-1", "+86 21", "@who", "a,b", "line\nbreak", "tab\there", "说明"]


def plain_rows(seed: int, n: int, *, quote_free: bool = False) -> list[list[str]]:
    rng = random.Random(seed)
    remarks = [r for r in REMARKS if not any(c in r for c in ',"\n')] if quote_free else REMARKS
    rows = []
    for i in range(n):
        lon, lat = rng.choice(PLACES)
        if rng.random() < 0.3:  # more decimals, near the same place
            lon, lat = f"{float(lon) + rng.uniform(-0.02, 0.02):.6f}", f"{float(lat) + rng.uniform(-0.02, 0.02):.6f}"
        name = rng.choice(["node", "=cmd|' /C calc'!A0", "机房", "edge, east"] if not quote_free else ["node", "=cmd", "机房"])
        rows.append([f"N{i:05d}", f"{name} {i}", rng.choice(KINDS), rng.choice(TENURES), lon, lat, rng.choice(SYSTEMS),
                     rng.choice(ADDRESSES), rng.choice(remarks)])
    return rows


def chunk_plan(tmp_path: Path, *, columnar: bool, default_crs: str | None = None, **changes: Any) -> ChunkPlan:
    listing = tmp_path / "plan.csv"
    listing.write_text(",".join(HEADERS) + "\n", encoding="utf-8")
    plan = prepare(listing, region="shanghai", as_of=AS_OF)
    return ChunkPlan(
        operator=facility_view(plan.operator), region_id="shanghai", region_options=(), as_of=AS_OF, default_crs=default_crs,
        config=changes.pop("config", plan.config), detail_cap=changes.pop("detail_cap", 40), columnar=columnar, **changes,
    )


def table_of(rows: list[list[str]], first_row: int = 2, headers: list[str] = HEADERS) -> RawTable:
    return RawTable("inventory.csv", "csv", list(headers), [(first_row + i, r) for i, r in enumerate(rows)])


def ordered(value: Any) -> Any:
    """Dicts as lists of items, recursively: equal only when the key order is equal too."""
    if isinstance(value, dict):
        return [(k, ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


def assert_same_outcome(columns: ChunkOutcome, rows: ChunkOutcome) -> None:
    assert columns.csv_rows == rows.csv_rows
    assert (columns.arrow is None) == (rows.arrow is None)
    if rows.arrow is not None:
        assert columns.arrow.schema == rows.arrow.schema
        assert columns.arrow.equals(rows.arrow)
    assert ordered(dataclasses.asdict(columns.tallies)) == ordered(dataclasses.asdict(rows.tallies))
    assert columns.digest == rows.digest
    assert (columns.rows, columns.extra, list(columns.first_rows.items())) == (rows.rows, rows.extra, list(rows.first_rows.items()))
    assert (columns.sources_run, columns.data_sources, columns.notes) == (rows.sources_run, rows.data_sources, rows.notes)
    assert (columns.crs_unstated, columns.blank_lines, columns.declared) == (rows.crs_unstated, rows.blank_lines, rows.declared)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_plain_chunk_is_judged_as_the_per_row_path_judges_it(tmp_path: Path, seed: int) -> None:
    table = table_of(plain_rows(seed, 400))
    by_columns = judge_chunk(table, chunk_plan(tmp_path, columnar=True, tables=("csv", "parquet")))
    by_rows = judge_chunk(table, chunk_plan(tmp_path, columnar=False, tables=("csv", "parquet")))
    assert by_columns.pending_detail is not None and by_rows.pending_detail is None  # each took its own path
    assert_same_outcome(by_columns, by_rows)
    # the facilities listed in detail are judged row by row, only when asked for
    assert by_columns.detail == []
    detail_of(by_columns, 40, chunk_plan(tmp_path, columnar=True), None)
    assert by_columns.detail == by_rows.detail and len(by_rows.detail) == 40


def test_the_generated_rows_reach_every_case(tmp_path: Path) -> None:
    """The comparison above means something only if the rows reach every outcome the columnar path words."""
    out = judge_chunk(table_of(plain_rows(1, 400)), chunk_plan(tmp_path, columnar=False))
    t = out.tallies
    assert set(t.verdicts) == {"pass", "fail", "indeterminate"}
    assert set(t.bases) == {"declared_coordinates", "declared_coordinates+ip2region"}
    assert set(t.rules["location_evidence_consistent"]) == {"pass", "not_applicable", "indeterminate"}
    assert set(t.rules["facility_in_region"]) == set(t.rules["cdn_nodes_in_region"]) == {"pass", "fail", "indeterminate"}
    assert t.unplaced["ips_unplaced"] > 0 and len(t.parts) >= 3
    assert out.digest.access_points and {v.value for _, v, _ in out.digest.access_points} == {"inside", "outside", "indeterminate"}
    messages = out.csv_rows
    for words in ("lies inside", "lies outside", "weak independent evidence places it", "cannot be placed inside or outside",
                  "the line's accuracy there", "outside mainland China", "(owned)", "'=cmd", "'-1"):
        assert words in messages, words


def test_coordinates_written_from_their_cells_where_these_tell_repr(tmp_path: Path) -> None:
    """A chunk whose coordinate cells are all repr's text with or without trailing zeros has them
    written from the cells: the table is still the per-row path's, which formats every value."""
    rows = plain_rows(5, 300)
    for i, r in enumerate(rows):
        r[4], r[5] = f"{float(r[4]):.{i % 7}f}", f"{float(r[5]):.6f}"  # "121" ... "121.600000"
    table = table_of(rows)
    by_columns = judge_chunk(table, chunk_plan(tmp_path, columnar=True, tables=("csv", "parquet")))
    assert_same_outcome(by_columns, judge_chunk(table, chunk_plan(tmp_path, columnar=False, tables=("csv", "parquet"))))
    from auditor.engine.columnar import read_plain
    plain = read_plain(table, None, None)
    assert plain is not None and plain.lon_text is None  # "121" (no point): formatted
    rows = [r for i, r in enumerate(rows) if i % 7]
    rows[0][4] = "121.000"
    plain = read_plain(table_of(rows), None, None)
    assert plain is not None and plain.lon_text == [repr(float(r[4])) for r in rows] and plain.lat_text == [repr(float(r[5])) for r in rows]
    assert plain.lon_text[0] == "121.0"
    assert_same_outcome(judge_chunk(table_of(rows), chunk_plan(tmp_path, columnar=True)), judge_chunk(table_of(rows), chunk_plan(tmp_path, columnar=False)))


def test_wgs84_columns_written_from_the_cells_when_no_row_is_moved(tmp_path: Path) -> None:
    from auditor.engine.columnar import judge_plain, read_plain, written_coordinates

    rows = plain_rows(12, 300)
    for i, r in enumerate(rows):
        r[4], r[5] = f"{float(r[4]):.{i % 8}f}", f"{float(r[5]):.{(i + 3) % 8}f}".rstrip("0") or "0"
        r[6] = ["", "wgs84", "GPS", "WGS-84"][i % 4]
        if "." not in r[5]:
            r[5] += ".0"
        if "." not in r[4]:
            r[4] += ".0"
    rows[0][4], rows[0][5] = "-0.5", "31.0"
    table = table_of(rows)
    plan = chunk_plan(tmp_path, columnar=True, tables=("csv", "parquet"))
    j = judge_plain(read_plain(table, None, None), plan.audit_plan())
    written = written_coordinates(j)
    assert set(written) == {"lon", "lat", "lon_wgs84", "lat_wgs84"}
    assert written["lon_wgs84"] == [f"{v:.7f}" for v in j.w_lon.tolist()] and written["lat_wgs84"][0] == "31.0000000"
    assert_same_outcome(judge_chunk(table, plan), judge_chunk(table, chunk_plan(tmp_path, columnar=False, tables=("csv", "parquet"))))
    rows[5][6] = "gcj02"  # one row moved to WGS-84: its text is formatted, so the columns are
    j = judge_plain(read_plain(table_of(rows), None, None), plan.audit_plan())
    assert set(written_coordinates(j)) == {"lon", "lat"}
    rows[5][6], rows[9][4] = "", "121.12345678"  # eight decimals: formatted
    j = judge_plain(read_plain(table_of(rows), None, None), plan.audit_plan())
    assert set(written_coordinates(j)) == {"lon", "lat", "lat_wgs84"}


def test_coordinates_are_taken_from_their_cells_only_where_repr_writes_them_so() -> None:
    from auditor.engine.columnar import _plain_degrees

    def from_cells(texts: list[str]) -> list[str] | None:
        read = _plain_degrees(texts)
        assert read is not None, texts
        # and the decimal places, found in the joined bytes, are each cell's own
        assert read[1].tolist() == [len(t) - t.find(".") - 1 if "." in t else 0 for t in texts], texts
        return read[2]

    rng = random.Random(7)
    admitted = 0
    for _ in range(20_000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 3)))
        text = rng.choice(["", "-", "+"]) + digits + rng.choice(["", ".", "." + "".join(rng.choice("00123456789") for _ in range(rng.randint(1, 16)))])
        if from_cells([text]) is not None:
            admitted += 1
            assert from_cells([text]) == [repr(float(text))], text
            assert from_cells(["121.5", text, "-31.25"]) == ["121.5", repr(float(text)), "-31.25"]
        else:  # and a column of admitted cells with this one among them is formatted as a whole
            assert from_cells(["121.5", text, "31.2"]) is None
    assert admitted > 2_000  # about 15 % of these random texts
    for text in ("121.5", "121.50", "-0.5", "0.0", "-0.0", "0.000", "180.0", "180.000", "0.0001", "31.123456789012", "9.0"):
        assert from_cells([text]) == [repr(float(text))], text
    for text in ("+121.5", "121", "121.", ".5", "0.00001", "01.5", "-01.5", "31.12345678901234", "1000.5", "1-2"):
        assert _plain_degrees([text]) is None or from_cells([text]) is None, text


def test_a_stated_default_system_and_the_header_system(tmp_path: Path) -> None:
    rows = [r[:6] + [""] + r[7:] for r in plain_rows(4, 120)]
    for default in (None, "gcj02", "bd09"):
        table = table_of(rows)
        assert_same_outcome(judge_chunk(table, chunk_plan(tmp_path, columnar=True, default_crs=default)),
                            judge_chunk(table, chunk_plan(tmp_path, columnar=False, default_crs=default)))
    headers = HEADERS[:4] + ["经度（GCJ-02）", "纬度（GCJ-02）"] + HEADERS[6:]
    table = table_of(rows, headers=headers)
    by_columns = judge_chunk(table, chunk_plan(tmp_path, columnar=True))
    assert by_columns.pending_detail is not None
    assert_same_outcome(by_columns, judge_chunk(table, chunk_plan(tmp_path, columnar=False)))


@pytest.mark.parametrize("change", [
    "dms", "duplicate", "missing_id", "bad_ip", "two_ips", "address", "ipv6", "hash_id", "swapped", "decimal_comma", "unknown_crs",
])
def test_rows_that_are_not_plain_go_the_per_row_way(tmp_path: Path, change: str) -> None:
    rows = plain_rows(5, 30)
    headers = list(HEADERS)
    edit = {
        "dms": lambda: rows[3].__setitem__(4, "121°30'00\""),
        "duplicate": lambda: rows[7].__setitem__(0, rows[2][0]),
        "missing_id": lambda: rows[7].__setitem__(0, " "),
        "bad_ip": lambda: rows[4].__setitem__(7, "300.1.1.1"),
        "two_ips": lambda: rows[4].__setitem__(7, "1.1.1.1;8.8.8.8"),
        "address": lambda: (headers.__setitem__(8, "address"), rows[1].__setitem__(8, "上海市浦东新区")),
        "ipv6": lambda: rows[4].__setitem__(7, "2402:f000::1"),
        "hash_id": lambda: rows[4].__setitem__(0, "A#1"),
        "swapped": lambda: (rows[4].__setitem__(4, "31.2"), rows[4].__setitem__(5, "121.5")),
        "decimal_comma": lambda: rows[4].__setitem__(4, "121,5"),
        "unknown_crs": lambda: rows[4].__setitem__(6, "mars"),
    }[change]
    edit()
    table = table_of(rows, headers=headers)
    by_columns = judge_chunk(table, chunk_plan(tmp_path, columnar=True))
    assert by_columns.pending_detail is None  # the per-row path judged it (and words what is wrong)
    assert_same_outcome(by_columns, judge_chunk(table, chunk_plan(tmp_path, columnar=False)))


def test_evidence_beyond_the_ip_database_and_waivers_go_the_per_row_way(tmp_path: Path) -> None:
    table = table_of(plain_rows(6, 20))
    waiver = object()
    for plan in (chunk_plan(tmp_path, columnar=True, waivers=(waiver,)),
                 chunk_plan(tmp_path, columnar=True, config=AuditConfig(mmdb=(str(tmp_path / "none.mmdb"),)))):
        from auditor.engine.stream import _start_columns

        assert _start_columns(table, plan, None) == (None, None)
    assert _start_columns(table, chunk_plan(tmp_path, columnar=True), None)[0] is not None


@pytest.mark.parametrize("chunk_rows", [1, 37, 10_000])
def test_streamed_reports_are_byte_identical_either_way(tmp_path: Path, chunk_rows: int) -> None:
    listing = tmp_path / "nodes.csv"
    lines = [",".join(HEADERS)] + [",".join(r) for r in plain_rows(7, 120 if chunk_rows == 1 else 300, quote_free=True)]
    listing.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    outputs = []
    for columnar in (True, False):
        out = tmp_path / f"out-{columnar}"
        streamed = audit_streamed(listing, out, region="shanghai", as_of=AS_OF, chunk_rows=chunk_rows, detail_cap=25,
                                  formats=("csv", "parquet", "json", "md", "html", "sarif"), columnar=columnar)
        write_reports(streamed.result, out, ("json", "md", "html", "sarif"), generated_at="2026-12-06T00:00:00+00:00")
        outputs.append(out)
    names = sorted(p.name for p in outputs[0].iterdir())
    assert names == sorted(p.name for p in outputs[1].iterdir()) and "facilities.parquet" in names
    for name in names:
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes(), name


def test_chunks_judged_here_are_judge_chunks_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process runner (each plain chunk's geometry on a thread while the chunk before is
    worded) gives every chunk's judge_chunk outcome, in order, with plain and row-by-row chunks mixed,
    a duplicate id across chunks among them, and no geometry left running when an outcome is handed on."""
    from auditor.engine import columnar, stream
    from auditor.inventory.read import TableChunks

    running = []

    def locate(start: Any, geom: Any) -> Any:
        running.append(1)
        try:
            return real(start, geom)
        finally:
            running.pop()

    real = columnar.locate_plain

    rows = plain_rows(8, 200, quote_free=True)
    rows[45][4] = "121°30'00\""      # chunk 2 of 40-row chunks goes row by row
    rows[130][0] = rows[10][0]       # a duplicate of chunk 1's id in chunk 4
    rows[199][4] = "121°30'00\""     # and the last chunk row by row
    listing = tmp_path / "nodes.csv"
    listing.write_text("\n".join([",".join(HEADERS)] + [",".join(r) for r in rows]) + "\n", encoding="utf-8")
    plan = chunk_plan(tmp_path, columnar=True, tables=("csv", "parquet"))
    expected = [judge_chunk(c, plan) for c in TableChunks(listing, 40)]
    monkeypatch.setattr(columnar, "locate_plain", locate)
    got = []
    for job, outcome in stream._judged_here(TableChunks(listing, 40), plan, None):
        assert not running  # the caller may judge row by row (detail, clashes): no geometry runs on the thread
        got.append((job[0], outcome))
    assert len(got) == len(expected) == 5
    for (_, outcome), reference in zip(got, expected):
        assert_same_outcome(outcome, reference)
    assert [o.pending_detail is None for _, o in got] == [False, True, False, False, True]


def test_a_chunk_with_odd_rows_is_judged_in_pieces_as_the_per_row_path_judges_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One odd row (DMS, an address, a duplicate id, a bad IP) no longer sends its whole chunk row by row:
    the chunk is cut into runs of likely plain rows and the rest, and the reports are still byte for
    byte the per-row path's; the audit still counts its chunks, not the pieces."""
    from auditor.engine import columnar, stream

    monkeypatch.setattr(stream, "MIN_PLAIN_RUN", 16)
    rows = plain_rows(10, 400, quote_free=True)
    headers = list(HEADERS)
    headers[8] = "address"  # the remark column read as an address: blank but in two rows
    for r in rows:
        r[8] = ""
    rows[33][8] = "上海市浦东新区张江路1号"
    rows[34][4] = "121°30'00\""
    rows[250][0] = rows[120][0]      # a duplicate id within the chunk
    rows[251][7] = "300.1.1.1"
    rows[399][0] = rows[3][0]        # and one of the first piece's ids at the very end
    rows[300][5] = "95.0"            # a latitude out of range: its run looks plain, read_plain refuses it
    listing = tmp_path / "nodes.csv"
    listing.write_text("\n".join([",".join(headers)] + [",".join(r) for r in rows]) + "\n", encoding="utf-8")
    judged_as_columns = []
    real_finish = columnar.finish_plain
    monkeypatch.setattr(columnar, "finish_plain", lambda start, places, plan: judged_as_columns.append(len(start.rows.rows)) or real_finish(start, places, plan))
    outputs = []
    for is_columnar in (True, False):
        out = tmp_path / f"out-{is_columnar}"
        streamed = audit_streamed(listing, out, region="shanghai", as_of=AS_OF, chunk_rows=10_000, detail_cap=30,
                                  formats=("csv", "parquet", "json", "md"), columnar=is_columnar)
        assert streamed.chunks == 1
        write_reports(streamed.result, out, ("json", "md"), generated_at="2026-12-06T00:00:00+00:00")
        outputs.append(out)
    for name in ("facilities.csv", "facilities.parquet", "report.json", "report.md"):
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes(), name
    assert 200 < sum(judged_as_columns) < 390  # most rows went as columns, not the run with the bad latitude
    table = (outputs[0] / "facilities.csv").read_text(encoding="utf-8-sig")
    assert table.count("duplicate id") == 2 and "300.1.1.1" in table


def test_dask_workers_judge_odd_chunks_in_pieces_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On Dask, a chunk that is not plain comes back as its pieces' outcomes, folded in order; a clash
    of a later piece's id with an earlier piece is judged again on the piece, cut again from its chunk."""
    import distributed

    from auditor.engine import stream

    monkeypatch.setattr(stream, "MIN_PLAIN_RUN", 16)
    rows = plain_rows(13, 300, quote_free=True)
    rows[40][4] = "121°30'00\""
    rows[100][0] = rows[20][0]                  # a repeated id, in another piece of the same chunk
    rows[200][0] = rows[30][0]                  # and one from the chunk before
    rows[260][7] = "300.1.1.1"
    listing = tmp_path / "nodes.csv"
    listing.write_text("\n".join([",".join(HEADERS)] + [",".join(r) for r in rows]) + "\n", encoding="utf-8")
    continues: list[bool] = []
    real_add = stream._Fold.add
    monkeypatch.setattr(stream._Fold, "add", lambda fold, outcome, *more: (continues.append(outcome.continues), real_add(fold, outcome, *more))[1])
    by_rows = audit_streamed(listing, tmp_path / "rows", region="shanghai", as_of=AS_OF, chunk_rows=150, formats=("csv", "parquet"), columnar=False)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as client:
        continues.clear()
        on_dask = audit_streamed(listing, tmp_path / "dask", region="shanghai", as_of=AS_OF, chunk_rows=150, formats=("csv", "parquet"), client=client)
    assert on_dask.chunks == by_rows.chunks == 2 and continues.count(False) == 2 and continues.count(True) >= 4  # both chunks in pieces
    for name in ("facilities.csv", "facilities.parquet"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "rows" / name).read_bytes(), name
    assert on_dask.result.totals == by_rows.result.totals


def test_likely_plain_rows_and_the_pieces_they_give(tmp_path: Path) -> None:
    from auditor.engine import stream
    from auditor.engine.columnar import likely_plain

    rows = plain_rows(11, 10, quote_free=True)
    for r in rows:
        r[7] = "58.32.0.1"
    rows[1][4] = "121°30'"        # DMS
    rows[2][7] = "1.1.1.1;8.8.8.8"  # two addresses
    rows[3][0] = rows[4][0]        # a repeated id: both rows
    rows[5][0] = "A#1"
    rows[6][7] = ""                # no address is plain
    rows[7][5] = "95.0"            # out of range: only read_plain says so
    assert likely_plain(table_of(rows)) == [True, False, False, False, False, False, True, True, True, True]
    headers = HEADERS[:8] + ["province"]
    every = [r[:8] + ["上海市"] for r in plain_rows(12, 300, quote_free=True)]
    assert likely_plain(table_of(every, headers=headers)) == [False] * 300
    table = table_of(every, headers=headers)
    assert [(p.rows, started) for p, started in stream._plain_pieces(table, chunk_plan(tmp_path, columnar=True))] == [(table.rows, None)]


def test_a_failure_in_the_geometry_thread_reaches_the_caller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.engine import columnar, stream
    from auditor.inventory.read import TableChunks

    listing = tmp_path / "nodes.csv"
    listing.write_text("\n".join([",".join(HEADERS)] + [",".join(r) for r in plain_rows(9, 90, quote_free=True)]) + "\n", encoding="utf-8")
    calls = []

    def broken(start: Any, geom: Any) -> Any:
        calls.append(len(start.rows.rows))
        if len(calls) == 2:
            raise RuntimeError("the geometry failed")
        return real(start, geom)

    real = columnar.locate_plain
    monkeypatch.setattr(columnar, "locate_plain", broken)
    judged = stream._judged_here(TableChunks(listing, 40), chunk_plan(tmp_path, columnar=True), None)
    with pytest.raises(RuntimeError, match="the geometry failed"):
        list(judged)
    assert calls == [40, 40]


def test_point_wkb_is_what_shapely_writes() -> None:
    import numpy as np
    import shapely

    from auditor.report.table import point_wkb

    rng = np.random.default_rng(7)
    lon = np.concatenate([rng.uniform(-180, 180, 500), [0.0, -0.0, 121.5, 180.0, -180.0, 1e-300]])
    lat = np.concatenate([rng.uniform(-90, 90, 500), [0.0, 0.0, 31.25, 90.0, -90.0, -1e-300]])
    assert point_wkb(lon, lat).to_pylist() == shapely.to_wkb(shapely.points(lon, lat)).tolist()
