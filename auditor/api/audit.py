"""Audits of what an analyst holds: a file, a DataFrame or a GeoDataFrame, one region or a region column."""

from __future__ import annotations

import datetime as dt
import hashlib
import warnings as _warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.config import AuditConfig
from auditor.errors import AuditorError, LongListWarning, UsageError
from auditor.model import Facility, Operator, RowError
from auditor.regions import Registry, load_registry
from auditor.result import AuditResult

if TYPE_CHECKING:
    import pandas as pd
    from geopandas import GeoDataFrame

    from auditor.inventory.table import RawTable

__all__ = ["RegionalAudit", "audit", "as_date"]

#: What a DataFrame is called in messages and in report.json's inputs.
FRAME_SOURCE = "<DataFrame>"


def as_date(value: dt.date | str | None, name: str = "as_of") -> dt.date | None:
    """A date from a date or "YYYY-MM-DD" (None stays None); a bad string is a ``UsageError`` naming it."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise UsageError(name, value, (), message=f"{name}: {value!r} is not a date (YYYY-MM-DD, e.g. 2026-11-01)") from None


@dataclass
class RegionalAudit:
    """Audits of one table whose rows name their own regions: one :class:`AuditResult` per region.

    ``unassigned`` holds the rows whose region is empty or unknown: they are ``error`` rows in the
    frames, never dropped.
    """

    results: dict[str, AuditResult]
    unassigned: list[Facility] = field(default_factory=list)
    region_column: str = "region"

    def __getitem__(self, region: str) -> AuditResult:
        return self.results[region]

    def __iter__(self) -> Iterator[str]:
        return iter(self.results)

    @property
    def verdict(self) -> str:
        """fail if any region's audit failed; else indeterminate if any was or a row has no region; else pass."""
        verdicts = {r.verdict for r in self.results.values()}
        if "fail" in verdicts:
            return "fail"
        if "indeterminate" in verdicts or self.unassigned or not self.results:
            return "indeterminate"
        return "pass"

    @property
    def exit_code(self) -> int:
        """As ``auditor audit`` exits: 1 if a region's audit failed; else 3 if a row could not be read or
        placed in a region; else 0."""
        codes = {r.exit_code for r in self.results.values()}
        if 1 in codes:
            return 1
        return 3 if self.unassigned or 3 in codes else 0

    def facilities_frame(self) -> GeoDataFrame:
        """Every input row once, in input order, with its ``region`` (see :meth:`AuditResult.facilities_frame`)."""
        import geopandas as gpd
        import pandas as pd

        from auditor.result import FACILITY_VERDICTS, facilities_frame

        frames = [facilities_frame(r) for r in self.results.values()]
        if self.unassigned:
            frames.append(_unassigned_frame(self.unassigned))
        frame = pd.concat(frames, ignore_index=True) if frames else gpd.GeoDataFrame()
        frame = frame.sort_values("row", kind="stable").reset_index(drop=True)
        frame["verdict"] = pd.Categorical(frame["verdict"].astype(str), categories=FACILITY_VERDICTS, ordered=True)
        for c in frame.columns:
            if str(c).startswith("in_"):
                frame[c] = frame[c].fillna(False).astype(bool)
        return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")

    def findings_frame(self) -> GeoDataFrame:
        """Every finding of every region's audit, with its ``region``."""
        import geopandas as gpd
        import pandas as pd

        from auditor.result import FINDING_STATUSES, findings_frame

        frame = pd.concat([findings_frame(r) for r in self.results.values()], ignore_index=True)
        frame["status"] = pd.Categorical(frame["status"].astype(str), categories=FINDING_STATUSES, ordered=True)
        return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def _unassigned_frame(rows: list[Facility]) -> GeoDataFrame:
    import geopandas as gpd

    records = []
    for f in rows:
        record: dict[str, Any] = {
            "id": f.id, "row": f.row, "region": None, "kind": f.kind, "tenure": f.tenure, "name": f.name,
            "address": f.address, "lon": f.lon, "lat": f.lat, "crs": f.crs, "verdict": "error", "basis": "",
            "errors": "; ".join(f"{e.column or 'row'}: {e.message}" for e in f.errors),
        }
        for name, value in f.extra.items():
            record[name if name not in record else f"input:{name}"] = value
        records.append(record)
    return gpd.GeoDataFrame(records, geometry=[None] * len(records), crs="EPSG:4326")


