"""Compare two report.json mappings (schema pilot-zone-auditor/report/1): what got better, what got worse.

Findings are keyed by (subject, rule); where one subject has several findings of one rule (e.g. the
operator's per-domain CDN findings) the key gets a discriminator: the message's text before its first
": " when that tells them apart, else their order ("#1", "#2", ...). Facilities are keyed by id.

Categories, for findings (statuses) and facilities (verdicts) alike. Any loss of proof is a
regression (a CI gate must not be fooled by a node that stops being provable, only by one that fails):

* ``regressed``  lost its proof: now ``error`` (the row can no longer be read: from anything, even from
                 absent), now ``fail`` (from anything else), or pass/not_applicable → indeterminate
* ``unwaived``   was waived, now fail/indeterminate again (the waiver expired or was removed): a
                 regression, said as such
* ``waived``     now waived, and was not: not fixed, only covered by a waiver (an owned, dated decision)
* ``fixed``      was fail/indeterminate/error/waived, now pass/not_applicable: proved again
* ``improved``   was fail or error, now indeterminate: no longer failing, not proved either
* ``new``        absent before, present now and neither failing nor unreadable (those are regressions)
* ``removed``    present before, absent now
* ``changed``    any other change of status (pass ↔ not_applicable, or a status this version does not know)
* ``unchanged``  same status

Every regression carries ``why``: what was lost, in words. :attr:`ReportDiff.has_regression` (also
:func:`has_regression`) is true when any finding or facility regressed or was unwaived; the CLI
exits 1 then. :attr:`ReportDiff.regressions` lists them, facilities first.

Two reports are compared only when they audit the same thing: the same region (and region
options) and the same operator. Otherwise :func:`diff_reports` refuses (``force=True`` compares
anyway and the diff says what differs). Differences that do not make a comparison meaningless —
the as-of date, the tool or rule-catalogue version, the data files' hashes — are stated in the
diff's ``notes``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.documents import load_json, read_text
from auditor.errors import InputError

__all__ = [
    "CATEGORIES",
    "DIFF_SCHEMA",
    "REGRESSIONS",
    "Change",
    "ReportDiff",
    "diff_json",
    "diff_markdown",
    "diff_reports",
    "diff_text",
    "finding_keys",
    "has_regression",
    "load_report",
]

REPORT_SCHEMA = "pilot-zone-auditor/report/1"
DIFF_SCHEMA = "pilot-zone-auditor/diff/1"
CATEGORIES = ("regressed", "unwaived", "waived", "fixed", "improved", "new", "removed", "changed", "unchanged")
#: The categories that are a regression (a loss of proof); ``has_regression`` is any of them.
REGRESSIONS = ("regressed", "unwaived")
_BAD = {"fail", "indeterminate", "error"}
_GOOD = {"pass", "not_applicable"}


@dataclass(frozen=True, slots=True)
class Change:
    """One finding or facility compared; ``old``/``new`` are statuses or verdicts (None when absent)."""

    key: str
    subject: str
    rule: str | None
    old: str | None
    new: str | None
    category: str
    message: str = ""
    why: str = ""  # for a regression: what was lost, in words

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"key": self.key, "subject": self.subject}
        if self.rule is not None:
            d["rule"] = self.rule
        d.update(old=self.old, new=self.new)
        if self.why:
            d["why"] = self.why
        if self.message:
            d["message"] = self.message
        return d


@dataclass(frozen=True)
class ReportDiff:
    old_verdict: str | None
    new_verdict: str | None
    old_as_of: str | None
    new_as_of: str | None
    findings: dict[str, list[Change]] = field(default_factory=dict)
    facilities: dict[str, list[Change]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what differs between the two audits besides their results

    @property
    def has_regression(self) -> bool:
        """Whether anything lost its proof (regressed or unwaived): the CI gate fails."""
        return any(self.findings.get(c) or self.facilities.get(c) for c in REGRESSIONS)

    @property
    def regressions(self) -> list[Change]:
        """Every regressed or unwaived facility, then every such finding, each in key order."""
        return [c for changes in (self.facilities, self.findings) for cat in REGRESSIONS for c in changes.get(cat, [])]

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            "findings": {c: len(self.findings.get(c, [])) for c in CATEGORIES},
            "facilities": {c: len(self.facilities.get(c, [])) for c in CATEGORIES},
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": DIFF_SCHEMA,
            "old": {"verdict": self.old_verdict, "as_of": self.old_as_of},
            "new": {"verdict": self.new_verdict, "as_of": self.new_as_of},
            "has_regression": self.has_regression,
            "notes": list(self.notes),
            "counts": self.counts(),
            "findings": {c: [x.as_dict() for x in self.findings.get(c, [])] for c in CATEGORIES},
            "facilities": {c: [x.as_dict() for x in self.facilities.get(c, [])] for c in CATEGORIES},
        }


def has_regression(diff: ReportDiff) -> bool:
    return diff.has_regression


#: A streamed audit's report.json details at most 1,000 facilities; an in-memory one of a million rows stays under 2 GB.
MAX_REPORT_BYTES = 2 << 30


def load_report(path: str | Path) -> dict[str, Any]:
    """Read a report.json (or the report.json of a report folder); InputError if it is missing, not
    JSON, or not a pilot-zone-auditor report."""
    if Path(path).is_dir():
        path = Path(path) / "report.json"
    source = str(path)
    if not Path(path).exists():
        raise InputError("report not found", source=source)
    text = read_text(path, what="report", max_bytes=MAX_REPORT_BYTES)
    doc = load_json(text, source=source, what="JSON report")
    _check(doc, source)
    return doc


def _check(doc: Any, source: str) -> None:
    if not isinstance(doc, Mapping) or doc.get("schema") != REPORT_SCHEMA:
        got = doc.get("schema") if isinstance(doc, Mapping) else type(doc).__name__
        raise InputError(f"not a {REPORT_SCHEMA} report (schema {got!r})", source=source, hint="pass report.json written by 'auditor audit'")


def _category(old: str | None, new: str | None) -> tuple[str, str]:
    """(category, why) for a status or verdict ``old`` → ``new`` (None: absent); ``why`` only for regressions."""
    if new is None:
        return ("removed", "") if old is not None else ("unchanged", "")
    if old == new:
        return "unchanged", ""
    if new == "error":
        return "regressed", "the row can no longer be read"
    if old == "waived" and new in _BAD:
        return "unwaived", "the waiver expired or was removed"
    if new == "waived":
        return "waived", ""
    if new == "fail":
        return "regressed", "now fails"
    if old is None:
        return "new", ""
    if old in _GOOD and new == "indeterminate":
        return "regressed", "lost its proof"
    if old in _BAD | {"waived"} and new in _GOOD:
        return "fixed", ""
    if old in ("fail", "error") and new == "indeterminate":
        return "improved", ""
    return "changed", ""


def finding_keys(items: list[Mapping[str, Any]]) -> list[str]:
    """A stable key for each finding dict, in the given order: "SUBJECT RULE", plus a discriminator
    ("[message head]" or "#n") where one subject has several findings of one rule."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, x in enumerate(items):
        groups.setdefault((str(x.get("subject", "")), str(x.get("rule", ""))), []).append(i)
    keys = [""] * len(items)
    for (subject, rule), idx in groups.items():
        base = f"{subject} {rule}"
        if len(idx) == 1:
            keys[idx[0]] = base
            continue
        heads = [str(items[i].get("message", "")).split(": ", 1)[0] for i in idx]
        unique = len(set(heads)) == len(heads) and all(heads)
        for n, (i, h) in enumerate(zip(idx, heads), start=1):
            keys[i] = f"{base} [{h}]" if unique else f"{base} #{n}"
    return keys


