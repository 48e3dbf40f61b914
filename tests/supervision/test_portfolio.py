"""The portfolio: real audits of several operators into portfolio.json / .md / .html, an unusable
input kept in its own row, waivers about to expire, the change since the previous recorded audit,
and a page that fetches nothing."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import yaml
from supervision_fixtures import (
    AS_OF,
    BEIJING,
    BEIJING_ROWS,
    GENERATED_AT,
    SHANGHAI,
    SHANGHAI_ROWS,
    audit_report,
    db_url,
    postgres,
    write_operator,
)

from auditor.errors import UsageError
from auditor.supervision.history import History
from auditor.supervision.portfolio import build_portfolio, expand_sources, expiring_waivers, write_portfolio


@pytest.fixture
def two_operators(tmp_path: Path) -> Path:
    folder = tmp_path / "operators"
    write_operator(folder, "alpha", SHANGHAI, SHANGHAI_ROWS)
    write_operator(folder, "beta", BEIJING, BEIJING_ROWS)
    return folder


def _build(sources: list, **kwargs) -> object:
    return build_portfolio(sources, as_of=AS_OF, generated_at=GENERATED_AT, **kwargs)


def test_two_profiles_in_a_folder_give_two_operators(two_operators: Path, tmp_path: Path) -> None:
    p = _build([two_operators])
    paths = write_portfolio(p, tmp_path / "out")
    assert sorted(x.name for x in paths) == ["portfolio.html", "portfolio.json", "portfolio.md"]
    doc = json.loads((tmp_path / "out" / "portfolio.json").read_text(encoding="utf-8"))
    assert doc["schema"] == "pilot-zone-auditor/portfolio/1"
    rows = {r["operator"]: r for r in doc["operators"]}
    assert list(rows) == [SHANGHAI["name"], BEIJING["name"]]
    alpha, beta = rows[SHANGHAI["name"]], rows[BEIJING["name"]]
    assert alpha["region"] == "shanghai" and beta["region"] == "beijing"
    assert alpha["programme"] == beta["programme"] == "notice-2024-107"
    assert alpha["facilities"] == {"pass": 2, "fail": 2, "indeterminate": 0, "error": 0, "waived": 0}
    assert beta["facilities"] == {"pass": 2, "fail": 1, "indeterminate": 0, "error": 0, "waived": 0}
    assert alpha["failing_rules"]["facility_in_region"] == 2 and beta["failing_rules"] == {"facility_in_region": 1}
    assert alpha["status"] == "audited" and alpha["change"] is None and alpha["recorded_run"] is None
    assert doc["totals"]["operators"] == 2 and doc["totals"]["facility_count"] == 7 and doc["totals"]["failing_operators"] == 2
    md = (tmp_path / "out" / "portfolio.md").read_text(encoding="utf-8")
    assert "| Beta Data (Beijing) Ltd. | beijing | 2026-11-01 | fail | 2 / 1 / 0 / 0 / 0 |" in md


def test_the_page_fetches_nothing_and_draws_each_operators_facilities(two_operators: Path, tmp_path: Path) -> None:
    hostile = dict(SHANGHAI, name='Evil "Corp" <script>alert(1)</script><img src="http://x.example/t.png">')
    write_operator(two_operators, "evil", hostile, SHANGHAI_ROWS[:1])
    write_portfolio(_build([two_operators]), tmp_path / "out", ("html",))
    page = (tmp_path / "out" / "portfolio.html").read_text(encoding="utf-8")
    # static check: no URL a browser would fetch, no script, a CSP that forbids every request
    assert not re.search(r"""(?:src|href|xlink:href|action|data)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"url\(", page) and "@import" not in page and "<script" not in page.lower()
    assert "default-src 'none'" in page and "<link" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and 'src="http' not in page
    markers = re.findall(r'<g class="marker v-(\w+)[^"]*" fill="(#[0-9A-Fa-f]{6})" data-operator="([^"]*)"', page)
    per_operator: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    for _, colour, operator in markers:
        per_operator.setdefault(operator, set()).add(colour)
        counts[operator] = counts.get(operator, 0) + 1
    assert counts[SHANGHAI["name"]] == 4 and counts[BEIJING["name"]] == 3 and len(counts) == 3
    assert all(len(c) == 1 for c in per_operator.values())                       # one colour per operator ...
    assert len({next(iter(c)) for c in per_operator.values()}) == 3              # ... and a different one each
    assert page.count('<svg class="map"') == 2                                  # a map per region: shanghai, beijing
    assert {v for v, _, _ in markers} == {"pass", "fail"}


