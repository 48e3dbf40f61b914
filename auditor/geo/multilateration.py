"""Where round-trip times say a target can be: geodesic disks, their intersection, anycast.

Physics bounds what databases and declarations cannot: a reply that came back
``R`` ms after the probe was sent travelled at most ``R / 2`` ms each way, and no
signal in fibre moves faster than about two thirds of the speed of light. So a
vantage point at a known place bounds the target to a geodesic disk of radius

    radius_m = rtt_ms / 2 × 1e-3 s × (2/3 × 299,792,458 m/s) + vantage_uncertainty_m

about 100 km per millisecond of RTT (the 2/3 c rule of constraint-based
geolocation: Gueye et al., "Constraint-based geolocation of Internet hosts",
IEEE/ACM ToN 14(6), 2006; Katz-Bassett et al., IMC 2006). Queueing, routing
detours and processing only add time, so the disk is an upper bound and the
target lies in every disk at once: the **feasible region** is their intersection.

When two disks cannot meet (the distance between their centres exceeds the sum
of their radii) no single place answers both vantages in time: the address is
served from several places, i.e. it is **anycast**. The number of disks that are
pairwise disjoint, picked greedily in increasing radius order, is a lower bound
on the number of instances (the iGreedy algorithm: Cicalese, Augé, Joumblatt,
Friedman, Rossi, "A fistful of pings: accurate and lightweight anycast
enumeration and geolocation", IEEE INFOCOM 2015). The anycast decision is taken
on exact geodesic distances, never on polygons.

Polygons are built in WGS-84 lon/lat with straight (lon/lat-linear) edges, from
vertices placed with :meth:`pyproj.Geod.fwd` around the centre. They are *outer*
approximations: vertices are pushed out just enough (measured per disk) that the
edges between them stay at or beyond the true radius (and within 0.1 % of it), so
a feasible region never excludes a place the RTTs allow. Disks that reach past a
pole or the antimeridian are closed over the pole and split at ±180°. A disk that
holds a smaller disk of the same target is left out of the intersection: it
cannot change it.

Everything here is pure: no files, no network.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from auditor.errors import UsageError

__all__ = [
    "SPEED_OF_LIGHT_M_PER_S",
    "FIBRE_SPEED_FACTOR",
    "DEFAULT_DISK_POINTS",
    "RttSample",
    "Disk",
    "LatencyEvidence",
    "DiskPolygons",
    "rtt_radius_m",
    "minimum_rtts",
    "disk_polygons",
    "disk_polygon",
    "pairwise_disjoint",
    "greedy_disjoint",
    "locate_target",
    "locate_targets",
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
_GEOD = Geod(ellps="WGS84")
_WORLD = box(-180.0, -90.0, 180.0, 90.0)
#: Cap on padded pairwise work per chunk (targets x vantages x vantages booleans).
_CHUNK_CELLS = 4_000_000
#: Above this many distinct vantage positions, pairwise distances are computed per target.
_MAX_POSITION_MATRIX = 2048
#: Pairs quoted in an anycast reason before "and N more".
_REASON_PAIRS = 6


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


@dataclass(frozen=True, slots=True)
class LatencyEvidence:
    """What the round-trip times to one target prove.

    ``disks`` holds one disk per vantage point (its fastest reply), smallest
    first. ``feasible`` is the intersection of the disks (an outer
    approximation), or None when they have no common point. ``anycast`` is True
    when at least two disks cannot overlap; ``disjoint`` then holds the greedy set
    of pairwise-disjoint disks that proves it and ``instances_lower_bound`` its
    size (1 for a unicast-looking target). ``reason`` says it in words.
    """

    target: str
    disks: tuple[Disk, ...]
    feasible: Polygon | MultiPolygon | None
    anycast: bool
    instances_lower_bound: int
    disjoint: tuple[Disk, ...]
    reason: str


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
    _check_speed_factor(speed_factor)
    rtt = np.asarray(rtt_ms, dtype=np.float64)
    unc = np.asarray(uncertainty_m, dtype=np.float64)
    return rtt * (0.5e-3 * speed_factor * SPEED_OF_LIGHT_M_PER_S) + unc


def _check_speed_factor(speed_factor: float) -> None:
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
    return _polygonal(shapely.union_all(pieces))


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


def _polygonal(geom: BaseGeometry | None) -> Polygon | MultiPolygon | None:
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
    _, _, d_north = _GEOD.inv(lon_t, lat_t, lon_t, np.full_like(lat_t, 90.0))
    _, _, d_south = _GEOD.inv(lon_t, lat_t, lon_t, np.full_like(lat_t, -90.0))
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
            geom = _polygonal(shapely.difference(_WORLD, hole)) if hole is not None else _WORLD
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
    _, _, d = _GEOD.inv(np.repeat(lon, points), np.repeat(lat, points), px.ravel(), py.ravel())
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
        x, y, _ = _GEOD.fwd(lon[who], lat[who], azimuth, dist, return_back_azimuth=False)
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
    ring_lon, ring_lat, _ = _GEOD.fwd(
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


# --------------------------------------------------------------------------- pairwise tests


def _pairwise_distance_m(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
    """Symmetric matrix of geodesic distances between points (upper triangle computed once)."""
    n = lon.size
    d = np.zeros((n, n))
    if n > 1:
        i, j = np.triu_indices(n, k=1)
        _, _, dist = _GEOD.inv(lon[i], lat[i], lon[j], lat[j])
        d[i, j] = dist
        d[j, i] = dist
    return d


def pairwise_disjoint(lon: ArrayLike, lat: ArrayLike, radius_m: ArrayLike) -> NDArray[np.bool_]:
    """``out[i, j]`` is True iff disks i and j cannot overlap: geodesic distance > r_i + r_j.

    Examples
    --------
    >>> pairwise_disjoint([116.4, 114.06], [39.9, 22.54], [200e3, 200e3]).tolist()
    [[False, True], [True, False]]
    """
    lon_a = np.asarray(lon, dtype=np.float64).ravel()
    lat_a = np.asarray(lat, dtype=np.float64).ravel()
    r = np.asarray(radius_m, dtype=np.float64).ravel()
    return _pairwise_distance_m(lon_a, lat_a) > r[:, None] + r[None, :] + DISJOINT_MARGIN_M


def greedy_disjoint(radius_m: ArrayLike, disjoint: ArrayLike) -> list[int]:
    """Indices of a set of pairwise-disjoint disks, picked smallest radius first (iGreedy).

    A disk joins when it is disjoint from every disk already chosen; ties in
    radius keep the given order. When that stops at one disk although two other
    disks are disjoint (the smallest overlaps both), the set is seeded with the
    first such pair instead. Its size is a lower bound on the number of places
    that answered. Indices come in radius order.

    Examples
    --------
    >>> d = pairwise_disjoint([116.4, 114.06, 113.26], [39.9, 22.54, 23.13], [200e3, 150e3, 150e3])
    >>> greedy_disjoint([200e3, 150e3, 150e3], d)   # Shenzhen, then Beijing; Guangzhou overlaps Shenzhen
    [1, 0]
    """
    r = np.asarray(radius_m, dtype=np.float64).ravel()
    dis = np.asarray(disjoint, dtype=bool)
    if r.size == 0:
        return []
    order = np.argsort(r, kind="stable")
    sel = _greedy_rows(np.ones((1, r.size), dtype=bool), dis[np.ix_(order, order)][None, :, :])[0]
    return [int(i) for i in order[sel]]


# --------------------------------------------------------------------------- locating


def minimum_rtts(samples: Iterable[RttSample], *, speed_factor: float = FIBRE_SPEED_FACTOR) -> list[RttSample]:
    """One sample per (target, vantage point): the one giving the smallest disk.

    A vantage point is its id at its position; with equal uncertainty the
    smallest disk is the minimum RTT. Sorted by target, then radius, then vantage id.
    """
    _check_speed_factor(speed_factor)
    best: dict[tuple[str, str, float, float], tuple[float, RttSample]] = {}
    k = 0.5e-3 * speed_factor * SPEED_OF_LIGHT_M_PER_S
    for s in samples:
        key = (s.target, s.vantage_id, s.vantage_lon, s.vantage_lat)
        r = s.rtt_ms * k + s.vantage_uncertainty_m
        if key not in best or r < best[key][0]:
            best[key] = (r, s)
    return [s for _, s in sorted(best.values(), key=lambda rs: (rs[1].target, rs[0], rs[1].vantage_id))]


@dataclass(slots=True)
class _Table:
    """Minimum-radius disks of every target, sorted by (target, radius, vantage id), as arrays."""

    targets: list[str]                # sorted distinct targets
    start: NDArray[np.int64]          # offsets of each target's disks; len(targets) + 1
    vantage: list[str]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    radius: NDArray[np.float64]
    rtt: NDArray[np.float64]
    unc: NDArray[np.float64]
    pos: NDArray[np.int64]            # index into the distinct positions
    pos_lon: NDArray[np.float64]
    pos_lat: NDArray[np.float64]


def _table(samples: Sequence[RttSample], speed_factor: float) -> _Table:
    n = len(samples)
    lon = np.fromiter((s.vantage_lon for s in samples), np.float64, n)
    lat = np.fromiter((s.vantage_lat for s in samples), np.float64, n)
    unc = np.fromiter((s.vantage_uncertainty_m for s in samples), np.float64, n)
    rtt = np.fromiter((s.rtt_ms for s in samples), np.float64, n)
    bad = ~(np.isfinite(lon) & np.isfinite(lat) & np.isfinite(unc) & np.isfinite(rtt))
    bad |= (np.abs(lon) > 180) | (np.abs(lat) > 90) | (unc < 0) | (rtt < 0)
    if bad.any():
        s = samples[int(np.flatnonzero(bad)[0])]
        raise ValueError(
            f"invalid RTT sample from {s.source!r} (vantage {s.vantage_id!r} at ({s.vantage_lon}, {s.vantage_lat}), "
            f"uncertainty {s.vantage_uncertainty_m} m, target {s.target!r}, rtt {s.rtt_ms} ms): "
            "coordinates must be WGS-84 degrees, RTT and uncertainty finite and >= 0"
        )
    targets, t_idx = np.unique(np.array([s.target for s in samples], dtype=object), return_inverse=True)
    vids, v_idx = np.unique(np.array([s.vantage_id for s in samples], dtype=object), return_inverse=True)
    radius = rtt_radius_m(rtt, unc, speed_factor=speed_factor)
    # one disk per (target, vantage id, position): the smallest
    order = np.lexsort((radius, lat, lon, v_idx, t_idx))
    key = np.stack([t_idx[order], v_idx[order]], axis=1).astype(np.float64)
    key = np.column_stack([key, lon[order], lat[order]])
    first = np.ones(n, dtype=bool)
    first[1:] = np.any(key[1:] != key[:-1], axis=1)
    keep = order[first]
    # each target's disks smallest first, ties by vantage id then position
    keep = keep[np.lexsort((lat[keep], lon[keep], v_idx[keep], radius[keep], t_idx[keep]))]
    t_kept = t_idx[keep]
    start = np.searchsorted(t_kept, np.arange(len(targets) + 1))
    positions, pos = np.unique(np.column_stack([lon[keep], lat[keep]]), axis=0, return_inverse=True)
    return _Table(
        targets=[str(t) for t in targets],
        start=start.astype(np.int64),
        vantage=[str(vids[i]) for i in v_idx[keep]],
        lon=lon[keep],
        lat=lat[keep],
        radius=radius[keep],
        rtt=rtt[keep],
        unc=unc[keep],
        pos=np.asarray(pos, dtype=np.int64).ravel(),
        pos_lon=positions[:, 0],
        pos_lat=positions[:, 1],
    )


@dataclass(slots=True)
class _Pairwise:
    """Per disk: in the disjoint set that proves anycast, and needed to bound the feasible region."""

    greedy: NDArray[np.bool_]
    bounding: NDArray[np.bool_]


def _greedy_rows(valid: NDArray[np.bool_], disj: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """iGreedy on each row (disks sorted by radius), vectorised over rows.

    Smallest first, a disk joins when it is disjoint from every disk already
    chosen. Greedy can stop at one disk although two others are disjoint (the
    smallest overlaps both); those rows are seeded with their first disjoint pair
    instead and completed greedily, so that a disjoint pair always counts.
    """
    rows, m = valid.shape
    sel = np.zeros((rows, m), dtype=bool)

    def run(sel: NDArray[np.bool_], dj: NDArray[np.bool_], ok: NDArray[np.bool_], begin: int) -> None:
        for k in range(begin, m):
            sel[:, k] |= ok[:, k] & ~sel[:, k] & ~np.any(sel & ~dj[:, k, :] & ~np.eye(m, dtype=bool)[k], axis=1)

    sel[:, 0] = valid[:, 0]
    run(sel, disj, valid, 1)
    short = np.flatnonzero(sel.sum(axis=1) < 2)
    if short.size:
        seed = np.zeros((short.size, m), dtype=bool)
        flat = disj[short].reshape(short.size, m * m)
        upper = np.triu(np.ones((m, m), dtype=bool), 1).ravel()
        first = np.argmax(flat & upper, axis=1)
        i, j = np.divmod(first, m)
        seed[np.arange(short.size), i] = True
        seed[np.arange(short.size), j] = True
        run(seed, disj[short], valid[short], 0)
        sel[short] = seed
    return sel


def _pairwise(tab: _Table) -> _Pairwise:
    """The iGreedy set and the non-redundant disks of every target, vectorised over targets.

    Targets are bucketed by disk count (padded to a power of two) and chunked
    so that the padded (targets x m x m) arrays stay small. A disk is redundant
    when it contains a smaller disk of the same target (distance + r_small <=
    r_big): the intersection is the same without it.
    """
    total = tab.radius.size
    greedy = np.zeros(total, dtype=bool)
    bounding = np.zeros(total, dtype=bool)
    counts = np.diff(tab.start)
    pos_matrix = None
    if tab.pos_lon.size <= _MAX_POSITION_MATRIX:
        pos_matrix = _pairwise_distance_m(tab.pos_lon, tab.pos_lat)
    bucket = np.where(counts > 0, 2 ** np.ceil(np.log2(np.maximum(counts, 1))).astype(np.int64), 0)
    for m in np.unique(bucket[bucket > 0]):
        m = int(m)
        targets_in = np.flatnonzero(bucket == m)
        chunk = max(1, _CHUNK_CELLS // (m * m))
        earlier = np.triu(np.ones((m, m), dtype=bool), 1)[None, :, :]   # [i, j] True for i < j
        for c0 in range(0, targets_in.size, chunk):
            ts = targets_in[c0 : c0 + chunk]
            cnt = counts[ts]
            valid = np.arange(m)[None, :] < cnt[:, None]
            idx = np.where(valid, tab.start[ts][:, None] + np.arange(m)[None, :], 0)
            r = np.where(valid, tab.radius[idx], np.nan)
            if pos_matrix is not None:
                p = tab.pos[idx]
                d = pos_matrix[p[:, :, None], p[:, None, :]]
            else:
                lo = np.broadcast_to(tab.lon[idx][:, :, None], (len(ts), m, m))
                la = np.broadcast_to(tab.lat[idx][:, :, None], (len(ts), m, m))
                _, _, dd = _GEOD.inv(lo.ravel(), la.ravel(), np.swapaxes(lo, 1, 2).ravel(), np.swapaxes(la, 1, 2).ravel())
                d = np.asarray(dd).reshape(len(ts), m, m)
            both = valid[:, :, None] & valid[:, None, :]
            with np.errstate(invalid="ignore"):
                disj = both & (d > r[:, :, None] + r[:, None, :] + DISJOINT_MARGIN_M)
                # disk j contains an earlier (smaller or equal) disk i: redundant for the intersection
                contains = both & earlier & (d + r[:, :, None] <= r[:, None, :])
            bounding[idx[valid]] = (valid & ~np.any(contains, axis=1))[valid]
            sel = valid & (np.arange(m)[None, :] == 0)
            hot = np.flatnonzero(np.any(disj, axis=(1, 2)))
            if hot.size:
                sel[hot] = _greedy_rows(valid[hot], disj[hot])
            greedy[idx[valid]] = sel[valid]
    return _Pairwise(greedy=greedy, bounding=bounding)


def _feasible(tab: _Table, polys: NDArray[np.object_], use: NDArray[np.bool_], live: NDArray[np.bool_]) -> list[BaseGeometry | None]:
    """Intersection of each live target's bounding disks, one vectorised shapely call per rank."""
    n_t = len(tab.targets)
    current = np.full(n_t, None, dtype=object)
    counts = np.diff(tab.start)
    if not live.any():
        return list(current)
    owner = np.repeat(np.arange(n_t), counts)
    use = use & live[owner]
    # rank of each used disk among its target's used disks (-1 when unused)
    before = np.concatenate([[0], np.cumsum(use)])
    rank = np.where(use, before[1:] - before[tab.start[owner]] - 1, -1)
    first = np.flatnonzero(rank == 0)
    current[owner[first]] = polys[first]
    for k in range(1, int(counts.max()) if counts.size else 0):
        at = np.flatnonzero(rank == k)
        if at.size == 0:
            break
        t = owner[at]
        cur = current[t]
        still = ~shapely.is_missing(cur)  # the targets whose intersection so far is not None
        still[still] = ~shapely.is_empty(cur[still].astype(object))
        at, t, cur = at[still], t[still], cur[still]
        if at.size:
            current[t] = shapely.intersection(cur, polys[at])
    return [_polygonal(g) if g is not None else None for g in current]


