"""The README's CI recipe works (issue 25): examples/ci/gate.sh on the example operator, offline (its
profile replays recorded DNS answers), against the committed reports/example as the last filed
report; and the GitHub Actions and GitLab CI jobs the README shows are the files in examples/ci/."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

GATE = REPO / "examples" / "ci" / "gate.sh"
FILED = REPO / "reports" / "example"
OPERATOR = REPO / "examples" / "shanghai-operator"
AUDITOR = Path(sys.executable).with_name("auditor")


def gate(args: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    if shutil.which("sh") is None:  # pragma: no cover - POSIX systems have one
        pytest.fail("no POSIX sh to run examples/ci/gate.sh")
    assert AUDITOR.is_file(), f"the auditor console script is not installed beside {sys.executable}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR")}
    env.update(AUDITOR=str(AUDITOR), AUDITOR_AS_OF="2026-11-01")
    proc = subprocess.run(["sh", str(GATE), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600, check=False)
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc


def test_nothing_regressed_against_the_filed_report(tmp_path: Path) -> None:
    out = tmp_path / "ci"
    proc = gate(["examples/shanghai-operator/operator.yaml", str(FILED), str(out)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "exit status 1: a finding failed" in proc.stdout  # the audit's own verdict does not decide the gate ...
    assert f"gate: nothing regressed against {FILED} (audit exit 1)" in proc.stdout  # ... the diff does
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["diff.md", "report.json", "report.md", "report.sarif"]
    assert "- regression: **no**" in (out / "diff.md").read_text(encoding="utf-8")


def test_a_latitude_typo_fails_the_gate(tmp_path: Path) -> None:
    operator = tmp_path / "operator"
    shutil.copytree(OPERATOR, operator)
    listing = operator / "facilities.csv"
    rows = list(csv.reader(io.StringIO(listing.read_text(encoding="utf-8"))))
    lat = rows[0].index("lat")
    target = next(r for r in rows[1:] if r[0] == "SH-IDC-02")  # passes in the filed report
    target[lat] = target[lat].replace("0", "O", 1)              # 31.2660 -> 31.266O: the row can no longer be read
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    listing.write_text(buffer.getvalue(), encoding="utf-8")
    out = tmp_path / "ci"
    proc = gate([str(operator / "operator.yaml"), str(FILED), str(out)])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    diff = (out / "diff.md").read_text(encoding="utf-8")
    assert "- regression: **yes**" in diff and "SH-IDC-02" in diff and "the row can no longer be read" in diff
    assert f"gate: regressed against {FILED}: see {out}/diff.md" in proc.stderr


def test_nothing_filed_yet_and_unusable_input(tmp_path: Path) -> None:
    proc = gate(["examples/shanghai-operator/operator.yaml", str(tmp_path / "none"), str(tmp_path / "ci")])
    assert proc.returncode == 1 and "nothing filed at" in proc.stdout  # the audit's own gate: a finding failed
    proc = gate([str(tmp_path / "missing.yaml"), str(FILED), str(tmp_path / "ci2")])
    assert proc.returncode == 2 and "gate: the audit could not run (exit 2)" in proc.stderr
    proc = gate([])
    assert proc.returncode != 0 and "usage: gate.sh PROFILE FILED OUT" in proc.stderr


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_the_readme_shows_the_ci_jobs_that_are_in_examples(name: str) -> None:
    text = (REPO / "examples" / "ci" / name).read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"```yaml\n{text}```" in readme
    doc = yaml.safe_load(text)
    steps = [s.get("run", "") for s in doc["jobs"]["audit"]["steps"]] if "jobs" in doc else doc["pilot-zone-audit"]["script"]
    assert "sh ci/gate.sh operator.yaml filed/latest reports/ci" in steps
    if "jobs" in doc:  # GitHub: the SARIF goes to code scanning
        upload = next(s for s in doc["jobs"]["audit"]["steps"] if "upload-sarif" in s.get("uses", ""))
        assert upload["with"]["sarif_file"] == "reports/ci/report.sarif" and doc["jobs"]["audit"]["permissions"]["security-events"] == "write"
    else:
        assert doc["pilot-zone-audit"]["artifacts"]["paths"] == ["reports/ci/"]


def test_the_readme_shows_the_example_settings_file() -> None:
    text = (REPO / "examples" / "ci" / "auditor.toml").read_text(encoding="utf-8")
    assert f"```toml\n{text}```" in (REPO / "README.md").read_text(encoding="utf-8")
