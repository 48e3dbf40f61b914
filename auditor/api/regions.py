"""The pilot regions as a GeoDataFrame, for maps and joins."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from auditor.api.audit import as_date
from auditor.regions import Registry, load_registry

if TYPE_CHECKING:
    from geopandas import GeoDataFrame

__all__ = ["regions_frame"]


def regions_frame(
    options: dict[str, dict[str, bool]] | None = None,
    *,
    as_of: dt.date | str | None = None,
    bands: bool = False,
    registry: Registry | None = None,
) -> GeoDataFrame:
    """Every part of every pilot region, one row each, in WGS-84.

    Parameters
    ----------
    options : dict, optional
        Region options by region id, e.g. ``{"hainan": {"include_sansha": True}}``; the others
        keep their defaults. A part whose option is off is listed with ``enabled`` False.
    as_of : date or "YYYY-MM-DD", optional
        The date for the ``status`` column (default: today).
    bands : bool, default False
        Also give each part's accuracy band: ``inner`` (the part shrunk by its line's accuracy)
        and ``outer`` (grown by it), as extra geometry columns. A point is only *inside* when its
        uncertainty disk fits in ``inner``, only *outside* when it misses ``outer``.
    registry : Registry, optional
        The region registry (default: the one shipped with the package).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``region``, ``region_name_zh``, ``region_name_en``, ``part``, ``name_zh``,
        ``name_en``, ``role`` (``core``, or ``envelope`` for parts that widen only the grown
        region), ``option`` (the option that turns the part on, or None), ``enabled``,
        ``accuracy_m``, ``status`` (the region's status on ``as_of``), ``geometry``
        (and ``inner``/``outer`` with ``bands``). CRS EPSG:4326.

    Examples
    --------
    >>> frame = regions_frame()
    >>> sorted(set(frame.region) & {"beijing", "guangzhou", "hainan", "shanghai", "shenzhen"})
    ['beijing', 'guangzhou', 'hainan', 'shanghai', 'shenzhen']
    """
    import geopandas as gpd
    import shapely

    from auditor.errors import UsageError

    reg = registry or load_registry()
    day = as_date(as_of) or dt.date.today()
    unknown = set(options or {}) - set(reg.region_ids)
    if unknown:
        raise UsageError("options", sorted(unknown)[0], reg.region_ids)
    rows, geoms, inner, outer = [], [], [], []
    for rid in reg.region_ids:
        chosen = (options or {}).get(rid) or {}
        region = reg.region(rid, chosen)
        part_options = reg.part_options(rid)
        everything = reg.region(rid, {name: True for name in region.option_specs}) if region.option_specs else region
        enabled = {p.id for p in region.parts}
        status = region.status_on(day)
        for part in everything.parts:
            rows.append({
                "region": rid, "region_name_zh": region.name_zh, "region_name_en": region.name_en,
                "part": part.id, "name_zh": part.name_zh, "name_en": part.name_en, "role": part.role.value,
                "option": part_options.get(part.id), "enabled": part.id in enabled, "accuracy_m": part.accuracy_m,
                "status": None if status is None else status.status,
            })
            geoms.append(part.geometry)
            if bands:
                g = everything.geometry
                k = [p.id for p in everything.parts].index(part.id)
                projected = g.projected_parts[k]
                inner.append(g._to_lonlat(shapely.buffer(projected, -part.accuracy_m)))
                outer.append(g._to_lonlat(shapely.buffer(projected, part.accuracy_m)))
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
    if bands:
        frame["inner"] = gpd.GeoSeries(inner, crs="EPSG:4326")
        frame["outer"] = gpd.GeoSeries(outer, crs="EPSG:4326")
    return frame
