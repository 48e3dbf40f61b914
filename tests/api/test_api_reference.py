"""docs/api.md is what the docstrings say, and every public function has one worth reading."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_api_reference_is_current():
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "api_reference.py"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_api_reference_covers_every_public_name():
    import auditor

    text = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    for name in auditor.__all__:
        if name != "__version__":
            assert f"auditor.{name}" in text, name
    assert "(no docstring)" not in text
