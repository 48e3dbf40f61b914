"""What to do when a Debian package the suite needs is missing: skip naming it, or fail under CI.

``make test`` runs ``scripts/system-packages.sh``, which installs the packages where it can
(Debian/Ubuntu as root or with password-less sudo). Where it cannot, the tests that need a
package skip with a reason that names the package and the command that installs it, and the
run's summary counts them per package. Under ``CI=true`` the same test fails instead: CI
installs everything, so a missing package there is a broken install step, not a skip.

    from system import require_package
    if shutil.which("knotd") is None:
        require_package("knot", "knotd (Knot DNS)", "the DNS integration tests")
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

__all__ = ["MISSING_PREFIX", "in_ci", "require_package"]

#: Every skip reason for a missing package starts with this, so the summary can count them.
MISSING_PREFIX = "missing system package"


def in_ci() -> bool:
    """True under ``CI=true`` (as ``.ci/run`` is run), where a missing package is a failure."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_package(package: str, what: str, needed_by: str) -> NoReturn:
    """Skip (or, under CI, fail) the current test because ``package`` is not installed."""
    reason = (
        f"{MISSING_PREFIX} {package}: {what} is needed by {needed_by} and was not found; "
        f"install it with `apt-get install -y {package}` (make test does this on Debian/Ubuntu as root or with sudo)"
    )
    if in_ci():
        pytest.fail(f"{reason} [CI=true: a missing system package fails the run]", pytrace=False)
    pytest.skip(reason)
