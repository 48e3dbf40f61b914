"""auditor.inventory.profile: operator profiles in YAML and TOML, checked key by key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.inventory.profile import load_profile, parse_profile, profile_default_crs
from auditor.model import Operator

YAML_PROFILE = """\
# a full profile
name: Example Cloud (Shanghai) Co., Ltd.
region: shanghai
region_options: {include_lingang: true, strict: false}
registration:
  address: 中国（上海）自由贸易试验区临港新片区环湖西二路888号
  lon: 121.93
  lat: 30.90
  crs: WGS-84
  adcode: "310115"
services: [IDC, CDN]
foreign_equity_pct: 100
isp:
  prefixes: [203.0.113.0/24, "2001:db8::/32"]
  service_area: [上海市]
  upstream_asns: [AS4134, 4812, as9808]
cdn:
  accelerated_domains: [www.example.cn, static.example.cn]
facilities: data/facilities.csv
facilities_crs: gcj02
notes: anything
"""

TOML_PROFILE = """\
# the same profile
name = "Example Cloud (Shanghai) Co., Ltd."
region = "shanghai"
services = ["IDC", "CDN"]
foreign_equity_pct = 100
facilities = "data/facilities.csv"
facilities_crs = "gcj02"
notes = "anything"

[region_options]
include_lingang = true
strict = false

[registration]
address = "中国（上海）自由贸易试验区临港新片区环湖西二路888号"
lon = 121.93
lat = 30.90
crs = "WGS-84"
adcode = "310115"

[isp]
prefixes = ["203.0.113.0/24", "2001:db8::/32"]
service_area = ["上海市"]
upstream_asns = ["AS4134", 4812, "as9808"]

