"""The workbench is safe by default: input strings stay text, uploads are capped and never name a
path, forms need their CSRF token, the Host header must name this server, pages carry a strict CSP,
every asset comes from the package, and `auditor serve` listens on loopback only unless told."""

from __future__ import annotations

import re
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import click
from click.testing import CliRunner
from starlette.testclient import TestClient
from web_fixtures import BASE, LINGANG, Bench, bench, csrf_of, small_list

from auditor.cli.serve import register, serve
from auditor.web import create_app
from auditor.web.app import CSP

HOSTILE_NAME = "<svg onload=alert(1)>名单.csv"
HOSTILE_CELL = '<img src=x onerror=alert("cell")>'


def test_a_hostile_file_name_and_cell_stay_text_on_every_page(bench):
    body = small_list(f'evil,IDC,"{HOSTILE_CELL.replace(chr(34), chr(34) * 2)}",121.93,30.905,wgs84', LINGANG)
    uid = bench.upload_list(HOSTILE_NAME, body)
    stored = sorted(p.name for p in next(Path(bench.app.state.workdir).glob(f"session-*/upload-{uid}")).iterdir())
    assert stored == ["list.csv"]   # the browser's name is shown, never used as a path
    review = bench.client.get(f"/review/{uid}").text
    assert "&lt;svg onload=alert(1)&gt;名单.csv" in review
    assert "&lt;img src=x onerror=alert(&#34;cell&#34;)&gt;" in review
    jid = bench.audit(uid)
    pages = [review, bench.client.get(f"/jobs/{jid}", follow_redirects=True).text, bench.client.get(f"/results/{jid}/facility/0").text]
    for page in pages:
        assert "<svg" not in page and "<img src=x" not in page and "onerror=alert(\"" not in page
    results = pages[1]
    assert "&lt;img src=x onerror=alert(&#34;cell&#34;)&gt;" in results
    # the map's data is JSON, the cell a JSON string the script sets with textContent
    doc = bench.client.get(f"/results/{jid}/map.json").json()
    assert doc["facilities"][0]["name"] == HOSTILE_CELL


def test_a_hostile_name_of_a_refused_type_is_escaped_in_the_error(bench):
    r = bench.upload({"file": ("<b onmouseover=x()>list.exe", b"id\n1\n")}, region="shanghai")
    assert r.status_code == 400
    assert "&lt;b onmouseover=" in r.text and "<b onmouseover" not in r.text and "not a type the workbench reads" in r.text


def test_an_oversized_upload_is_refused_and_nothing_is_kept(tmp_path):
    app = create_app(workdir=tmp_path, max_upload_bytes=4096)
    with TestClient(app, base_url=BASE) as client:
        b = Bench(client, app)
        big = small_list(*[LINGANG.replace("in-lingang", f"site-{i:05d}") for i in range(200)])
        assert len(big) > 4096 + 256 * 1024 or len(big) > 4096
        r = b.upload({"file": ("big.csv", big)}, region="shanghai")
        assert r.status_code == 413
        assert not list(tmp_path.glob("session-*/upload-*"))   # no upload folder left behind
        small = b.upload({"file": ("small.csv", small_list(LINGANG))}, region="shanghai")
        assert small.status_code == 200 and "/review/" in str(small.url)   # the same session goes on


def test_a_list_longer_than_the_workbench_audits_is_refused_and_nothing_is_kept(tmp_path):
    """The workbench holds an audit in memory: a list of more rows than it is set to audit is refused at
    upload (with the command line to use), not audited until the server runs out of memory."""
    app = create_app(workdir=tmp_path, max_list_rows=100)
    with TestClient(app, base_url=BASE) as client:
        b = Bench(client, app)
        long_list = small_list(*[LINGANG.replace("in-lingang", f"site-{i:05d}") for i in range(100)])  # 101 lines
        r = b.upload({"file": ("long.csv", long_list)}, region="shanghai")
        assert r.status_code == 400
        assert "the list has over 100 rows" in r.text and "auditor audit long.csv" in r.text
        assert not list(tmp_path.glob("session-*/upload-*"))
        profile = b"name: Long\nregion: shanghai\nfacilities: long.csv\n"
        r = b.upload({"file": ("operator.yaml", profile), "list_file": ("long.csv", long_list)})
        assert r.status_code == 400 and "the list has over 100 rows" in r.text
        fits = small_list(*[LINGANG.replace("in-lingang", f"site-{i:05d}") for i in range(99)])  # the header and 99 rows
        assert b.upload_list("fits.csv", fits)


