"""Two audits compared, as a frame: what regressed, what was fixed, per facility and finding."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.result import AuditResult

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["diff"]

#: The change categories in the order a reader wants them: losses of proof first.
CHANGE_ORDER = ("regressed", "unwaived", "new", "removed", "changed", "waived", "improved", "fixed", "unchanged")


def _report(x: AuditResult | Mapping[str, Any] | str | Path) -> Mapping[str, Any]:
    if isinstance(x, AuditResult):
        from auditor.report.json_report import build_report

        return build_report(x, generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat())
    if isinstance(x, Mapping):
        return x
    from auditor.report.diff import load_report

    return load_report(x)


def diff(
    old: AuditResult | Mapping[str, Any] | str | Path,
    new: AuditResult | Mapping[str, Any] | str | Path,
    *,
    force: bool = False,
    findings: bool = False,
) -> pd.DataFrame:
    """What changed between two audits of one operator in one region, one row per facility (or finding).

    Parameters
    ----------
    old, new : AuditResult, report.json mapping, or path
        The earlier and the later audit: results in memory, parsed report.json mappings, or paths
        to report.json files or report folders.
    force : bool, default False
        Compare audits of different regions, region options or operators anyway (refused otherwise).
    findings : bool, default False
        One row per finding (rule × subject) instead of one per facility.

    Returns
    -------
    pandas.DataFrame
        Columns ``subject``, ``rule`` (findings only), ``old``, ``new``, ``change`` (an ordered
        categorical: regressed < unwaived < new < removed < changed < waived < improved < fixed <
        unchanged), ``regression`` (True for a loss of proof: regressed or unwaived), ``why`` and,
        for findings, ``message``. ``frame.attrs["notes"]`` says what differs between the two audits
        besides their results (dates, versions).

    Raises
    ------
    InputError
        The audits are of different regions or operators (without ``force``), or a file is not a report.

    Examples
    --------
    >>> a = {"schema": "pilot-zone-auditor/report/1", "region": {"id": "shanghai", "options": {}},
    ...      "operator": {"name": "X"}, "summary": {"verdict": "pass"}, "operator_findings": [],
    ...      "facilities": [{"id": "F1", "verdict": "pass", "findings": []}]}
    >>> b = {**a, "summary": {"verdict": "indeterminate"}, "facilities": [{"id": "F1", "verdict": "error", "findings": []}]}
    >>> diff(a, b)[["subject", "old", "new", "change", "regression"]]
      subject   old    new     change  regression
    0      F1  pass  error  regressed        True
    """
    import pandas as pd

    from auditor.report.diff import REGRESSIONS, diff_reports

    d = diff_reports(_report(old), _report(new), force=force)
    changes = d.findings if findings else d.facilities
    rows = []
    for category in CHANGE_ORDER:
        for c in changes.get(category, []):
            row: dict[str, Any] = {"subject": c.subject}
            if findings:
                row["rule"] = c.rule
            row.update(old=c.old, new=c.new, change=category, regression=category in REGRESSIONS, why=c.why)
            if findings:
                row["message"] = c.message
            rows.append(row)
    columns = ["subject"] + (["rule"] if findings else []) + ["old", "new", "change", "regression", "why"] + (["message"] if findings else [])
    frame = pd.DataFrame(rows, columns=columns)
    frame["change"] = pd.Categorical(frame["change"], categories=CHANGE_ORDER, ordered=True)
    frame.attrs["notes"] = list(d.notes)
    return frame
