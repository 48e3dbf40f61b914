"""Where the auditor's data files are.

Precedence (first that exists wins): the ``AUDITOR_BOUNDARIES`` environment
variable; the boundaries shipped inside an installed package (``auditor/boundaries``,
read through :mod:`importlib.resources`; setup.py packages the repository's
top-level ``boundaries/`` there); then the ``boundaries/`` folder beside the package
(a source checkout or an editable install, where the package holds no copy). A
missing folder raises :class:`~auditor.errors.DataError` saying how to supply it.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

from auditor.errors import DataError

__all__ = ["boundaries_dir", "package_data_dir", "sha256_file"]

_PACKAGE = Path(__file__).resolve().parent


def boundaries_dir() -> Path:
    """The folder holding boundary files, the region registry and their provenance."""
    env = os.environ.get("AUDITOR_BOUNDARIES")
    candidates = [Path(env)] if env else []
    candidates += [_installed("boundaries"), _PACKAGE.parent / "boundaries"]
    for c in candidates:
        if (c / "regions.yaml").is_file():
            return c
    raise DataError(
        "no boundaries folder with regions.yaml found",
        path=str(candidates[0]),
        hint="reinstall the package (its wheel ships auditor/boundaries) or set AUDITOR_BOUNDARIES to a boundaries/ folder",
    )


def package_data_dir() -> Path:
    """Data shipped inside the package (clause text, basic-telecom ASNs)."""
    return _installed("data")


def _installed(name: str) -> Path:
    """A data folder inside the installed package, as a file-system path.

    The package is always installed unzipped (a wheel, or an editable install), so the
    resource is a real folder that pyogrio, open() and the hash cache can read by path.
    """
    return Path(str(resources.files("auditor").joinpath(name)))


@lru_cache(maxsize=256)
def _sha256_cached(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_file(path: Path | str) -> str:
    """Hex sha256 of a file (cached per path, modification time and size)."""
    st = os.stat(path)
    return _sha256_cached(str(path), st.st_mtime_ns, st.st_size)
