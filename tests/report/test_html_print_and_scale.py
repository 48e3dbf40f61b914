"""report.html for print and for large lists (issue 18, item 4): properties of the page, not timings."""

from __future__ import annotations

import random
import re

import pytest
from conftest import AS_OF, write_csv

from auditor.engine import audit
from auditor.report import render
from auditor.report.html_report import DETAIL_LIMIT, LIST_LIMIT
from auditor.report.json_report import VERDICT_ORDER

STAMP = "2026-11-28T19:30:49+00:00"
ROWS = 20_000


def _rows(page: str, table: str) -> list[str]:
    body = page.split(f'<table id="{table}">', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    return re.findall(r"<tr[ >][^>]*>", body)


def test_example_prints_the_summary_and_what_needs_action(example_result):
    page = render(example_result, "html", generated_at=STAMP, lang="en")
    rows = _rows(page, "facility-table")
    assert len(rows) == len(example_result.facilities)  # a small list: every row on screen ...
    passing = [r for r in rows if 'data-verdict="pass"' in r]
    assert passing and all('class="passing"' in r for r in passing)  # ... passes marked to be left out of print
    assert not any('class="passing"' in r for r in rows if 'data-verdict="pass"' not in r)
    css = page.split("@media print{", 1)[1]
    assert "tr.passing{display:none}" in css and "@page{size:A4" in css
    n = sum(1 for f in example_result.facilities if example_result.facility_verdict(f).value == "pass")
    assert f'<p class="print-only">{n} facilities passed: not printed here' in page  # counted in print
    finding_rows = _rows(page, "finding-table")
    assert any('class="passing"' in r for r in finding_rows)  # the findings of passing facilities are not printed either


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """20,000 facilities around Pudong, about one in eight in Puxi (outside)."""
    rng = random.Random(18)
    rows = []
    for i in range(ROWS):
        inside = rng.random() < 0.88
        lon, lat = (rng.uniform(121.55, 121.85), rng.uniform(30.9, 31.3)) if inside else (rng.uniform(121.2, 121.45), rng.uniform(31.1, 31.3))
        rows.append([f"F{i:05d}", "IDC", "owned", f"site {i}", f"{lon:.5f}", f"{lat:.5f}", "wgs84"])
    path = write_csv(tmp_path_factory.mktemp("large") / "facilities.csv", ["id", "kind", "tenure", "name", "lon", "lat", "crs"], rows)
    return audit(path, region="shanghai", as_of=AS_OF)


def test_a_20000_row_report_lists_what_did_not_pass_and_points_to_the_tables(large):
    verdicts = {f.id: large.facility_verdict(f).value for f in large.facilities}
    not_passed = sorted((f for f in large.facilities if verdicts[f.id] != "pass"), key=lambda f: (VERDICT_ORDER[verdicts[f.id]], f.row))
    assert len(large.facilities) == ROWS > LIST_LIMIT and len(not_passed) > DETAIL_LIMIT  # the data exercise the cap
    page = render(large, "html", generated_at=STAMP, lang="zh-CN")
    rows = _rows(page, "facility-table")
    listed = [re.search(r'data-facility="([^"]+)"', r).group(1) for r in rows]
    assert len(listed) == DETAIL_LIMIT and not any(verdicts[i] == "pass" for i in listed)
    assert listed == [f.id for f in not_passed[:DETAIL_LIMIT]]  # failing first, each verdict in row order
    finding_rows = _rows(page, "finding-table")
    assert all(re.search(r'data-status="(fail|indeterminate|waived)"', r) for r in finding_rows if "(operator)" not in r)
    assert "facilities.csv, report.xlsx" in page and f"{ROWS:,}" in page
    # every located facility is on the map: a marker for each listed one, a dot for every other
    markers = len(re.findall(r'<g class="marker ', page))
    dots = sum(d.count("h0") for d in re.findall(r'<path class="dots v-[a-z]+" d="([^"]*)"', page))
    assert markers == DETAIL_LIMIT and markers + dots == ROWS
    assert len(page.encode("utf-8")) < 5_000_000


def test_the_threshold_is_the_number_of_facilities(large):
    """Up to LIST_LIMIT facilities the page lists every row; above it, only what did not pass."""
    from dataclasses import replace

    small = replace(large, facilities=large.facilities[:LIST_LIMIT])
    rows = _rows(render(small, "html", generated_at=STAMP), "facility-table")
    assert len(rows) == LIST_LIMIT