[cdn]
accelerated_domains = ["www.example.cn", "static.example.cn"]
"""


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return p


def parse(doc: dict) -> Operator:
    return parse_profile(doc, source="op.yaml")


def base(**extra) -> dict:
    return {"region": "shanghai", **extra}


# -- YAML and TOML ---------------------------------------------------------------------------


def test_yaml_profile_values(tmp_path: Path) -> None:
    p = write(tmp_path, "op.yaml", YAML_PROFILE)
    op, raw = load_profile(p)
    assert op == Operator(
        name="Example Cloud (Shanghai) Co., Ltd.",
        region="shanghai",
        region_options={"include_lingang": True, "strict": False},
        registration_address="中国（上海）自由贸易试验区临港新片区环湖西二路888号",
        registration_lon=121.93,
        registration_lat=30.90,
        registration_crs="wgs84",
        registration_adcode="310115",
        services=("IDC", "CDN"),
        foreign_equity_pct=100.0,
        isp_prefixes=("203.0.113.0/24", "2001:db8::/32"),
        isp_service_area=("上海市",),
        upstream_asns=(4134, 4812, 9808),
        cdn_domains=("www.example.cn", "static.example.cn"),
        facilities_path=str(tmp_path / "data" / "facilities.csv"),
        source=str(p),
        has_profile=True,
    )
    assert isinstance(op.foreign_equity_pct, float)
    assert raw["facilities"] == "data/facilities.csv"  # the raw mapping is returned as written
    assert raw["registration"]["lat"] == 30.90
    assert profile_default_crs(raw) == "gcj02"


def test_yaml_and_toml_equivalents_give_equal_operators(tmp_path: Path) -> None:
    y = write(tmp_path, "op.yml", YAML_PROFILE)
    t = write(tmp_path, "op.toml", TOML_PROFILE)
    (op_y, raw_y), (op_t, raw_t) = load_profile(y), load_profile(t)
    assert (op_y.source, op_t.source) == (str(y), str(t))
    assert dataclasses.replace(op_y, source="") == dataclasses.replace(op_t, source="")
    assert raw_y == raw_t
    assert op_t.upstream_asns == (4134, 4812, 9808)


def test_minimal_profile_defaults(tmp_path: Path) -> None:
    op, raw = load_profile(write(tmp_path, "min.yaml", "region: shanghai\n"))
    assert raw == {"region": "shanghai"}
    assert op == Operator(name="", region="shanghai", source=str(tmp_path / "min.yaml"))
    assert profile_default_crs(raw) is None


def test_null_values_fall_back_to_defaults() -> None:
    op = parse(base(name=None, registration=None, isp=None, cdn=None, services=None, facilities=None))
    assert (op.name, op.registration_lon, op.upstream_asns, op.services, op.facilities_path) == ("", None, (), (), "")


def test_gbk_encoded_yaml_profile(tmp_path: Path) -> None:
    text = "region: shanghai\nname: 示例云计算（上海）有限公司\nregistration: {address: 上海市浦东新区张江路1号}\n"
    op, _ = load_profile(write(tmp_path, "op.yaml", text.encode("gbk")))
    assert op.name == "示例云计算（上海）有限公司"
    assert op.registration_address == "上海市浦东新区张江路1号"


def test_utf8_bom_toml_profile(tmp_path: Path) -> None:
    op, _ = load_profile(write(tmp_path, "op.toml", b"\xef\xbb\xbf" + b'region = "shanghai"\n'))
    assert op.region == "shanghai"


# -- facilities path -------------------------------------------------------------------------


def test_facilities_path_relative_to_profile_not_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    p = write(tmp_path, "conf/op.yaml", "region: shanghai\nfacilities: ../data/sites.csv\n")
    op, _ = load_profile(p)
    assert Path(op.facilities_path).is_absolute()
    assert Path(op.facilities_path).resolve() == (tmp_path / "data" / "sites.csv").resolve()


def test_facilities_path_bare_name_sits_beside_profile(tmp_path: Path) -> None:
    p = write(tmp_path, "conf/op.toml", 'region = "shanghai"\nfacilities = "设施清单.xlsx"\n')
    op, _ = load_profile(p)
    assert op.facilities_path == str(tmp_path / "conf" / "设施清单.xlsx")


def test_facilities_absolute_path_kept(tmp_path: Path) -> None:
    target = tmp_path / "abs" / "f.csv"
    p = write(tmp_path, "conf/op.yaml", f"region: shanghai\nfacilities: '{target}'\n")
    op, _ = load_profile(p)
    assert op.facilities_path == str(target)


# -- wrong types and values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yaml_text", "key"),
    [
        ("region: shanghai\nservices: 5\n", "'services'"),
        ("region: shanghai\nservices: {IDC: true}\n", "'services'"),
        ("region: shanghai\nservices: [IDC, [CDN]]\n", "'services'"),
        ("region: shanghai\nservices: [true]\n", "'services'"),
        ("region: shanghai\nregistration: {lon: abc, lat: 31.2}\n", "'registration.lon'"),
        ("region: shanghai\nregistration: {lon: 121.5, lat: [31]}\n", "'registration.lat'"),
        ("region: shanghai\nregistration: {lon: .nan, lat: 31.2}\n", "'registration.lon'"),
        ("region: shanghai\nregistration: {lon: true, lat: 31.2}\n", "'registration.lon'"),
        ("region: shanghai\nregistration: [121.5, 31.2]\n", "'registration'"),
        ("name: X\n", "'region'"),
        ("region: ''\n", "'region'"),
        ("region: [shanghai]\n", "'region'"),
        ("region: shanghai\nname: 5\n", "'name'"),
        ("region: shanghai\ncolour: blue\n", "'colour'"),
        ("region: shanghai\nregion_options: {lingang: 'yes'}\n", "'lingang'"),
        ("region: shanghai\nregion_options: [lingang]\n", "'region_options'"),
        ("region: shanghai\nforeign_equity_pct: lots\n", "'foreign_equity_pct'"),
        ("region: shanghai\nisp: [4134]\n", "'isp'"),
        ("region: shanghai\nisp: {prefixes: 5}\n", "'isp.prefixes'"),
        ("region: shanghai\ncdn: {accelerated_domains: {a: 1}}\n", "'cdn.accelerated_domains'"),
        ("region: shanghai\ncdn: www.example.cn\n", "'cdn'"),
        ("region: shanghai\nfacilities: [a.csv, b.csv]\n", "'facilities'"),
        ("region: shanghai\nregistration: {adcode: '31011'}\n", "registration.adcode"),
        ("region: shanghai\nregistration: {adcode: 3101150}\n", "registration.adcode"),
    ],
)
def test_wrong_types_name_the_key(tmp_path: Path, yaml_text: str, key: str) -> None:
    p = write(tmp_path, "op.yaml", yaml_text)
    with pytest.raises(InputError) as ei:
        load_profile(p)
    assert key in str(ei.value)
    assert ei.value.source == str(p)


def test_unknown_key_lists_known_keys(tmp_path: Path) -> None:
    with pytest.raises(InputError) as ei:
        load_profile(write(tmp_path, "op.yaml", "region: shanghai\nregoin: x\nzzz: 1\n"))
    assert "unknown key(s) ['regoin', 'zzz']" in str(ei.value)
    assert "'region'" in ei.value.hint and "'facilities'" in ei.value.hint


@pytest.mark.parametrize(("doc", "keys", "known"), [
    pytest.param(base(isp={"upstream_asn": [4134]}), ["isp.upstream_asn"], "'upstream_asns'", id="isp.upstream_asn"),
    pytest.param(base(registration={"longitude": 121.9, "latitude": 30.9}),
                 ["registration.latitude", "registration.longitude"], "'lon'", id="registration.longitude"),
    pytest.param(base(cdn={"domains": ["www.example.cn"]}), ["cdn.domains"], "'accelerated_domains'", id="cdn.domains"),
])
def test_unknown_nested_key_is_rejected(doc: dict, keys: list[str], known: str) -> None:
    """A typo inside registration/isp/cdn is an error naming the dotted key(s); the hint lists the section's keys."""
    with pytest.raises(InputError, match="unknown key") as ei:
        parse(doc)
    assert f"unknown key(s) {keys}" in str(ei.value)
    assert known in ei.value.hint


