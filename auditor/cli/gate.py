"""The CI gate: what ``auditor audit`` exits with, and what ``--fail-on`` makes stricter.

Exit statuses (the README's table is held to :data:`EXIT_STATUSES` by a test):

====  =====================================================================================
0     nothing failed (under the gate chosen with ``--fail-on``)
1     the gate failed: a finding failed (``--fail-on indeterminate``: or a finding or facility
      is indeterminate; ``--fail-on error``: or, also, a row could not be read)
2     unusable input or usage: the message names the file, row and column
3     rows could not be read (``error`` verdicts) and nothing else failed the gate
====  =====================================================================================

``--fail-on`` is a ladder, each level failing on what the one before does and more:

- ``fail`` (default): failed findings (1). Unreadable rows exit 3 — never 0: a row that could
  not be read is a facility nobody checked.
- ``indeterminate``: also indeterminate findings and facilities, and an audit of no rows (1);
  unreadable rows alone still exit 3.
- ``error``: also unreadable rows (1): every facility that was not proven fails the gate with one
  status, for a CI system that tells 1 (gate) from any other status (a broken tool).

A waived finding (a recorded, unexpired waiver) passes every gate: it is covered, and
``auditor diff`` tells when a waiver expires.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EXIT_ERROR_ROWS", "EXIT_FAILED", "EXIT_OK", "EXIT_STATUSES", "EXIT_USAGE", "FAIL_ON", "gate_exit", "gate_reason"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ERROR_ROWS = 0, 1, 2, 3
FAIL_ON = ("fail", "indeterminate", "error")

#: One line per status, as the README's table says it.
EXIT_STATUSES = {
    EXIT_OK: "nothing failed",
    EXIT_FAILED: "a finding failed (with `--fail-on indeterminate`, also an indeterminate finding or facility; "
                 "with `--fail-on error`, also a row that could not be read)",
    EXIT_USAGE: "unusable input or usage: the message names the file, row and column",
    EXIT_ERROR_ROWS: "rows could not be read (`error` verdicts) and nothing else failed",
}


def gate_exit(result: Any, fail_on: str = "fail") -> int:
    """The exit status of an audit under the gate ``fail_on`` (see the module docstring).

    With the default gate it is :attr:`auditor.result.AuditResult.exit_code` — the in-memory and
    the streamed audit both end here, and a streamed result counts every row (its ``totals``).
    """
    return gate_reason(result, fail_on)[0]


def gate_reason(result: Any, fail_on: str = "fail") -> tuple[int, str]:
    """The exit status under the gate ``fail_on`` and one line saying why."""
    if fail_on not in FAIL_ON:
        raise ValueError(f"fail_on must be one of {', '.join(FAIL_ON)}, got {fail_on!r}")
    code: int = result.exit_code
    if code == EXIT_FAILED:
        return code, "a finding failed"
    t = result.tallies()
    errors = t.verdicts.get("error", 0)
    if fail_on != "fail":
        facilities = t.verdicts.get("indeterminate", 0)
        findings = sum(counts.get("indeterminate", 0) for counts in t.rules.values())
        if facilities or findings:
            return EXIT_FAILED, (f"{facilities:,} {'facility' if facilities == 1 else 'facilities'} and {findings:,} "
                                 f"{'finding' if findings == 1 else 'findings'} indeterminate, and --fail-on {fail_on} fails on them")
        if t.facility_count == 0:
            return EXIT_FAILED, f"no rows were audited, and --fail-on {fail_on} fails on an audit of nothing"
    if code == EXIT_ERROR_ROWS:
        if fail_on == "error":
            return EXIT_FAILED, f"{_rows(errors)} could not be read, and --fail-on error fails on them"
        return code, f"{_rows(errors)} could not be read (error verdicts) and nothing else failed"
    return code, "nothing failed"


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"
