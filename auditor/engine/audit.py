"""An audit in memory: plan, read every row, judge, assemble the result."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from auditor.config import AuditConfig
from auditor.engine.judge import judge, paused_gc
from auditor.engine.plan import (
    UNSTATED_CRS_WARNING,
    AuditPlan,
    clauses_version,
    crs_unstated,
    input_record,
    load_basic_telecom,
    prepare,
    registration_facility,
)
from auditor.inventory.read import RawTable, read_table
from auditor.inventory.validate import validate_rows
from auditor.regions import Registry
from auditor.result import NO_ROWS_WARNING, AuditResult

__all__ = ["audit", "audit_table"]


def audit(
    target: str | Path,
    *,
    region: str | None = None,
    region_options: dict[str, bool] | None = None,
    as_of: dt.date | str | None = None,
    crs: str | None = None,
    registry: Registry | None = None,
    config: AuditConfig | None = None,
    cli_config: dict[str, Any] | None = None,
    progress: Callable[..., None] | None = None,
    sheet: str | int | None = None,
    header_row: int | None = None,
    columns: dict[str, str] | str | None = None,
) -> AuditResult:
    """Audit an operator profile (YAML/TOML) or a bare facility list.

    Parameters
    ----------
    target
        An operator profile, or a facility list (CSV, XLSX, GeoJSON, GeoPackage, Parquet).
    region
        The region id; required for a bare facility list, and overrides the profile's.
    region_options
        Registry options for the region (e.g. ``{"include_sansha": True}``).
    as_of
        The date the rules are judged on (default: today).
    crs
        The coordinate system of rows whose ``crs`` cell is empty (overrides the profile's ``facilities_crs``).
    sheet, header_row, columns
        How to read the list when the reader's guess should not decide: a workbook sheet (name or
        1-based position), the 1-based header row, and ``{"id": "节点编号", ...}`` (or
        ``"id=节点编号,kind=类型"``); the profile's ``columns:`` block is used where these are not given.

    Examples
    --------
    From the repository root::

        result = audit("examples/shanghai-operator/operator.yaml", as_of="2026-11-01")
        result.verdict          # 'fail': Puxi and Hangzhou facilities
        result.exit_code        # 1 (a finding failed; 3: rows could not be read, nothing failed)
    """
    if isinstance(columns, str):
        from auditor.inventory.columns import parse_column_spec

        columns = parse_column_spec(columns)
    plan = prepare(target, region=region, region_options=region_options, as_of=as_of, crs=crs,
                   registry=registry, config=config, cli_config=cli_config, sheet=sheet, header_row=header_row, columns=columns)
    with paused_gc():
        return _audit_in_memory(plan, progress)


def audit_table(plan: AuditPlan, table: RawTable, progress: Callable[..., None] | None = None) -> AuditResult:
    """Audit rows already read (e.g. from a DataFrame: see :func:`auditor.api.audit`) under ``plan``."""
    with paused_gc():
        return _audit_in_memory(plan, progress, table)


def _audit_in_memory(plan: AuditPlan, progress: Callable[..., None] | None, table: RawTable | None = None) -> AuditResult:
    step = progress or (lambda *_a, **_k: None)
    operator, the_region, day = plan.operator, plan.region, plan.as_of
    inputs, warnings = list(plan.inputs), list(plan.warnings)

    step("read facility list")
    if table is None:
        table = read_table(plan.inventory_path)
    inputs.append(input_record(table, "facility_list"))
    facilities = validate_rows(table, default_crs=plan.default_crs)
    if crs_unstated(facilities, plan.default_crs):
        warnings.append(UNSTATED_CRS_WARNING)
    if not facilities:
        warnings.insert(0, NO_ROWS_WARNING)

    registration = registration_facility(operator)
    j = judge(facilities, operator, registration, plan, progress=step)
    basic_source, clauses_source = load_basic_telecom()[1], clauses_version()[1]
    data_sources = the_region.data_sources() + j.evidence.data_sources + [basic_source, clauses_source]
    ev = j.evidence
    return AuditResult(
        operator=operator, region=the_region, as_of=day, facilities=facilities, claims=j.claims,
        containment=j.containment, facility_findings=j.facility_findings, operator_findings=j.operator_findings,
        inputs=inputs, data_sources=data_sources, rules_version=clauses_version()[0], warnings=warnings + ev.all_notes(),
        evidence_sources=tuple(dict.fromkeys(ev.sources_run)), footprint=ev.footprint, asn=ev.asn,
        discovered=list(ev.discovered), dns=ev.dns, sweeps=ev.sweeps, evidence_mode=plan.config.evidence_mode,
    )
