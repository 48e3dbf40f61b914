"""IP data that ages honestly: an audit long after its IP database was built says so."""

from __future__ import annotations

import datetime as dt

from conftest import DISHUI_LAKE, write_csv

from auditor.engine import audit
from auditor.engine.judge import MAX_IP_DATA_AGE_DAYS, data_age_notes
from auditor.regions import DataSource
from auditor.resolve.ipgeo.xdb import XdbDatabase


def test_only_ip_databases_older_than_a_year_are_named():
    sources = [
        DataSource("ip2region", "a.xdb", "x", "2024-02-28T02:32:38Z (xdb 2)"),
        DataSource("mmdb", "b.mmdb", "y", "GeoLite2-City 2026-10-01"),
        DataSource("asn_table", "c.dat", "z", "2014-05-13"),  # not an IP-location database
        DataSource("mmdb", "d.mmdb", "w", "undated"),
    ]
    notes = data_age_notes(sources, dt.date(2026, 11, 1))
    assert len(notes) == 1 and "a.xdb" in notes[0] and "2024-02-28" in notes[0] and "2.7 years" in notes[0]
    boundary = dt.date(2024, 2, 28) + dt.timedelta(days=MAX_IP_DATA_AGE_DAYS)
    assert data_age_notes(sources[:1], boundary) == []
    assert len(data_age_notes(sources[:1], boundary + dt.timedelta(days=1))) == 1


def test_an_audit_two_years_after_the_build_warns(tmp_path):
    built = dt.date.fromisoformat(XdbDatabase.load().version[:10])
    path = write_csv(tmp_path / "f.csv", ["id", "kind", "lon", "lat", "crs", "ip"], [["A", "IDC", *DISHUI_LAKE, "wgs84", "58.34.1.1"]])
    late = audit(path, region="shanghai", as_of=built + dt.timedelta(days=730))
    assert [w for w in late.warnings if "The IP database ip2region" in w and built.isoformat() in w]
    early = audit(path, region="shanghai", as_of=built + dt.timedelta(days=30))
    assert not [w for w in early.warnings if "The IP database" in w]