def test_an_unusable_input_is_kept_in_its_row_and_does_not_stop_the_others(two_operators: Path) -> None:
    (two_operators / "broken.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    (two_operators / "nolist.yaml").write_text(yaml.safe_dump({**BEIJING, "name": "Gamma", "facilities": "missing.csv"}), encoding="utf-8")
    (two_operators / "waivers.yaml").write_text("waivers: []\n", encoding="utf-8")  # a waivers file is not an operator
    p = _build([two_operators])
    rows = {Path(r["source"]).name: r for r in p.rows()}
    assert sorted(rows) == ["alpha.yaml", "beta.yaml", "broken.yaml", "nolist.yaml"]
    assert rows["broken.yaml"]["status"] == "error" and "broken.yaml" in rows["broken.yaml"]["error"]
    assert rows["nolist.yaml"]["status"] == "error" and "missing.csv" in rows["nolist.yaml"]["error"]
    assert rows["alpha.yaml"]["status"] == rows["beta.yaml"]["status"] == "audited"
    assert p.as_dict()["totals"]["unusable"] == 2


def test_waivers_expiring_within_90_days(tmp_path: Path) -> None:
    profile = write_operator(tmp_path, "alpha", SHANGHAI, SHANGHAI_ROWS)
    waivers = tmp_path / "alpha-waivers.yaml"
    waivers.write_text(yaml.safe_dump({"waivers": [
        {"rule": "facility_in_region", "facility": "A-CDN-2", "owner": "netops@example.com", "reason": "moving to Pudong",
         "expires": (AS_OF + dt.timedelta(days=30)).isoformat(), "reference": "CHG-1"},
        {"rule": "*", "facility": "A-CDN-3", "owner": "netops@example.com", "reason": "decommissioning",
         "expires": (AS_OF + dt.timedelta(days=200)).isoformat(), "reference": "CHG-2"},
    ]}), encoding="utf-8")
    p = _build([tmp_path], waivers={str(profile): str(waivers)})
    (row,) = p.rows()
    assert [(w["reference"], w["days_left"], w["subjects"]) for w in row["waivers_expiring"]] == [("CHG-1", 30, ["A-CDN-2"])]
    assert row["facilities"]["waived"] == 1  # A-CDN-3 waived too, but not expiring soon
    with pytest.raises(UsageError, match="does not audit"):
        _build([tmp_path], waivers={str(tmp_path / "other.yaml"): str(waivers)})
    assert expiring_waivers({"as_of": "not a date"}) == []


def test_change_since_the_previous_recorded_audit(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "q3"
    write_operator(folder, "alpha", SHANGHAI, SHANGHAI_ROWS)
    first = _build([folder], db=db_url)
    assert first.rows()[0]["change"] is None and first.rows()[0]["recorded_run"] is not None
    # next quarter: Hangzhou dropped, Xujiahui moved into Pudong
    rows = [r for r in SHANGHAI_ROWS if r[0] != "A-CDN-3"]
    rows = [r if r[0] != "A-CDN-2" else [*r[:4], "上海市浦东新区金桥", 121.5900, 31.2600, "wgs84"] for r in rows]
    write_operator(folder, "alpha", SHANGHAI, rows)
    second = _build([folder], db=db_url)
    change = second.rows()[0]["change"]
    assert change["previous_run"] == first.rows()[0]["recorded_run"]
    assert change["verdicts_delta"]["fail"] == -2 and change["facilities"] == {"fixed": 1, "removed": 1}
    with History(db_url) as db:
        assert len(db.runs(SHANGHAI["name"])) == 2


def test_report_folders_are_read_and_not_recorded_twice(tmp_path: Path) -> None:
    _, report = audit_report(write_operator(tmp_path / "in", "beta", BEIJING, BEIJING_ROWS))
    folder = tmp_path / "reports" / "beta"
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    assert expand_sources([tmp_path / "reports"]) == [(str(folder / "report.json"), "report")]
    db = f"sqlite:///{tmp_path / 'h.db'}"
    once = _build([tmp_path / "reports"], db=db)
    again = _build([tmp_path / "reports"], db=db)
    assert once.rows()[0]["status"] == "read" and once.rows()[0]["facilities"]["fail"] == 1
    assert again.rows()[0]["recorded_run"] == once.rows()[0]["recorded_run"]
    assert "already recorded" in again.rows()[0]["notes"][0]
    with History(db) as h:
        assert len(h.runs()) == 1
    (folder / "report.json").write_text("{not json", encoding="utf-8")
    bad = _build([tmp_path / "reports"])
    assert bad.rows()[0]["status"] == "error" and "report.json" in bad.rows()[0]["error"]


def test_the_same_inputs_give_the_same_bytes(two_operators: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_portfolio(_build([two_operators]), a)
    write_portfolio(_build([two_operators]), b)
    for name in ("portfolio.json", "portfolio.md", "portfolio.html"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
        assert (a / name).stat().st_mode & 0o777 == 0o644


def test_nothing_to_audit_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no operator profile or report"):
        _build([tmp_path])


def test_portfolio_in_headless_chromium(two_operators: Path, tmp_path: Path) -> None:
    """Opened in Debian's Chromium: one marker per located facility, per operator; nothing fetched, nothing run."""
    from system import require_package

    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        require_package("chromium", f"{chromium} (headless Chromium)", "the portfolio page's browser test")
    from playwright.sync_api import sync_playwright

    write_operator(two_operators, "evil", dict(BEIJING, name="Evil <img src=x onerror=alert(1)><script>alert(2)</script>"), BEIJING_ROWS[:1])
    write_portfolio(_build([two_operators]), tmp_path / "out", ("html",))
    page_file = tmp_path / "out" / "portfolio.html"
    requests: list[str] = []
    dialogs: list[str] = []
    errors: list[str] = []
    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=args, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://") else route.abort())
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            per_operator = page.eval_on_selector_all(
                "svg.map g.marker", "gs => gs.reduce((n, g) => (n[g.dataset.operator] = (n[g.dataset.operator] || 0) + 1, n), {})")
            assert per_operator == {SHANGHAI["name"]: 4, BEIJING["name"]: 3, "Evil <img src=x onerror=alert(1)><script>alert(2)</script>": 1}
            assert page.locator("svg.map").count() == 2
            assert page.evaluate("document.querySelectorAll('script, img').length") == 0
            page.screenshot(path=str(tmp_path / "portfolio.png"), full_page=True)
        finally:
            browser.close()
    assert requests == [page_file.as_uri()] and dialogs == [] and errors == [], (requests, dialogs, errors)
    assert (tmp_path / "portfolio.png").stat().st_size > 10_000