@pytest.mark.parametrize("text", ["", "# nothing\n", "- region: shanghai\n", "just a string\n", "42\n"])
def test_profile_that_is_not_a_mapping(tmp_path: Path, text: str) -> None:
    with pytest.raises(InputError, match="a profile is a mapping"):
        load_profile(write(tmp_path, "op.yaml", text))


def test_registration_needs_both_lon_and_lat() -> None:
    with pytest.raises(InputError, match="both lon and lat"):
        parse(base(registration={"lon": 121.9}))
    with pytest.raises(InputError, match="both lon and lat"):
        parse(base(registration={"lat": 30.9, "lon": ""}))


def test_registration_numbers_given_as_text_are_accepted() -> None:
    op = parse(base(registration={"lon": "121.93", "lat": " 30.90 ", "adcode": 310115}))
    assert (op.registration_lon, op.registration_lat, op.registration_adcode) == (121.93, 30.9, "310115")


@pytest.mark.parametrize(("lon", "lat"), [(31.2, 121.5), (30.9, 121.93)])
def test_registration_lon_lat_swapped(lon: float, lat: float) -> None:
    with pytest.raises(InputError) as ei:
        parse(base(registration={"lon": lon, "lat": lat}))
    assert "swapped" in str(ei.value) and "out of range" in str(ei.value)


@pytest.mark.parametrize(("lon", "lat"), [(181, 30), (121, -91)])
def test_registration_out_of_range(lon: float, lat: float) -> None:
    with pytest.raises(InputError, match="out of range"):
        parse(base(registration={"lon": lon, "lat": lat}))


def test_registration_crs_aliases_and_unknown() -> None:
    assert parse(base(registration={"crs": "百度坐标"})).registration_crs == "bd09"
    assert parse(base(registration={"crs": "GCJ-02"})).registration_crs == "gcj02"
    with pytest.raises(InputError, match="wgs84, gcj02, bd09"):
        parse(base(registration={"crs": "utm"}))


def test_facilities_crs_unknown() -> None:
    assert parse(base(facilities_crs="EPSG:4326")).region == "shanghai"
    with pytest.raises(InputError, match="wgs84, gcj02, bd09"):
        parse(base(facilities_crs="mercator"))


@pytest.mark.parametrize(("doc", "key"), [
    (base(registration={"crs": "utm"}), "registration.crs"),
    (base(facilities_crs="mercator"), "facilities_crs"),
])
def test_unknown_crs_names_the_key(doc: dict, key: str) -> None:
    with pytest.raises(InputError) as ei:
        parse(doc)
    assert key in str(ei.value)
    assert f"key {key!r}: " in str(ei.value)


# -- YAML safety -----------------------------------------------------------------------------


def test_yaml_alias_rejected(tmp_path: Path) -> None:
    text = "region: shanghai\nnotes: &n hello\nname: *n\n"
    with pytest.raises(InputError) as ei:
        load_profile(write(tmp_path, "op.yaml", text))
    msg = str(ei.value)
    assert "cannot parse profile" in msg
    assert "aliases (*name) are not allowed in a profile" in msg
    assert "line 3" in msg  # the alias's position is reported


def test_billion_laughs_rejected_quickly(tmp_path: Path) -> None:
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        levels.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    text = "region: shanghai\nnotes:\n" + "\n".join("  " + line for line in levels) + "\n"
    with pytest.raises(InputError, match="aliases"):
        load_profile(write(tmp_path, "bomb.yaml", text))


def test_yaml_merge_key_alias_rejected(tmp_path: Path) -> None:
    text = "registration: &r {lon: 121.9, lat: 30.9}\nregion: shanghai\nnotes:\n  <<: *r\n"
    with pytest.raises(InputError, match="aliases"):
        load_profile(write(tmp_path, "op.yaml", text))


def test_yaml_anchor_without_alias_is_harmless(tmp_path: Path) -> None:
    op, _ = load_profile(write(tmp_path, "op.yaml", "region: &r shanghai\n"))
    assert op.region == "shanghai"


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system", "!!python/object/new:os.system",
                                 "!!python/name:os.system", "!!python/object:pathlib.Path"])
