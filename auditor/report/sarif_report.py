"""report.sarif: the findings as SARIF 2.1.0 (one run), for code-scanning dashboards.

Rules come from :func:`auditor.rules.all_rules`; results are the fail, indeterminate and waived
findings (waived ones carry an external suppression), and on request (``include_passing``) the
passing and not-applicable ones too. Built from the report.json mapping, so an
:class:`AuditResult` and a stored report give the same output. No timestamps: same input, same text.

What a code-scanning UI needs, and SARIF 2.1.0 requires:

* **kind and level agree** (§3.27.9, §3.27.10: a ``kind`` other than ``fail`` has ``level`` ``none``):
  a failing finding is ``kind: fail`` with ``level`` ``error``/``warning``/``note`` from the rule's
  severity; an indeterminate one is ``kind: review``, ``level: none`` (someone must look: the
  evidence does not decide); a waived one keeps the kind and level of what it was before the
  waiver, with a suppression; passing ones are ``pass`` and ``notApplicable``, ``level: none``.
  Passing results are left out by default: GitHub code scanning does not document ``kind`` and
  may show any result as an alert.
* **Messages begin with the facility id and name** ("SH-CDN-03 (Pudong airport edge): ..."), or
  "Operator NAME: ..." for the operator's own findings. Square brackets from the inputs are escaped
  (§3.11.5), so that no input text becomes an embedded link.
* **Paths relative to a base** (``originalUriBaseIds``, §3.14.14): every artifact location names
  the base ``%SRCROOT%`` and a path relative to it — the repository root when one is given
  (``root``), else the folder that holds the operator profile (for a bare facility list, the
  list's own folder). The base's own URI is not written (it is machine-specific), so the file is
  the same whichever directory the audit ran in.
* **Partial fingerprints stable across runs** (§3.27.17): ``auditorFinding/v2`` hashes the rule
  id, the subject (facility id or "(operator)"), the discriminator a subject's several findings of
  one rule need (e.g. the domain) and the input's path relative to the base — never the message's
  wording or the row number, so a reworded message or a row moved in the list keeps its alert.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from auditor.report.diff import finding_keys
from auditor.report.jsontext import indented_json

__all__ = ["BASE_ID", "FINGERPRINT", "SARIF_SCHEMA_URI", "SARIF_VERSION", "build_sarif", "render_sarif", "sarif_kind_level"]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
#: The ``originalUriBaseIds`` key every artifact location is relative to.
BASE_ID = "%SRCROOT%"
#: The ``partialFingerprints`` key (v2: hashed from rule, subject, discriminator and input path).
FINGERPRINT = "auditorFinding/v2"
_LEVEL = {"high": "error", "medium": "warning", "low": "note", "info": "note"}
_REPORTED = ("fail", "indeterminate", "waived")
_PASSING = ("pass", "not_applicable")
_KIND = {"fail": "fail", "indeterminate": "review", "pass": "pass", "not_applicable": "notApplicable"}
# Sources whose row number is a line of the file (header = line 1), so a SARIF region can point at it.
_LINE_SOURCES = (".csv", ".tsv", ".txt")


def sarif_kind_level(status: str, severity: str) -> tuple[str, str]:
    """(kind, level) for a finding's status (for a waived one: the status it had before) and its rule's severity.

    >>> sarif_kind_level("fail", "high"), sarif_kind_level("indeterminate", "high"), sarif_kind_level("pass", "high")
    (('fail', 'error'), ('review', 'none'), ('pass', 'none'))
    """
    kind = _KIND.get(status, "review")
    return kind, (_LEVEL.get(severity, "warning") if kind == "fail" else "none")


def _rules() -> list[dict[str, Any]]:
    from auditor.rules import all_rules

    out = []
    for module in all_rules():
        spec = module.SPEC
        out.append({
            "id": spec.id,
            "name": "".join(w.capitalize() for w in spec.id.split("_")),
            "shortDescription": {"text": spec.title},
            "fullDescription": {"text": spec.rationale},
            "help": {"text": spec.remediation},
            "defaultConfiguration": {"level": _LEVEL.get(spec.severity.value, "warning")},
            "properties": {"clauses": list(spec.clauses), "severity": spec.severity.value, "scope": spec.scope},
        })
    return out


def _posix(path: str) -> str:
    return path.replace("\\", "/")


class _Base:
    """Paths of the report's inputs, relative to the base (a root given, else the profile's folder)."""

    def __init__(self, report: Mapping[str, Any], root: str | os.PathLike[str] | None) -> None:
        self.root = None if root is None else _posix(os.fspath(root))
        inputs = [i for i in report.get("inputs") or [] if isinstance(i, Mapping)]
        anchor = (report.get("operator") or {}).get("profile") or next(
            (str(i.get("path")) for i in inputs if i.get("role") == "facility_list" and i.get("path")), None)
        self.anchor = None if anchor is None else _posix(str(anchor))
        self.folder = posixpath.dirname(self.anchor) if self.anchor else ""
        self._relative: dict[str, str] = {}  # every finding names one of a few files: each is worked out once
        self._uri: dict[str, str] = {}

    def relative(self, path: str) -> str:
        got = self._relative.get(path)
        if got is None:
            got = self._relative[path] = self._relative_of(path)
        return got

    def uri(self, path: str) -> str:
        """:meth:`relative`, quoted as a URI reference."""
        got = self._uri.get(path)
        if got is None:
            got = self._uri[path] = _uri(self.relative(path))
        return got

    def _relative_of(self, path: str) -> str:
        path = _posix(path)
        if self.root is not None:
            base = self.root
        else:
            base = self.folder or "."
        if posixpath.isabs(path) != posixpath.isabs(base):
            # one absolute, one relative: both are read against the directory the audit ran in
            path, base = _posix(os.path.abspath(path)), _posix(os.path.abspath(base))
        return posixpath.relpath(posixpath.normpath(path), posixpath.normpath(base))

    def description(self) -> str:
        if self.root is not None:
            return "The repository root the audit was given; artifact paths are relative to it."
        if self.anchor is None:
            return "The folder the audit ran in."
        return "The folder that holds the operator profile (for a bare facility list, the list's folder); artifact paths are relative to it."


def _uri(path: str) -> str:
    return quote(path, safe="/:@-._~")


def _artifact(path: str, base: _Base) -> dict[str, Any]:
    return {"uri": base.uri(path), "uriBaseId": BASE_ID}


def _location(subject: str, facility: Mapping[str, Any] | None, base: _Base) -> tuple[dict[str, Any], str]:
    """The result's location, and the input path (relative to the base) its fingerprint names."""
    loc: dict[str, Any] = {}
    path = ""
    if facility is not None:
        src, row = str(facility.get("source") or ""), facility.get("row")
        if src:
            phys: dict[str, Any] = {"artifactLocation": _artifact(src, base)}
            path = base.relative(src)
            if isinstance(row, int) and row >= 1:
                if src.lower().endswith(_LINE_SOURCES):
                    phys["region"] = {"startLine": row}
                else:
                    loc["properties"] = {"row": row}
            loc["physicalLocation"] = phys
        loc["logicalLocations"] = [{"name": subject, "fullyQualifiedName": f"facility/{subject}", "kind": "resource"}]
    else:
        if base.anchor:
            loc["physicalLocation"] = {"artifactLocation": _artifact(base.anchor, base)}
            path = base.relative(base.anchor)
        loc["logicalLocations"] = [{"name": subject, "fullyQualifiedName": "operator", "kind": "resource"}]
    return loc, path