def _findings(report: Mapping[str, Any]) -> dict[str, tuple[str, str, str, str]]:
    """key → (subject, rule, status, message)."""
    items: list[Mapping[str, Any]] = list(report.get("operator_findings") or [])
    for f in report.get("facilities") or []:
        items.extend(f.get("findings") or [])
    return {
        k: (str(x.get("subject", "")), str(x.get("rule", "")), str(x.get("status", "")), str(x.get("message", "")))
        for k, x in zip(finding_keys(items), items)
    }


def _facilities(report: Mapping[str, Any]) -> dict[str, str]:
    return {str(f.get("id", "")): str(f.get("verdict", "")) for f in report.get("facilities") or []}


def _sorted(changes: list[Change]) -> list[Change]:
    return sorted(changes, key=lambda c: (c.subject, c.rule or "", c.key))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _region_key(report: Mapping[str, Any]) -> tuple[Any, Any]:
    region = _mapping(report.get("region"))
    options = region.get("options")
    if isinstance(options, Mapping):  # report.json: {name: {"value": ..., "default": ..., ...}}
        pairs = [(str(k), bool(_mapping(v).get("value"))) for k, v in options.items()]
    else:  # a list of {"name", "value"}, as earlier reports wrote it
        pairs = [(str(o.get("name")), bool(o.get("value"))) for o in _items(options) if isinstance(o, Mapping)]
    return region.get("id"), sorted(pairs)


