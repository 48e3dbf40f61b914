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

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import MultiPolygon, Polygon
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

from auditor.geo.disks import (  # re-exported: the disks are part of this module's answer
    DEFAULT_DISK_POINTS,
    DISJOINT_MARGIN_M,
    FIBRE_SPEED_FACTOR,
    GEOD,
    SPEED_OF_LIGHT_M_PER_S,
    Disk,
    DiskPolygons,
    RttSample,
    check_speed_factor,
    disk_polygon,
    disk_polygons,
    polygonal,
    rtt_radius_m,
)

#: Cap on padded pairwise work per chunk (targets x vantages x vantages booleans).
_CHUNK_CELLS = 4_000_000
#: Above this many distinct vantage positions, pairwise distances are computed per target.
_MAX_POSITION_MATRIX = 2048
#: Pairs quoted in an anycast reason before "and N more".
_REASON_PAIRS = 6


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


# --------------------------------------------------------------------------- pairwise tests


def _pairwise_distance_m(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
    """Symmetric matrix of geodesic distances between points (upper triangle computed once)."""
    n = lon.size
    d = np.zeros((n, n))
    if n > 1:
        i, j = np.triu_indices(n, k=1)
        _, _, dist = GEOD.inv(lon[i], lat[i], lon[j], lat[j])
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
    check_speed_factor(speed_factor)
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
                _, _, dd = GEOD.inv(lo.ravel(), la.ravel(), np.swapaxes(lo, 1, 2).ravel(), np.swapaxes(la, 1, 2).ravel())
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
    return [polygonal(g) if g is not None else None for g in current]


def _km(m: float) -> str:
    return f"{m / 1000.0:,.1f} km"


def _anycast_reason(chosen: Sequence[Disk]) -> str:
    """Every pair of the chosen disks, with the distance that keeps them apart."""
    ij = [(x, y) for x in range(len(chosen)) for y in range(x + 1, len(chosen))]
    _, _, dist = GEOD.inv(
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
    check_speed_factor(speed_factor)
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
