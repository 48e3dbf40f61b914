"""The notebook API: frames in, frames out, discoverable names, errors that are ValueErrors."""

from __future__ import annotations

import datetime as dt
import inspect
import ipaddress
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import AS_OF, DISHUI_LAKE, HANGZHOU, PUDONG_ZHANGJIANG, XUJIAHUI

import auditor
from auditor.geo.containment import Verdict
from auditor.geo.crs import from_wgs84

BEIJING_GUOMAO = (116.4610, 39.9090)
SHENZHEN_FUTIAN = (114.0550, 22.5410)


# -- discoverable ------------------------------------------------------------------------------

def test_dir_lists_the_public_names_and_every_one_resolves():
    names = dir(auditor)
    for name in ("audit", "where", "locate", "regions_frame", "load_inventory", "render", "write_reports",
                 "AuditResult", "RegionalAudit", "InputError", "UsageError", "AuditorError"):
        assert name in names
    for name in auditor.__all__:
        assert getattr(auditor, name) is not None
    with pytest.raises(AttributeError):
        auditor.no_such_thing  # noqa: B018


def test_exceptions_are_exported_and_are_value_errors():
    assert issubclass(auditor.UsageError, ValueError) and issubclass(auditor.InputError, ValueError)
    assert issubclass(auditor.InventoryError, auditor.InputError) and issubclass(auditor.UsageError, auditor.AuditorError)
    with pytest.raises(ValueError, match=r"as_of: '2026-13-01' is not a date \(YYYY-MM-DD"):
        auditor.audit(pd.DataFrame({"id": ["A"], "lon": [1.0], "lat": [2.0]}), "shanghai", as_of="2026-13-01")
    with pytest.raises(auditor.UsageError, match="region"):
        auditor.where(121.5, 31.2, region="mars")


def test_a_long_list_audited_in_memory_is_warned_of(tmp_path, monkeypatch):
    """Longer than auditor.config.IN_MEMORY_ROWS (lowered here): a LongListWarning naming audit_streamed,
    for a frame, a file and a profile's list; the audit still runs and keeps every row."""
    import warnings

    import auditor.config

    monkeypatch.setattr(auditor.config, "IN_MEMORY_ROWS", 3)
    frame = pd.DataFrame({"id": [f"F{i}" for i in range(4)], "lon": [121.93] * 4, "lat": [30.905] * 4, "crs": ["wgs84"] * 4})
    with pytest.warns(auditor.LongListWarning, match=r"the frame has 4 rows, audited in memory .*auditor\.audit_streamed"):
        result = auditor.audit(frame, "shanghai", as_of=AS_OF)
    assert len(result.facilities) == 4
    frame.to_csv(tmp_path / "four.csv", index=False)
    (tmp_path / "operator.yaml").write_text("name: Four\nregion: shanghai\nfacilities: four.csv\n", encoding="utf-8")
    for target in (tmp_path / "four.csv", tmp_path / "operator.yaml"):
        with pytest.warns(auditor.LongListWarning, match="four.csv has over 3 rows"):
            auditor.audit(target, region="shanghai", as_of=AS_OF)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auditor.audit(frame.head(2), "shanghai", as_of=AS_OF)   # short enough: no warning


PUBLIC_FUNCTIONS = ["audit", "where", "locate", "regions_frame", "load_inventory", "diff"]


@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
def test_every_parameter_is_documented(name):
    fn = getattr(auditor, name)
    doc = inspect.getdoc(fn) or ""
    assert "Parameters\n----------" in doc and "Returns\n-------" in doc and "Examples\n--------" in doc
    section = doc.split("Parameters\n----------", 1)[1].split("Returns\n-------", 1)[0]
    documented = set()
    for line in section.splitlines():
        m = re.match(r"^([a-z_][a-z_0-9, ]*?)\s*(:|$)", line)
        if m and not line.startswith(" "):
            documented |= {n.strip() for n in m.group(1).split(",")}
    params = set(inspect.signature(fn).parameters)
    assert params <= documented, f"{name}: undocumented {sorted(params - documented)}"