def _operator_name(report: Mapping[str, Any]) -> Any:
    return _mapping(report.get("operator")).get("name")


def comparability(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(why the two reports cannot be compared, what else differs between them), both as sentences."""
    refusals: list[str] = []
    (old_region, old_options), (new_region, new_options) = _region_key(old), _region_key(new)
    if old_region != new_region:
        refusals.append(f"the region differs: {old_region} → {new_region}")
    elif old_options != new_options:
        refusals.append(f"the region's options differ: {old_options} → {new_options}")
    if _operator_name(old) != _operator_name(new):
        refusals.append(f"the operator differs: {_operator_name(old)!r} → {_operator_name(new)!r}")
    notes: list[str] = []
    if old.get("as_of") != new.get("as_of"):
        notes.append(f"judged as of {old.get('as_of')} → {new.get('as_of')}")
    old_tool, new_tool = _mapping(old.get("tool")), _mapping(new.get("tool"))
    for key, label in (("version", "tool version"), ("rules_version", "rule catalogue")):
        if old_tool.get(key) != new_tool.get(key):
            notes.append(f"{label} {old_tool.get(key)} → {new_tool.get(key)}")
    def hashes(report: Mapping[str, Any]) -> dict[str, Any]:
        return {str(s.get("name")): s.get("sha256") for s in _items(report.get("data_sources")) if isinstance(s, Mapping)}
    old_data, new_data = hashes(old), hashes(new)
    changed = sorted(n for n in set(old_data) & set(new_data) if old_data[n] != new_data[n])
    if changed:
        notes.append("data files changed: " + ", ".join(changed))
    only = sorted(set(old_data) ^ set(new_data))
    if only:
        notes.append("data files used by one audit only: " + ", ".join(only))
    return refusals, notes


def diff_reports(old: Mapping[str, Any], new: Mapping[str, Any], *, force: bool = False) -> ReportDiff:
    """Compare two report.json mappings (old → new). Pure and deterministic.

    Reports of another region, region options or operator are refused (:class:`InputError`)
    unless ``force``; then the diff's notes begin with what differs.
    """
    _check(old, "old report")
    _check(new, "new report")
    refusals, notes = comparability(old, new)
    if refusals and not force:
        raise InputError("the two reports do not audit the same thing: " + "; ".join(refusals),
                         hint="compare reports of one operator in one region, or give --force to compare anyway")
    notes = [f"compared anyway (--force): {r}" for r in refusals] + notes
    fo, fn = _findings(old), _findings(new)
    findings: dict[str, list[Change]] = {c: [] for c in CATEGORIES}
    for key in sorted(set(fo) | set(fn)):
        a, b = fo.get(key), fn.get(key)
        subject, rule = (b or a)[0], (b or a)[1]  # type: ignore[index]
        cat, why = _category(a and a[2], b and b[2])
        findings[cat].append(Change(key, subject, rule, a and a[2], b and b[2], cat, (b or a)[3], why))  # type: ignore[index]
    vo, vn = _facilities(old), _facilities(new)
    facilities: dict[str, list[Change]] = {c: [] for c in CATEGORIES}
    for fid in sorted(set(vo) | set(vn)):
        a2, b2 = vo.get(fid), vn.get(fid)
        cat, why = _category(a2, b2)
        facilities[cat].append(Change(fid, fid, None, a2, b2, cat, why=why))
    return ReportDiff(
        old_verdict=(old.get("summary") or {}).get("verdict"),
        new_verdict=(new.get("summary") or {}).get("verdict"),
        old_as_of=old.get("as_of"),
        new_as_of=new.get("as_of"),
        findings={c: _sorted(v) for c, v in findings.items()},
        facilities={c: _sorted(v) for c, v in facilities.items()},
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- renderers


def diff_json(diff: ReportDiff) -> str:
    return json.dumps(diff.as_dict(), ensure_ascii=False, indent=2, sort_keys=True, allow_nan=False) + "\n"


def _arrow(c: Change) -> str:
    return f"{c.old or '(absent)'} → {c.new or '(absent)'}" + (f" ({c.why})" if c.why else "")


def _headline(diff: ReportDiff) -> str:
    verdict = f"verdict {diff.old_verdict} → {diff.new_verdict}"
    if diff.old_as_of != diff.new_as_of:
        verdict += f" (as of {diff.old_as_of} → {diff.new_as_of})"
    return verdict


def _counts_line(changes: Mapping[str, list[Change]]) -> str:
    return ", ".join(f"{len(changes.get(c, []))} {c}" for c in CATEGORIES)


def diff_text(diff: ReportDiff, *, show_unchanged: bool = False) -> str:
    lines = [_headline(diff), *(f"note: {n}" for n in diff.notes), "regression: " + ("yes" if diff.has_regression else "no"),
             "facilities: " + _counts_line(diff.facilities), "findings: " + _counts_line(diff.findings)]
    for label, changes in (("facilities", diff.facilities), ("findings", diff.findings)):
        for cat in CATEGORIES:
            if cat == "unchanged" and not show_unchanged:
                continue
            items = changes.get(cat, [])
            if not items:
                continue
            lines += ["", f"{label} {cat} ({len(items)}):"]
            lines += [f"  {c.key}: {_arrow(c)}" for c in items]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def diff_markdown(diff: ReportDiff, *, show_unchanged: bool = False) -> str:
    lines = ["# Audit diff", "", f"- {_md(_headline(diff))}", *(f"- note: {_md(n)}" for n in diff.notes),
             f"- regression: **{'yes' if diff.has_regression else 'no'}**", "",
             "| | " + " | ".join(CATEGORIES) + " |", "|---|" + "---:|" * len(CATEGORIES)]
    for label, changes in (("facilities", diff.facilities), ("findings", diff.findings)):
        lines.append(f"| {label} | " + " | ".join(str(len(changes.get(c, []))) for c in CATEGORIES) + " |")
    for label, changes, head in (("Facilities", diff.facilities, "| facility | before | after |"),
                                 ("Findings", diff.findings, "| subject | rule | before | after |")):
        for cat in CATEGORIES:
            items = changes.get(cat, [])
            if not items or (cat == "unchanged" and not show_unchanged):
                continue
            why = cat in REGRESSIONS
            table_head = head + (" why |" if why else "")
            lines += ["", f"## {label} {cat} ({len(items)})", "", table_head, "|" + "---|" * table_head.count(" | ") + "---|"]
            for c in items:
                if c.rule is None:
                    cells = [c.key]
                else:
                    suffix = c.key[len(f"{c.subject} {c.rule}"):].strip()
                    cells = [c.subject, c.rule + (f" {suffix}" if suffix else "")]
                cells += [c.old or "—", c.new or "—"] + ([c.why] if why else [])
                lines.append("| " + " | ".join(_md(x) for x in cells) + " |")
    return "\n".join(lines) + "\n"