def audit(
    data: str | Path | pd.DataFrame,
    region: str | None = None,
    *,
    lon: str | None = None,
    lat: str | None = None,
    id: str | None = None,  # noqa: A002 - the column's name in the facility-list format
    crs: str | None = None,
    region_column: str = "region",
    region_options: dict[str, bool] | None = None,
    as_of: dt.date | str | None = None,
    registry: Registry | None = None,
    config: AuditConfig | None = None,
    progress: Callable[..., None] | None = None,
    sheet: str | int | None = None,
    header_row: int | None = None,
    columns: dict[str, str] | str | None = None,
) -> AuditResult | RegionalAudit:
    """Audit an operator profile, a facility list file, or a DataFrame/GeoDataFrame of facilities.

    Parameters
    ----------
    data : str, Path, pandas.DataFrame or geopandas.GeoDataFrame
        An operator profile (YAML/TOML), a facility list (CSV, XLSX, GeoJSON, GeoPackage, Parquet),
        or a frame with one row per facility. A frame's columns are read as a file's headers are
        (``id``, ``kind``, ``lon``, ``lat``, ``crs``, ``address``, ``ip``, 节点编号, 经度 …); a
        GeoDataFrame's geometry, in its ``.crs``, gives the declared coordinates.
    region : str, optional
        The region every row is audited against; required for a file that is not a profile. For a
        frame without ``region``, each row is audited against the region in its ``region_column``.
    lon, lat, id : str, optional
        The frame's columns that hold longitude, latitude and the facility id, when they are not
        named in a way the reader knows.
    crs : {"wgs84", "gcj02", "bd09"}, optional
        The coordinate system of rows that state none (AMap/Tencent: gcj02, Baidu: bd09).
    region_column : str, default "region"
        The frame's column naming each row's region (a region id such as ``shanghai``, or its
        Chinese name such as 上海 / 上海市); rows whose region is empty or unknown become ``error``
        rows, never dropped.
    region_options : dict of str to bool, optional
        Options of the region (e.g. ``{"include_sansha": True}``); only with ``region``.
    as_of : date or "YYYY-MM-DD", optional
        The date the rules are judged on (default: today).
    registry : Registry, optional
        The region registry (default: the one shipped with the package).
    config : AuditConfig, optional
        Evidence configuration (IP databases, DNS, latency files); default: offline, embedded data.
    progress : callable, optional
        Called as ``progress(step, done=None, total=None)`` while the audit runs.
    sheet, header_row, columns : optional
        For a file: the workbook sheet (name or 1-based position), the 1-based header row, and an
        explicit column mapping (``{"id": "节点编号", "kind": "类型"}`` or ``"id=节点编号,kind=类型"``),
        when the reader's guess should not decide. For a frame, rename its columns instead.

    Returns
    -------
    AuditResult or RegionalAudit
        One result for one region; a :class:`RegionalAudit` (one result per region, plus the rows
        with no region) when the frame's rows name their regions.

    Raises
    ------
    InputError
        The file or frame cannot be used at all (no id column, unreadable file). A ``ValueError``.
    UsageError
        An unknown region or option, a bad ``as_of``, a frame without regions. A ``ValueError``.

    Warns
    -----
    LongListWarning
        The list has more rows (50,000, :data:`auditor.config.IN_MEMORY_ROWS`) than an audit is best
        held in memory for, at about 20 KB a row at peak: :func:`auditor.audit_streamed` audits a file
        in bounded memory.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"编号": ["A", "B"], "经度": [121.93, 116.40], "纬度": [30.905, 39.91],
    ...                       "坐标系": ["wgs84", "wgs84"], "region": ["上海", "beijing"]})
    >>> regional = audit(frame, as_of="2026-11-01")
    >>> regional.facilities_frame()[["id", "region", "verdict"]]
      id    region verdict
    0  A  shanghai    pass
    1  B   beijing    pass
    """
    import pandas as pd

    from auditor.engine.audit import audit as audit_target

    day = as_date(as_of) or dt.date.today()
    _warn_if_long(data, sheet)
    if not isinstance(data, pd.DataFrame):
        if lon or lat or id:
            raise UsageError("lon/lat/id", data, (), message="lon=, lat= and id= name a DataFrame's columns; for a file use columns=")
        return audit_target(data, region=region, region_options=region_options, as_of=day, crs=crs, registry=registry,
                            config=config, progress=progress, sheet=sheet, header_row=header_row, columns=columns)
    if sheet is not None or header_row is not None or columns:
        raise UsageError("sheet/header_row/columns", data, (), message="sheet=, header_row= and columns= say how to read a file; rename a DataFrame's columns instead")
    reg = registry or load_registry()
    if region_options and not region:
        raise UsageError("region_options", region_options, (), message="region_options need region=...: options belong to one region")
    table = frame_table(data, lon=lon, lat=lat, id=id)
    if region:
        return _audit_rows(table, region, region_options, day, crs, reg, config, progress)
    if region_column not in data.columns:
        raise UsageError("region", None, reg.region_ids, message=(
            f"a DataFrame needs region=<one of {', '.join(reg.region_ids)}> or a {region_column!r} column naming each row's region"))
    return _audit_by_region(data, table, region_column, day, crs, reg, config, progress)