# -- audit of frames ---------------------------------------------------------------------------

def _frame(rows, columns=("id", "kind", "lon", "lat", "crs")):
    return pd.DataFrame(rows, columns=list(columns))


def test_audit_of_a_dataframe_keeps_the_callers_columns_and_coordinates():
    gcj_lon, gcj_lat = (float(v[0]) for v in from_wgs84(np.array([PUDONG_ZHANGJIANG[0]]), np.array([PUDONG_ZHANGJIANG[1]]), "gcj02"))
    frame = pd.DataFrame({
        "site": ["A", "B", "C"], "x": [gcj_lon, XUJIAHUI[0], "abc"], "y": [gcj_lat, XUJIAHUI[1], 31.2],
        "crs": ["gcj02", "wgs84", "wgs84"], "kind": ["IDC", "CDN", "IDC"], "owner_team": ["net", "cdn", "net"],
    })
    result = auditor.audit(frame, "shanghai", lon="x", lat="y", id="site", as_of=AS_OF)
    assert isinstance(result, auditor.AuditResult)
    out = result.facilities_frame()
    assert list(out["id"]) == ["A", "B", "C"] and list(out["row"]) == [1, 2, 3]
    assert list(out["region"]) == ["shanghai"] * 3 and list(out["owner_team"]) == ["net", "cdn", "net"]
    assert out.loc[0, "crs"] == "gcj02" and out.loc[0, "lon"] == pytest.approx(gcj_lon)  # as given
    assert out.loc[0, "lon_wgs84"] == pytest.approx(PUDONG_ZHANGJIANG[0], abs=1e-5)  # as judged
    assert list(out["verdict"].astype(str)) == ["pass", "fail", "error"]
    assert out["verdict"].cat.ordered and list(out["verdict"].cat.categories) == ["pass", "waived", "indeterminate", "fail", "error"]
    assert (out["verdict"] > "pass").tolist() == [False, True, True]
    # signed distance: positive inside the drawn line, negative outside; the part flags agree
    assert out.loc[0, "signed_distance_m"] > 0 > out.loc[1, "signed_distance_m"]
    assert out.loc[0, "signed_distance_m"] == pytest.approx(out.loc[0, "distance_to_boundary_m"])
    assert bool(out.loc[0, "in_pudong"]) and not out.loc[1, "in_pudong"] and not out.loc[0, "in_lingang_main"]
    assert "lon" in out.loc[2, "errors"] and pd.isna(out.loc[2, "signed_distance_m"])
    assert result.inputs[0]["path"] == "<DataFrame>" and len(result.inputs[0]["sha256"]) == 64


def test_a_geodataframe_gives_its_coordinates_in_its_own_crs():
    points = gpd.GeoDataFrame({"id": ["in", "out"], "kind": ["IDC", "IDC"]},
                              geometry=[shapely.Point(*DISHUI_LAKE), shapely.Point(*HANGZHOU)], crs="EPSG:4326")
    utm = points.to_crs(32651)  # UTM 51N, metres: the reader must bring it back to WGS-84
    for frame in (points, utm):
        out = auditor.audit(frame, "shanghai", as_of=AS_OF).facilities_frame()
        assert list(out["verdict"].astype(str)) == ["pass", "fail"]
        assert out.loc[0, "lon_wgs84"] == pytest.approx(DISHUI_LAKE[0], abs=1e-6)


