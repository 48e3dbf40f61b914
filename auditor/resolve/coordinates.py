"""Declared coordinates → point claims in WGS-84 with an honest uncertainty radius.

The radius is the largest of: the uncertainty the row states; half a unit of
the last decimal the row gives (``121.5`` is only known to about ±5 km); and,
when the row does not say which coordinate system it uses, the distance between
its WGS-84, GCJ-02 and BD-09 readings (100-700 m in China), so that no system is
assumed silently.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from auditor.geo.containment import radius_for_decimals
from auditor.geo.crs import CRS, datum_ambiguity_m, to_wgs84
from auditor.model import EvidenceSource, Facility, LocationClaim

__all__ = ["DeclaredCoordinates", "declared_point_claims"]


def declared_point_claims(facilities: Sequence[Facility]) -> list[LocationClaim]:
    """Point claims for every valid row with coordinates; vectorised per coordinate system."""
    rows = [f for f in facilities if f.has_coordinates and not f.errors]
    if not rows:
        return []
    lon = np.array([f.lon for f in rows], dtype=np.float64)
    lat = np.array([f.lat for f in rows], dtype=np.float64)
    w_lon, w_lat = lon.copy(), lat.copy()
    crs = np.array([f.crs or "" for f in rows])
    for system in (CRS.GCJ02, CRS.BD09):
        sel = crs == system.value
        if sel.any():
            w_lon[sel], w_lat[sel] = to_wgs84(lon[sel], lat[sel], system)
    unknown = crs == ""
    ambiguity = np.zeros(len(rows))
    if unknown.any():
        ambiguity[unknown] = datum_ambiguity_m(lon[unknown], lat[unknown])
    claims = []
    for i, f in enumerate(rows):
        notes = []
        radius = float(f.uncertainty_m or 0.0)
        if f.coordinate_decimals is not None:
            assert f.lat is not None  # rows are the facilities with coordinates (has_coordinates above)
            precision = radius_for_decimals(f.lat, f.coordinate_decimals)
            if precision > radius:
                radius = precision
                if precision >= 1.0:
                    notes.append(f"coordinates given to {f.coordinate_decimals} decimal(s): ±{precision:.0f} m")
        if unknown[i]:
            radius += float(ambiguity[i])
            notes.append(
                f"coordinate system not stated: widened by {ambiguity[i]:.0f} m, the distance between its "
                "WGS-84, GCJ-02 and BD-09 readings (state crs to narrow it)"
            )
        original = {"lon": f.lon, "lat": f.lat, "crs": f.crs or "unstated"}
        claims.append(
            LocationClaim(
                id=f"{f.id}#coordinates",
                subject=f.id,
                source=EvidenceSource.DECLARED_COORDINATES,
                kind="point",
                lon=float(w_lon[i]),
                lat=float(w_lat[i]),
                uncertainty_m=radius,
                original=original,
                notes=tuple(notes),
            )
        )
    return claims


class DeclaredCoordinates:
    """Resolver for the coordinates an inventory declares."""

    name = EvidenceSource.DECLARED_COORDINATES.value

    def claims(self, facilities: Sequence[Facility]) -> list[LocationClaim]:
        return declared_point_claims(facilities)
