"""Comparing a bundled report with its recomputation: verdicts and findings, and the tool's own data.

Pure functions over report.json documents (schema ``pilot-zone-auditor/report/1``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor._version import __version__
from auditor.errors import InputError

from .layout import EVIDENCE_FILES

__all__ = ["Verdicts", "compare_verdicts", "evidence_differences", "json_object", "report_verdicts", "tool_data_differences"]

_REPLAYED = ("asn_recording",)  # data sources a verification adds: not the auditor's own data
_LIST_LIMIT = 40  # differences listed per kind before "... and N more"


def json_object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object (a dict), else an empty one: a report's parts may be malformed."""
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Verdicts:
    """The verdict-bearing part of a report: overall, per facility row, and every finding."""

    overall: str
    facilities: dict[tuple[int, str], str]  # (row, id) -> verdict
    findings: Counter[tuple[str, str, str]]  # (rule, subject, status) -> how many


def report_verdicts(report: Mapping[str, Any], where: str) -> Verdicts:
    """Read the verdicts of a report.json document; a malformed one is an InputError."""
    def bad(why: str) -> InputError:
        return InputError(f"not a usable report: {why}", source=where)

    summary = report.get("summary")
    if not isinstance(summary, dict) or not isinstance(summary.get("verdict"), str):
        raise bad("no summary.verdict")
    facilities: dict[tuple[int, str], str] = {}
    findings: Counter[tuple[str, str, str]] = Counter()

    def add_findings(items: Any, whose: str) -> None:
        if not isinstance(items, list):
            raise bad(f"the findings of {whose} are not a list")
        for x in items:
            if not isinstance(x, dict) or not all(isinstance(x.get(k), str) for k in ("rule", "subject", "status")):
                raise bad(f"a finding of {whose} lacks rule, subject or status")
            findings[(x["rule"], x["subject"], x["status"])] += 1

    add_findings(report.get("operator_findings"), "the operator")
    rows = report.get("facilities")
    if not isinstance(rows, list):
        raise bad("`facilities` is not a list")
    for f in rows:
        if not isinstance(f, dict) or not isinstance(f.get("row"), int) or not isinstance(f.get("verdict"), str):
            raise bad("a facility lacks its row or verdict")
        key = (f["row"], str(f.get("id", "")))
        if key in facilities:
            raise bad(f"row {key[0]} ({key[1]}) appears twice")
        facilities[key] = f["verdict"]
        add_findings(f.get("findings"), f"row {key[0]}")
    return Verdicts(summary["verdict"], facilities, findings)


def compare_verdicts(bundled: Verdicts, recomputed: Verdicts) -> list[str]:
    """Every difference, in words: overall verdict, each facility's verdict, each (rule, subject)'s statuses.

    >>> a = Verdicts("fail", {(2, "A"): "fail"}, Counter({("facility_in_region", "A", "fail"): 1}))
    >>> b = Verdicts("pass", {(2, "A"): "pass"}, Counter({("facility_in_region", "A", "pass"): 1}))
    >>> for line in compare_verdicts(a, b): print(line)
    overall verdict: report.json says fail, recomputed pass
    facility A (row 2): report.json says fail, recomputed pass
    finding facility_in_region on A: report.json says fail, recomputed pass
    """
    out = []
    if bundled.overall != recomputed.overall:
        out.append(f"overall verdict: report.json says {bundled.overall}, recomputed {recomputed.overall}")
    facility_lines = []
    for key in sorted(set(bundled.facilities) | set(recomputed.facilities)):
        row, fid = key
        b, r = bundled.facilities.get(key), recomputed.facilities.get(key)
        if b != r:
            facility_lines.append(f"facility {fid or '(no id)'} (row {row}): report.json says {b or 'nothing (no such row)'}, recomputed {r or 'nothing (no such row)'}")
    finding_lines = []
    b_groups, r_groups = _statuses_by_rule_and_subject(bundled), _statuses_by_rule_and_subject(recomputed)
    for rule, subject in sorted(set(b_groups) | set(r_groups)):
        b_st, r_st = b_groups.get((rule, subject), []), r_groups.get((rule, subject), [])
        if b_st != r_st:
            finding_lines.append(f"finding {rule} on {subject}: report.json says {', '.join(b_st) or 'nothing'}, recomputed {', '.join(r_st) or 'nothing'}")
    for lines in (facility_lines, finding_lines):
        out += lines[:_LIST_LIMIT]
        if len(lines) > _LIST_LIMIT:
            out.append(f"... and {len(lines) - _LIST_LIMIT} more")
    return out


