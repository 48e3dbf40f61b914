"""Address-space footprint: how much of a set of prefixes a database places inside a region.

Prefixes are intersected as intervals with the database's segments — never
enumerated — so a /8 costs as much as the segments it spans, not 16 million
lookups. Overlapping prefixes are collapsed before totals are taken, so no
address is counted twice.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from auditor.geo.containment import Verdict

__all__ = ["FamilyCounts", "PrefixFootprint", "Footprint", "address_footprint", "parse_prefixes"]


@dataclass(frozen=True, slots=True)
class PrefixFootprint:
    """Address counts of one prefix by the region relation of where the database places them."""

    prefix: str
    inside: int = 0
    outside: int = 0
    indeterminate: int = 0
    unlocated: int = 0  # not covered, private/reserved, or no data (IPv6 in an IPv4 database)
    note: str = ""
    places: tuple[tuple[str, str, int], ...] = ()  # (answer text, relation, addresses), largest first

    @property
    def total(self) -> int:
        return self.inside + self.outside + self.indeterminate + self.unlocated


@dataclass(frozen=True, slots=True)
class FamilyCounts:
    """Address counts of one IP family (shares are only meaningful within a family)."""

    inside: int = 0
    outside: int = 0
    indeterminate: int = 0
    unlocated: int = 0

    @property
    def total(self) -> int:
        return self.inside + self.outside + self.indeterminate + self.unlocated

    def share(self, part: str) -> float:
        return getattr(self, part) / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class Footprint:
    prefixes: tuple[PrefixFootprint, ...]
    inside: int
    outside: int
    indeterminate: int
    unlocated: int
    invalid: tuple[str, ...] = field(default_factory=tuple)
    v4: FamilyCounts = field(default_factory=FamilyCounts)
    v6: FamilyCounts = field(default_factory=FamilyCounts)

    @property
    def total(self) -> int:
        return self.inside + self.outside + self.indeterminate + self.unlocated

    def share(self, part: str) -> float:
        return getattr(self, part) / self.total if self.total else 0.0


def parse_prefixes(texts: Sequence[str]) -> tuple[list[ipaddress.IPv4Network | ipaddress.IPv6Network], list[str]]:
    """Networks from prefix texts (host bits allowed and cleared), and the texts that are not prefixes."""
    nets, bad = [], []
    for t in texts:
        try:
            nets.append(ipaddress.ip_network(t.strip(), strict=False))
        except ValueError:
            bad.append(t)
    return nets, bad


def address_footprint(
    prefixes: Sequence[str],
    db,  # noqa: ANN001 - XdbDatabase: segments_overlapping(first, last) and region_text(id)
    relation_of_text: Callable[[str], Verdict | None],
) -> Footprint:
    """Count the addresses of ``prefixes`` that ``db`` places inside, outside or straddling a region.

    ``relation_of_text`` maps a database answer to the region relation of the
    place it names (None when it names no place).
    """
    nets, bad = parse_prefixes(prefixes)
    per_prefix: list[PrefixFootprint] = []
    relation_cache: dict[int, tuple[str, Verdict | None]] = {}
    for net in nets:
        per_prefix.append(_one(net, db, relation_of_text, relation_cache))
    # totals over the collapsed set, so overlapping prefixes count once
    collapsed = list(ipaddress.collapse_addresses([n for n in nets if n.version == 4])) + list(
        ipaddress.collapse_addresses([n for n in nets if n.version == 6])
    )
    totals = [_one(n, db, relation_of_text, relation_cache) for n in collapsed]
    families = {
        v: FamilyCounts(
            sum(p.inside for p, n in zip(totals, collapsed) if n.version == v),
            sum(p.outside for p, n in zip(totals, collapsed) if n.version == v),
            sum(p.indeterminate for p, n in zip(totals, collapsed) if n.version == v),
            sum(p.unlocated for p, n in zip(totals, collapsed) if n.version == v),
        )
        for v in (4, 6)
    }
    return Footprint(
        v4=families[4],
        v6=families[6],
        prefixes=tuple(per_prefix),
        inside=sum(p.inside for p in totals),
        outside=sum(p.outside for p in totals),
        indeterminate=sum(p.indeterminate for p in totals),
        unlocated=sum(p.unlocated for p in totals),
        invalid=tuple(bad),
    )


def _one(net, db, relation_of_text, cache) -> PrefixFootprint:  # noqa: ANN001
    size = net.num_addresses
    if net.version == 6:
        mapped = net.network_address.ipv4_mapped if net.prefixlen >= 96 else None
        if mapped is None:
            return PrefixFootprint(str(net), unlocated=size, note="IPv6: no IPv6 data in the IP database")
        net = ipaddress.ip_network(f"{mapped}/{net.prefixlen - 96}")
    if not net.is_global:
        return PrefixFootprint(str(net), unlocated=size, note="private or reserved address space")
    first, last = int(net.network_address), int(net.broadcast_address)
    starts, ends, ids = db.segments_overlapping(first, last)
    counts = np.asarray(ends, dtype=np.int64) - np.asarray(starts, dtype=np.int64) + 1
    sums = {"inside": 0, "outside": 0, "indeterminate": 0, "unlocated": size - int(counts.sum())}
    places: dict[tuple[str, str], int] = {}
    # one pass per distinct answer, not per segment: a /8 spans thousands of segments but few answers
    unique_ids, inverse = np.unique(np.asarray(ids), return_inverse=True)
    per_id = np.bincount(inverse, weights=counts, minlength=unique_ids.size) if unique_ids.size else np.zeros(0)
    for rid, n in zip(unique_ids.tolist(), per_id.tolist()):
        n = int(n)
        if rid not in cache:
            text = db.region_text(rid) or ""
            cache[rid] = (text, relation_of_text(text) if text else None)
        text, rel = cache[rid]
        key = "unlocated" if rel is None else rel.value
        sums[key] += n
        places[(text, key)] = places.get((text, key), 0) + n
    ranked = tuple(sorted(((t, k, n) for (t, k), n in places.items()), key=lambda x: (-x[2], x[0])))
    return PrefixFootprint(str(net), sums["inside"], sums["outside"], sums["indeterminate"], sums["unlocated"], "", ranked[:10])
