"""Operators on disk, real audits of them, and history databases (SQLite file or PostgreSQL) for the
supervision tests.

``db_url`` is parametrised: each test that takes it runs against a SQLite file in its tmp folder
and against a fresh database on the session's real PostgreSQL server (``servers.postgres``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import write_csv
from servers.postgres import postgres  # noqa: F401  (the fixture, by name)

AS_OF = dt.date(2026, 11, 1)
GENERATED_AT = "2026-11-01T08:00:00+00:00"
HEADER = ["id", "kind", "tenure", "name", "address", "lon", "lat", "crs"]

#: A Shanghai operator: Zhangjiang (Pudong) and Dishui Lake (Lingang) pass, Xujiahui (Puxi) and Hangzhou fail.
SHANGHAI = {
    "name": "Alpha Cloud (Shanghai) Co., Ltd.", "region": "shanghai", "services": ["IDC", "CDN"], "foreign_equity_pct": 100,
    "registration": {"address": "上海市浦东新区张江高科技园区", "lon": 121.5907, "lat": 31.2040, "crs": "wgs84"},
}
SHANGHAI_ROWS = [
    ["A-IDC-1", "IDC", "owned", "Zhangjiang DC", "上海市浦东新区张江", 121.5907, 31.2040, "wgs84"],
    ["A-CDN-1", "CDN", "rented", "Dishui Lake edge", "上海市浦东新区临港", 121.9300, 30.9050, "wgs84"],
    ["A-CDN-2", "CDN", "rented", "Xujiahui edge", "上海市徐汇区", 121.4365, 31.1880, "wgs84"],
    ["A-CDN-3", "CDN", "rented", "Hangzhou edge", "浙江省杭州市", 120.1600, 30.2700, "wgs84"],
]
#: A Beijing operator: Tiananmen and Zhongguancun pass, Langfang (Hebei) fails.
BEIJING = {
    "name": "Beta Data (Beijing) Ltd.", "region": "beijing", "services": ["IDC"], "foreign_equity_pct": 60,
    "registration": {"address": "北京市海淀区中关村大街1号", "lon": 116.3160, "lat": 39.9840, "crs": "wgs84"},
}
BEIJING_ROWS = [
    ["B-IDC-1", "IDC", "owned", "Zhongguancun DC", "北京市海淀区", 116.3160, 39.9840, "wgs84"],
    ["B-IDC-2", "IDC", "rented", "Dongcheng DC", "北京市东城区", 116.3975, 39.9087, "wgs84"],
    ["B-IDC-3", "IDC", "rented", "Langfang DC", "河北省廊坊市", 116.7000, 39.5200, "wgs84"],
]


def write_operator(folder: Path, stem: str, profile: dict[str, Any], rows: list[list[Any]]) -> Path:
    """``folder/stem.yaml`` naming ``folder/stem.csv``; returns the profile's path."""
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / f"{stem}.csv", HEADER, rows)
    path = folder / f"{stem}.yaml"
    path.write_text(yaml.safe_dump({**profile, "facilities": f"{stem}.csv"}, allow_unicode=True), encoding="utf-8")
    return path


def audit_report(profile: Path, as_of: dt.date = AS_OF) -> tuple[Any, dict[str, Any]]:
    """A real audit of ``profile`` and its report.json mapping."""
    from auditor.engine import audit
    from auditor.report.json_report import build_report

    result = audit(profile, as_of=as_of)
    return result, build_report(result, generated_at=GENERATED_AT)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A history database URL: a SQLite file, or an empty database on the loopback PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    server = request.getfixturevalue("postgres")
    return str(server.new_database())