def _km(m: float) -> str:
    return f"{m / 1000.0:,.1f} km"


def _anycast_reason(chosen: Sequence[Disk]) -> str:
    """Every pair of the chosen disks, with the distance that keeps them apart."""
    ij = [(x, y) for x in range(len(chosen)) for y in range(x + 1, len(chosen))]
    _, _, dist = _GEOD.inv(
        [chosen[x].lon for x, _ in ij], [chosen[x].lat for x, _ in ij],
        [chosen[y].lon for _, y in ij], [chosen[y].lat for _, y in ij],
    )
    pairs = []
    for (x, y), d in zip(ij, np.atleast_1d(dist)):
        a, b = chosen[x], chosen[y]
        pairs.append(f"{a.vantage_id} and {b.vantage_id} ({_km(d)} apart > {_km(a.radius_m)} + {_km(b.radius_m)})")
    shown = "; ".join(pairs[:_REASON_PAIRS])
    more = f"; and {len(pairs) - _REASON_PAIRS} more pairs" if len(pairs) > _REASON_PAIRS else ""
    return (
        f"anycast: at least {len(chosen)} instances; no single place can answer these vantage points "
        f"in time: {shown}{more}"
    )


def locate_targets(
    samples: Iterable[RttSample],
    *,
    speed_factor: float = FIBRE_SPEED_FACTOR,
    n_points: int = DEFAULT_DISK_POINTS,
    polygons: DiskPolygons | str = DiskPolygons.ALL,
) -> dict[str, LatencyEvidence]:
    """Latency evidence for every target in ``samples``, keyed and ordered by target.

    For each target: one disk per vantage point from its fastest reply
    (:func:`minimum_rtts`), the iGreedy set of pairwise-disjoint disks (anycast
    when it has two or more), and, for targets that are not anycast, the
    intersection of the disks. Disks that contain a smaller disk of the same
    target are left out of the intersection (it is the same without them). All
    disk polygons of the whole batch are built in one vectorised pass.

    ``polygons`` says which disks get a polygon: ``"all"`` (default) or
    ``"bounding"`` (only those bounding a feasible region; anycast targets and
    redundant disks get none, which is much faster on large batches).

    Raises ValueError for a sample with non-finite or out-of-range values.
    """
    _check_speed_factor(speed_factor)
    try:
        mode = DiskPolygons(polygons)
    except ValueError:
        raise UsageError("polygons", polygons, [p.value for p in DiskPolygons]) from None
    samples = list(samples)
    if not samples:
        return {}
    tab = _table(samples, speed_factor)
    pw = _pairwise(tab)
    n_t = len(tab.targets)
    starts, ends = tab.start[:-1], tab.start[1:]
    n_greedy = np.add.reduceat(pw.greedy.astype(np.int64), starts) if n_t else np.zeros(0, dtype=np.int64)
    anycast_t = n_greedy >= 2
    owner_anycast = np.repeat(anycast_t, ends - starts)
    use = pw.bounding & ~owner_anycast
    build = np.ones(tab.radius.size, dtype=bool) if mode is DiskPolygons.ALL else use
    polys = np.full(tab.radius.size, None, dtype=object)
    if build.any():
        polys[build] = disk_polygons(tab.lon[build], tab.lat[build], tab.radius[build], n_points=n_points)
    feasible = _feasible(tab, polys, use, ~anycast_t)

    out: dict[str, LatencyEvidence] = {}
    for t, target in enumerate(tab.targets):
        lo, hi = int(starts[t]), int(ends[t])
        disks = tuple(
            Disk(
                vantage_id=tab.vantage[i],
                lon=float(tab.lon[i]),
                lat=float(tab.lat[i]),
                radius_m=float(tab.radius[i]),
                rtt_ms=float(tab.rtt[i]),
                polygon=polys[i],
                uncertainty_m=float(tab.unc[i]),
            )
            for i in range(lo, hi)
        )
        members = [i - lo for i in range(lo, hi) if pw.greedy[i]]
        if anycast_t[t]:
            chosen = tuple(disks[i] for i in members)
            ev = LatencyEvidence(target, disks, None, True, len(members), chosen, _anycast_reason(chosen))
        else:
            region = feasible[t]
            bounding = [disks[i - lo] for i in range(lo, hi) if use[i]]
            tight = disks[0]
            if region is None:
                reason = (
                    f"no common point: the {len(disks)} disks overlap pairwise but not all at once; "
                    "an RTT is inconsistent, or the address is anycast in a way the pairwise test cannot show"
                )
            elif len(disks) == 1:
                reason = f"one vantage point: the target is within {_km(tight.radius_m)} of {tight.vantage_id} ({tight.rtt_ms:.3f} ms)"
            else:
                reason = (
                    f"{len(disks)} disks intersect ({len(bounding)} bound the region); the tightest is "
                    f"{tight.vantage_id} at {tight.rtt_ms:.3f} ms ({_km(tight.radius_m)})"
                )
            ev = LatencyEvidence(target, disks, region, False, len(members), (), reason)
        out[target] = ev
    return out


