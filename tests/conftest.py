"""Shared fixtures: the registry, and small builders for inventories and profiles on disk."""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import settings as hypothesis_settings

from auditor.regions import load_registry

# Property tests draw the same examples on every run (a seed derived from each test), so a run
# never passes or fails by luck; counterexamples found once are kept with @example.
hypothesis_settings.register_profile("auditor", derandomize=True, database=None)
hypothesis_settings.load_profile("auditor")

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
EXAMPLE = REPO / "examples" / "shanghai-operator" / "operator.yaml"
AS_OF = dt.date(2026, 11, 1)

# Well-known WGS-84 points used across tests.
PUDONG_ZHANGJIANG = (121.5907, 31.2040)
DISHUI_LAKE = (121.9300, 30.9050)
XUJIAHUI = (121.4365, 31.1880)
HANGZHOU = (120.1600, 30.2700)


@pytest.fixture(scope="session")
def registry():
    return load_registry()


def audit_example():
    """A fresh audit of the shipped example operator, run as `make example` runs it (from the repository root)."""
    from auditor.engine import audit

    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        return audit("examples/shanghai-operator/operator.yaml", as_of=AS_OF)
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def example_result():
    """The example operator's audit, shared by a module's tests."""
    return audit_example()


def write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])
    return path


@pytest.fixture
def make_operator(tmp_path):
    """Write a profile and its facility list; returns the profile path."""

    def _make(profile: dict, header: list[str] | None = None, rows: list[list[object]] | None = None) -> Path:
        doc = dict(profile)
        if header is not None:
            write_csv(tmp_path / "facilities.csv", header, rows or [])
            doc.setdefault("facilities", "facilities.csv")
        path = tmp_path / "operator.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        return path

    return _make


# Real local servers (Knot DNS, an RDAP HTTP server) and the loopback guard, for every test module.
pytest_plugins = ["servers.knot", "servers.blackhole", "servers.rdap", "servers.netguard"]


# -- markers: a quick inner loop with `pytest -m "not integration"`; `make test` runs everything --

#: Fixtures that start a real server (Knot DNS, RDAP over HTTP, a hostile or silent DNS socket).
SERVER_FIXTURES = frozenset({"knot_dns", "rdap", "rdap_server", "hostile_dns", "dns_blackhole", "postgres"})
#: Modules whose tests drive whole audits against real servers or fault relays they start themselves.
INTEGRATION_MODULES = frozenset({"test_audit_faults", "test_dns_audit", "test_asn_audit"})
#: Modules that start a browser or a Jupyter kernel, or build and install a wheel.
SLOW_MODULES = frozenset({"test_notebooks", "test_packaging"})


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        module = item.path.stem  # doctest items have no .module
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())) or module in INTEGRATION_MODULES:
            item.add_marker(pytest.mark.integration)
        if "chromium" in item.name:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
        if module in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # noqa: ANN001
    """Say how many tests skipped for a missing system package, per package, and how to install them."""
    from system import MISSING_PREFIX

    per_package: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        if reason.startswith(MISSING_PREFIX):
            package = reason[len(MISSING_PREFIX):].split(":", 1)[0].strip()
            per_package[package] = per_package.get(package, 0) + 1
    if per_package:
        terminalreporter.section("missing system packages")
        for package, n in sorted(per_package.items()):
            terminalreporter.write_line(f"{n} test(s) skipped: Debian package {package} is not installed")
        terminalreporter.write_line(f"install them with: apt-get install -y {' '.join(sorted(per_package))}"
                                    " (or run `make test` as root / with password-less sudo)")