def _warn_if_long(data: str | Path | pd.DataFrame, sheet: str | int | None) -> None:
    """A :class:`~auditor.errors.LongListWarning` when the list has more rows than an audit is best
    held in memory for (:data:`auditor.config.IN_MEMORY_ROWS`, read at call time)."""
    import pandas as pd

    from auditor.config import IN_MEMORY_ROWS  # at call time: tests lower it
    from auditor.inventory.profile import facility_list_of
    from auditor.inventory.read import more_rows_than
    from auditor.inventory.reading import Reading

    limit = IN_MEMORY_ROWS
    if isinstance(data, pd.DataFrame):
        long, what = len(data) > limit, f"the frame has {len(data):,} rows"
    else:
        try:
            path = facility_list_of(data)
        except AuditorError:
            return  # the audit itself says what is wrong with the profile
        long, what = more_rows_than(path, limit, Reading(sheet=sheet)), f"{path.name} has over {limit:,} rows"
    if long:
        _warnings.warn(f"{what}, audited in memory (about 20 KB a row at peak): auditor.audit_streamed(file, out_dir, ...) audits a "
                      "file in bounded memory and writes every row to facilities.csv/.parquet", LongListWarning, stacklevel=3)


def frame_table(data: pd.DataFrame, *, lon: str | None = None, lat: str | None = None, id: str | None = None) -> RawTable:  # noqa: A002
    """A frame as the raw text table a file reader gives (row n = the frame's n-th row, from 1)."""
    from auditor.inventory.read_geo import _frame_to_table

    renames = {given: canon for given, canon in ((lon, "lon"), (lat, "lat"), (id, "id")) if given}
    missing = [g for g in renames if g not in data.columns]
    if missing:
        raise UsageError("column", missing[0], [str(c) for c in data.columns])
    frame = data.rename(columns=renames) if renames else data
    table = _frame_to_table(frame.reset_index(drop=True), Path(FRAME_SOURCE), "dataframe")
    table.source = FRAME_SOURCE
    digest = hashlib.sha256()
    for text in ["\x1f".join(table.headers)] + ["\x1f".join(cells) for _, cells in table.rows]:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\x1e")
    table.sha256 = digest.hexdigest()
    return table


def _audit_rows(table: RawTable, region: str, options: dict[str, bool] | None, day: dt.date, crs: str | None,
                reg: Registry, config: AuditConfig | None, progress: Callable[..., None] | None) -> AuditResult:
    from auditor.engine.audit import audit_table
    from auditor.engine.plan import AuditPlan

    the_region = reg.region(region, options)
    plan = AuditPlan(reg, Operator(name="", region=region, has_profile=False, source=FRAME_SOURCE), the_region, day,
                     Path(FRAME_SOURCE), crs, config or AuditConfig.resolve(), (), ())
    return audit_table(plan, table, progress)


def _audit_by_region(data: pd.DataFrame, table: RawTable, column: str, day: dt.date, crs: str | None, reg: Registry,
                     config: AuditConfig | None, progress: Callable[..., None] | None) -> RegionalAudit:
    from auditor.inventory.table import RawTable
    from auditor.inventory.validate import validate_rows

    names = region_names(reg)
    groups: dict[str, list[int]] = {}
    unknown: list[int] = []
    for i, value in enumerate(data[column].tolist()):
        key = names.get(_region_key(value))
        (groups.setdefault(key, []) if key else unknown).append(i)

    def part(positions: list[int]) -> RawTable:
        rows = [table.rows[i] for i in positions]
        kept = {r for r, _ in rows}
        return RawTable(table.source, table.format, table.headers, rows, encoding=table.encoding, sha256=table.sha256,
                        file_crs=table.file_crs, cell_problems={r: p for r, p in table.cell_problems.items() if r in kept})

    results = {rid: _audit_rows(part(groups[rid]), rid, None, day, crs, reg, config, progress)
               for rid in reg.region_ids if rid in groups}
    unassigned = []
    if unknown:
        valid = ", ".join(reg.region_ids)
        for f, i in zip(validate_rows(part(unknown), default_crs=crs), unknown):
            value = data[column].iloc[i]
            text = "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()
            why = RowError(column, f"no pilot region {text!r}" if text else "no region given",
                           text or None, f"one of: {valid} (or 北京, 上海, 海南, 深圳)")
            unassigned.append(Facility(**{**_fields(f), "errors": (why, *f.errors)}))
    return RegionalAudit(results, unassigned, column)


def _fields(f: Facility) -> dict[str, Any]:
    return {name: getattr(f, name) for name in Facility.__dataclass_fields__}


def _region_key(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return "".join(str(value).split()).lower()


def region_names(reg: Registry) -> Mapping[str, str]:
    """Ways a region column names a region: its id, its Chinese names, and the province/city it is in."""
    out: dict[str, str] = {}
    for rid in reg.region_ids:
        r = reg.region(rid)
        out[rid] = rid
        out[_region_key(r.name_zh)] = rid
        out[_region_key(r.name_en)] = rid
        head = r.name_zh[:2]  # 北京, 上海, 海南, 深圳: the place every region's name begins with
        for suffix in ("", "市", "省"):
            out.setdefault(head + suffix, rid)
    return out
