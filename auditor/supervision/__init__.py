"""Supervision across operators and quarters (issue 20): what a regulator needs beyond one audit.

- :mod:`~auditor.supervision.history` — every audit recorded in a database (SQLite file or
  PostgreSQL, through SQLAlchemy; schema by Alembic migrations), listed, trended, loaded back for a diff;
- :mod:`~auditor.supervision.sample` — facilities drawn for on-site checks, weighted by risk, with
  their inclusion probabilities, and the Horvitz–Thompson estimate of the non-compliant share;
- :mod:`~auditor.supervision.portfolio` — every operator audited (or its reports read) into one
  table and map: portfolio.json, portfolio.md, portfolio.html.

Sits above the engine and the renderers (it runs audits and reads reports) and below the CLI.
"""

from __future__ import annotations

from auditor.supervision.history import DEFAULT_PROGRAMME, History, HistoryError, RunInfo, record_result
from auditor.supervision.portfolio import Portfolio, build_portfolio, write_portfolio
from auditor.supervision.sample import (
    DEFAULT_NEAR_LINE_M,
    DEFAULT_WEIGHTS,
    Estimate,
    FacilityRecord,
    Pick,
    Sample,
    estimate,
    records_from_history,
    records_from_report,
    sample,
)

__all__ = [
    "DEFAULT_NEAR_LINE_M", "DEFAULT_PROGRAMME", "DEFAULT_WEIGHTS", "Estimate", "FacilityRecord", "History", "HistoryError",
    "Pick", "Portfolio", "RunInfo", "Sample", "build_portfolio", "estimate", "record_result", "records_from_history",
    "records_from_report", "sample", "write_portfolio",
]
