"""Representative client subnets for an ECS sweep, chosen from the ip2region database.

For every (province, carrier) pair whose carrier is a basic telecom enterprise (电信, 联通, 移动,
广电 as ip2region names them), pick up to ``per_pair`` /24 networks that lie wholly inside one
database segment of that pair, spread evenly over the pair's address space: the /24s of the
pair are numbered in address order and the ones at positions ``(2j + 1) * n // (2k)``,
``j = 0 .. k-1`` are taken. The choice depends only on the database file, so two sweeps with the
same file ask from the same subnets (and a recording can be compared with a new sweep).

Province names are normalised (``广东省`` and ``广东`` are one province, ``新疆维吾尔自治区`` is
``新疆``); answers that name no province (``中国|0|0|0|电信``) or a country other than 中国 are
left out and listed in ``skipped`` when they would have formed a pair.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from auditor.resolve.ipgeo.ip2region import parse_region_text

from .model import ClientSubnet

__all__ = ["CARRIERS", "SubnetPlan", "normalise_province", "plan_subnets"]

CARRIERS: tuple[str, ...] = ("电信", "联通", "移动", "广电")
"""China Telecom, China Unicom, China Mobile, China Broadnet, as ip2region writes them."""

_LONG_NAMES = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "宁夏回族自治区": "宁夏",
    "新疆维吾尔自治区": "新疆",
    "香港特别行政区": "香港",
    "澳门特别行政区": "澳门",
}


def normalise_province(name: str) -> str:
    """ip2region's province text, without the trailing 省/市 and with autonomous regions short.

    >>> [normalise_province(p) for p in ("广东省", "广东", "北京市", "新疆维吾尔自治区", "黑龙江省")]
    ['广东', '广东', '北京', '新疆', '黑龙江']
    """
    name = _LONG_NAMES.get(name.strip(), name.strip())
    if len(name) > 2 and name[-1] in "省市":
        name = name[:-1]
    return name


@dataclass(frozen=True, slots=True)
class SubnetPlan:
    """The subnets a sweep asks from, in (province, carrier, address) order, and the pairs left out."""

    subnets: tuple[ClientSubnet, ...]
    skipped: tuple[tuple[str, str, str], ...]
    data_version: str
    data_sha256: str

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return sorted({(s.province, s.carrier) for s in self.subnets})


def plan_subnets(
    db: object,
    *,
    per_pair: int = 4,
    carriers: Sequence[str] = CARRIERS,
    provinces: Sequence[str] | None = None,
) -> SubnetPlan:
    """Choose up to ``per_pair`` /24 client subnets per (province, carrier) pair.

    Parameters
    ----------
    db : XdbDatabase
        A loaded ip2region database (``starts``, ``ends``, ``region_ids``, ``regions``, ``version``).
    per_pair : int
        Subnets per pair (at most; a pair with fewer whole /24s gets them all).
    carriers : sequence of str
        Carrier names as ip2region writes them.
    provinces : sequence of str, optional
        Restrict to these provinces (normalised names, e.g. ``["广东", "新疆"]``).

    Examples
    --------
    >>> from auditor.resolve.ipgeo.xdb import XdbDatabase
    >>> plan = plan_subnets(XdbDatabase.load(), per_pair=1, provinces=["新疆"])
    >>> [(s.province, s.carrier, s.prefix) for s in plan.subnets]
    [('新疆', '电信', '110.153.249.0/24'), ('新疆', '联通', '116.178.141.0/24'), ('新疆', '移动', '117.145.77.0/24')]
    """
    if per_pair < 1:
        raise ValueError(f"per_pair must be at least 1, got {per_pair!r}")
    layout = "v3" if "xdb 3" in str(getattr(db, "version", "")) else "v2"
    wanted_carriers = {c: i for i, c in enumerate(carriers)}
    wanted_provinces = None if provinces is None else {normalise_province(p) for p in provinces}

    # region id -> pair index (or -1), in one pass over the distinct texts
    regions: list[str] = list(db.regions)  # type: ignore[attr-defined]
    pair_of_region = np.full(len(regions), -1, np.int64)
    pairs: dict[tuple[str, str], int] = {}
    unnamed: set[str] = set()
    for rid, text in enumerate(regions):
        a = parse_region_text(text, layout)
        if a.country != "中国" or a.isp not in wanted_carriers:
            continue
        if not a.province:
            unnamed.add(a.isp)
            continue
        province = normalise_province(a.province)
        if wanted_provinces is not None and province not in wanted_provinces:
            continue
        pair_of_region[rid] = pairs.setdefault((province, a.isp), len(pairs))

    starts = np.asarray(db.starts, np.int64)  # type: ignore[attr-defined]
    ends = np.asarray(db.ends, np.int64)  # type: ignore[attr-defined]
    seg_pair = pair_of_region[np.asarray(db.region_ids, np.int64)]  # type: ignore[attr-defined]
    first24 = (starts + 255) >> 8  # the first /24 wholly inside the segment
    count = np.clip(((ends + 1) >> 8) - first24, 0, None)  # how many whole /24s it holds

    chosen: list[ClientSubnet] = []
    skipped: list[tuple[str, str, str]] = []
    order = sorted(pairs, key=lambda pc: (pc[0], wanted_carriers[pc[1]]))
    for key in order:
        segs = np.flatnonzero((seg_pair == pairs[key]) & (count > 0))  # address order
        n = int(count[segs].sum())
        if n == 0:
            skipped.append((key[0], key[1], "no whole /24 in the database for this pair"))
            continue
        k = min(per_pair, n)
        cum = np.cumsum(count[segs])
        pos = (2 * np.arange(k, dtype=np.int64) + 1) * n // (2 * k)
        which = np.searchsorted(cum, pos, side="right")
        before = cum[which] - count[segs][which]
        for w, p in zip(which.tolist(), (pos - before).tolist()):
            seg = int(segs[w])
            net = ipaddress.IPv4Network(((int(first24[seg]) + p) << 8, 24))
            text = regions[int(db.region_ids[seg])]  # type: ignore[attr-defined]
            chosen.append(ClientSubnet(str(net), key[0], key[1], text))
    for carrier in sorted(unnamed, key=lambda c: wanted_carriers[c]):
        if wanted_provinces is None:
            skipped.append(("", carrier, "ip2region names the carrier but no province"))
    return SubnetPlan(
        subnets=tuple(chosen),
        skipped=tuple(skipped),
        data_version=str(getattr(db, "version", "")),
        data_sha256=str(getattr(db, "sha256", "")),
    )
