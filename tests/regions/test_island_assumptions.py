"""Units that straddle ``hainan`` only by islands apart from Hainan Island (issue 19).

Wenchang administers the Qizhou islands and Lingshui one islet, both left out of the default
region, so "海南省文昌市龙楼镇" used to be indeterminate though 龙楼镇 is on the island. The
relation table now marks such units ``islands`` (geometry: every part outside the core is an
island that does not touch it), and ``regions.yaml`` holds, per unit, the reviewed assumption
that a place named by the unit alone is on the island (``admin_assumptions``). The finding's
reason states the assumption; a unit with ``islands`` but no reviewed assumption (Danzhou, whose
island is the inhabited 海花岛) stays indeterminate.
"""

from __future__ import annotations

import csv
import shutil

import pytest
import yaml
from conftest import REPO

from auditor.errors import DataError
from auditor.geo.containment import Verdict
from auditor.regions import load_registry
from auditor.resolve.address import parse_address, relation_for_parse

BOUNDARIES = REPO / "boundaries"


def rows() -> list[dict[str, str]]:
    with open(BOUNDARIES / "admin-relations.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_every_assumption_rests_on_islands_in_the_table(registry):
    """An assumption is only sound while the unit's land outside the region is islands apart from it."""
    for rid in registry.region_ids:
        for code in registry.admin_assumptions(rid):
            listed = {r["relation"] for r in rows() if r["region"] == rid and r["adcode"] == code}
            assert listed and listed <= {"islands", "inside"}, (rid, code, listed)
            assert "islands" in listed, (rid, code)


def test_which_hainan_counties_straddle_only_by_islands(registry):
    """Checked against the geometry by the build: Danzhou, Wenchang and Lingshui, nothing else below province level."""
    islands = {r["adcode"] for r in rows() if r["region"] == "hainan" and r["options"] == "include_islets=0;include_sansha=0"
               and r["relation"] == "islands"}
    assert islands == {"460000", "460400", "469005", "469028"}
    assert set(registry.admin_assumptions("hainan")) == {"469005", "469028"}  # Danzhou deliberately not
    assert not any(r["relation"] == "straddles" for r in rows() if r["region"] == "hainan")


@pytest.mark.parametrize("adcode, name", [("469005", "文昌市"), ("469028", "陵水黎族自治县")])
def test_island_county_counts_as_inside_and_says_it_assumes(registry, adcode, name):
    verdict, reason = registry.region("hainan").admin_relation(adcode)
    assert verdict is Verdict.INSIDE
    assert reason.startswith(f"{name} is taken to be inside hainan")
    assert "assumption:" in reason and "no islet named" in reason and "Hainan Island" in reason


def test_wholly_inside_county_needs_no_assumption(registry):
    verdict, reason = registry.region("hainan").admin_relation("469027")  # 乐东黎族自治县, Ledong
    assert verdict is Verdict.INSIDE
    assert reason == "乐东黎族自治县 lies wholly inside hainan"


def test_islands_without_a_reviewed_assumption_stay_indeterminate(registry):
    verdict, reason = registry.region("hainan").admin_relation("460400")  # 儋州市: 海花岛 is inhabited
    assert verdict is Verdict.INDETERMINATE and "islands apart from it" in reason and "海花岛" in reason
    verdict, _ = registry.region("hainan").admin_relation("460000")  # the province: Sansha
    assert verdict is Verdict.INDETERMINATE


def test_with_the_islets_option_the_county_is_simply_inside(registry):
    verdict, reason = registry.region("hainan", {"include_islets": True}).admin_relation("469005")
    assert verdict is Verdict.INSIDE and reason == "文昌市 lies wholly inside hainan"


def test_text_that_names_an_islet_is_not_covered_by_the_assumption(registry):
    region = registry.region("hainan")
    verdict, reason = region.admin_relation("469005", text="海南省文昌市七洲列岛北峙岛")
    assert verdict is Verdict.INDETERMINATE and "七洲列岛" in reason
    assert region.admin_relation("469005", text="海南省文昌市龙楼镇")[0] is Verdict.INSIDE
    # with the islets in the region, naming one is no reason for doubt
    assert registry.region("hainan", {"include_islets": True}).admin_relation("469005", text="文昌市七洲列岛")[0] is Verdict.INSIDE


@pytest.mark.parametrize(
    "address, expected",
    [
        ("海南省文昌市龙楼镇", Verdict.INSIDE),            # a mainland town of Wenchang
        ("海南省陵水黎族自治县", Verdict.INSIDE),          # the county alone
        ("海南省乐东黎族自治县抱由镇", Verdict.INSIDE),     # wholly inside, no assumption needed
        ("海南省儋州市那大镇", Verdict.INDETERMINATE),      # Danzhou: no reviewed assumption
    ],
)
def test_addresses(registry, address, expected):
    parse = parse_address(address, registry)
    verdict, reason = relation_for_parse(parse, registry.region("hainan"))
    assert verdict is expected, reason
    if parse.unit is not None and parse.unit.adcode in ("469005", "469028"):
        assert "assumption" in reason


def test_a_malformed_assumption_is_a_clear_error(tmp_path):
    root = tmp_path / "b"
    shutil.copytree(BOUNDARIES, root)
    doc = yaml.safe_load((root / "regions.yaml").read_text(encoding="utf-8"))
    doc["regions"]["hainan"]["admin_assumptions"][0]["source"] = "hearsay"
    (root / "regions.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_registry(root)
    assert "hearsay" in str(e.value) and "469005" in str(e.value)
    doc["regions"]["hainan"]["admin_assumptions"][0]["source"] = "issue-19"
    del doc["regions"]["hainan"]["admin_assumptions"][0]["assumption"]
    (root / "regions.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_registry(root)
    assert "'assumption'" in str(e.value)


# --- the build's rule for 'islands' (scripts/build_admin_table.py), on a catalogue of tiny shapes -------
def _build_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_admin_table", REPO / "scripts" / "build_admin_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_islands_rule_tells_islands_from_land_across_a_line():
    from shapely.geometry import box

    build = _build_script()
    core = box(0, 0, 10_000, 10_000)  # metres, as the build measures
    mainland = box(2_000, 2_000, 4_000, 4_000)
    islet = box(15_000, 0, 15_300, 300)
    # a county on the island holding an islet 5 km off: islands, and the islet is what lies outside
    parts = build.detached_parts(shapely_union(mainland, islet), core)
    assert parts is not None and [round(p.area) for p in parts] == [90_000]
    # land across the line (Fengxian across the Jinhui cut) touches the core: not islands
    assert build.detached_parts(box(8_000, 0, 12_000, 2_000), core) is None
    # a unit wholly outside the core (Haifeng in Shenshan's envelope) is not 'islands' either
    assert build.detached_parts(islet, core) is None


def shapely_union(*geoms):
    import shapely

    return shapely.union_all(list(geoms))
