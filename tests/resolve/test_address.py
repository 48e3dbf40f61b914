"""Addresses → administrative units, pilot-region parts and claims (auditor.resolve.address).

The corpus ``tests/fixtures/addresses.csv`` pins down every rule: one row per address and region
(``region`` may carry options: ``shenzhen+include_shenshan``), the adcode the address proves
(empty: none), the relation to the region (``inside`` | ``outside`` | ``indeterminate``, or
``unresolved`` when the address proves nothing at all) and the pilot-region parts it names.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from conftest import REPO, TESTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.geo.containment import Verdict
from auditor.model import EvidenceSource, Facility, RowError
from auditor.resolve.address import (
    MAX_ADDRESS_CHARS,
    AddressParse,
    AddressParser,
    AddressResolver,
    normalise,
    parse_address,
    relation_for_parse,
)

CORPUS = TESTS / "fixtures" / "addresses.csv"


def load_corpus() -> list[dict[str, str]]:
    with open(CORPUS, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


ROWS = load_corpus()


def row_id(i: int, r: dict[str, str]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", r["note"].lower()).strip("-")[:48]
    return f"{i + 2:03d}-{r['region']}-{slug}"


def region_of(registry, spec: str):
    rid, *opts = spec.split("+")
    return registry.region(rid, {o: True for o in opts})


def test_corpus_is_big_and_covers_every_region_and_relation():
    assert len(ROWS) >= 200
    assert {r["region"].split("+")[0] for r in ROWS} >= {"beijing", "shanghai", "hainan", "shenzhen", "guangzhou", "shanghai-municipality", "hainan-province"}
    assert {r["expected_relation"] for r in ROWS} == {"inside", "outside", "indeterminate", "unresolved"}
    assert sum(1 for r in ROWS if re.search(r"[A-Za-z]{4}", r["address"]) and not re.search("[\u4e00-\u9fff]", r["address"])) >= 60
    assert max(len(r["address"]) for r in ROWS) >= 10_000


@pytest.mark.parametrize("r", ROWS, ids=[row_id(i, r) for i, r in enumerate(ROWS)])
def test_corpus(registry, r):
    parse = parse_address(r["address"], registry)
    got_code = parse.unit.adcode if parse.unit else ""
    verdict, reason = relation_for_parse(parse, region_of(registry, r["region"]))
    context = f"{r['note']}: matched={parse.matched} parts={parse.parts} ambiguous={[u.adcode for u in parse.ambiguous]} notes={parse.notes} reason={reason}"
    assert got_code == r["expected_adcode"], context
    if r["expected_relation"] == "unresolved":
        assert not parse.resolved, context
        assert verdict is Verdict.INDETERMINATE, context
    else:
        assert parse.resolved, context
        assert verdict.value == r["expected_relation"], context
    assert ";".join(parse.parts) == r["expected_parts"], context
    assert reason


# --- focused unit tests ---------------------------------------------------------------------------
def test_parse_shape(registry):
    p = parse_address("广东省深圳市南山区科技园", registry)
    assert isinstance(p, AddressParse)
    assert (p.unit.adcode, p.level, p.matched) == ("440305", "county", ("广东省", "深圳市", "南山区"))
    assert p.text == "广东省深圳市南山区科技园"
    assert p.ambiguous == () and p.parts == ()


def test_english_order_is_small_to_large(registry):
    p = parse_address("Nanshan District, Shenzhen, Guangdong", registry)
    assert p.unit.adcode == "440305"
    assert p.matched == ("guangdong", "shenzhen", "nanshan district")


def test_county_alone_must_be_unique(registry):
    p = parse_address("南山区", registry)
    assert p.unit is None
    assert sorted(u.adcode for u in p.ambiguous) == ["230404", "440305"]
    assert any("ambiguous" in n for n in p.notes)
    assert parse_address("浦东新区", registry).unit.adcode == "310115"


def test_ambiguity_keeps_the_common_ancestor(registry):
    # two districts of one city: the city is proven, the district is not
    p = parse_address("深圳市南山区福田区", registry)
    assert p.unit.adcode == "440300"
    assert sorted(u.adcode for u in p.ambiguous) == ["440304", "440305"]


def test_parent_disambiguates(registry):
    assert parse_address("北京市朝阳区", registry).unit.adcode == "110105"
    assert parse_address("吉林省长春市朝阳区", registry).unit.adcode == "220104"
    assert parse_address("Chaoyang District, Changchun, Jilin", registry).unit.adcode == "220104"


def test_a_deeper_name_picks_the_reading(registry):
    p = parse_address("Huicheng District, Huizhou", registry)  # Huizhou: 惠州市 (Guangdong) or 徽州区 (Anhui)
    assert p.unit.adcode == "441302" and p.ambiguous == ()
    assert parse_address("Huizhou", registry).unit is None


def test_designation_must_fit(registry):
    assert parse_address("Chaoyang City, Liaoning", registry).unit.adcode == "211300"
    assert parse_address("Jilin City", registry).unit.adcode == "220200"
    assert parse_address("Jilin", registry).unit.adcode == "220000"


@pytest.mark.parametrize(
    "text, not_code",
    [
        ("上海市黄浦区北京东路100号", "110000"),
        ("上海市静安区南京西路1266号", "320100"),
        ("上海市长宁区天山路", "650102"),
        ("广东省深圳市南山区中山园路", "442000"),
        ("Beijing Road, Huangpu District, Shanghai", "110000"),
        ("Nanjing West Road, Jing'an District, Shanghai", "320100"),
    ],
)
def test_street_names_are_not_units(registry, text, not_code):
    p = parse_address(text, registry)
    assert p.unit is not None and p.unit.adcode != not_code
    assert not_code not in [u.adcode for u in p.ambiguous]


def test_street_rule_notes_what_it_skipped(registry):
    p = parse_address("北京路100号", registry)
    assert p.unit is None and not p.resolved
    assert any("北京" in n and "street" in n for n in p.notes)


def test_yanjiao_beats_beijing(registry):
    p = parse_address("北京燕郊", registry)
    assert p.unit.adcode == "131082"
    assert any("not used" in n for n in p.notes)
    assert relation_for_parse(p, registry.region("beijing"))[0] is Verdict.OUTSIDE


def test_shenshan_follows_the_option(registry):
    p = parse_address("深圳市深汕特别合作区", registry)
    assert p.unit.adcode == "441521"
    assert relation_for_parse(p, registry.region("shenzhen"))[0] is Verdict.OUTSIDE
    assert relation_for_parse(p, registry.region("shenzhen", {"include_shenshan": True}))[0] is Verdict.INDETERMINATE


def test_lingang_parts(registry):
    sh = registry.region("shanghai")
    p = parse_address("临港新片区", registry)
    assert p.unit is None and p.parts == ("lingang-main",)
    assert relation_for_parse(p, sh)[0] is Verdict.INSIDE
    # a part of shanghai is outside the other regions (their parts do not overlap it)
    for rid in ("beijing", "hainan", "shenzhen"):
        assert relation_for_parse(p, registry.region(rid))[0] is Verdict.OUTSIDE
    x = parse_address("浙江省舟山市嵊泗县小洋山", registry)
    assert x.unit.adcode == "330922" and x.parts == ("lingang-xiaoyangshan",)
    assert relation_for_parse(x, sh)[0] is Verdict.INSIDE


def test_lingang_street_and_host_rules(registry):
    assert parse_address("上海市徐汇区临港路", registry).parts == ()
    p = parse_address("上海市徐汇区临港", registry)
    assert p.parts == () and any("not read as the part" in n for n in p.notes)
    assert parse_address("天津市滨海新区临港经济区", registry).parts == ()
    assert parse_address("上海市奉贤区临港", registry).parts == ("lingang-main",)


def test_yangshan_town_is_not_xiaoyangshan(registry):
    p = parse_address("浙江省舟山市嵊泗县洋山镇", registry)
    assert p.unit.adcode == "330922" and p.parts == ()
    assert any("大洋山" in n for n in p.notes)
    assert relation_for_parse(p, registry.region("shanghai"))[0] is Verdict.INDETERMINATE


def test_indeterminate_reason_says_what_would_settle_it(registry):
    _, reason = relation_for_parse(parse_address("上海市", registry), registry.region("shanghai"))
    assert "coordinates" in reason


def test_normalise():
    assert normalise("ＳＨＡＮＧＨＡＩ　浦东")[0] == "SHANGHAI 浦东"
    assert normalise("上\u200b海\u202e市")[0] == "上海市"
    assert normalise("上 海 市")[0] == "上海市"
    assert normalise(None)[0] == ""
    text, notes = normalise("x" * (MAX_ADDRESS_CHARS + 5))
    assert len(text) == MAX_ADDRESS_CHARS and notes


@pytest.mark.parametrize("bad", [None, 12345, 3.5, b"\xe4\xb8\x8a\xe6\xb5\xb7", "\ud800上海市浦东新区\udfff", "\x00" * 10, "上海市\x00浦东新区"])
def test_odd_inputs_do_not_raise(registry, bad):
    p = parse_address(bad, registry)
    assert isinstance(p, AddressParse)


def test_lone_surrogates_are_replaced(registry):
    assert parse_address("\ud800上海市浦东新区", registry).unit.adcode == "310115"


def test_regex_scanner_agrees_with_dict_scanner(registry):
    a, b = AddressParser(registry, "dict"), AddressParser(registry, "regex")
    for r in ROWS:
        assert a.parse(r["address"]) == b.parse(r["address"]), r["address"][:60]
    with pytest.raises(ValueError):
        AddressParser(registry, "trie")


# --- the resolver ------------------------------------------------------------------------------------
def fac(fid: str, address: str, errors=()) -> Facility:
    return Facility(id=fid, row=2, source="t.csv", address=address, errors=tuple(errors))


def test_resolver_claims(registry):
    facilities = [
        fac("a", "上海市浦东新区申港大道200号"),
        fac("b", "临港新片区"),
        fac("c", "南京西路1266号"),
        fac("d", ""),
        fac("e", "   "),
        fac("f", "上海市浦东新区", errors=[RowError("lon", "bad")]),
        fac("g", "南沙区"),
        fac("h", "浙江省舟山市嵊泗县洋山镇小洋山"),
    ]
    claims = {c.subject: c for c in AddressResolver(registry).claims(facilities)}
    assert set(claims) == {"a", "b", "c", "g", "h"}
    a = claims["a"]
    assert (a.kind, a.adcode, a.id, a.source) == ("admin_unit", "310115", "a#address", EvidenceSource.ADDRESS)
    assert a.label == "浦东新区 Pudong New Area"
    assert a.original == {"address": "上海市浦东新区申港大道200号"}
    assert claims["b"].kind == "region_part" and claims["b"].label == "lingang-main" and claims["b"].adcode == ""
    assert claims["h"].kind == "region_part" and claims["h"].label == "lingang-xiaoyangshan" and claims["h"].adcode == "330922"
    assert claims["c"].kind == "unresolved" and claims["c"].notes
    assert claims["g"].kind == "unresolved" and any("440115" in n and "460302" in n for n in claims["g"].notes)
    assert AddressResolver.name == "address"


# --- properties --------------------------------------------------------------------------------------
NAMES = ["上海市", "浦东新区", "临港新片区", "北京", "燕郊", "路", "南京西路", "深圳市", "南山区", "海南省", "三沙市",
         "Shanghai", "Pudong New Area", ", ", "Road", "District", "小洋山", "洋山镇", "China", "201306", "深汕特别合作区"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(NAMES) | st.text(max_size=5), max_size=12).map("".join),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
))
def test_parse_never_raises_and_is_deterministic(registry, text):
    p1 = parse_address(text, registry)
    p2 = parse_address(text, registry)
    assert p1 == p2
    if p1.unit is not None:
        assert p1.level in ("province", "city", "county")
        assert p1.unit.adcode in registry.units
    assert set(p1.parts) <= {"pudong", "lingang-main", "lingang-xiaoyangshan"}
    for rid in registry.region_ids:
        verdict, reason = relation_for_parse(p1, registry.region(rid))
        assert isinstance(verdict, Verdict) and reason


# --- the gazetteer's pinyin column ---------------------------------------------------------------------
def gazetteer_rows() -> list[dict[str, str]]:
    with open(REPO / "boundaries" / "admin-units.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_every_unit_has_a_pinyin_form_whose_first_word_is_the_proper_name():
    rows = {r["adcode"]: r for r in gazetteer_rows()}
    assert len(rows) == 3240 and all(r["pinyin"] for r in rows.values())
    expected = {
        "310115": "Pudong Xinqu|Pudong New Area", "310105": "Changning Qu", "310112": "Minhang Qu",
        "110105": "Chaoyang Qu", "610000": "Shaanxi Sheng", "140000": "Shanxi Sheng", "440306": "Bao'an Qu",
        "469025": "Baisha Lizu Zizhixian", "131082": "Sanhe Shi", "150000": "Neimenggu Zizhiqu|Inner Mongolia",
        "810000": "Xianggang Tebie Xingzhengqu|Hong Kong", "371722": "Shan Xian", "140428": "Zhangzi Xian",
    }
    for code, forms in expected.items():
        assert rows[code]["pinyin"] == forms, code
    # where a hand-written English name exists, the generated proper name agrees with it (exonyms aside)
    exonyms = {"150000", "540000", "810000", "820000"}
    for code, r in rows.items():
        if r["name_en"] and code not in exonyms:
            first = r["pinyin"].split("|")[0].split(" ")[0]
            assert re.sub("[' ]", "", r["name_en"].lower()).startswith(re.sub("'", "", first.lower())), (code, first, r["name_en"])


def test_pinyin_column_is_what_the_build_script_makes():
    pytest.importorskip("pypinyin")
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_admin_table", REPO / "scripts" / "build_admin_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for r in gazetteer_rows():
        assert mod.romanise(r["name_zh"], r["name_en"]) == r["pinyin"], r["adcode"]
