"""Fixtures for the workbench tests: a TestClient on a real application, real uploads and audits in its
worker thread, on no socket at all (the client calls the ASGI app in process)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the web extra: pip install 'pilot-zone-auditor[web]'")
pytest.importorskip("httpx2", reason="Starlette's TestClient needs httpx2 (the test extra)")

from starlette.testclient import TestClient  # noqa: E402

from auditor.web import create_app  # noqa: E402

BASE = "http://127.0.0.1"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


class Bench:
    """A TestClient on a workbench, with the steps a person takes."""

    def __init__(self, client: TestClient, app: Any) -> None:
        self.client, self.app = client, app
        self.csrf = csrf_of(client.get("/").text)

    def upload(self, files: dict[str, tuple[str, bytes]], **data: str) -> Any:
        return self.client.post("/upload", data={"csrf": self.csrf, **data},
                                files={k: (name, body, "application/octet-stream") for k, (name, body) in files.items()})

    def upload_list(self, name: str, body: bytes, region: str = "shanghai", **data: str) -> str:
        r = self.upload({"file": (name, body)}, region=region, as_of="2026-11-01", **data)
        assert r.status_code == 200 and "/review/" in str(r.url), r.text
        return str(r.url).rsplit("/", 1)[1]

    def audit(self, uid: str) -> str:
        """Start the audit of an upload and wait for its worker thread; returns the job id."""
        r = self.client.post(f"/audit/{uid}", data={"csrf": self.csrf}, follow_redirects=False)
        assert r.status_code == 303, r.text
        jid = r.headers["location"].rsplit("/", 1)[1]
        self.job(jid).thread.join()
        return jid

    def job(self, jid: str) -> Any:
        return next(s.jobs[jid] for s in self.app.state.store._sessions.values() if jid in s.jobs)


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    work = tmp_path_factory.mktemp("web")
    app = create_app(db_url=f"sqlite:///{work / 'history.db'}", workdir=work / "sessions")
    with TestClient(app, base_url=BASE) as client:
        yield Bench(client, app)


def small_list(*rows: str, header: str = "id,kind,name,lon,lat,crs") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


LINGANG = "in-lingang,IDC,Dishui Lake DC,121.93,30.905,wgs84"
PUXI = "in-puxi,IDC,Xujiahui DC,121.4365,31.188,wgs84"
BROKEN = "broken,CDN,Bad row,321.0,31.2,wgs84"


@pytest.fixture(scope="module")
def example_list() -> bytes:
    from conftest import REPO

    return (REPO / "examples" / "shanghai-operator" / "facilities.csv").read_bytes()


def tmp_path_of(bench: Bench) -> Path:
    return Path(bench.app.state.workdir)