def test_a_request_body_larger_than_it_says_is_cut_off(tmp_path):
    app = create_app(workdir=tmp_path, max_upload_bytes=1024)
    with TestClient(app, base_url=BASE) as client:
        csrf = csrf_of(client.get("/").text)

        def chunks():
            yield b"--x\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + csrf.encode() + b"\r\n"
            for _ in range(400):
                yield b"A" * 1024

        r = client.post("/upload", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"})
        assert r.status_code == 413


def test_forms_need_the_session_csrf_token(bench):
    r = bench.client.post("/upload", data={"csrf": "forged", "region": "shanghai"},
                          files={"file": ("a.csv", small_list(LINGANG), "text/csv")})
    assert r.status_code == 403
    fresh = TestClient(bench.app, base_url=BASE)   # another browser: no session cookie
    r = fresh.post("/upload", data={"csrf": bench.csrf}, files={"file": ("a.csv", small_list(LINGANG), "text/csv")})
    assert r.status_code == 403


def test_the_host_header_must_name_this_server(bench):
    assert bench.client.get("/", headers={"host": "attacker.example"}).status_code == 400
    assert bench.client.get("/", headers={"host": "127.0.0.1:8080"}).status_code == 200
    assert bench.client.get("/", headers={"host": "localhost:8080"}).status_code == 200


def test_pages_carry_a_strict_policy_and_load_nothing_from_elsewhere(bench):
    r = bench.client.get("/")
    assert r.headers["content-security-policy"] == CSP and "default-src 'self'" in CSP and "unsafe-inline" not in CSP
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    cookie = r.headers.get("set-cookie", "") or ""
    assert bench.client.cookies.get("auditor_session")
    assert "samesite=strict" in cookie.lower() or not cookie   # set on the first page of the module's client
    templates = Path(__file__).resolve().parents[2] / "auditor" / "web" / "templates"
    for page in templates.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), page.name
        assert "<script>" not in text and " on" + "click=" not in text and "style=" not in text, page.name
    for asset in ("/static/leaflet/leaflet.js", "/static/leaflet/leaflet.css", "/static/workbench.js", "/static/workbench.css",
                  "/static/leaflet/images/layers.png"):
        assert bench.client.get(asset).status_code == 200, asset
    assert "innerHTML" not in bench.client.get("/static/workbench.js").text


def test_the_language_switch_sets_a_cookie_and_goes_back_only_to_this_server(bench):
    r = bench.client.get("/lang/zh-CN", params={"next": "/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "上传设施清单" in bench.client.get("/").text
    away = bench.client.get("/lang/en", params={"next": "//attacker.example/"}, follow_redirects=False)
    assert away.headers["location"] == "/"
    assert "Upload a facility list" in bench.client.get("/").text


def test_every_label_in_the_templates_has_a_chinese_word():
    from auditor.web.i18n import ZH

    templates = Path(__file__).resolve().parents[2] / "auditor" / "web" / "templates"
    used = set()
    for page in templates.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*"([^"]+)"\s*\)""", page.read_text(encoding="utf-8")))
        used |= set(re.findall(r"""\bt\(\s*'([^']+)'\s*\)""", page.read_text(encoding="utf-8")))
    assert len(used) > 50
    assert sorted(used - set(ZH)) == []


def test_the_package_data_globs_carry_every_page_and_asset():
    root = Path(__file__).resolve().parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]["auditor.web"]
    web = root / "auditor" / "web"
    files = [p.relative_to(web).as_posix() for folder in ("templates", "static") for p in (web / folder).rglob("*")
             if p.is_file() and "__pycache__" not in p.parts]
    assert {"static/leaflet/leaflet.js", "static/leaflet/LICENSE", "templates/results.html"} <= set(files)
    assert [f for f in files if not any(fnmatch(f, g) and f.count("/") == g.count("/") for g in globs)] == []


def _cli() -> click.Group:
    group = click.Group("auditor")
    register(group)
    return group


def test_serve_refuses_a_host_beyond_loopback_without_allow_remote():
    for host in ("0.0.0.0", "192.168.1.5", "::", "example.org"):
        r = CliRunner().invoke(_cli(), ["serve", "--host", host, "--port", "0"])
        assert r.exit_code == 2, (host, r.output)
        assert "not a loopback address" in r.output and "--allow-remote" in r.output


def test_serve_without_the_web_extra_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)   # as if the package were not installed
    r = CliRunner().invoke(serve, ["--port", "0"])
    assert r.exit_code == 2
    assert "uvicorn" in r.output and "pip install 'pilot-zone-auditor[web]'" in r.output
