"""report.sarif: the findings as SARIF 2.1.0 (one run), for code-scanning dashboards.

Rules come from :func:`auditor.rules.all_rules`; results are the fail, indeterminate and waived
findings (waived ones carry an external suppression). Built from the report.json mapping, so an
:class:`AuditResult` and a stored report give the same output. No timestamps: same input, same text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from auditor.report.diff import finding_keys

__all__ = ["SARIF_SCHEMA_URI", "SARIF_VERSION", "build_sarif", "render_sarif"]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"high": "error", "medium": "warning", "low": "note", "info": "note"}
_REPORTED = ("fail", "indeterminate", "waived")
# Sources whose row number is a line of the file (header = line 1), so a SARIF region can point at it.
_LINE_SOURCES = (".csv", ".tsv", ".txt")


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


def _uri(path: str) -> str:
    return quote(PurePosixPath(path.replace("\\", "/")).as_posix(), safe="/:@-._~")


def _location(subject: str, facility: Mapping[str, Any] | None, profile: str | None) -> dict[str, Any]:
    loc: dict[str, Any] = {}
    if facility is not None:
        src, row = facility.get("source") or "", facility.get("row")
        if src:
            phys: dict[str, Any] = {"artifactLocation": {"uri": _uri(src)}}
            if isinstance(row, int) and row >= 1:
                if src.lower().endswith(_LINE_SOURCES):
                    phys["region"] = {"startLine": row}
                else:
                    loc["properties"] = {"row": row}
            loc["physicalLocation"] = phys
        loc["logicalLocations"] = [{"name": subject, "fullyQualifiedName": f"facility/{subject}", "kind": "resource"}]
    else:
        if profile:
            loc["physicalLocation"] = {"artifactLocation": {"uri": _uri(profile)}}
        loc["logicalLocations"] = [{"name": subject, "fullyQualifiedName": "operator", "kind": "resource"}]
    return loc


def _result(x: Mapping[str, Any], key: str, index: dict[str, int], facility: Mapping[str, Any] | None, profile: str | None) -> dict[str, Any]:
    status = x.get("status")
    waiver = x.get("waiver") if isinstance(x.get("waiver"), Mapping) else None
    original = (waiver or {}).get("original_status", "fail") if status == "waived" else status
    level = "note" if original == "indeterminate" else _LEVEL.get(str(x.get("severity")), "warning")
    rule = str(x.get("rule"))
    subject = str(x.get("subject"))
    text = str(x.get("message") or rule)
    if x.get("missing"):
        text += f" Missing: {x['missing']}."
    r: dict[str, Any] = {"ruleId": rule}
    if rule in index:
        r["ruleIndex"] = index[rule]
    r.update(
        level=level,
        kind="fail" if original == "fail" else "review",
        message={"text": text},
        locations=[_location(subject, facility, profile)],
        partialFingerprints={"auditorFinding/v1": key},
        properties={"status": status, "clause": x.get("clause", ""), "severity": x.get("severity", ""), "evidence": list(x.get("evidence") or [])},
    )
    if status == "waived":
        sup: dict[str, Any] = {"kind": "external", "status": "accepted"}
        if waiver:
            sup["justification"] = str(waiver.get("reason", ""))
            sup["properties"] = {k: waiver[k] for k in ("owner", "expires", "reference", "original_status", "waiver") if k in waiver}
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
        for finding, d in zip(result.facility_findings.get(f.id, []), fd["findings"]):
            if finding in waived:
                d.setdefault("waiver", waived[finding].as_dict())
    return report


def build_sarif(source: Any, *, waived: Mapping[Any, Any] | None = None) -> dict[str, Any]:
    """The SARIF log as a mapping, from an AuditResult or a report.json mapping.

    ``waived`` is the finding → WaiverMatch mapping from :func:`auditor.waivers.apply_waivers`
    (only needed with an AuditResult while findings do not carry their waiver themselves).
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
    profile = (report.get("operator") or {}).get("profile")
    items: list[tuple[Mapping[str, Any], Mapping[str, Any] | None]] = [(x, None) for x in report.get("operator_findings") or []]
    for f in report.get("facilities") or []:
        items += [(x, f) for x in f.get("findings") or []]
    keys = finding_keys([x for x, _ in items])
    results = [
        _result(x, key, index, f, profile) for key, (x, f) in zip(keys, items) if x.get("status") in _REPORTED
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
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {
                "as_of": report.get("as_of"),
                "region": region.get("id"),
                "verdict": summary.get("verdict"),
                "report_schema": report.get("schema"),
            },
        }],
    }


def render_sarif(source: Any, *, waived: Mapping[Any, Any] | None = None) -> str:
    """SARIF 2.1.0 JSON text for an AuditResult or a report.json mapping; deterministic."""
    return json.dumps(build_sarif(source, waived=waived), ensure_ascii=False, indent=2, allow_nan=False) + "\n"