def _escape(text: str) -> str:
    """Plain message text with literal square brackets escaped (SARIF §3.11.5), so none is read as a link."""
    return text.replace("[", "\\[").replace("]", "\\]")


def _head(subject: str, facility: Mapping[str, Any] | None, operator_name: str) -> str:
    """What a message begins with: "ID (name)" for a facility, "Operator NAME" for the operator."""
    if facility is None:
        return f"Operator {operator_name}" if operator_name else "Operator"
    name = str(facility.get("name") or "").strip()
    return f"{subject} ({name})" if name else subject


def _fingerprint(rule: str, subject: str, key: str, path: str) -> str:
    # key is "SUBJECT RULE" plus the discriminator finding_keys adds where one subject has several findings of one rule
    discriminator = key[len(f"{subject} {rule}"):].strip()
    text = "\x1f".join(("v2", rule, subject, discriminator, path))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _result(x: Mapping[str, Any], key: str, index: dict[str, int], facility: Mapping[str, Any] | None,
            base: _Base, operator_name: str) -> dict[str, Any]:
    status = str(x.get("status"))
    waiver = x.get("waiver") if isinstance(x.get("waiver"), Mapping) else None
    original = str((waiver or {}).get("original_status", "fail")) if status == "waived" else status
    kind, level = sarif_kind_level(original, str(x.get("severity")))
    rule = str(x.get("rule"))
    subject = str(x.get("subject"))
    text = str(x.get("message") or rule)
    if x.get("missing"):
        text += f" Missing: {x['missing']}."
    location, path = _location(subject, facility, base)
    r: dict[str, Any] = {"ruleId": rule}
    if rule in index:
        r["ruleIndex"] = index[rule]
    r.update(
        kind=kind,
        level=level,
        message={"text": _escape(f"{_head(subject, facility, operator_name)}: {text}")},
        locations=[location],
        partialFingerprints={FINGERPRINT: _fingerprint(rule, subject, key, path)},
        properties={"status": status, "subject": subject, "clause": x.get("clause", ""), "severity": x.get("severity", ""),
                    "evidence": list(x.get("evidence") or [])},
    )
    if status == "waived":
        sup: dict[str, Any] = {"kind": "external", "status": "accepted"}
        if waiver:
            sup["justification"] = str(waiver.get("reason", ""))
            sup["properties"] = {k: waiver[k] for k in ("owner", "expires", "reference", "original_status", "waiver", "rules") if k in waiver}
        else:
            sup["justification"] = "waived"
        r["suppressions"] = [sup]
    return r


