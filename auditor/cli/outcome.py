"""What ``auditor audit`` says on the terminal when it is done: nothing that matters stays silent.

The verdict line, then (unless ``--quiet``) the operator's own findings that did not pass, the ids
of the facilities that failed, are indeterminate or could not be read (the first
:data:`SHOWN_IDS`, then "and K more"), one line per kind of evidence that placed nothing
(report.json's ``summary.unplaced``), the warnings, what of the facility list was not read, the
reports written and the exit status with what it means.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from auditor.cli.gate import gate_reason

__all__ = ["SHOWN_IDS", "print_outcome", "unplaced_lines"]

#: Facility ids listed per verdict before "and K more".
SHOWN_IDS = 10
#: Facility ids shown per kind of unplaced evidence.
SHOWN_UNPLACED = 3

_UNPLACED = {
    "hostnames_unresolved": ("hostname did not resolve", "hostnames did not resolve"),
    "ipv6_without_evidence": ("IPv6 address had no location evidence", "IPv6 addresses had no location evidence"),
    "ips_unplaced": ("address could not be placed by any source", "addresses could not be placed by any source"),
}


def _ids(ids: Sequence[str], total: int, shown: int) -> str:
    """``"A, B, C"``, or ``"A, B, C … and 11 more"`` when ``total`` (every one, listed or not) exceeds what is shown."""
    head = ", ".join(ids[:shown])
    more = total - min(len(ids), shown)
    return f"{head} … and {more:,} more" if more > 0 else head


def unplaced_lines(summary: dict[str, Any]) -> list[str]:
    """One line per kind of report.json's ``summary.unplaced`` that has any: its count and first facility ids."""
    out = []
    for kind, (one, many) in _UNPLACED.items():
        entry = summary.get(kind) or {}
        count = int(entry.get("count") or 0)
        if not count:
            continue
        ids = [str(i) for i in entry.get("facilities") or []]
        line = f"{count:,} {one if count == 1 else many} ({_ids(ids, len(ids), SHOWN_UNPLACED)})"
        listed = int(entry.get("listed") or 0)
        if listed < count:
            line += f"; report.json lists the first {listed:,}"
        out.append(line)
    return out


def _facility_label(f: Any) -> str:
    return str(f.id) if getattr(f, "id", "") else f"row {f.row}"


def print_outcome(
    result: Any, paths: Sequence[Any], *, fail_on: str = "fail", streamed: bool = False,
    quiet: bool = False, err: bool = False, settings: str | None = None, notes: Sequence[str] = (),
) -> None:
    """Say how the audit ended (``err=True``: on standard error, when report.json goes to standard output)."""
    echo: Callable[[str], None] = lambda line: click.echo(line, err=err)  # noqa: E731 - one writer for every line
    t = result.tallies()
    counts = ", ".join(f"{k} {t.verdicts.get(k, 0)}" for k in ("pass", "fail", "indeterminate", "error", "waived")
                       if k != "waived" or t.verdicts.get(k, 0))
    echo(f"{result.region.id}: verdict {result.verdict.upper()} — {t.facility_count} facilities ({counts})")
    if quiet:
        return
    if settings:
        echo(f"  settings: {settings}")
    for x in result.operator_findings:
        if x.status.value in ("fail", "indeterminate"):
            echo(f"  operator {x.status.value}: [{x.rule}] {x.message}")
    by_verdict: dict[str, list[str]] = {"fail": [], "indeterminate": [], "error": []}
    for f in result.facilities:  # a streamed audit keeps the first of them; the counts are every row's
        v = result.facility_verdict(f).value
        if v in by_verdict:
            by_verdict[v].append(_facility_label(f) if v != "error" else f"{_facility_label(f)} (row {f.row})")
    for verdict, label in (("fail", "failed"), ("indeterminate", "indeterminate"), ("error", "could not be read")):
        total = t.verdicts.get(verdict, 0)
        if total:
            echo(f"  {label} ({total:,}): {_ids(by_verdict[verdict], total, SHOWN_IDS)}")
    from auditor.report.unplaced import unplaced_summary

    for line in unplaced_lines(unplaced_summary(t)):
        echo(f"  {line}")
    for w in result.warnings:
        echo(f"  warning: {w}")
    for n in notes:
        echo(f"  note: {n}")
    _print_reading(result.inputs, echo)
    if streamed:
        echo(f"  streamed: the summary reports detail {len(result.facilities):,} facilities that did not pass; the tables hold every row")
    if paths:
        echo("reports: " + ", ".join(str(p) for p in paths))
    status, why = gate_reason(result, fail_on)
    echo(f"exit status {status}: {why}")


def _print_reading(inputs: Any, echo: Callable[[str], None]) -> None:
    """Say what of the facility list was not read: its unused columns, and sheets that hold tables too."""
    for rec in inputs:
        if rec.get("role") != "facility_list":
            continue
        unused = rec.get("unused_columns") or []
        if unused:
            echo(f"  unused columns (not read; kept in the facility tables): {', '.join(unused)}")
        for note in rec.get("notes") or []:
            if "also holds a table" in note or "a row counter" in note:
                echo(f"  note: {note}")