def test_a_region_column_audits_each_row_against_its_own_region_and_keeps_every_row():
    frame = pd.DataFrame({
        "id": ["SH", "BJ", "SZ", "X", "Y", "SH-out"],
        "lon": [DISHUI_LAKE[0], BEIJING_GUOMAO[0], SHENZHEN_FUTIAN[0], 121.5, 121.5, HANGZHOU[0]],
        "lat": [DISHUI_LAKE[1], BEIJING_GUOMAO[1], SHENZHEN_FUTIAN[1], 31.2, 31.2, HANGZHOU[1]],
        "crs": "wgs84",
        "region": ["上海", "北京市", "shenzhen", "mars", None, "Shanghai"],
    })
    regional = auditor.audit(frame, as_of=AS_OF)
    assert isinstance(regional, auditor.RegionalAudit)
    assert list(regional) == ["beijing", "shanghai", "shenzhen"]
    out = regional.facilities_frame()
    assert list(out["id"]) == ["SH", "BJ", "SZ", "X", "Y", "SH-out"]  # every row once, in input order
    assert list(out["region"].fillna("-")) == ["shanghai", "beijing", "shenzhen", "-", "-", "shanghai"]
    assert list(out["verdict"].astype(str)) == ["pass", "pass", "pass", "error", "error", "fail"]
    assert "no pilot region 'mars'" in out.loc[3, "errors"] and "no region given" in out.loc[4, "errors"]
    assert out.loc[3, "input:region"] == "mars"
    assert regional.verdict == "fail" and regional.exit_code == 1
    unread = auditor.audit(frame.iloc[[0, 3]], as_of=AS_OF)  # a passing row and one with no region
    assert unread.verdict == "indeterminate" and unread.exit_code == 3
    assert set(regional.findings_frame()["region"]) == {"beijing", "shanghai", "shenzhen"}
    assert regional["beijing"].region.id == "beijing"


def test_frame_audit_refuses_what_it_cannot_do():
    frame = _frame([["A", "IDC", 121.5, 31.2, "wgs84"]])
    with pytest.raises(auditor.UsageError, match="needs region="):
        auditor.audit(frame)
    with pytest.raises(auditor.UsageError, match="region_options need region"):
        auditor.audit(frame.assign(region="hainan"), region_options={"include_sansha": True})
    with pytest.raises(auditor.UsageError, match="column: 'nope'"):
        auditor.audit(frame, "shanghai", lon="nope")
    with pytest.raises(auditor.UsageError, match="name a DataFrame's columns; for a file use columns="):
        auditor.audit("examples/shanghai-operator/operator.yaml", lon="x")


def test_load_inventory_reads_frames_too():
    table, facilities = auditor.load_inventory(_frame([["A", "IDC", 121.5, 31.2, "wgs84"], ["B", "IDC", 200, 31.2, "wgs84"]]))
    assert table.source == "<DataFrame>" and [f.id for f in facilities] == ["A", "B"]
    assert not facilities[0].errors and facilities[1].errors


# -- where ---------------------------------------------------------------------------------------

def test_where_takes_scalars_arrays_and_series_and_answers_with_a_frame():
    one = auditor.where(*DISHUI_LAKE, region="shanghai")
    assert isinstance(one, pd.DataFrame) and len(one) == 1 and one.loc[0, "verdict"] == "inside"
    lon = pd.Series([DISHUI_LAKE[0], XUJIAHUI[0], HANGZHOU[0]])
    lat = np.array([DISHUI_LAKE[1], XUJIAHUI[1], HANGZHOU[1]])
    out = auditor.where(lon, lat, region="shanghai", uncertainty_m=[10, 10, 10])
    assert list(out["verdict"].astype(str)) == ["inside", "outside", "outside"]
    assert (np.sign(out["signed_distance_m"]) == [1, -1, -1]).all()
    assert list(out["in_lingang_main"]) == [True, False, False]
    every = auditor.where(lon, lat)
    n = len(auditor.load_registry().region_ids)  # both programmes' regions (22)
    assert n == 22 and len(every) == 3 * n and list(every["point"]) == [0] * n + [1] * n + [2] * n
    assert list(every["region"][:4]) == ["beijing", "shanghai", "hainan", "shenzhen"]


