"""Planning an audit: its target, region, date and evidence configuration, resolved before any row is read;
and the shipped tables every audit names (basic-telecom networks, the clause catalogue)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from auditor.config import AuditConfig
from auditor.errors import InputError
from auditor.inventory.profile import (
    PROFILE_SUFFIXES,
    load_profile,
    profile_columns,
    profile_default_crs,
)
from auditor.inventory.read import RawTable
from auditor.inventory.reading import InventorySource, Reading
from auditor.model import Facility, Operator
from auditor.paths import package_data_dir, sha256_file
from auditor.regions import DataSource, Region, Registry, load_registry
from auditor.resolve.address.suggest import GazetteerNames
from auditor.rules.base import OPERATOR, BasicTelecomTable

__all__ = ["AuditPlan", "UNSTATED_CRS_WARNING", "clauses_version", "crs_unstated", "input_record", "load_basic_telecom",
           "prepare", "profile_paths", "registration_facility"]


def load_basic_telecom(path: Path | None = None) -> tuple[BasicTelecomTable, DataSource]:
    return _basic_telecom(str(path or package_data_dir() / "basic_telecom_asns.yaml"))


@functools.lru_cache(maxsize=4)
def _basic_telecom(path: str) -> tuple[BasicTelecomTable, DataSource]:
    p = Path(path)
    doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    table = BasicTelecomTable.from_document(doc)
    return table, DataSource("basic_telecom_asns", f"auditor/data/{p.name}", sha256_file(p), str(table.compiled))


@functools.lru_cache(maxsize=1)
def clauses_version() -> tuple[str, DataSource]:
    p = package_data_dir() / "clauses.yaml"
    doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    return str(doc["catalogue_version"]), DataSource("clauses", f"auditor/data/{p.name}", sha256_file(p), str(doc["catalogue_version"]))


def registration_facility(op: Operator) -> Facility | None:
    if op.registration_lon is None and not op.registration_adcode and not op.registration_address:
        return None
    decimals = None
    if op.registration_lon is not None and op.registration_lat is not None:
        parts = [repr(float(v)).split(".") for v in (op.registration_lon, op.registration_lat)]
        decimals = min(len(p[1]) if len(p) == 2 and "e" not in p[1] else 0 for p in parts)
    return Facility(
        id=OPERATOR, row=0, source=op.source, lon=op.registration_lon, lat=op.registration_lat,
        crs=op.registration_crs, crs_stated=op.registration_crs is not None,
        coordinate_decimals=decimals, adcode=op.registration_adcode, address=op.registration_address,
    )


def profile_paths(settings: dict[str, Any] | None, profile: Path) -> dict[str, Any] | None:
    """Evidence settings from a profile, with file paths taken relative to the profile."""
    if not settings:
        return settings
    out = dict(settings)
    for key in ("ip_db", "asn_table", "cache_dir", "dns_recording"):
        if isinstance(out.get(key), str) and not Path(out[key]).is_absolute():
            out[key] = str(profile.parent / out[key])
    for key in ("mmdb", "latency"):
        if out.get(key):
            paths = [out[key]] if isinstance(out[key], str) else list(out[key])
            out[key] = tuple(p if Path(p).is_absolute() else str(profile.parent / p) for p in paths)
    return out


def input_record(table: RawTable, role: str) -> dict[str, Any]:
    """What report.json's ``inputs`` says about a facility list: the file, and how it was read
    (sheet, header row, which header gave each column, the columns not used, notes)."""
    rec: dict[str, Any] = {"role": role, "path": table.source, "sha256": table.sha256, "format": table.format, "rows": len(table.rows)}
    if table.encoding:
        rec["encoding"] = table.encoding
    if table.sheet:
        rec["sheet"] = table.sheet
    if table.format in ("csv", "xlsx"):
        rec["header_row"] = table.header_row
    cmap = table.column_map()
    rec.update(cmap.record())
    notes = list(table.notes) + cmap.notes()
    if notes:
        rec["notes"] = notes
    return rec


UNSTATED_CRS_WARNING = (
    "Some coordinates do not state their system (WGS-84, GCJ-02 or BD-09); their claims are widened by the "
    "datum offset. Add a crs column, facilities_crs to the profile, or --crs."
)


def crs_unstated(facilities: Sequence[Facility], default_crs: str | None) -> bool:
    """Whether some coordinates state no system and none was given for them (see UNSTATED_CRS_WARNING)."""
    return default_crs is None and any(f.has_coordinates and not f.crs for f in facilities)


@dataclass(frozen=True)
class AuditPlan:
    """What an audit is of, resolved from its target and options before any row is read."""

    registry: Registry
    operator: Operator
    region: Region
    as_of: dt.date
    inventory_path: Path | InventorySource  # the facility list, with how to read it when that was given
    default_crs: str | None
    config: AuditConfig
    inputs: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...]


def prepare(
    target: str | Path,
    *,
    region: str | None = None,
    region_options: dict[str, bool] | None = None,
    as_of: dt.date | str | None = None,
    crs: str | None = None,
    registry: Registry | None = None,
    config: AuditConfig | None = None,
    cli_config: dict[str, Any] | None = None,
    sheet: str | int | None = None,
    header_row: int | None = None,
    columns: dict[str, str] | None = None,
) -> AuditPlan:
    """Read the profile (if any), pick the region and its options, and resolve the evidence configuration.

    ``sheet``, ``header_row`` and ``columns`` ({canonical column: header}) say how to read the
    facility list instead of the reader's guess; ``cli_config`` may carry them too (keys
    ``sheet``, ``header_row``, ``columns``: the command line's ``--sheet``, ``--header-row``,
    ``--columns``). ``columns`` given here win over the profile's ``columns:`` block, column by column.
    """
    reg = registry or load_registry()
    cli_config = dict(cli_config or {})
    sheet = sheet if sheet is not None else cli_config.pop("sheet", None)
    header_row = header_row if header_row is not None else cli_config.pop("header_row", None)
    given_columns = dict(columns if columns is not None else cli_config.pop("columns", None) or {})
    day = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    target_p = Path(target)
    inputs: list[dict[str, Any]] = []
    warnings: list[str] = []
    if target_p.suffix.lower() in PROFILE_SUFFIXES:
        operator, doc = load_profile(target_p)
        evidence_settings = doc.get("evidence") if isinstance(doc.get("evidence"), dict) else None
        inputs.append({"role": "operator_profile", "path": str(target_p), "sha256": sha256_file(target_p), "format": target_p.suffix.lower().lstrip(".")})
        if region and region != operator.region:
            warnings.append(f"--region {region} overrides the profile's region {operator.region}")
        if not operator.facilities_path:
            raise InputError("the profile names no facility list ('facilities')", source=str(target_p))
        inventory_path = Path(operator.facilities_path)
        default_crs = crs or profile_default_crs(doc)
        from_profile = profile_columns(doc, str(target_p))
    else:
        if not region:
            raise InputError("a bare facility list needs --region", source=str(target_p), hint=f"one of: {', '.join(reg.region_ids)}")
        operator = Operator(name="", region=region, has_profile=False, source=str(target_p))
        evidence_settings = None
        inventory_path = target_p
        default_crs = crs
        from_profile = {}
    options = dict(operator.region_options)
    options.update(region_options or {})
    the_region = reg.region(region or operator.region, options)
    cfg = config or AuditConfig.resolve(cli=cli_config, profile=profile_paths(evidence_settings, target_p))
    if cfg.ignored_from_profile:
        warnings.append(
            f"the profile's evidence settings {', '.join(cfg.ignored_from_profile)} were ignored: a profile cannot make "
            "this machine contact the servers it names; give them on the command line, or --allow-profile-network"
        )
    origin = "--columns" if given_columns and not from_profile else "profile columns:" if from_profile and not given_columns else "--columns / profile columns:"
    reading = Reading(sheet=sheet, header_row=header_row, columns={**from_profile, **given_columns}, origin=origin,
                      unit_names=GazetteerNames(reg))
    source = InventorySource(inventory_path, reading)
    return AuditPlan(reg, operator, the_region, day, source, default_crs, cfg, tuple(inputs), tuple(warnings))
