"""The mmdb location source: MaxMind's own test databases, a database written here, broken files, bad queries.

Expected values for MaxMind's databases were read from the upstream JSON they are built
from (MaxMind-DB ``source-data/GeoIP2-City-Test.json`` etc.; see tests/fixtures/mmdb/SOURCE.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import pytest
from conftest import TESTS

from auditor.errors import DataError
from auditor.resolve.ipgeo.mmdb import DEFAULT_RADIUS_M, MmdbAnswer, MmdbDatabase, record_to_answer

FIXTURES = TESTS / "fixtures" / "mmdb"
CITY = FIXTURES / "GeoIP2-City-Test.mmdb"
LITE_CITY = FIXTURES / "GeoLite2-City-Test.mmdb"
COUNTRY = FIXTURES / "GeoIP2-Country-Test.mmdb"
IPV4_ONLY = FIXTURES / "MaxMind-DB-test-ipv4-24.mmdb"
BROKEN_NODE_COUNT = FIXTURES / "GeoIP2-City-Test-Invalid-Node-Count.mmdb"
BROKEN_DOUBLE = FIXTURES / "GeoIP2-City-Test-Broken-Double-Format.mmdb"


def one(db: MmdbDatabase, ip: str) -> MmdbAnswer:
    (a,) = db.lookup([ip])
    assert a.query == ip
    return a


# --------------------------------------------------------------------------- MaxMind's test databases


@pytest.fixture(scope="module")
def city():
    with MmdbDatabase.open(CITY) as db:
        yield db


# (ip, network, lon, lat, radius km, country, subdivision, city) — from GeoIP2-City-Test.json
CITY_ROWS = [
    # "::175.16.199.0/120": Changchun, Jilin Sheng (iso 22), 43.88 / 125.3228, radius 100
    ("175.16.199.5", "175.16.199.0/24", 125.3228, 43.88, 100, "CN", "Jilin Sheng", "Changchun"),
    # "::81.2.69.142/127": London, England, 51.5142 / -0.0931, radius 10
    ("81.2.69.143", "81.2.69.142/31", -0.0931, 51.5142, 10, "GB", "England", "London"),
    # "::81.2.69.144/124": same place, radius 3
    ("81.2.69.150", "81.2.69.144/28", -0.0931, 51.5142, 3, "GB", "England", "London"),
    # "::89.160.20.112/124": Linköping, Östergötland County, 58.4167 / 15.6167, radius 76
    ("89.160.20.120", "89.160.20.112/28", 15.6167, 58.4167, 76, "SE", "Östergötland County", "Linköping"),
    # "::2.125.160.216/125": Boxford, subdivisions [England, West Berkshire], 51.75 / -1.25, radius 100
    ("2.125.160.217", "2.125.160.216/29", -1.25, 51.75, 100, "GB", "England", "Boxford"),
    # "2001:480:10::/48": San Diego, California, 32.7203 / -117.1552, radius 20
    ("2001:480:10::1", "2001:480:10::/48", -117.1552, 32.7203, 20, "US", "California", "San Diego"),
]


@pytest.mark.parametrize(("ip", "network", "lon", "lat", "km", "country", "subdivision", "city_name"), CITY_ROWS)
def test_geoip2_city_test_db_matches_source_json(city, ip, network, lon, lat, km, country, subdivision, city_name):
    a = one(city, ip)
    assert a.status == "ok", a.reason
    assert (a.lon, a.lat) == (lon, lat)
    assert a.accuracy_radius_m == km * 1000.0
    assert (a.country, a.subdivision, a.city) == (country, subdivision, city_name)
    assert a.network == network
    assert f"accuracy_radius {km} km" in a.reason


def test_database_identity(city):
    assert city.path == str(CITY)
    assert city.sha256 == hashlib.sha256(CITY.read_bytes()).hexdigest()
    assert city.version == "GeoIP2-City 2026-02-04"
    assert city.ip_version == 6


def test_geolite2_city_test_db(tmp_path):
    with MmdbDatabase.open(LITE_CITY) as db:
        assert db.version == "GeoLite2-City 2026-02-04"
        changchun, milton, boxford = db.lookup(["175.16.199.0", "216.160.83.57", "2.125.160.223"])
    # "175.16.199.0/24": Changchun 43.88 / 125.3228 r100
    assert (changchun.status, changchun.lon, changchun.lat, changchun.accuracy_radius_m, changchun.city) == (
        "ok", 125.3228, 43.88, 100_000.0, "Changchun")
    # "216.160.83.56/29": Milton, Washington, 47.2513 / -122.3149 r22
    assert (milton.lon, milton.lat, milton.accuracy_radius_m, milton.subdivision, milton.city) == (
        -122.3149, 47.2513, 22_000.0, "Washington", "Milton")
    assert milton.network == "216.160.83.56/29"
    # "2.125.160.216/29": Boxford 51.75 / -1.25 r100
    assert (boxford.lon, boxford.lat, boxford.accuracy_radius_m) == (-1.25, 51.75, 100_000.0)


def test_coarse_answers_in_city_db_are_not_points(city):
    cn, us, wa, bt, traits_only = city.lookup(
        ["2001:250::1", "149.101.100.1", "216.160.83.65", "67.43.156.1", "214.1.1.1"]
    )
    # "2001:250::/31": CN with the country centroid 35/105 and radius 100 — no city
    assert (cn.status, cn.country, cn.city, cn.lon, cn.lat, cn.accuracy_radius_m) == ("no_location", "CN", None, None, None, None)
    assert cn.network == "2001:250::/31"
    assert "country-level" in cn.reason
    # "::149.101.100.0/124": US default point 37.751/-97.822, radius 1000, no city
    assert (us.status, us.country, us.lon) == ("no_location", "US", None)
    assert "country-level" in us.reason
    # "::216.160.83.64/125": Washington only, radius 1000
    assert (wa.status, wa.country, wa.subdivision, wa.city, wa.lat) == ("no_location", "US", "Washington", None, None)
    assert "subdivision-level" in wa.reason
    # "::67.43.156.0/120": Bhutan, radius 534, no city
    assert (bt.status, bt.country) == ("no_location", "BT")
    # "214.1.1.0/24": only traits, no location at all
    assert (traits_only.status, traits_only.country, traits_only.network) == ("no_location", None, "214.1.1.0/24")
    assert "no location" in traits_only.reason


def test_country_db_has_no_locations():
    with MmdbDatabase.open(COUNTRY) as db:
        (a,) = db.lookup(["175.16.199.1"])
    assert (a.status, a.country, a.lon, a.lat) == ("no_location", "CN", None, None)
    assert a.network == "175.16.199.0/24"


def test_not_in_database_is_not_found_with_network(city):
    a = one(city, "1.1.1.1")
    assert a.status == "not_found"
    assert a.lon is None and a.accuracy_radius_m is None
    assert a.network == "1.0.0.0/8"


def test_ipv4_mapped_ipv6_is_looked_up_as_ipv4(city):
    plain, mapped = city.lookup(["175.16.199.5", "::ffff:175.16.199.5"])
    assert mapped.status == "ok"
    assert (mapped.lon, mapped.lat, mapped.accuracy_radius_m, mapped.city) == (plain.lon, plain.lat, plain.accuracy_radius_m, plain.city)
    assert mapped.network == "175.16.199.0/24"
    assert mapped.query == "::ffff:175.16.199.5"
    assert "IPv4-mapped" in mapped.reason


def test_ipv6_in_ipv4_only_database_is_invalid():
    with MmdbDatabase.open(IPV4_ONLY) as db:
        assert db.ip_version == 4
        v6, mapped, v4 = db.lookup(["2001:480:10::1", "::ffff:1.1.1.1", "1.1.1.1"])
    assert v6.status == "invalid"
    assert "IPv4-only" in v6.reason
    # the mapped form is an IPv4 address and is answered: the record {"ip": "1.1.1.1"} has no location
    assert mapped.status == "no_location" and mapped.network == "1.1.1.1/32"
    assert v4.status == "no_location" and v4.network == "1.1.1.1/32"


BAD_QUERIES = ["x", "", "1.2.3.4/24", "300.1.1.1", "   ", "1.2.3", "2001:db8::g", None, 12345]


def test_bad_queries_are_invalid_in_order(city):
    queries = ["81.2.69.143", *BAD_QUERIES, "175.16.199.5"]
    answers = city.lookup(queries)
    assert len(answers) == len(queries)
    assert answers[0].status == "ok" and answers[0].city == "London"
    assert answers[-1].status == "ok" and answers[-1].city == "Changchun"
    for q, a in zip(BAD_QUERIES, answers[1:-1]):
        assert a.status == "invalid", (q, a)
        assert a.reason
        assert (a.lon, a.lat, a.accuracy_radius_m, a.network) == (None, None, None, None)
    assert answers[1 + BAD_QUERIES.index("1.2.3.4/24")].reason.startswith("a network")


@pytest.mark.parametrize(
    ("ip", "word"),
    [
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("172.16.5.4", "private"),
        ("127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("169.254.1.1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("100.64.1.1", "carrier-grade NAT"),
        ("240.0.0.1", "address"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:10.1.2.3", "private"),
    ],
)
def test_private_and_reserved_are_not_found(city, ip, word):
    a = one(city, ip)
    assert a.status == "not_found"
    assert word in a.reason
    assert a.network is None and a.lon is None


def test_lookup_rejects_a_bare_string(city):
    with pytest.raises(TypeError):
        city.lookup("81.2.69.143")


def test_duplicates_and_whitespace(city):
    a, b, c = city.lookup(["81.2.69.143", " 81.2.69.143 ", "81.2.69.143"])
    assert a == c
    assert b.query == " 81.2.69.143 " and (b.status, b.lon, b.lat) == ("ok", a.lon, a.lat)


def test_close_and_context_manager():
    with MmdbDatabase.open(CITY) as db:
        assert one(db, "81.2.69.143").status == "ok"
    with pytest.raises(DataError) as e:
        db.lookup(["81.2.69.143"])
    assert e.value.path == str(CITY)
    db.close()  # idempotent


# --------------------------------------------------------------------------- broken files


def test_truncated_copy_raises_data_error_naming_path(tmp_path):
    data = CITY.read_bytes()
    for i, keep in enumerate((len(data) // 2, len(data) - 1, 100)):
        p = tmp_path / f"truncated-{i}.mmdb"
        p.write_bytes(data[:keep])
        with pytest.raises(DataError) as e:
            MmdbDatabase.open(p)
        assert e.value.path == str(p)
        assert str(p) in str(e.value)
        assert e.value.hint and "truncated" in e.value.hint


def test_non_mmdb_files_raise_data_error(tmp_path):
    text = tmp_path / "not-a-db.mmdb"
    text.write_text("network,latitude,longitude\n1.2.3.0/24,31.2,121.5\n", encoding="utf-8")
    empty = tmp_path / "empty.mmdb"
    empty.write_bytes(b"")
    for p in (text, empty, BROKEN_NODE_COUNT):
        with pytest.raises(DataError) as e:
            MmdbDatabase.open(p)
        assert e.value.path == str(p)


def test_missing_file_and_directory_raise_data_error(tmp_path):
    missing = tmp_path / "GeoLite2-City.mmdb"
    with pytest.raises(DataError, match="not found") as e:
        MmdbDatabase.open(missing)
    assert e.value.path == str(missing)
    with pytest.raises(DataError) as e:
        MmdbDatabase.open(tmp_path)
    assert e.value.path == str(tmp_path)


def test_corrupt_record_is_an_error_answer_not_an_exception():
    with MmdbDatabase.open(BROKEN_DOUBLE) as db:
        bad, good, absent = db.lookup(["81.2.69.160", "x", "1.1.1.1"])
    assert bad.status == "error"
    assert "corrupt" in bad.reason
    assert good.status == "invalid"
    assert absent.status == "not_found"


# --------------------------------------------------------------------------- a database written here


SHANGHAI = {"latitude": 31.2304, "longitude": 121.4737, "accuracy_radius": 20}
HANGZHOU = {"latitude": 30.2741, "longitude": 120.1551, "accuracy_radius": 50}


def _place(location: dict, city: str | None, subdivision: str | None, country: str | None = "CN") -> dict:
    rec: dict = {"location": location}
    if country:
        rec["country"] = {"iso_code": country, "names": {"en": "China", "zh-CN": "中国"}}
    if subdivision:
        rec["subdivisions"] = [{"iso_code": "XX", "names": {"en": subdivision}}]
    if city:
        rec["city"] = {"names": {"en": city}}
    return rec


@pytest.fixture
def china_db(tmp_path):
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    w = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="Test-China-City",
                   languages=["en"], description="auditor test database")
    w.insert_network(IPSet(["101.80.0.0/16"]), _place(SHANGHAI, "Shanghai", "Shanghai"))
    w.insert_network(IPSet(["115.236.0.0/16"]), _place(HANGZHOU, "Hangzhou", "Zhejiang"))
    w.insert_network(IPSet(["122.224.0.0/16"]), _place({"latitude": 29.8683, "longitude": 121.544}, "Ningbo", "Zhejiang"))
    w.insert_network(IPSet(["58.32.0.0/16"]), _place({"latitude": 0.0, "longitude": 0.0, "accuracy_radius": 1000}, "Shanghai", "Shanghai"))
    w.insert_network(IPSet(["36.96.0.0/16"]), _place({"latitude": 35.0, "longitude": 105.0, "accuracy_radius": 100}, None, None))
    w.insert_network(IPSet(["222.66.0.0/16"]), {"location": {"latitude": 30.9, "longitude": 121.93, "accuracy_radius": 5}})
    w.insert_network(IPSet(["240e:3b0::/32"]), _place({"latitude": 31.2304, "longitude": 121.4737, "accuracy_radius": 100}, "Shanghai", "Shanghai"))
    path = tmp_path / "china-test.mmdb"
    w.to_db_file(str(path))
    with MmdbDatabase.open(path) as db:
        yield db


def test_written_database_answers(china_db):
    q = ["101.80.3.4", "115.236.9.9", "122.224.1.1", "58.32.7.7", "36.96.0.1",
         "222.66.1.1", "240e:3b0:1::5", "::ffff:101.80.3.4", "8.8.8.8", "2400:da00::1"]
    sh, hz, nb, zero, country, point, v6, mapped, absent, absent6 = china_db.lookup(q)
    assert china_db.version.startswith("Test-China-City ")
    dt.date.fromisoformat(china_db.version.split(" ")[1])

    assert (sh.status, sh.lon, sh.lat, sh.accuracy_radius_m) == ("ok", 121.4737, 31.2304, 20_000.0)
    assert (sh.country, sh.subdivision, sh.city, sh.network) == ("CN", "Shanghai", "Shanghai", "101.80.0.0/16")

    assert (hz.status, hz.lon, hz.lat, hz.accuracy_radius_m) == ("ok", 120.1551, 30.2741, 50_000.0)
    assert (hz.subdivision, hz.city, hz.network) == ("Zhejiang", "Hangzhou", "115.236.0.0/16")

    # no accuracy_radius: the documented conservative default
    assert (nb.status, nb.lon, nb.lat, nb.city) == ("ok", 121.544, 29.8683, "Ningbo")
    assert nb.accuracy_radius_m == DEFAULT_RADIUS_M == 200_000.0
    assert "default 200 km" in nb.reason

    # 0,0 placeholder
    assert (zero.status, zero.lon, zero.lat, zero.accuracy_radius_m, zero.city) == ("no_location", None, None, None, "Shanghai")
    assert "placeholder" in zero.reason

    # country only: the centroid is not a place
    assert (country.status, country.country, country.lon) == ("no_location", "CN", None)
    assert "country-level" in country.reason

    # no names at all: a point-only database is taken at its word
    assert (point.status, point.lon, point.lat, point.accuracy_radius_m) == ("ok", 121.93, 30.9, 5_000.0)
    assert point.country is None and "point-only" in point.reason

    assert (v6.status, v6.lon, v6.lat, v6.accuracy_radius_m, v6.city) == ("ok", 121.4737, 31.2304, 100_000.0, "Shanghai")
    assert v6.network == "240e:3b0::/32"

    assert (mapped.status, mapped.lon, mapped.lat, mapped.network) == ("ok", sh.lon, sh.lat, "101.80.0.0/16")
    assert absent.status == "not_found" and absent6.status == "not_found"


def test_written_ipv4_only_database(tmp_path):
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    w = MMDBWriter(ip_version=4, database_type="Test-China-City-v4")
    w.insert_network(IPSet(["101.80.0.0/16"]), _place(SHANGHAI, "Shanghai", "Shanghai"))
    path = tmp_path / "v4.mmdb"
    w.to_db_file(str(path))
    with MmdbDatabase.open(path) as db:
        v4, mapped, v6, bad = db.lookup(["101.80.0.1", "::ffff:101.80.0.1", "240e:3b0::1", "101.80.0.1/32"])
    assert (v4.status, v4.city, v4.network) == ("ok", "Shanghai", "101.80.0.0/16")
    assert (mapped.status, mapped.lon, mapped.network) == ("ok", 121.4737, "101.80.0.0/16")
    assert v6.status == "invalid" and "IPv4-only" in v6.reason
    assert bad.status == "invalid"


def test_default_radius_is_configurable(tmp_path):
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    w = MMDBWriter(ip_version=4, database_type="Test")
    w.insert_network(IPSet(["122.224.0.0/16"]), _place({"latitude": 29.8683, "longitude": 121.544}, "Ningbo", "Zhejiang"))
    path = tmp_path / "r.mmdb"
    w.to_db_file(str(path))
    with MmdbDatabase.open(path, default_radius_m=50_000.0) as db:
        (a,) = db.lookup(["122.224.3.3"])
    assert a.accuracy_radius_m == 50_000.0


def test_copy_has_same_sha256(tmp_path):
    p = tmp_path / "copy.mmdb"
    shutil.copyfile(CITY, p)
    with MmdbDatabase.open(p) as a, MmdbDatabase.open(CITY) as b:
        assert a.sha256 == b.sha256 and a.path != b.path


# --------------------------------------------------------------------------- the pure conversion


def test_record_to_answer_rules():
    city = {"city": {"names": {"zh-CN": "上海"}}, "country": {"iso_code": "CN"},
            "location": {"latitude": 31.23, "longitude": 121.47, "accuracy_radius": 10}}
    a = record_to_answer("q", city, "1.0.0.0/8")
    assert (a.status, a.lon, a.lat, a.accuracy_radius_m, a.city, a.network) == ("ok", 121.47, 31.23, 10_000.0, "上海", "1.0.0.0/8")

    assert record_to_answer("q", None).status == "not_found"
    assert record_to_answer("q", "a string record").status == "no_location"
    assert record_to_answer("q", {}).status == "no_location"

    zero_radius = {**city, "location": {"latitude": 31.23, "longitude": 121.47, "accuracy_radius": 0}}
    r = record_to_answer("q", zero_radius)
    assert (r.status, r.accuracy_radius_m) == ("ok", DEFAULT_RADIUS_M)
    assert "unusable" in r.reason

    for loc in ({"latitude": 95.0, "longitude": 121.0}, {"latitude": 31.0, "longitude": float("nan")},
                {"latitude": "31.2", "longitude": "121.4"}, {"latitude": 31.0}, {"latitude": 0, "longitude": 0}):
        r = record_to_answer("q", {**city, "location": loc})
        assert r.status == "no_location", loc
        assert r.lon is None and r.lat is None and r.accuracy_radius_m is None

    # a postal code is as good as a city name
    postal = {"postal": {"code": "200120"}, "country": {"iso_code": "CN"},
              "subdivisions": [{"iso_code": "SH"}], "location": {"latitude": 31.23, "longitude": 121.47}}
    p = record_to_answer("q", postal)
    assert (p.status, p.subdivision, p.accuracy_radius_m) == ("ok", "CN-SH", DEFAULT_RADIUS_M)

    # continent only (no country) with coordinates: still not a place
    cont = {"continent": {"code": "AS"}, "location": {"latitude": 34.0, "longitude": 100.0, "accuracy_radius": 1000}}
    assert record_to_answer("q", cont).status == "no_location"
