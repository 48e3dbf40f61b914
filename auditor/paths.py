"""Where the auditor's data files are.

Precedence (first that exists wins): the ``AUDITOR_BOUNDARIES`` environment
variable, then the ``boundaries/`` folder beside the package (a source checkout
or editable install). A missing folder raises :class:`~auditor.errors.DataError`
saying how to supply it.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from auditor.errors import DataError

__all__ = ["boundaries_dir", "package_data_dir", "sha256_file"]

_PACKAGE = Path(__file__).resolve().parent


def boundaries_dir() -> Path:
    """The folder holding boundary files, the region registry and their provenance."""
    env = os.environ.get("AUDITOR_BOUNDARIES")
    candidates = [Path(env)] if env else []
    candidates.append(_PACKAGE.parent / "boundaries")
    for c in candidates:
        if (c / "regions.yaml").is_file():
            return c
    raise DataError(
        "no boundaries folder with regions.yaml found",
        path=str(candidates[0]),
        hint="install from a source checkout (pip install -e .) or set AUDITOR_BOUNDARIES to the boundaries/ folder",
    )


def package_data_dir() -> Path:
    """Data shipped inside the package (clause text, basic-telecom ASNs)."""
    return _PACKAGE / "data"


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
