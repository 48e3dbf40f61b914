"""Sessions, uploads and audit jobs of the workbench: what the server holds, and where its files live.

Every browser session gets a folder of its own under the workbench's working folder; each upload a
subfolder named by a random id. An uploaded file is stored under a fixed name chosen by the server
(``list.csv``, ``profile.yaml``, ``waivers.yaml``) — the name the browser sent is kept only as text
to show, never used as a path. Nothing here renders HTML or speaks HTTP (see :mod:`auditor.web.app`).
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.inventory.profile import PROFILE_SUFFIXES
from auditor.inventory.table import FORMATS as LIST_FORMATS

__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "LIST_SUFFIXES", "Job", "Session", "Store", "Upload", "Cancelled", "stored_suffix"]

#: The largest request an upload may be (every file in it together): 50 MB.
DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: Facility-list types an upload may be. A shapefile needs its side files, which one upload cannot
#: carry, so it is left out.
LIST_SUFFIXES = tuple(s for s in LIST_FORMATS if s != ".shp")


class Cancelled(Exception):
    """Raised inside an audit's progress callback when its job was cancelled."""


def stored_suffix(filename: str | None, allowed: tuple[str, ...]) -> str | None:
    """The suffix a file will be stored with: the browser's file name's suffix if it is one of
    ``allowed`` (lower case), else None. Only the suffix is taken from the name.

    >>> stored_suffix("../../etc/节点清单.XLSX", (".xlsx", ".csv")), stored_suffix("a.exe", (".csv",))
    ('.xlsx', None)
    """
    if not filename:
        return None
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    dot = name.rfind(".")
    suffix = name[dot:].lower() if dot > 0 else ""
    return suffix if suffix in allowed else None


@dataclass
class Upload:
    """One uploaded facility list (bare, or with its operator profile) and how to read and audit it."""

    id: str
    folder: Path
    list_path: Path
    list_name: str                          # the browser's file name: shown, never used as a path
    profile_path: Path | None = None
    profile_name: str = ""
    profile_doc: dict[str, Any] | None = None
    profile_columns: dict[str, str] = field(default_factory=dict)
    waivers_path: Path | None = None
    waivers_name: str = ""
    region: str | None = None
    as_of: str | None = None
    crs: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    columns: dict[str, str] = field(default_factory=dict)   # corrections made on the review page
    notes: list[str] = field(default_factory=list)

    @property
    def target(self) -> Path:
        """What the audit is given: the profile when there is one, else the list."""
        return self.profile_path or self.list_path

    @property
    def corrected(self) -> bool:
        return bool(self.columns or self.sheet is not None or self.header_row is not None)

    def write_profile(self) -> None:
        """Write the stored profile again with the review page's column corrections in its ``columns:``
        block, so that the audit (and its evidence bundle) reads the list as corrected."""
        if self.profile_path is None or self.profile_doc is None:
            return
        import yaml

        doc = dict(self.profile_doc)
        merged = {**self.profile_columns, **self.columns}
        if merged:
            doc["columns"] = merged
        else:
            doc.pop("columns", None)
        self.profile_path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


@dataclass
class Job:
    """One audit run in a worker thread: its progress, its outcome, and the files made from it."""

    id: str
    upload: Upload
    folder: Path
    lang: str
    state: str = "queued"                   # queued, running, done, failed, cancelled
    step: str = ""
    done: int | None = None
    total: int | None = None
    rows: int | None = None
    error: str = ""
    result: Any = None
    report: dict[str, Any] | None = None    # report.json's mapping of the result
    generated_at: str = ""
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    downloads: dict[str, Path] = field(default_factory=dict)
    recorded_run: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None   # the worker running it (tests join it)

    def progress(self, step: str, done: int | None = None, total: int | None = None, **_: Any) -> None:
        """The audit's progress callback: records the step, and stops the audit when cancelled."""
        if self.cancel.is_set():
            raise Cancelled()
        self.step, self.done, self.total = step, done, total

    def status(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "step": self.step, "done": self.done, "total": self.total,
                "rows": self.rows, "error": self.error,
                "verdict": self.result.verdict if self.result is not None and self.state == "done" else None}


@dataclass
class Session:
    """One browser's workspace: its folder, CSRF token, uploads and jobs."""

    token: str
    folder: Path
    csrf: str
    uploads: dict[str, Upload] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)

    def new_folder(self, prefix: str) -> tuple[str, Path]:
        ident = secrets.token_hex(8)
        path = self.folder / f"{prefix}-{ident}"
        path.mkdir(parents=True)
        return ident, path


class Store:
    """Every session of one workbench, with their folders under ``workdir``."""

    def __init__(self, workdir: str | Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            return self._sessions.get(token)

    def create(self) -> Session:
        token = secrets.token_urlsafe(32)
        folder = self.workdir / f"session-{secrets.token_hex(8)}"  # not derived from the cookie
        folder.mkdir(parents=True)
        session = Session(token=token, folder=folder, csrf=secrets.token_urlsafe(32))
        with self._lock:
            self._sessions[token] = session
        return session

    def close(self) -> None:
        """Cancel every job and remove every session's folder."""
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for s in sessions:
            for job in s.jobs.values():
                job.cancel.set()
            shutil.rmtree(s.folder, ignore_errors=True)


def check_options(form: Mapping[str, Any], regions: tuple[str, ...]) -> dict[str, Any]:
    """The upload form's region, as-of date and default CRS, checked (an unknown value is refused)."""
    region = str(form.get("region") or "").strip() or None
    if region is not None and region not in regions:
        raise InputError(f"unknown region {region!r}", hint="one of: " + ", ".join(regions))
    as_of = str(form.get("as_of") or "").strip() or None
    if as_of is not None:
        try:
            dt.date.fromisoformat(as_of)
        except ValueError:
            raise InputError(f"as-of date {as_of!r} is not a date (YYYY-MM-DD)") from None
    crs = str(form.get("crs") or "").strip() or None
    if crs is not None and crs not in ("wgs84", "gcj02", "bd09"):
        raise InputError(f"unknown coordinate system {crs!r}", hint="one of: wgs84, gcj02, bd09")
    return {"region": region, "as_of": as_of, "crs": crs}


PROFILE_TYPES = PROFILE_SUFFIXES