def locate_target(
    samples: Iterable[RttSample],
    *,
    speed_factor: float = FIBRE_SPEED_FACTOR,
    n_points: int = DEFAULT_DISK_POINTS,
    polygons: DiskPolygons | str = DiskPolygons.ALL,
) -> LatencyEvidence:
    """Latency evidence for one target: disks, feasible region, anycast (see :func:`locate_targets`).

    Every sample must be for the same target.

    Examples
    --------
    >>> shanghai = RttSample("sh", 121.47, 31.23, 0.0, "lingang-dc1", 1.0, "example")
    >>> hangzhou = RttSample("hz", 120.16, 30.27, 0.0, "lingang-dc1", 3.0, "example")
    >>> ev = locate_target([shanghai, hangzhou])
    >>> ev.anycast, ev.feasible.contains(shapely.Point(121.93, 30.905))
    (False, True)
    >>> beijing = RttSample("bj", 116.40, 39.90, 0.0, "lingang-dc1", 0.1, "example")
    >>> ev = locate_target([shanghai, hangzhou, beijing])
    >>> ev.anycast, ev.instances_lower_bound, [d.vantage_id for d in ev.disjoint]
    (True, 2, ['bj', 'sh'])
    """
    samples = list(samples)
    targets = {s.target for s in samples}
    if len(targets) != 1:
        raise ValueError(f"locate_target needs samples of exactly one target, got {len(targets)}: {sorted(targets)[:5]}")
    return locate_targets(samples, speed_factor=speed_factor, n_points=n_points, polygons=polygons)[targets.pop()]
