"""Which region a point is in, and how sure that is."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from auditor.geo.containment import VERDICT_CODES, Verdict
from auditor.geo.crs import CRS, parse_crs, to_wgs84
from auditor.regions import Registry, load_registry

__all__ = ["WhereAnswer", "where"]


@dataclass(frozen=True, slots=True)
class WhereAnswer:
    region: str
    verdict: Verdict
    distance_m: float
    parts: tuple[str, ...]
    lon_wgs84: float
    lat_wgs84: float
    uncertainty_m: float


def where(
    lon: float,
    lat: float,
    *,
    crs: str | CRS = CRS.WGS84,
    region: str | None = None,
    uncertainty_m: float = 0.0,
    options: dict[str, bool] | None = None,
    registry: Registry | None = None,
) -> list[WhereAnswer]:
    """Containment of one point in one region (or every region), with distance to its line.

    Examples
    --------
    >>> [a.verdict.value for a in where(121.93, 30.905, region="shanghai")]
    ['inside']
    """
    reg = registry or load_registry()
    system = parse_crs(crs) if not isinstance(crs, CRS) else crs
    w_lon, w_lat = to_wgs84(np.array([lon]), np.array([lat]), system)
    ids = [region] if region else reg.region_ids
    out = []
    for rid in ids:
        r = reg.region(rid, options if region else None)
        res = r.geometry.classify_points(w_lon, w_lat, uncertainty_m)
        # distances and parts were asked for (classify_points' defaults), so neither is None
        assert res.part_mask is not None and res.distance_m is not None
        parts = tuple(p.id for p, m in zip(r.parts, res.part_mask[0]) if m)
        out.append(
            WhereAnswer(rid, VERDICT_CODES[res.verdict[0]], float(res.distance_m[0]), parts, float(w_lon[0]), float(w_lat[0]), float(uncertainty_m))
        )
    return out
