"""Invariants under random input (Hypothesis): no row is ever lost, reports are deterministic."""

from __future__ import annotations

import csv
import io
import json

from conftest import AS_OF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor import render
from auditor.engine import audit

cell = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
    st.sampled_from(["121.5", "31.2", "121.93", "30.905", "nan", "inf", "-999", "=1+1", "gcj02", "bd09", "wgs84", "310115", "", "1e3", "121,5"]),
)
lonlat = st.tuples(
    st.floats(min_value=119.0, max_value=124.0, allow_nan=False).map(lambda v: f"{v:.5f}"),
    st.floats(min_value=29.0, max_value=33.0, allow_nan=False).map(lambda v: f"{v:.5f}"),
)
# NUL bytes make a whole file unusable (tested in test_inventory); here every file is readable
ident = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6)
row = st.tuples(ident, cell, lonlat, cell, cell)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _write(tmp_path, rows, encoding):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["id", "name", "lon", "lat", "crs", "adcode"])
    for fid, name, (lon, lat), crs, adcode in rows:
        w.writerow([fid, name, lon, lat, crs, adcode])
    path = tmp_path / "f.csv"
    path.write_bytes(buf.getvalue().encode(encoding, errors="replace"))
    return path


@SETTINGS
@given(rows=st.lists(row, max_size=25), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_no_row_is_lost_and_reports_are_deterministic(tmp_path, rows, encoding):
    path = _write(tmp_path, rows, encoding)
    result = audit(path, region="shanghai", as_of=AS_OF)
    # every data row (csv.writer never writes a blank record: lon/lat are always present)
    assert len(result.facilities) == len(rows)
    assert [f.row for f in result.facilities] == sorted(f.row for f in result.facilities)
    for f in result.facilities:
        verdict = result.facility_verdict(f).value
        assert verdict in ("pass", "fail", "indeterminate", "error")
        if verdict == "error":
            assert all(e.message for e in f.errors)
    stamp = "2026-11-01T00:00:00+00:00"
    first = {fmt: render(result, fmt, generated_at=stamp) for fmt in ("json", "csv", "md", "geojson")}
    again = audit(path, region="shanghai", as_of=AS_OF)
    assert first == {fmt: render(again, fmt, generated_at=stamp) for fmt in first}
    report = json.loads(first["json"])
    assert len(report["facilities"]) == len(result.facilities)
    assert sum(report["summary"]["facilities"].values()) == len(result.facilities)
    assert len(list(csv.reader(io.StringIO(first["csv"])))) == len(result.facilities) + 1
