"""The package installs like a Python package: an sdist and a wheel built from the checkout carry every
data file, and the installed wheel audits from a folder outside the checkout.

Offline: the sdist and wheel are built without build isolation (``build`` and ``setuptools`` come
with the test extras), the wheel goes into a fresh virtual environment with ``pip --no-index``, and
that environment borrows the test environment's third-party packages through a ``.pth`` line, which
adds the folder to ``sys.path`` but does not run the editable install's finder inside it: ``auditor``
can only come from the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import REPO, write_csv

#: What a build needs from the checkout (what MANIFEST.in and setup.py name).
SOURCES = ("auditor", "boundaries", "setup.py", "pyproject.toml", "MANIFEST.in", "README.md", "LICENSE", "NOTICE")


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An sdist built from a copy of the checkout, and a wheel built from that sdist."""
    work = tmp_path_factory.mktemp("pkg")
    src = work / "src"
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(source, src / name)
    out = work / "dist"
    built = _run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out), str(src)], cwd=work)
    assert built.returncode == 0, built.stdout + built.stderr
    (sdist,) = out.glob("*.tar.gz")
    wheel = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                  "--wheel-dir", str(out), str(sdist)], cwd=work)
    assert wheel.returncode == 0, wheel.stdout + wheel.stderr
    (whl,) = out.glob("*.whl")
    return {"sdist": sdist, "wheel": whl}


@pytest.fixture(scope="module")
def installed(dists: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; returns its bin folder."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    env_python = env_dir / "bin" / "python"
    site = Path(_run([str(env_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=env_dir).stdout.strip())
    (site / "_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    done = _run([sys.executable, "-m", "pip", "--python", str(env_python), "install", "--no-deps", "--no-index",
                 str(dists["wheel"])], cwd=env_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    return env_dir / "bin"


def _outside_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "AUDITOR_BOUNDARIES", "VIRTUAL_ENV"}}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _boundary_files() -> set[str]:
    return {p.name for p in (REPO / "boundaries").iterdir() if p.is_file()}


def test_sdist_carries_the_boundaries_and_the_attributions(dists: dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as tar:
        names = {Path(*Path(n).parts[1:]).as_posix() for n in tar.getnames()}
    assert {f"boundaries/{f}" for f in _boundary_files()} <= names
    assert {"setup.py", "LICENSE", "NOTICE", "auditor/data/clauses.yaml", "auditor/resolve/dns/cdn_suffixes.yaml"} <= names


def test_wheel_ships_every_data_file_inside_the_package(dists: dict[str, Path]) -> None:
    with zipfile.ZipFile(dists["wheel"]) as whl:
        names = set(whl.namelist())
    assert {f"auditor/boundaries/{f}" for f in _boundary_files()} <= names
    shipped = {n for n in names if n.startswith("auditor/") and not n.endswith(".py")}
    in_package = {p.relative_to(REPO).as_posix() for p in (REPO / "auditor").rglob("*")
                  if p.is_file() and p.suffix not in {".py", ".pyc"} and "__pycache__" not in p.parts}
    assert in_package <= shipped, in_package - shipped
    assert not any(n.startswith(("tests/", "boundaries/", "examples/")) for n in names)


def test_installed_wheel_reads_its_own_data_from_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    probe = _run([str(installed / "python"), "-c",
                  "import auditor, auditor.paths as p; print(auditor.__file__); print(p.boundaries_dir())"],
                 cwd=tmp_path, env=_outside_env())
    assert probe.returncode == 0, probe.stderr
    module, boundaries = (Path(line) for line in probe.stdout.splitlines())
    venv_root = installed.parent.resolve()
    assert module.resolve().is_relative_to(venv_root) and boundaries.resolve().is_relative_to(venv_root)
    assert not module.resolve().is_relative_to(REPO)


def test_installed_auditor_answers_where_and_regions(installed: Path, tmp_path: Path) -> None:
    where = _run([str(installed / "auditor"), "where", "121.93", "30.905", "--region", "shanghai"],
                 cwd=tmp_path, env=_outside_env())
    assert where.returncode == 0, where.stderr
    assert "shanghai: inside" in where.stdout and "lingang-main" in where.stdout
    regions = _run([str(installed / "auditor"), "regions"], cwd=tmp_path, env=_outside_env())
    assert regions.returncode == 0, regions.stderr
    assert {line.split(":", 1)[0] for line in regions.stdout.splitlines() if line and not line[0].isspace()} >= {
        "beijing", "shanghai", "hainan", "shenzhen"}


def test_installed_auditor_audits_a_small_list(installed: Path, tmp_path: Path) -> None:
    facilities = write_csv(tmp_path / "facilities.csv", ["id", "kind", "lon", "lat", "crs"], [
        ["in-lingang", "IDC", 121.93, 30.905, "wgs84"],
        ["in-puxi", "IDC", 121.4365, 31.188, "wgs84"],
    ])
    done = _run([str(installed / "auditor"), "audit", str(facilities), "--region", "shanghai", "--as-of", "2026-11-01",
                 "--out", str(tmp_path / "out"), "--format", "json"], cwd=tmp_path, env=_outside_env())
    assert done.returncode == 1, done.stdout + done.stderr  # Puxi is outside: a failing finding
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    verdicts = {f["id"]: f["verdict"] for f in report["facilities"]}
    assert verdicts == {"in-lingang": "pass", "in-puxi": "fail"}
    assert any(s["name"] == "boundaries/regions.yaml" for s in report["data_sources"])


def test_wheel_carries_compiled_catalogs(dists: dict[str, Path]) -> None:
    """The build compiles each .po into the .mo beside it (setup.py's build_py); both ship."""
    with zipfile.ZipFile(dists["wheel"]) as whl:
        names = set(whl.namelist())
        for lang in ("zh_CN", "en"):
            assert {f"auditor/locale/{lang}/LC_MESSAGES/auditor.po", f"auditor/locale/{lang}/LC_MESSAGES/auditor.mo"} <= names
        mo = whl.read("auditor/locale/zh_CN/LC_MESSAGES/auditor.mo")
    import gettext
    import io

    assert gettext.GNUTranslations(io.BytesIO(mo)).gettext("fail") == "不通过"


def test_installed_wheel_writes_chinese_reports_from_its_catalogs(installed: Path, tmp_path: Path) -> None:
    """From the wheel, outside the checkout: the .mo is read (not the .po compiled on the fly), and the
    Markdown, workbook and PDF come out in Chinese."""
    listing = write_csv(tmp_path / "f.csv", ["id", "kind", "lon", "lat", "crs"], [["A", "IDC", 121.93, 30.905, "wgs84"], ["B", "IDC", 121.4365, 31.188, "wgs84"]])
    script = (
        "import auditor, io, sys\n"
        "from auditor.report.i18n import catalog_path\n"
        "assert catalog_path('zh-CN', '.mo').is_file()\n"
        "r = auditor.audit(sys.argv[1], 'shanghai', as_of='2026-11-01')\n"
        "md = auditor.render(r, 'md', generated_at='2026-11-28T00:00:00+00:00', lang='zh-CN')\n"
        "pdf = auditor.render(r, 'pdf', generated_at='2026-11-28T00:00:00+00:00', lang='zh-CN')\n"
        "import pypdf\n"
        "text = ''.join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)\n"
        "print(md.splitlines()[2]); print('不通过' in text)\n"
    )
    probe = _run([str(installed / "python"), "-c", script, str(listing)], cwd=tmp_path, env=_outside_env())
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines() == ["- **结论：不通过**", "True"]
