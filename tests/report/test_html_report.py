"""report.html: escaping of hostile inputs, determinism, self-containedness, and a real browser.

The browser test opens the page in Debian's Chromium (``/usr/bin/chromium``, installed by
``make test``) through Playwright's sync API, with the network shut. Where Chromium cannot be
installed it skips naming the package, and fails under ``CI=true`` (``tests/system.py``).
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import AS_OF, DISHUI_LAKE, HANGZHOU, PUDONG_ZHANGJIANG, REPO, XUJIAHUI, audit_example, write_csv
from system import require_package

from auditor.engine import audit
from auditor.report import FORMATS, plots, render, write_reports

STAMP = "2026-11-01T00:00:00+00:00"
CHROMIUM = Path("/usr/bin/chromium")
# The machine's no-network flags (see .library/env/machines/python.md): without the
# background-networking ones Chromium tries to reach Google's hosts at every start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_ATTR = '" onmouseover="x'
HOSTILE_ROWS = [
    # id, kind, name, address, lon, lat
    ["H1", "CDN", HOSTILE_NAME, "</style><script>alert(4)</script>", *PUDONG_ZHANGJIANG],
    ["H2", "IDC", HOSTILE_ATTR, "' onfocus='y", *DISHUI_LAKE],
    ['"><svg onload=alert(3)>', "<b>CDN</b>", "<img src=x onerror=alert(2)>", "a & b", *XUJIAHUI],
    ["H4", '" data-x="1', "</textarea>\u2028\u2029</script>", "&lt;already&gt;", *HANGZHOU],
]


@pytest.fixture(scope="module")
def example_html(example_result):
    return render(example_result, "html", generated_at=STAMP)


@pytest.fixture
def hostile_result(tmp_path):
    p = write_csv(tmp_path / "hostile.csv", ["id", "kind", "tenure", "name", "address", "lon", "lat", "crs"],
                  [[i, k, "rented", n, a, lon, lat, "wgs84"] for i, k, n, a, lon, lat in HOSTILE_ROWS])
    return audit(p, region="shanghai", as_of=AS_OF)


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside <script> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def _parse(page: str) -> _Tags:
    p = _Tags()
    p.feed(page)
    p.close()
    return p


# -- escaping -------------------------------------------------------------------------------


def test_hostile_strings_render_as_text(hostile_result):
    page = render(hostile_result, "html", generated_at=STAMP)
    assert "<script>alert" not in page
    assert "<img" not in page and "<svg onload" not in page and "<b>CDN</b>" not in page
    assert HOSTILE_ATTR not in page and "' onfocus='" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot; onmouseover=&quot;x" in page
    assert "&amp;lt;already&amp;gt;" in page  # escaped once more, never decoded
    parsed = _parse(page)
    # exactly one script element, ours, and no element grew an event-handler attribute
    assert [t for t, _ in parsed.tags].count("script") == 1
    handlers = [(t, a) for t, attrs in parsed.tags for a in attrs if a.startswith("on")]
    assert handlers == []
    assert all(not a.startswith("data-x") for _, attrs in parsed.tags for a in attrs)
    # the hostile id is intact as data, for the filters and the map
    ids = {attrs.get("data-id") for t, attrs in parsed.tags if "data-id" in attrs}
    assert '"><svg onload=alert(3)>' in ids
    kinds = {attrs.get("data-kind") for t, attrs in parsed.tags if "data-kind" in attrs}
    assert {f.kind for f in hostile_result.facilities} <= kinds  # e.g. '<B>CDN</B>', as the inventory normalised it


def test_script_is_constant_and_allowed_by_hash(example_html, hostile_result):
    hostile = render(hostile_result, "html", generated_at=STAMP)
    assert _parse(example_html).scripts == _parse(hostile).scripts  # no input reaches the script
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', example_html).group(1)
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "unsafe-inline" not in csp.split("script-src")[1]


# -- determinism ----------------------------------------------------------------------------


def test_html_is_deterministic(example_result, example_html):
    again = audit_example()
    assert render(again, "html", generated_at=STAMP) == example_html
    other = render(example_result, "html", generated_at="2020-01-01T00:00:00+00:00")
    assert other != example_html and other.replace("2020-01-01T00:00:00+00:00", STAMP) == example_html


def test_figures_are_byte_stable(example_result):
    a, b = plots.figures(example_result), plots.figures(example_result)
    assert list(a) == ["distance", "evidence", "footprint"]
    for name in a:
        assert plots.figure_svg(a[name]) == plots.figure_svg(a[name]) == plots.figure_svg(b[name])
        assert plots.figure_png(a[name]) == plots.figure_png(b[name])
        assert "Date" not in plots.figure_svg(a[name]) and "<dc:date>" not in plots.figure_svg(a[name])


def test_evidence_agreement_counts(example_result):
    sources, pairs, decided = plots.evidence_agreement(example_result)
    assert sources[:2] == ["declared_coordinates", "admin_fact"]
    agree, contradict = pairs[("declared_coordinates", "admin_fact")]
    assert pairs[("admin_fact", "declared_coordinates")] == (agree, contradict)
    assert contradict >= 1  # SH-CDN-18: stated Pudong, coordinates in Puxi
    assert agree + contradict <= min(decided["declared_coordinates"], decided["admin_fact"])
    shares = plots.footprint_shares(example_result)
    v4 = [s for fam, *_, s in shares if fam == "IPv4"]
    assert abs(sum(v4) - 1.0) < 1e-9


# -- self-contained -------------------------------------------------------------------------


def test_page_is_self_contained(example_html):
    parsed = _parse(example_html)
    refs = [(t, k, v) for t, attrs in parsed.tags for k, v in attrs.items() if k in ("src", "href", "xlink:href", "action", "srcset", "poster")]
    assert refs, "the page should have in-page links"
    assert all(v is not None and v.startswith("#") for _, _, v in refs), [r for r in refs if not (r[2] or "").startswith("#")]
    assert not [t for t, _ in parsed.tags if t in ("link", "img", "iframe", "object", "embed", "base", "image")]
    assert "@import" not in example_html and "@font-face" not in example_html
    assert all(u.startswith("#") for u in re.findall(r"url\(\s*['\"]?([^)'\"]*)", example_html))
    # any http(s) text left is data (a source named in the provenance), never a reference
    for m in re.finditer(r"https?://", example_html):
        before = example_html[max(0, m.start() - 12): m.start()]
        assert not re.search(r"(src|href)\s*=\s*[\"']?$", before)


def test_html_has_every_facility_and_section(example_result, example_html):
    parsed = _parse(example_html)
    rows = [a["data-facility"] for t, a in parsed.tags if t == "tr" and "data-verdict" in a]
    assert sorted(rows) == sorted(f.id for f in example_result.facilities)
    for section in ("summary", "map-section", "operator", "facilities", "findings", "footprint", "provenance"):
        assert f'id="{section}"' in example_html
    assert "@media print" in example_html
    for d in example_result.data_sources:
        assert d.sha256 in example_html


def test_write_reports_html_and_figures(example_result, tmp_path):
    assert "html" in FORMATS and FORMATS[:4] == ("json", "md", "csv", "geojson")
    plain = write_reports(example_result, tmp_path / "plain", ("json", "md", "html"), generated_at=STAMP)
    assert [p.name for p in plain] == ["report.json", "report.md", "report.html"]
    assert (tmp_path / "plain" / "report.md").read_text(encoding="utf-8") == render(example_result, "md", generated_at=STAMP)
    steps = []
    out = write_reports(example_result, tmp_path / "fig", ("md",), generated_at=STAMP, figures=True, progress=lambda *a: steps.append(a))
    names = sorted(p.relative_to(tmp_path / "fig").as_posix() for p in out)
    assert "figures/distance.svg" in names and "figures/footprint.png" in names and "report.md" in names
    md = (tmp_path / "fig" / "report.md").read_text(encoding="utf-8")
    assert md.index("## Figures") < md.index("## Provenance")
    assert "![Distance to the boundary](figures/distance.svg)" in md
    assert (tmp_path / "fig" / "figures" / "distance.png").read_bytes().startswith(b"\x89PNG")
    assert steps[-1] == ("write reports", 2, 2)


# -- a real browser -------------------------------------------------------------------------


def _browser():
    if not CHROMIUM.exists():
        require_package("chromium", f"{CHROMIUM} (headless Chromium)", "the HTML report's browser test")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        pytest.fail("playwright is missing: pip install -e '.[test]'", pytrace=False)
    return sync_playwright


class _Page:
    """A page with every request, console error and dialog recorded; requests off file:// are aborted."""

    def __init__(self, browser, url: str) -> None:
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://") else route.abort())
        self.page.goto(url)
        self.page.wait_for_load_state("load")


