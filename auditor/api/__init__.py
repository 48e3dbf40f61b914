"""The public API, for notebooks and scripts: every name ``import auditor`` offers.

Frames in, frames out: :func:`audit` takes a file, a DataFrame or a GeoDataFrame; :func:`where`,
:func:`locate` and :func:`regions_frame` answer with DataFrames; results give
``facilities_frame()`` and ``findings_frame()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from auditor.api.audit import RegionalAudit, audit
from auditor.api.compare import diff
from auditor.api.lookups import locate, where
from auditor.api.regions import regions_frame
from auditor.errors import (
    AuditorError,
    BoundaryError,
    DataError,
    InputError,
    InventoryError,
    LongListWarning,
    RegistryError,
    UsageError,
)
from auditor.regions import load_registry
from auditor.result import AuditResult

if TYPE_CHECKING:
    import pandas as pd

    from auditor.inventory.table import RawTable
    from auditor.model import Facility

__all__ = [
    "AuditResult", "AuditorError", "BoundaryError", "DataError", "InputError", "InventoryError", "LongListWarning", "RegionalAudit",
    "RegistryError", "UsageError", "audit", "diff", "load_inventory", "load_registry", "locate", "regions_frame", "where",
]


def load_inventory(
    data: str | Path | pd.DataFrame,
    *,
    crs: str | None = None,
    lon: str | None = None,
    lat: str | None = None,
    id: str | None = None,  # noqa: A002 - the column's name in the facility-list format
    sheet: str | int | None = None,
    header_row: int | None = None,
    columns: dict[str, str] | str | None = None,
) -> tuple[RawTable, list[Facility]]:
    """Read a facility list (file or frame) and validate every row, without auditing it.

    Parameters
    ----------
    data : str, Path, pandas.DataFrame or geopandas.GeoDataFrame
        A facility list file (CSV, XLSX, GeoJSON, GeoPackage, Parquet) or a frame of facilities.
    crs : {"wgs84", "gcj02", "bd09"}, optional
        The coordinate system of rows that state none.
    lon, lat, id : str, optional
        A frame's columns holding longitude, latitude and facility id, when the reader would not
        recognise their names.
    sheet, header_row, columns : optional
        For a file: the workbook sheet (name or 1-based position), the 1-based header row, and an
        explicit column mapping (``{"id": "节点编号"}`` or ``"id=节点编号,kind=类型"``).

    Returns
    -------
    tuple of (RawTable, list of Facility)
        The text table as read, and one :class:`~auditor.model.Facility` per row in order; a row that
        cannot be used has ``errors`` saying why (file, row, column), it is never dropped.

    Raises
    ------
    InputError
        The list cannot be used at all (unreadable file, no id column). A ``ValueError``.

    Examples
    --------
    >>> import pandas as pd
    >>> table, rows = load_inventory(pd.DataFrame({"id": ["A", "B"], "lon": [121.93, 321.0], "lat": [30.905, 31.2]}))
    >>> [(f.id, f.lon, [e.column for e in f.errors]) for f in rows]
    [('A', 121.93, []), ('B', None, ['lon'])]
    """
    import pandas as pd

    from auditor.api.audit import frame_table
    from auditor.inventory import load_inventory as load_file
    from auditor.inventory import validate_rows

    if isinstance(data, pd.DataFrame):
        table = frame_table(data, lon=lon, lat=lat, id=id)
        return table, validate_rows(table, default_crs=crs)
    if lon or lat or id:
        raise UsageError("lon/lat/id", data, (), message="lon=, lat= and id= name a DataFrame's columns; for a file use columns=")
    return load_file(data, default_crs=crs, sheet=sheet, header_row=header_row, columns=columns)
