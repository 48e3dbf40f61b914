"""Distances in metres and the local metric projection each region is measured in."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import Geod, Transformer

__all__ = ["geodesic_distance_m", "LocalProjection", "local_projection"]

_GEOD = Geod(ellps="WGS84")


def geodesic_distance_m(
    lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike
) -> NDArray[np.float64]:
    """Geodesic distance on the WGS-84 ellipsoid, in metres, elementwise."""
    a = [np.asarray(v, dtype=np.float64) for v in (lon1, lat1, lon2, lat2)]
    lon1_b, lat1_b, lon2_b, lat2_b = np.broadcast_arrays(*a)
    _, _, dist = _GEOD.inv(lon1_b, lat1_b, lon2_b, lat2_b)
    return np.asarray(dist, dtype=np.float64)


class LocalProjection:
    """A transverse Mercator projection centred on a region, with scale 1 at its centre.

    Within 200 km of the central meridian the scale error is below 0.05 %, i.e.
    under a metre on a 1 km buffer: small against boundary accuracies of 300 m
    and more, and far better than any computation in degrees.
    """

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0 = round(float(lon0), 3)
        self.lat0 = round(float(lat0), 3)
        self.proj4 = (
            f"+proj=tmerc +lat_0={self.lat0} +lon_0={self.lon0} +k=1 +x_0=0 +y_0=0 "
            "+ellps=WGS84 +units=m +no_defs"
        )
        self._fwd = Transformer.from_crs("EPSG:4326", self.proj4, always_xy=True)
        self._inv = Transformer.from_crs(self.proj4, "EPSG:4326", always_xy=True)

    def forward(self, lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        x, y = self._fwd.transform(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def inverse(self, x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        lon, lat = self._inv.transform(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


@lru_cache(maxsize=32)
def local_projection(lon0: float, lat0: float) -> LocalProjection:
    """A cached :class:`LocalProjection` centred at (lon0, lat0)."""
    return LocalProjection(lon0, lat0)