def test_python_tags_rejected(tmp_path: Path, tag: str) -> None:
    marker = tmp_path / "pwned"
    text = f"region: shanghai\nname: {tag} ['touch {marker}']\n"
    with pytest.raises(InputError, match="cannot parse profile") as ei:
        load_profile(write(tmp_path, "evil.yaml", text))
    assert "python" in str(ei.value)
    assert not marker.exists()


def test_yaml_syntax_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot parse profile"):
        load_profile(write(tmp_path, "op.yaml", "region: [shanghai\n"))


def test_toml_syntax_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot parse profile") as ei:
        load_profile(write(tmp_path, "op.toml", 'region = "shanghai"\nname = \n'))
    assert ei.value.source == str(tmp_path / "op.toml")


def test_profile_not_found(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="profile not found"):
        load_profile(tmp_path / "missing.yaml")


def test_profile_undecodable(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot decode"):
        load_profile(write(tmp_path, "op.yaml", b"region: \x80\x80\xff\n"))


# -- ASNs ------------------------------------------------------------------------------------


def test_upstream_asns_text_and_numbers() -> None:
    op = parse(base(isp={"upstream_asns": ["AS4134", 4134, "as4812", " AS9808 ", "58453"]}))
    assert op.upstream_asns == (4134, 4134, 4812, 9808, 58453)
    assert all(type(a) is int for a in op.upstream_asns)


@pytest.mark.parametrize("bad", ["ASX", "AS", "4134a", "-1", 0, 2**32, "AS4294967296", True, 4134.0, "AS 4134"])
def test_upstream_asns_rejected(bad) -> None:
    with pytest.raises(InputError) as ei:
        parse(base(isp={"upstream_asns": [4134, bad]}))
    assert "isp.upstream_asns" in str(ei.value)
    assert repr(bad) in str(ei.value)


def test_upstream_asn_boundaries() -> None:
    assert parse(base(isp={"upstream_asns": [1, 2**32 - 1, "AS4294967295"]})).upstream_asns == (1, 2**32 - 1, 2**32 - 1)


@pytest.mark.parametrize(("value", "offending"), [
    pytest.param(4134.0, 4134.0, id="scalar-float"),
    pytest.param(True, True, id="scalar-true"),
    pytest.param(["AS¹"], "AS¹", id="superscript"),
    pytest.param(["AS4134", "²"], "²", id="superscript-later"),
    pytest.param("AS¹", "AS¹", id="scalar-superscript"),
])
def test_upstream_asns_bad_shapes_are_input_errors(value, offending) -> None:
    """Neither a TypeError nor a ValueError escapes: the error names the key and the offending value."""
    with pytest.raises(InputError, match="isp.upstream_asns") as ei:
        parse(base(isp={"upstream_asns": value}))
    assert repr(offending) in str(ei.value)


def test_upstream_asns_single_number_is_accepted(tmp_path: Path) -> None:
    """Decision: one AS number given as an integer is a list of one, as one string "AS4134" is."""
    assert parse(base(isp={"upstream_asns": 4134})).upstream_asns == (4134,)
    op, _ = load_profile(write(tmp_path, "op.yaml", "region: shanghai\nisp:\n  upstream_asns: 4134\n"))
    assert op.upstream_asns == (4134,)
    assert type(op.upstream_asns[0]) is int
    op, _ = load_profile(write(tmp_path, "op.toml", 'region = "shanghai"\n[isp]\nupstream_asns = 4134\n'))
    assert op.upstream_asns == (4134,)


def test_upstream_asns_single_string_like_other_list_keys() -> None:
    op = parse(base(services="IDC", isp={"upstream_asns": "AS4134"}))
    assert op.services == ("IDC",)
    assert op.upstream_asns == (4134,)


def test_evidence_section_keys_are_checked(tmp_path):
    from auditor.errors import InputError
    from auditor.inventory.profile import load_profile

    p = tmp_path / "op.yaml"
    p.write_text("name: x\nregion: shanghai\nevidence: {asn_tabel: t.dat}\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_profile(p)
    assert "evidence.asn_tabel" in str(e.value) and "asn_table" in str(e.value)


@pytest.mark.parametrize("body, key", [
    ("evidence: {timeout_s: abc}", "evidence.timeout_s"),
    ("evidence: {timeout_s: -1}", "evidence.timeout_s"),
    ("evidence: {online: 'yes'}", "evidence.online"),
    ("evidence: {latency: 5}", "evidence.latency"),
    ("evidence: {asn_table: [a, b]}", "evidence.asn_table"),
    ("evidence: [1, 2]", "evidence"),
])
def test_evidence_section_types_are_checked(tmp_path, body, key):
    from auditor.errors import InputError
    from auditor.inventory.profile import load_profile

    p = tmp_path / "op.yaml"
    p.write_text(f"name: x\nregion: shanghai\n{body}\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_profile(p)
    assert key in str(e.value)