def test_where_agrees_with_the_engine_point_by_point():
    from auditor.engine.where import where as where_point

    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(121.0, 122.2, 300), rng.uniform(30.6, 31.6, 300)
    r = rng.uniform(0, 500, 300)
    out = auditor.where(lon, lat, region="shanghai", uncertainty_m=r)
    for i in range(0, 300, 7):
        (a,) = where_point(lon[i], lat[i], region="shanghai", uncertainty_m=r[i])
        assert out.loc[i, "verdict"] == a.verdict.value
        assert abs(out.loc[i, "signed_distance_m"]) == pytest.approx(a.distance_m)
        assert out.loc[i, "parts"] == "+".join(a.parts)


def test_where_marks_bad_points_instead_of_guessing():
    out = auditor.where([121.5, 31.2, np.nan, 121.5], [31.2, 121.5, 31.2, 31.2], region="shanghai", uncertainty_m=[0, 0, 0, -5])
    assert list(out["verdict"].astype(str)) == ["inside", "error", "error", "error"]
    assert "appear swapped" in out.loc[1, "error"] and "not a finite number" in out.loc[2, "error"]
    assert "uncertainty_m" in out.loc[3, "error"] and out.loc[0, "error"] == ""
    with pytest.raises(auditor.UsageError, match="options need region"):
        auditor.where(121.5, 31.2, options={"include_sansha": True})
    with pytest.raises(auditor.UsageError, match="2 values for 3 points"):
        auditor.where([1, 2, 3], [1, 2])


def test_where_converts_gcj02():
    g_lon, g_lat = from_wgs84(np.array([XUJIAHUI[0]]), np.array([XUJIAHUI[1]]), "gcj02")
    out = auditor.where(g_lon, g_lat, crs="gcj02", region="shanghai")
    assert out.loc[0, "lon_wgs84"] == pytest.approx(XUJIAHUI[0], abs=1e-6) and out.loc[0, "crs"] == "gcj02"


# -- locate --------------------------------------------------------------------------------------

def test_locate_gives_one_row_per_query_and_never_calls_text_a_hostname():
    out = auditor.locate(["58.32.0.1", "::ffff:58.32.0.1", "10.0.0.1", "1.0.0.0/24", "999.1.1.1", "example.com", "2001:db8::1"])
    assert list(out["kind"]) == ["ip", "ip", "ip", "prefix", "invalid", "invalid", "ip"]
    assert out.loc[0, "answer"].startswith("中国|") and out.loc[0, "adcode"] == "310000"
    assert out.loc[1, "ip"] == "58.32.0.1" and "IPv4-mapped" in out.loc[1, "note"]
    assert "private" in out.loc[2, "note"] and out.loc[2, "relation_shanghai"] == "unplaced"
    assert out.loc[3, "relation_beijing"] == "outside"
    assert out.loc[4, "note"] == "not an IP address or prefix"
    assert list(out["relation_shanghai"].astype(str))[:2] == ["indeterminate", "indeterminate"]  # Shanghai city straddles the region


def test_locate_ten_thousand_addresses_to_a_frame():
    rng = np.random.default_rng(3)
    ips = [str(ipaddress.IPv4Address(int(v))) for v in rng.integers(1 << 24, 223 << 24, 10_000)]
    out = auditor.locate(ips, region="beijing")
    assert len(out) == 10_000 and list(out["query"]) == ips
    assert set(out.columns) >= {"relation_beijing"} and "relation_shanghai" not in out.columns
    assert (out["kind"] == "ip").all()


# -- regions -------------------------------------------------------------------------------------

def test_regions_frame_lists_every_part_with_the_option_that_enables_it():
    frame = auditor.regions_frame(as_of="2026-11-01")
    assert frame.crs.to_epsg() == 4326
    sansha = frame[frame.part == "sansha"].iloc[0]
    assert sansha.option == "include_sansha" and not sansha.enabled
    assert frame[frame.part == "pudong"].iloc[0].enabled and pd.isna(frame[frame.part == "pudong"].iloc[0].option)
    on = auditor.regions_frame({"hainan": {"include_sansha": True}})
    assert on[on.part == "sansha"].iloc[0].enabled
    assert set(frame.status) == {"active"}
    with pytest.raises(auditor.UsageError):
        auditor.regions_frame({"mars": {}})


