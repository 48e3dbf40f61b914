"""A tiny catalogue of named synthetic test geometries.

Shapes are drawn in metres on a local transverse Mercator plane centred at
(121.0E, 31.0N) and converted vertex by vertex to WGS-84 lon/lat, which is what
:class:`auditor.geo.containment.RegionPart` takes. Coordinates are (x east, y north).
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from auditor.geo.measure import LocalProjection

ORIGIN = (121.0, 31.0)
PLANE = LocalProjection(*ORIGIN)

#: 20 x 16 km box with a 4.5 x 3 km hole (the hole is wider than twice 300 m and 1,000 m).
BOX_WITH_HOLE = Polygon(
    [(-10_000, -8_000), (10_000, -8_000), (10_000, 8_000), (-10_000, 8_000)],
    holes=[[(-2_000, -1_500), (-2_000, 1_500), (2_500, 1_500), (2_500, -1_500)]],
)

#: An L (reflex corner at (6 km, 5 km)) with a hole close to the reflex corner and a
#: 1.6 km hole that a 1,000 m grown outer closes but a 300 m one does not.
L_WITH_HOLES = Polygon(
    [(0, 0), (16_000, 0), (16_000, 5_000), (6_000, 5_000), (6_000, 14_000), (0, 14_000)],
    holes=[
        [(2_000, 2_000), (2_000, 3_500), (4_500, 3_500), (4_500, 2_000)],
        [(11_000, 1_700), (11_000, 3_300), (12_600, 3_300), (12_600, 1_700)],
    ],
)

#: A box overlapping the east arm of the L.
OVERLAP_BOX = box(9_000, -3_000, 20_000, 3_500)

#: A strip 1.5 km wide: shrunk by 1,000 m it vanishes.
NARROW_STRIP = box(-6_000, 16_000, 6_000, 17_500)

#: A box sharing the L's west edge (x = 0, y 0-14 km) from outside.
WEST_NEIGHBOUR = box(-8_000, 0, 0, 14_000)

#: A triangle with a sharp apex (reflex corners of the complement: arcs in grown buffers).
SPIKE = Polygon([(-9_000, -20_000), (-1_000, -20_000), (-5_000, -11_000)])


def to_wgs84(geom_m: BaseGeometry) -> BaseGeometry:
    """Convert a geometry in metres on :data:`PLANE` to WGS-84 lon/lat, vertex by vertex."""
    return shapely.transform(geom_m, lambda xy: np.column_stack(PLANE.inverse(xy[:, 0], xy[:, 1])))


def to_metres(geom_ll: BaseGeometry, projection=PLANE) -> BaseGeometry:
    """Convert a WGS-84 geometry to metres in ``projection`` (default :data:`PLANE`)."""
    return shapely.transform(geom_ll, lambda xy: np.column_stack(projection.forward(xy[:, 0], xy[:, 1])))
