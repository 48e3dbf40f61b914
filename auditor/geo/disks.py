"""Geodesic disks: how far a round-trip time lets a target be from a vantage point, and the disk as a
polygon (an outer approximation, closed over the poles and split at the antimeridian).

See :mod:`auditor.geo.multilateration` for the physics and the sources; everything here is pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

__all__ = [
    "SPEED_OF_LIGHT_M_PER_S",
    "FIBRE_SPEED_FACTOR",
    "DEFAULT_DISK_POINTS",
    "DISJOINT_MARGIN_M",
    "RttSample",
    "Disk",
    "DiskPolygons",
    "rtt_radius_m",
    "check_speed_factor",
    "disk_polygons",
    "disk_polygon",
    "GEOD",
    "polygonal",
]

#: Speed of light in vacuum, m/s (exact, SI definition of the metre).
SPEED_OF_LIGHT_M_PER_S = 299_792_458.0
#: Fraction of c that a signal keeps in optical fibre (refractive index ~1.5); the
#: customary constant of constraint-based geolocation (Gueye et al. 2006).
FIBRE_SPEED_FACTOR = 2.0 / 3.0
#: Vertices per disk polygon unless more are needed to keep the polygon within
#: 0.05 % of the true radius. 128 vertices keep the chord sag at
#: 1 - cos(pi / 128) = 0.03 %; 64 would be 0.12 % (and are doubled).
DEFAULT_DISK_POINTS = 128
# Disks count as disjoint only when the gap exceeds this: floating-point noise in geodesic
# distances must not turn touching disks (a target exactly on both rims) into anycast.
DISJOINT_MARGIN_M = 1.0
_MIN_DISK_POINTS = 64
_MAX_DISK_POINTS = 1024
#: The polygon edge may lie this far (relative) beyond the radius before a disk gets more vertices.
_RING_TOLERANCE = 5e-4
#: Safety on the spherical estimate of the edge sag (the ellipsoid changes it by O(f x sag) ~ 1e-6).
_RING_MARGIN = 1e-5
#: Half the WGS-84 meridian: no two points on the ellipsoid are farther apart.
_MAX_GEODESIC_M = 20_003_931.4586
_MEAN_EARTH_RADIUS_M = 6_371_008.8
#: Disks up to this radius (and clear of the poles) take the fast path: the sphere's estimate of the
#: sag holds there (checked on the ellipsoid in tests). Larger ones are refined edge by edge.
_FAST_MAX_M = 9_000_000.0
#: Edge-by-edge refinement: rounds of splitting, the longest edge in longitude, the most vertices.
_MAX_SPLITS = 16
_MAX_EDGE_LON_DEG = 4.0
_MAX_ADAPTIVE_POINTS = 16_384
GEOD = Geod(ellps="WGS84")
_WORLD = box(-180.0, -90.0, 180.0, 90.0)


class DiskPolygons(StrEnum):
    """Which disks get a polygon in :func:`locate_targets`."""

    ALL = "all"            # every disk (for maps and reports)
    BOUNDING = "bounding"  # only disks that bound a feasible region; none for anycast targets


@dataclass(frozen=True, slots=True)
class RttSample:
    """One round-trip time from a vantage point at a known place to a target.

    ``vantage_lon``/``vantage_lat`` are WGS-84 degrees; ``vantage_uncertainty_m``
    is how far the vantage may really be from there (RIPE Atlas blurs published
    probe positions by up to ~400 m). ``target`` is a facility id, an IP address or
    a hostname; ``source`` says where the sample came from; ``measured_at`` is an
    ISO 8601 UTC time when known.
    """

    vantage_id: str
    vantage_lon: float
    vantage_lat: float
    vantage_uncertainty_m: float
    target: str
    rtt_ms: float
    source: str
    measured_at: str | None = None


@dataclass(frozen=True, slots=True)
class Disk:
    """Where one vantage point's fastest reply allows the target to be.

    ``radius_m`` already includes the vantage's own uncertainty
    (``uncertainty_m``). ``polygon`` is an outer WGS-84 approximation of the
    geodesic disk (see :func:`disk_polygons`), or None when it was not built
    (:attr:`DiskPolygons.BOUNDING`).
    """

    vantage_id: str
    lon: float
    lat: float
    radius_m: float
    rtt_ms: float
    polygon: Polygon | MultiPolygon | None = None
    uncertainty_m: float = 0.0


# --------------------------------------------------------------------------- radius


def rtt_radius_m(
    rtt_ms: ArrayLike,
    uncertainty_m: ArrayLike = 0.0,
    *,
    speed_factor: float = FIBRE_SPEED_FACTOR,
) -> NDArray[np.float64]:
    """Largest distance a target can be from a vantage point, in metres.

    ``rtt_ms / 2`` one way, at ``speed_factor`` × c, plus the vantage's own
    position uncertainty. Elementwise.

    Examples
    --------
    >>> round(float(rtt_radius_m(10.0)), 3)  # 10 ms of RTT: about 1,000 km
    999308.193
    >>> round(float(rtt_radius_m(1.0, 400.0)), 3)
    100330.819
    """
    check_speed_factor(speed_factor)
    rtt = np.asarray(rtt_ms, dtype=np.float64)
    unc = np.asarray(uncertainty_m, dtype=np.float64)
    return rtt * (0.5e-3 * speed_factor * SPEED_OF_LIGHT_M_PER_S) + unc


def check_speed_factor(speed_factor: float) -> None:
    if not (0.0 < float(speed_factor) <= 1.0):
        raise ValueError(f"speed_factor must be in (0, 1] (a fraction of c), not {speed_factor!r}")


# --------------------------------------------------------------------------- disk polygons


def _sag_factor(
    lon: NDArray[np.float64], lat: NDArray[np.float64], r: NDArray[np.float64], n: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """How far to push a ring's vertices out so that its lon/lat-straight edges stay outside the circle.

    Estimated on the sphere, which is ~10x cheaper than geodesics and changes
    the relative sag only by O(flattening x sag): the ring of ``n`` vertices at
    angular radius ``r / R``, the lon/lat midpoint of each edge, and its distance
    from the centre relative to the radius. The factor is ``max(1, 1 / min
    ratio)`` plus a margin: with the vertices that much farther out, the
    midpoints (where the sag is deepest) are at or beyond the true radius.
    Also returns the largest relative excess over the radius of a vertex or
    midpoint once pushed out (edges near a pole bow outwards as well).
    """
    phi = np.radians(lat)[:, None]
    lam = np.radians(lon)[:, None]
    delta = (r / _MEAN_EARTH_RADIUS_M)[:, None]
    theta = np.radians(np.arange(n) * (360.0 / n))[None, :]
    sin_phi, cos_phi = np.sin(phi), np.cos(phi)
    sin_d, cos_d = np.sin(delta), np.cos(delta)
    sin_lat2 = np.clip(sin_phi * cos_d + cos_phi * sin_d * np.cos(theta), -1.0, 1.0)
    lat2 = np.arcsin(sin_lat2)
    lon2 = lam + np.arctan2(np.sin(theta) * sin_d * cos_phi, cos_d - sin_phi * sin_lat2)
    lon2 = np.unwrap(np.concatenate([lon2, lon2[:, :1]], axis=1), axis=1)
    lat2 = np.concatenate([lat2, lat2[:, :1]], axis=1)
    mid_lon = 0.5 * (lon2[:, 1:] + lon2[:, :-1])
    mid_lat = 0.5 * (lat2[:, 1:] + lat2[:, :-1])
    # haversine from the centre
    h = np.sin(0.5 * (mid_lat - phi)) ** 2 + cos_phi * np.cos(mid_lat) * np.sin(0.5 * (mid_lon - lam)) ** 2
    ang = 2.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    lo = np.min(ang, axis=1) / delta[:, 0]
    hi = np.max(ang, axis=1) / delta[:, 0]
    k = np.maximum(1.0, 1.0 / lo) * (1.0 + _RING_MARGIN)
    return k, k * np.maximum(hi, 1.0) - 1.0


def _split_antimeridian(geom: BaseGeometry) -> BaseGeometry:
    """A geometry drawn with longitudes beyond ±180° folded back into [-180, 180]."""
    pieces = []
    for shift in (-360.0, 0.0, 360.0):
        moved = shapely.transform(geom, lambda xy, s=shift: xy + np.array([s, 0.0]))
        piece = shapely.intersection(moved, _WORLD)
        if not piece.is_empty:
            pieces.append(piece)
    return polygonal(shapely.union_all(pieces))


def _polar_cap(xs: NDArray[np.float64], ys: NDArray[np.float64], pole: float) -> Polygon:
    """The polygon of a disk holding one pole, from its closed ring unwrapped once around the globe.

    The ring is cut where it crosses ±180° (latitude interpolated there), laid
    out from -180° to 180°, and closed along the pole's latitude: one polygon,
    with no seam inside it.
    """
    if xs[-1] < xs[0]:  # walk eastwards
        xs, ys = xs[::-1], ys[::-1]
    xs = xs - 360.0 * np.floor((xs[0] + 180.0) / 360.0)   # first vertex in [-180, 180)
    cut = int(np.searchsorted(xs, 180.0, side="right"))   # the ring is monotone in lon
    if 0 < cut < xs.size:
        x0, x1, y0, y1 = xs[cut - 1], xs[cut], ys[cut - 1], ys[cut]
        y_cut = y0 + (y1 - y0) * (180.0 - x0) / (x1 - x0) if x1 != x0 else y0
    else:
        y_cut = ys[0]
    east, west = xs[:cut], ys[:cut]                      # [x0, 180)
    wrap_x, wrap_y = xs[cut:-1] - 360.0, ys[cut:-1]      # [-180, x0)
    ring_x = np.r_[-180.0, wrap_x, east, 180.0, 180.0, -180.0]
    ring_y = np.r_[y_cut, wrap_y, west, y_cut, pole, pole]
    return shapely.make_valid(Polygon(np.column_stack([ring_x, ring_y])))


def polygonal(geom: BaseGeometry | None) -> Polygon | MultiPolygon | None:
    """The polygonal part of a geometry (a touching line or point is dropped); None if empty."""
    if geom is None or geom.is_empty:
        return None
    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, (Polygon, MultiPolygon)) and not g.is_empty]
    if not parts:
        return None
    merged = shapely.union_all(parts)
    return merged if isinstance(merged, (Polygon, MultiPolygon)) else None


def disk_polygons(
    lon: ArrayLike,
    lat: ArrayLike,
    radius_m: ArrayLike,
    *,
    n_points: int = DEFAULT_DISK_POINTS,
) -> NDArray[np.object_]:
    """Outer WGS-84 polygons of geodesic disks, vectorised.

    Each ring has at least ``n_points`` (>= 64) vertices placed with
    :meth:`pyproj.Geod.fwd` around the centre. Edges are straight in lon/lat,
    so between vertices a ring sags inside the true circle (near a pole it also
    bows out); the vertices are therefore placed slightly farther than
    ``radius_m``, by the sag measured for that disk, so that every point of the
    polygon's boundary is at or beyond the radius, and within 0.1 % of it
    (measured: 0.08 % at worst over 20,000 random disks worldwide, 0.07 % in China).

    Two paths (the sag is what differs):

    * disks that stay 3 % of their radius clear of both poles and reach at most
      9,000 km (from Chinese vantages: RTTs up to ~40 ms at Mohe, 54 ms at
      Beijing's latitude, 78 ms on Hainan) are built together:
      the sag is estimated on the sphere (~10x cheaper than geodesics; the
      ellipsoid changes it by O(flattening x sag)), and the vertex count doubles,
      up to 1,024, where 128 equal azimuths sag more than 0.05 %;
    * the others (over or near a pole, or larger) are refined on the ellipsoid
      edge by edge: an edge is split at its middle azimuth until it stays within
      0.05 % of the circle and spans at most 4° of longitude.

    A disk that contains one pole is closed over that pole; one that contains
    both is the whole world minus the far cap; one whose radius reaches half the
    meridian (20,004 km) is the whole world, and so is one so close to that
    that its far cap cannot be drawn (geodesics of one length cross near the
    antipode); any of them crossing ±180° is split there into a MultiPolygon.
    Radii below 1 m are drawn as 1 m.

    Examples
    --------
    >>> p = disk_polygons([121.47], [31.23], [100_000.0])[0]
    >>> p.geom_type, len(p.exterior.coords) - 1
    ('Polygon', 128)
    >>> p.contains(shapely.Point(121.47, 31.23 + 0.89))   # ~99 km due north
    True
    """
    lon_a = np.atleast_1d(np.asarray(lon, dtype=np.float64)).ravel()
    lat_a = np.atleast_1d(np.asarray(lat, dtype=np.float64)).ravel()
    r_a = np.atleast_1d(np.asarray(radius_m, dtype=np.float64)).ravel()
    lon_a, lat_a, r_a = np.broadcast_arrays(lon_a, lat_a, r_a)
    if n_points < _MIN_DISK_POINTS:
        raise ValueError(f"n_points must be at least {_MIN_DISK_POINTS}, not {n_points}")
    bad = ~(np.isfinite(lon_a) & np.isfinite(lat_a) & np.isfinite(r_a)) | (np.abs(lat_a) > 90) | (np.abs(lon_a) > 180) | (r_a < 0)
    if bad.any():
        first_bad = int(np.flatnonzero(bad)[0])
        raise ValueError(f"disk {first_bad}: invalid centre or radius ({lon_a[first_bad]}, {lat_a[first_bad]}, {r_a[first_bad]} m)")
    m = lon_a.size
    out = np.empty(m, dtype=object)
    if m == 0:
        return out
    r_a = np.maximum(r_a, 1.0)
    world = r_a >= _MAX_GEODESIC_M
    out[world] = _WORLD
    todo = np.flatnonzero(~world)
    if todo.size == 0:
        return out
    lon_t, lat_t, r_t = lon_a[todo], lat_a[todo], r_a[todo]
    _, _, d_north = GEOD.inv(lon_t, lat_t, lon_t, np.full_like(lat_t, 90.0))
    _, _, d_south = GEOD.inv(lon_t, lat_t, lon_t, np.full_like(lat_t, -90.0))
    d_north, d_south = np.asarray(d_north), np.asarray(d_south)

    # Fast path, vectorised: disks that stay 3 % of their radius clear of the poles and reach
    # 9,000 km at most (all of China's below ~50 ms of RTT). Vertex
    # count and push-out from the sphere's estimate of the sag; n doubles where it is too deep.
    fast = (r_t <= _FAST_MAX_M) & (r_t < 0.97 * np.minimum(d_north, d_south))
    n_of = np.full(todo.size, int(n_points))
    k_of = np.ones(todo.size)
    pending = np.flatnonzero(fast)
    n = int(n_points)
    while pending.size:
        k, excess = _sag_factor(lon_t[pending], lat_t[pending], r_t[pending], n)
        n_of[pending], k_of[pending] = n, k
        pending = pending[excess > _RING_TOLERANCE]
        if n >= _MAX_DISK_POINTS:
            fast[pending] = False   # still too curved for equal azimuths: refine edge by edge
            break
        n *= 2
    for n in np.unique(n_of[fast]):
        sel = np.flatnonzero(fast & (n_of == n))
        closed_lon, closed_lat = _rings(lon_t[sel], lat_t[sel], r_t[sel] * k_of[sel], int(n))
        polys = shapely.polygons(np.stack([closed_lon, closed_lat], axis=-1))
        # a ring that came out invalid anyway is rebuilt on the slow path rather than repaired
        # (a repaired ring need not hold its disk)
        invalid = ~shapely.is_valid(polys)
        fast[sel[invalid]] = False
        xmin, _, xmax, _ = shapely.bounds(polys).T
        for j in np.flatnonzero(((xmin < -180.0) | (xmax > 180.0)) & ~invalid):
            polys[j] = _split_antimeridian(polys[j])
        out[todo[sel[~invalid]]] = polys[~invalid]

    # Slow path, one disk at a time (rare: over a pole, or half a hemisphere and more), refined
    # edge by edge on the ellipsoid itself.
    slow = np.flatnonzero(~fast)
    geom: BaseGeometry | None
    rings = _adaptive_rings(lon_t[slow], lat_t[slow], r_t[slow], int(n_points)) if slow.size else []
    for i, (xs, ys, dist, outer) in zip(slow, rings):
        winding = xs[-1] - xs[0]
        if not outer:
            # no ring could be drawn outside the disk: the whole world is the only safe polygon
            geom = _WORLD
        elif abs(winding) >= 180.0:
            geom = _polar_cap(xs, ys, 90.0 if d_north[i] <= d_south[i] else -90.0)
        elif dist >= d_north[i] and dist >= d_south[i]:
            # the ring bounds the far cap (around the antipode), which holds neither pole. Close
            # to the antipode, geodesics of one length cross each other (past the cut locus): a
            # ring that twists is no boundary, and the disk is taken as the whole world (it
            # constrains nothing anyway: radius > ~19,000 km, RTT > 190 ms)
            far = Polygon(np.column_stack([xs, ys]))
            hole = _split_antimeridian(far) if far.is_valid else None
            geom = polygonal(shapely.difference(_WORLD, hole)) if hole is not None else _WORLD
        else:
            geom = Polygon(np.column_stack([xs, ys]))
            if not geom.is_valid:
                geom = _WORLD   # not seen in 20,000 random disks; a repaired ring need not hold its disk
            elif geom.bounds[0] < -180.0 or geom.bounds[2] > 180.0:
                geom = _split_antimeridian(geom)
        out[todo[i]] = geom if geom is not None else _WORLD
    return out


def _edge_stats(
    lon: NDArray[np.float64], lat: NDArray[np.float64], r: NDArray[np.float64],
    xa: NDArray[np.float64], ya: NDArray[np.float64], xb: NDArray[np.float64], yb: NDArray[np.float64], points: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per edge a->b (lon/lat-straight, the short way in longitude) of a ring around (lon, lat):
    least and greatest geodesic distance from the centre at ``points`` points along it, over r,
    and the edge's span in longitude. All arguments have one entry per edge."""
    xb = xa + ((xb - xa + 180.0) % 360.0 - 180.0)
    t = np.linspace(0.0, 1.0, points + 2)[None, 1:-1]
    px = xa[:, None] * (1 - t) + xb[:, None] * t
    py = ya[:, None] * (1 - t) + yb[:, None] * t
    _, _, d = GEOD.inv(np.repeat(lon, points), np.repeat(lat, points), px.ravel(), py.ravel())
    d = np.asarray(d).reshape(px.shape) / r[:, None]
    return d.min(axis=1), d.max(axis=1), np.abs(xb - xa)


def _adaptive_rings(
    lon: NDArray[np.float64], lat: NDArray[np.float64], r: NDArray[np.float64], n: int
) -> list[tuple[NDArray[np.float64], NDArray[np.float64], float, bool]]:
    """Closed rings whose edges all lie in [r, r (1 + tolerance)], for disks of any size and place.

    Each ring starts from ``n`` equal azimuths; every edge that strays more
    than the tolerance from the circle, or spans more than 4° of longitude (near
    a pole, lon/lat-straight edges do both), is split at its middle azimuth,
    round after round, measuring only the new edges. Then each ring's vertices
    are pushed out by its deepest remaining sag and every edge is checked once
    more, more finely. All disks advance together, one vectorised call per
    round. Returns per disk the ring's lon (unwrapped), lat, vertex distance,
    and whether every edge was found at or beyond the radius (it may not be
    within ~1 km of the antipodal distance, where geodesics of one length cross).
    """
    m = lon.size
    owner = np.repeat(np.arange(m), n)
    az = np.tile(np.arange(n) * (360.0 / n), m)

    def fwd(who: NDArray[np.int64], azimuth: NDArray[np.float64], dist: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        x, y, _ = GEOD.fwd(lon[who], lat[who], azimuth, dist, return_back_azimuth=False)
        return np.asarray(x), np.asarray(y)

    def following(owner: NDArray[np.int64]) -> NDArray[np.int64]:
        """Index of each vertex's successor along its own ring (the last wraps to the first)."""
        k = np.arange(owner.size)
        first = np.searchsorted(owner, owner, side="left")
        last = np.searchsorted(owner, owner, side="right") - 1
        return np.where(k == last, first, k + 1)

    x, y = fwd(owner, az, r[owner])
    j = following(owner)
    lo, hi, span = _edge_stats(lon[owner], lat[owner], r[owner], x, y, x[j], y[j], 3)
    for _ in range(_MAX_SPLITS):
        counts = np.bincount(owner, minlength=m)
        split = (lo < 1.0 - 0.8 * _RING_TOLERANCE) | (hi > 1.0 + 0.8 * _RING_TOLERANCE) | (span > _MAX_EDGE_LON_DEG)
        split &= counts[owner] < _MAX_ADAPTIVE_POINTS
        if not split.any():
            break
        i = np.flatnonzero(split)
        j = following(owner)[i]
        who = owner[i]
        new_az = 0.5 * (az[i] + np.where(j > i, az[j], 360.0))
        nx, ny = fwd(who, new_az, r[who])
        lo1, hi1, sp1 = _edge_stats(lon[who], lat[who], r[who], x[i], y[i], nx, ny, 3)
        lo2, hi2, sp2 = _edge_stats(lon[who], lat[who], r[who], nx, ny, x[j], y[j], 3)
        lo[i], hi[i], span[i] = lo1, hi1, sp1
        at = i + 1
        owner, az, x, y = np.insert(owner, at, who), np.insert(az, at, new_az), np.insert(x, at, nx), np.insert(y, at, ny)
        lo, hi, span = np.insert(lo, at, lo2), np.insert(hi, at, hi2), np.insert(span, at, sp2)
    low = np.full(m, np.inf)
    np.minimum.at(low, owner, lo)
    dist = r * np.maximum(1.0, 1.0 / low) * (1.0 + _RING_MARGIN)
    j = following(owner)
    for _ in range(3):
        x, y = fwd(owner, az, dist[owner])
        lo = _edge_stats(lon[owner], lat[owner], r[owner], x, y, x[j], y[j], 5)[0]
        low = np.full(m, np.inf)
        np.minimum.at(low, owner, lo)
        if (low >= 1.0).all():
            break
        dist = np.where(low < 1.0, dist / low * (1.0 + _RING_MARGIN), dist)
    bounds = np.searchsorted(owner, np.arange(m + 1))
    out = []
    for d in range(m):
        xs, ys = x[bounds[d] : bounds[d + 1]], y[bounds[d] : bounds[d + 1]]
        ring = np.unwrap(np.r_[xs, xs[0]], period=360.0)
        _close(ring)
        out.append((ring, np.r_[ys, ys[0]], float(dist[d]), bool(low[d] >= 1.0)))
    return out


def _rings(lon: NDArray[np.float64], lat: NDArray[np.float64], dist: NDArray[np.float64], n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Closed rings of ``n`` vertices at ``dist`` metres around each centre (Geod.fwd), lon unwrapped.

    Vertex 0 is due north; longitudes are continuous along each ring, so a ring
    around a pole ends 360° from where it began.
    """
    m = lon.size
    ring_lon, ring_lat, _ = GEOD.fwd(
        np.repeat(lon, n),
        np.repeat(lat, n),
        np.tile(np.arange(n) * (360.0 / n), m),
        np.repeat(dist, n),
        return_back_azimuth=False,
    )
    ring_lon = np.asarray(ring_lon).reshape(m, n)
    ring_lat = np.asarray(ring_lat).reshape(m, n)
    closed_lon = np.unwrap(np.concatenate([ring_lon, ring_lon[:, :1]], axis=1), period=360.0, axis=1)
    closed_lat = np.concatenate([ring_lat, ring_lat[:, :1]], axis=1)
    _close(closed_lon)
    return closed_lon, closed_lat


def _close(closed_lon: NDArray[np.float64]) -> None:
    """Make each unwrapped ring end exactly where it began (or exactly 360° on, round a pole).

    Unwrapping adds multiples of 360 that leave ~1e-13° of rounding at the end;
    GEOS then closes the ring with a sliver edge that makes it invalid (seen).
    """
    first = closed_lon[..., 0]
    closed_lon[..., -1] = first + 360.0 * np.round((closed_lon[..., -1] - first) / 360.0)


def disk_polygon(lon: float, lat: float, radius_m: float, *, n_points: int = DEFAULT_DISK_POINTS) -> Polygon | MultiPolygon:
    """The outer WGS-84 polygon of one geodesic disk (see :func:`disk_polygons`)."""
    return disk_polygons([lon], [lat], [radius_m], n_points=n_points)[0]