def _with_waivers(report: dict[str, Any], result: Any, waived: Mapping[Any, Any]) -> dict[str, Any]:
    """Put each waiver record (from apply_waivers' mapping) on the report's finding dict, matched by order."""
    for finding, d in zip(result.operator_findings, report["operator_findings"]):
        if finding in waived:
            d.setdefault("waiver", waived[finding].as_dict())
    for f, fd in zip(result.facilities, report["facilities"]):
        for finding, d in zip(result.findings_of(f), fd["findings"]):
            if finding in waived:
                d.setdefault("waiver", waived[finding].as_dict())
    return report


def build_sarif(
    source: Any,
    *,
    waived: Mapping[Any, Any] | None = None,
    root: str | os.PathLike[str] | None = None,
    include_passing: bool = False,
) -> dict[str, Any]:
    """The SARIF log as a mapping, from an AuditResult or a report.json mapping.

    Parameters
    ----------
    source
        An :class:`~auditor.result.AuditResult` or a report.json mapping.
    waived
        The finding → WaiverMatch mapping from :func:`auditor.waivers.apply_waivers` (only needed
        with an AuditResult while findings do not carry their waiver themselves).
    root
        The repository root: artifact paths are written relative to it (a code-scanning service
        resolves them against the repository). Default: the folder of the operator profile. A
        relative root and the report's relative paths are read against the same directory.
    include_passing
        Also write the passing (``kind: pass``) and not-applicable (``kind: notApplicable``) findings.
    """
    if isinstance(source, Mapping):
        report: Mapping[str, Any] = source
    else:
        from auditor.report.json_report import build_report

        report = build_report(source, generated_at="")
        if waived:
            report = _with_waivers(dict(report), source, waived)
    tool = report.get("tool") or {}
    rules = _rules()
    index = {r["id"]: i for i, r in enumerate(rules)}
    base = _Base(report, root)
    operator_name = str((report.get("operator") or {}).get("name") or "")
    items: list[tuple[Mapping[str, Any], Mapping[str, Any] | None]] = [(x, None) for x in report.get("operator_findings") or []]
    for f in report.get("facilities") or []:
        items += [(x, f) for x in f.get("findings") or []]
    keys = finding_keys([x for x, _ in items])
    shown = _REPORTED + (_PASSING if include_passing else ())
    results = [
        _result(x, key, index, f, base, operator_name) for key, (x, f) in zip(keys, items) if x.get("status") in shown
    ]
    driver: dict[str, Any] = {
        "name": str(tool.get("name") or "pilot-zone-auditor"),
        "version": str(tool.get("version") or ""),
        "rules": rules,
    }
    if tool.get("rules_version"):
        driver["properties"] = {"rules_version": tool["rules_version"]}
    region = report.get("region") or {}
    summary = report.get("summary") or {}
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": driver},
            "originalUriBaseIds": {BASE_ID: {"description": {"text": base.description()}}},
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {
                "as_of": report.get("as_of"),
                "region": region.get("id"),
                "verdict": summary.get("verdict"),
                "report_schema": report.get("schema"),
                "passing_results": "included" if include_passing else "omitted",
            },
        }],
    }


def render_sarif(
    source: Any,
    *,
    waived: Mapping[Any, Any] | None = None,
    root: str | os.PathLike[str] | None = None,
    include_passing: bool = False,
) -> str:
    """SARIF 2.1.0 JSON text for an AuditResult or a report.json mapping; deterministic (see :func:`build_sarif`)."""
    log = build_sarif(source, waived=waived, root=root, include_passing=include_passing)
    return indented_json(log) + "\n"
