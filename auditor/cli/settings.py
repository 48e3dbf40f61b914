"""Defaults for the options a CI job repeats, from a settings file in the working directory.

The file is ``auditor.toml`` (its keys at the top level), else the ``[tool.auditor]`` table of
``pyproject.toml``; both holding settings is an error (which one would win?). Keys are the long
option names of ``auditor audit``, with ``_`` or ``-``::

    [tool.auditor]
    out = "reports/audit"
    format = "json,md,sarif"
    fail_on = "indeterminate"
    waivers = "waivers.yaml"
    asn_table = "data/ipasn.dat"
    cymru_server = "127.0.0.1:5353"

Precedence, highest first: the command line, the environment (``AUDITOR_*``, for the evidence
settings that have a variable), this file, the operator profile's ``evidence:`` section, the
defaults. Evidence settings (the keys of :class:`auditor.config.AuditConfig`) join the
configuration as its own layer (:data:`auditor.config.FILE_LAYER`); the other options become the
command's defaults (click's ``default_map``). Paths are read from the working directory, where
the file is. The file is the caller's own, like the environment: the servers it names are used
(a profile's need ``--allow-profile-network``), and the terminal says which file was read.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import InputError

__all__ = ["AUDIT_KEYS", "EVIDENCE_KEYS", "SETTINGS_FILES", "Settings", "load_settings"]

SETTINGS_FILES = ("auditor.toml", "pyproject.toml")
_MAX_BYTES = 1 << 20

# key -> (kind, choices): "str", "bool", "int", "list" (of text), or a tuple of allowed words
AUDIT_KEYS: dict[str, Any] = {
    "region": "str", "option": "list", "crs": ("wgs84", "gcj02", "bd09"), "out": "str", "format": "str",
    "figures": "bool", "waivers": "str", "fail_on": ("fail", "indeterminate", "error"), "quiet": "bool",
    "sarif_root": "str", "lang": ("zh-CN", "en"), "db": "str",
}
EVIDENCE_KEYS: dict[str, Any] = {
    "ip_db": "str", "mmdb": "list", "asn_table": "str", "cymru_server": "str", "dns_resolver": "str",
    "dns_server": "str", "sweep_server": "str", "dns_recording": "str", "resolv_conf": "str", "rdap_url": "str",
    "online": "bool", "latency": "list", "give_up_after": "int", "timeout_s": "number", "cache_dir": "str",
    "allow_private_network": "bool", "allow_profile_network": "bool",
}
#: The click parameter each audit key sets (where the names differ).
_PARAM = {"option": "options", "format": "formats", "out": "out_dir", "waivers": "waivers_path", "db": "db_url"}


@dataclass(frozen=True)
class Settings:
    """What a settings file says: ``audit`` (click parameter → default) and ``evidence`` (AuditConfig keys)."""

    path: str | None = None
    audit: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)

    def layer(self) -> dict[str, Any] | None:
        """The evidence layer for :meth:`auditor.config.AuditConfig.resolve` (None: no file)."""
        return None if self.path is None else {"path": self.path, "settings": dict(self.evidence)}

    def files(self) -> list[str]:
        """The files the settings name (no report may overwrite them)."""
        out: list[str] = []
        for key in ("ip_db", "asn_table", "dns_recording", "resolv_conf"):
            if isinstance(self.evidence.get(key), str):
                out.append(self.evidence[key])
        for key in ("mmdb", "latency"):
            out += [str(v) for v in self.evidence.get(key) or ()]
        if isinstance(self.audit.get("waivers_path"), str):
            out.append(self.audit["waivers_path"])
        return out


def load_settings(folder: str | Path = ".") -> Settings:
    """The settings of ``folder`` (the working directory), or empty :class:`Settings` when it has none.

    Raises :class:`~auditor.errors.InputError` naming the file (and the key) for a file that
    cannot be read or parsed, an unknown key (with the nearest known one), a value of the wrong
    kind, or settings in both files.
    """
    base = Path(folder)
    own = base / SETTINGS_FILES[0]
    pyproject = base / SETTINGS_FILES[1]
    found: list[tuple[str, Mapping[str, Any]]] = []
    if own.is_file():
        found.append((SETTINGS_FILES[0], _read(own)))
    if pyproject.is_file():
        doc = _read(pyproject)
        tool = doc.get("tool")
        table = tool.get("auditor") if isinstance(tool, Mapping) else None
        if table is not None:
            if not isinstance(table, Mapping):
                raise InputError("[tool.auditor] must be a table of settings", source=SETTINGS_FILES[1])
            found.append((f"{SETTINGS_FILES[1]} [tool.auditor]", table))
    if not found:
        return Settings()
    if len(found) > 1:
        raise InputError(f"settings in both {found[0][0]} and {found[1][0]}: keep them in one file", source=str(base))
    where, table = found[0]
    audit: dict[str, Any] = {}
    evidence: dict[str, Any] = {}
    for raw_key, value in table.items():
        key = str(raw_key).replace("-", "_")
        if key == "format" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = ",".join(value)  # format = ["json", "sarif"] as well as "json,sarif"
        if key in AUDIT_KEYS:
            audit[_PARAM.get(key, key)] = _checked(where, key, value, AUDIT_KEYS[key])
        elif key in EVIDENCE_KEYS:
            evidence[key] = _checked(where, key, value, EVIDENCE_KEYS[key])
        else:
            known = sorted(AUDIT_KEYS) + sorted(EVIDENCE_KEYS)
            near = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {near[0]}?" if near else "known keys: " + ", ".join(known)
            raise InputError(f"unknown setting {raw_key!r}", source=where, hint=hint)
    if isinstance(audit.get("options"), list):
        audit["options"] = tuple(audit["options"])
    return Settings(where, audit, evidence)


def _read(path: Path) -> Mapping[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the settings file: {exc.strerror or exc}", source=path.name) from None
    if len(raw) > _MAX_BYTES:
        raise InputError(f"larger than {_MAX_BYTES:,} bytes: not a settings file", source=path.name)
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", source=path.name) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", source=path.name) from None
    except RecursionError:
        raise InputError("not usable TOML: nested too deeply", source=path.name) from None


def _checked(where: str, key: str, value: Any, kind: Any) -> Any:
    """``value`` if it is of ``kind``, else InputError naming the file and the key."""
    def bad(expected: str) -> InputError:
        return InputError(f"{key}: {value!r} is not {expected}", source=where)

    if isinstance(kind, tuple):
        if value not in kind:
            raise bad("one of " + ", ".join(kind))
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("a whole number")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise bad("a positive number")
        return float(value)
    if kind == "list":
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of text")
        return list(value)
    if not isinstance(value, str) or not value.strip():
        raise bad("text")
    return value