def test_regions_frame_bands_contain_what_their_names_say():
    frame = auditor.regions_frame(bands=True)
    pudong = frame[frame.part == "pudong"].iloc[0]
    assert pudong.inner.within(pudong.geometry.buffer(1e-6)) and pudong.geometry.within(pudong.outer.buffer(1e-6))
    assert pudong.inner.area < pudong.geometry.area < pudong.outer.area
    # a point inside the inner band is inside for where(); one just outside the outer band is outside
    c = pudong.inner.representative_point()
    assert auditor.where(c.x, c.y, region="shanghai").loc[0, "verdict"] == Verdict.INSIDE.value


def test_as_of_accepts_dates_and_strings():
    a = auditor.audit(_frame([["A", "IDC", *DISHUI_LAKE, "wgs84"]]), "shanghai", as_of=dt.date(2026, 11, 1))
    b = auditor.audit(_frame([["A", "IDC", *DISHUI_LAKE, "wgs84"]]), "shanghai", as_of="2026-11-01")
    assert a.as_of == b.as_of == dt.date(2026, 11, 1)


def test_file_reading_options_reach_the_reader(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("清单（截至2026年10月）,,,,\n站点,X,Y,坐标系,类型\nA,121.93,30.905,WGS84,IDC\n", encoding="utf-8")
    result = auditor.audit(path, "shanghai", header_row=2, columns="id=站点,lon=X,lat=Y", as_of=AS_OF)
    out = result.facilities_frame()
    assert list(out["id"]) == ["A"] and list(out["verdict"].astype(str)) == ["pass"]
    table, rows = auditor.load_inventory(path, header_row=2, columns={"id": "站点", "lon": "X", "lat": "Y"})
    assert [f.id for f in rows] == ["A"] and rows[0].lon == pytest.approx(121.93)
    with pytest.raises(auditor.UsageError, match="rename a DataFrame's columns"):
        auditor.audit(_frame([["A", "IDC", 121.5, 31.2, "wgs84"]]), "shanghai", columns="id=id")


def test_cli_locate_tells_a_bad_address_from_a_hostname():
    from auditor.engine.locate import locate as locate_reports

    bad, host, ok = locate_reports(["999.1.1.1", "cdn.example.com", "58.32.0.1"])
    assert (bad.kind, host.kind, ok.kind) == ("invalid", "host", "ip")
    assert "not a valid IP address" in bad.notes[0] and "not implemented" not in host.notes[0]


def test_diff_of_two_audits_is_a_frame_with_losses_of_proof_first():
    rows = [["A", "IDC", *DISHUI_LAKE, "wgs84"], ["B", "IDC", *PUDONG_ZHANGJIANG, "wgs84"], ["C", "IDC", *XUJIAHUI, "wgs84"]]
    before = auditor.audit(_frame(rows), "shanghai", as_of=AS_OF)
    after_rows = [["A", "IDC", *DISHUI_LAKE, "wgs84"], ["B", "IDC", "abc", 31.2, "wgs84"], ["C", "IDC", *DISHUI_LAKE, "wgs84"]]
    after = auditor.audit(_frame(after_rows), "shanghai", as_of=AS_OF)
    frame = auditor.diff(before, after)
    by = frame.set_index("subject")
    assert by.loc["B", "change"] == "regressed" and bool(by.loc["B", "regression"]) and by.loc["B", "new"] == "error"
    assert by.loc["C", "change"] == "fixed" and not by.loc["C", "regression"]
    assert by.loc["A", "change"] == "unchanged"
    assert list(frame["subject"])[0] == "B"  # losses of proof first
    per_finding = auditor.diff(before, after, findings=True)
    assert {"rule", "message"} <= set(per_finding.columns)
    with pytest.raises(auditor.InputError):
        auditor.diff(before, auditor.audit(_frame(rows), "beijing", as_of=AS_OF))