def _visible_rows(page, table: str, key: str) -> list[str]:
    return page.eval_on_selector_all(
        f"#{table} tbody tr", f"rows => rows.filter(r => r.getClientRects().length > 0).map(r => r.getAttribute('data-{key}'))"
    )


def test_report_in_headless_chromium(example_result, example_html, hostile_result, tmp_path):
    sync_playwright = _browser()
    report = tmp_path / "report.html"
    report.write_text(example_html, encoding="utf-8")
    hostile = tmp_path / "hostile.html"
    hostile.write_text(render(hostile_result, "html", generated_at=STAMP), encoding="utf-8")
    located = int(example_result.facilities_frame().geometry.notna().sum())

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            view = _Page(browser, report.as_uri())
            page = view.page
            # one marker per facility with a point
            assert page.locator("#map [data-id]").count() == located
            assert page.locator("#map .part").count() == len(example_result.region.parts)
            # the status filter: only failing findings stay visible
            total = page.locator("#finding-table tbody tr").count()
            page.select_option("#filter-finding-table-status", "fail")
            shown = _visible_rows(page, "finding-table", "status")
            fails = sum(1 for x in example_result.all_findings if x.status.value == "fail")
            assert shown == ["fail"] * fails and 0 < fails < total
            assert page.locator('[data-count-for="finding-table"]').inner_text() == f"{fails} of {total} rows shown"
            page.select_option("#filter-finding-table-status", "indeterminate")
            assert set(_visible_rows(page, "finding-table", "status")) == {"indeterminate"}
            # rule and kind filters combine
            page.select_option("#filter-finding-table-status", "")
            page.select_option("#filter-finding-table-rule", "cdn_nodes_in_region")
            page.select_option("#filter-finding-table-kind", "CDN")
            assert set(_visible_rows(page, "finding-table", "rule")) == {"cdn_nodes_in_region"}
            assert page.locator("#map .marker.dim").count() == located - page.locator('#map [data-kind="CDN"]').count()
            # a click on a marker shows that facility's findings
            page.click("#clear-filters")
            page.click('#map [data-id="SH-IDC-14"]')
            assert set(_visible_rows(page, "finding-table", "facility")) == {"SH-IDC-14"}
            # the facility table's verdict filter
            page.select_option("#filter-facility-table-verdict", "error")
            assert _visible_rows(page, "facility-table", "verdict") == ["error", "error"]
            page.select_option("#filter-facility-table-verdict", "")
            page.click("#clear-filters")
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(tmp_path / "report.png"))
            page.screenshot(path=str(tmp_path / "report-full.png"), full_page=True)
            assert view.errors == [], view.errors
            assert view.requests == [report.as_uri()], view.requests

            # hostile names are text in the browser too: nothing runs, nothing is fetched
            bad = _Page(browser, hostile.as_uri())
            cells = bad.page.eval_on_selector_all("#facility-table tbody tr td:nth-child(5)", "tds => tds.map(t => t.textContent)")
            assert HOSTILE_NAME in cells and HOSTILE_ATTR in cells
            bad.page.hover('#map [data-id="H2"]')
            assert bad.page.evaluate("document.querySelectorAll('script').length") == 1
            assert bad.dialogs == [] and bad.errors == [], (bad.dialogs, bad.errors)
            assert bad.requests == [hostile.as_uri()], bad.requests
        finally:
            browser.close()
    assert (tmp_path / "report.png").stat().st_size > 10_000