def _statuses_by_rule_and_subject(v: Verdicts) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for (rule, subject, status), n in v.findings.items():
        out.setdefault((rule, subject), []).extend([status] * n)
    return {k: sorted(s) for k, s in out.items()}


def _evidence_records(report: Mapping[str, Any]) -> dict[str, str]:
    """The evidence a report records, as ``{what: outcome}``: ASN answers, DNS resolutions,
    discovered nodes and every claim's containment. Malformed parts are skipped (they then show
    up as differences); reasons and timestamps are left out, outcomes kept."""
    def items(value: Any) -> list[dict[str, Any]]:
        return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []

    def asn(subject: str, a: dict[str, Any]) -> tuple[str, str]:
        return f"ASN answer of {a.get('source')} for {a.get('query')} ({subject})", f"{a.get('status')} AS{a.get('asn')} {a.get('prefix')}"

    out: dict[str, str] = {}
    for f in items(report.get("facilities")):
        subject = str(f.get("id", ""))
        out.update(asn(subject, a) for a in items(f.get("asn")))
        out.update((f"containment of claim {c.get('claim')}", str(c.get("verdict"))) for c in items(f.get("containment")))
    prefixes = report.get("isp_prefix_asn")
    for answers in (prefixes.values() if isinstance(prefixes, dict) else ()):
        out.update(asn("ISP prefix", a) for a in items(answers))
    dns = json_object(report.get("dns"))
    resolutions = json_object(dns.get("resolutions"))
    for name, r in resolutions.items():
        if isinstance(r, dict):
            out[f"DNS resolution of {name}"] = f"{r.get('status')} {' '.join(map(str, r.get('addresses') or []))}".strip()
    for d in items(report.get("discovered")):
        out[f"discovered node {d.get('address')} of {d.get('domain')}"] = str(d.get("relation"))
    return out


def evidence_differences(bundled: Mapping[str, Any], recomputed: Mapping[str, Any]) -> list[str]:
    """Where the evidence behind the verdicts, recomputed, differs from what report.json records.

    >>> old = {"discovered": [{"address": "49.65.10.20", "domain": "static.example.com", "relation": "outside"}]}
    >>> evidence_differences(old, {"discovered": []})
    ['discovered node 49.65.10.20 of static.example.com: report.json says outside, recomputed nothing']
    """
    b, r = _evidence_records(bundled), _evidence_records(recomputed)
    lines = [f"{key}: report.json says {b.get(key, 'nothing')}, recomputed {r.get(key, 'nothing')}"
             for key in sorted(set(b) | set(r)) if b.get(key) != r.get(key)]
    return lines[:_LIST_LIMIT] + ([f"... and {len(lines) - _LIST_LIMIT} more"] if len(lines) > _LIST_LIMIT else [])


def tool_data_differences(report: Mapping[str, Any], recomputed: Mapping[str, Any], bundle_tool_version: str) -> list[str]:
    """The auditor's own data (every data source that is not an evidence file) and version, then and now."""
    out = []
    if bundle_tool_version != __version__:
        out.append(f"auditor version: the bundle was made by {bundle_tool_version or '(unknown)'}, this is {__version__}")
    tool = json_object(report.get("tool"))
    now_tool = recomputed.get("tool") or {}
    if tool.get("rules_version") != now_tool.get("rules_version"):
        out.append(f"rule catalogue: report.json used {tool.get('rules_version')}, installed {now_tool.get('rules_version')}")
    installed = {d["name"]: d for d in recomputed.get("data_sources", [])}
    for d in report.get("data_sources", []):
        name = d.get("name") if isinstance(d, dict) else None
        if not isinstance(name, str) or name in EVIDENCE_FILES or name in _REPLAYED:
            continue
        now = installed.get(name)
        if now is None:
            out.append(f"{name}: used by report.json, not used by the installed auditor")
        elif now.get("sha256") != d.get("sha256"):
            out.append(f"{name}: report.json used sha256 {str(d.get('sha256'))[:16]}…, the installed file is {str(now.get('sha256'))[:16]}…")
    return out
