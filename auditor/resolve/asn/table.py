"""Offline IP → ASN from a routing-table snapshot: pyasn ``ipasn`` DAT or iptoasn TSV.

Both formats become sorted, disjoint interval arrays: every address range maps to the
*most specific* table entry covering it (longest-prefix match for pyasn's overlapping
prefixes; containing range for iptoasn). IPv4 lookups are vectorised with numpy
(``searchsorted`` on ``uint32``); IPv6 uses Python integers and :mod:`bisect` so that
128-bit arithmetic is exact (numpy has no 128-bit integer).

Formats
-------
pyasn DAT (``pyasn_util_convert.py`` output, optionally gzip-compressed)::

    ; IP-ASN32-DAT file
    ; Converted on  : Mon Sep 15 22:09:50 2014
    1.0.0.0/24<TAB>15169

iptoasn TSV (https://iptoasn.com, ``ip2asn-v4.tsv``/``-v6``/``-combined``; gzip allowed)::

    range_start<TAB>range_end<TAB>AS_number<TAB>country_code<TAB>AS_description

An iptoasn row with AS number 0 ("Not routed") is kept: an address in it is ``not_found``
with that reason, which is different from "the table has no row at all".
"""

from __future__ import annotations

import bisect
import datetime as dt
import gzip
import hashlib
import ipaddress
import json
import os
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from auditor.errors import DataError, os_reason

from ._query import Query, parse_query
from .answer import AsnAnswer, AsnStatus, Clock, iso_utc, make_answer, utc_now

__all__ = ["PrefixTable", "TableVersion"]

SOURCE = "prefix-table"
FORMAT_PYASN = "pyasn-dat"
FORMAT_IPTOASN = "iptoasn-tsv"


@dataclass(frozen=True, slots=True)
class TableVersion:
    """What a report needs to name the table it used (DESIGN §5 ``data_sources``)."""

    path: str
    format: str
    sha256: str
    size: int
    mtime: str  # file modification time, ISO-8601 UTC
    header_date: str | None  # pyasn "Converted on" as ISO, if the header has one
    rib_date: str | None  # date of the RIB the pyasn file was built from, from "Original file"
    entries_v4: int
    entries_v6: int
    header: dict[str, str] = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "sha256": self.sha256,
            "size": self.size,
            "mtime": self.mtime,
            "header_date": self.header_date,
            "rib_date": self.rib_date,
            "entries_v4": self.entries_v4,
            "entries_v6": self.entries_v6,
            "header": dict(self.header),
        }


@dataclass(slots=True)
class _Rows:
    """Entries of one address family while loading (parallel lists)."""

    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)
    asn: list[int] = field(default_factory=list)
    line: list[int] = field(default_factory=list)
    plen: list[int] = field(default_factory=list)  # prefix length, -1 for an iptoasn range
    country: list[str | None] = field(default_factory=list)
    holder: list[str | None] = field(default_factory=list)


class _Family:
    """Sorted entries and disjoint segments for one address family."""

    def __init__(self, rows: _Rows, bits: int, path: str) -> None:
        self.bits = bits
        order = sorted(range(len(rows.start)), key=lambda i: (rows.start[i], -rows.end[i], rows.line[i]))
        self.start = [rows.start[i] for i in order]
        self.end = [rows.end[i] for i in order]
        self.asn = [rows.asn[i] for i in order]
        self.line = [rows.line[i] for i in order]
        self.plen = [rows.plen[i] for i in order]
        self.country = [rows.country[i] for i in order]
        self.holder = [rows.holder[i] for i in order]
        self.parent, seg = _sweep(self.start, self.end, self.line, path)
        self.seg_start = [s for s, _, _ in seg]
        self.seg_end = [e for _, e, _ in seg]
        self.seg_entry = [i for _, _, i in seg]

    def __len__(self) -> int:
        return len(self.start)

    def find(self, x: int) -> int:
        """Index of the most specific entry containing ``x``, or -1."""
        i = bisect.bisect_right(self.seg_start, x) - 1
        if i >= 0 and x <= self.seg_end[i]:
            return self.seg_entry[i]
        return -1

    def covering(self, lo: int, hi: int) -> int:
        """Most specific entry containing the whole range ``[lo, hi]``, or -1."""
        e = self.find(lo)
        while e >= 0 and self.end[e] < hi:
            e = self.parent[e]
        return e

    def asns_within(self, lo: int, hi: int, limit: int = 64) -> list[int]:
        """Distinct ASNs of the entries that cover some part of ``[lo, hi]`` (at most ``limit``)."""
        i = max(bisect.bisect_right(self.seg_start, lo) - 1, 0)
        found: set[int] = set()
        while i < len(self.seg_start) and self.seg_start[i] <= hi and len(found) < limit:
            if self.seg_end[i] >= lo:
                found.add(self.asn[self.seg_entry[i]])
            i += 1
        return sorted(found)


class _Family4(_Family):
    """IPv4: the same segments held as numpy arrays for vectorised lookups."""

    def __init__(self, rows: _Rows, path: str) -> None:
        super().__init__(rows, 32, path)
        self.np_start = np.asarray(self.seg_start, dtype=np.uint32)
        self.np_end = np.asarray(self.seg_end, dtype=np.uint32)
        self.np_entry = np.asarray(self.seg_entry, dtype=np.int64)
        self.np_asn = np.asarray(self.asn, dtype=np.int64)

    def find_many(self, xs: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64]:
        if len(self.np_start) == 0:
            return np.full(xs.shape, -1, dtype=np.int64)
        i = np.searchsorted(self.np_start, xs, side="right").astype(np.int64) - 1
        safe = np.clip(i, 0, None)
        hit = (i >= 0) & (xs <= self.np_end[safe])
        return np.where(hit, self.np_entry[safe], -1)


def _sweep(
    start: list[int], end: list[int], line: list[int], path: str
) -> tuple[list[int], list[tuple[int, int, int]]]:
    """Turn entries sorted by (start, -end) into parent links and disjoint segments.

    Entries must nest or be disjoint (true of CIDR prefixes; checked for iptoasn ranges).
    Each segment is labelled with the innermost entry covering it, which *is* the
    longest-prefix match for every address in it.
    """
    parent = [-1] * len(start)
    seg: list[tuple[int, int, int]] = []
    stack: list[int] = []
    pos = 0  # first address not yet assigned to a segment

    def close_until(limit: int) -> None:
        nonlocal pos
        while stack and end[stack[-1]] < limit:
            top = stack.pop()
            if pos <= end[top]:
                seg.append((pos, end[top], top))
            pos = max(pos, end[top] + 1)

    for i, s in enumerate(start):
        close_until(s)
        if stack:
            top = stack[-1]
            if end[i] > end[top]:
                raise DataError(
                    f"line {line[i]} overlaps line {line[top]} without nesting in it",
                    path=path,
                    hint="ranges must be disjoint or nested, as CIDR prefixes are",
                )
            if pos <= s - 1:
                seg.append((pos, s - 1, top))
            parent[i] = top
        stack.append(i)
        pos = s
    close_until(1 << 129)
    return parent, seg


def _ip_int(text: str) -> tuple[int, int]:
    """(version, integer) of an address string; ``OSError``/``ValueError`` if it is not one."""
    if ":" in text:
        return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")


_HEADER = re.compile(r"^;\s*([^:]+?)\s*:\s*(.*?)\s*$")
_RIB_DATE = re.compile(r"(\d{8})\.(\d{4})")


def _read_text(path: Path) -> tuple[str, bytes]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read: {os_reason(exc)}", path=str(path),
                        hint="pass the path of a pyasn ipasn .dat or an iptoasn .tsv file") from exc
    data = raw
    if raw[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"gzip stream is damaged: {exc}", path=str(path)) from exc
    try:
        return data.decode("utf-8"), raw
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text at byte {exc.start}", path=str(path)) from exc


def _load_names(names: str | os.PathLike[str] | Mapping[int | str, str] | None) -> dict[int, str]:
    if names is None:
        return {}
    if isinstance(names, Mapping):
        return {int(k): str(v) for k, v in names.items()}
    p = Path(names)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
        return {int(k): str(v) for k, v in doc.items()}
    except (OSError, ValueError, AttributeError, RecursionError) as exc:
        raise DataError(f"cannot read AS names: {type(exc).__name__}: {exc}", path=str(p),
                        hint="a JSON object {\"ASN\": \"NAME description, CC\"} as pyasn's asnames.json") from exc


_CC = re.compile(r",\s*([A-Z]{2})\s*$")


class PrefixTable:
    """An offline IP → ASN table (``source == "prefix-table"``).

    Build it with :meth:`load`. ``lookup`` answers each query with the most specific
    entry covering it.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.dat"
    >>> _ = p.write_text("; IP-ASN32-DAT file\\n1.0.0.0/24\\t2\\n1.0.0.0/30\\t1\\n")
    >>> t = PrefixTable.load(p)
    >>> [(a.status, a.asn, a.prefix) for a in t.lookup(["1.0.0.1", "1.0.0.9", "9.9.9.9"])]
    [('ok', 1, '1.0.0.0/30'), ('ok', 2, '1.0.0.0/24'), ('not_found', None, None)]
    """

    name = SOURCE

    def __init__(
        self,
        v4: _Family4,
        v6: _Family,
        version: TableVersion,
        names: dict[int, str],
        clock: Clock,
    ) -> None:
        self._v4 = v4
        self._v6 = v6
        self.version = version
        self._names = names
        self._clock = clock

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        names: str | os.PathLike[str] | Mapping[int | str, str] | None = None,
        clock: Clock = utc_now,
    ) -> PrefixTable:
        """Read a pyasn DAT or iptoasn TSV file (format detected from the first data line).

        Parameters
        ----------
        path
            The table file; gzip-compressed files are recognised by their magic bytes.
        names
            Optional AS names for pyasn tables (pyasn ``asnames.json``: ``{"4134": "CHINANET-BACKBONE ..., CN"}``);
            gives ``holder`` and, from the trailing ``, CC``, ``country``.
        clock
            Returns the time stamped on answers (``obtained_at``).

        Raises
        ------
        auditor.errors.DataError
            The file cannot be read, or a line is malformed (the message names the line).
        """
        p = Path(path)
        text, raw = _read_text(p)
        header: dict[str, str] = {}
        rows4, rows6 = _Rows(), _Rows()
        fmt: str | None = None
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            if line.startswith(";") or line.startswith("#"):
                m = _HEADER.match(line)
                if m:
                    header[m.group(1)] = m.group(2)
                continue
            fields = line.rstrip("\r\n").split("\t")
            if fmt is None:
                if len(fields) == 2 and "/" in fields[0]:
                    fmt = FORMAT_PYASN
                elif len(fields) >= 5:
                    fmt = FORMAT_IPTOASN
                else:
                    raise DataError(
                        f"line {lineno}: neither 'prefix<TAB>ASN' (pyasn) nor a 5-column iptoasn row",
                        path=str(p),
                    )
            try:
                if fmt == FORMAT_PYASN:
                    _pyasn_row(fields, lineno, rows4, rows6)
                else:
                    _iptoasn_row(fields, lineno, rows4, rows6)
            except (ValueError, OSError, IndexError) as exc:
                raise DataError(f"line {lineno}: {exc}: {line[:80]!r}", path=str(p)) from exc
        if fmt is None:
            raise DataError("no table rows", path=str(p))
        names_map = _load_names(names)
        st = p.stat()
        version = TableVersion(
            path=str(p),
            format=fmt,
            sha256=hashlib.sha256(raw).hexdigest(),
            size=len(raw),
            mtime=iso_utc(dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)),
            header_date=_header_date(header),
            rib_date=_rib_date(header),
            entries_v4=len(rows4.start),
            entries_v6=len(rows6.start),
            header=header,
        )
        return cls(_Family4(rows4, str(p)), _Family(rows6, 128, str(p)), version, names_map, clock)

    # ------------------------------------------------------------------ lookups
    def lookup(self, ips: Sequence[str]) -> list[AsnAnswer]:
        """One answer per query, in order. IPv4 addresses are looked up in one vectorised pass."""
        if isinstance(ips, str):
            ips = [ips]
        now = iso_utc(self._clock())
        queries = [parse_query(q) for q in ips]
        # vectorised pass for plain IPv4 addresses
        pos4 = [i for i, q in enumerate(queries)
                if q.error is None and q.reserved is None and q.network is None
                and q.address is not None and q.address.version == 4]
        hits: dict[int, int] = {}
        if pos4:
            xs = np.fromiter((int(queries[i].address) for i in pos4), dtype=np.uint32, count=len(pos4))  # type: ignore[arg-type]
            for i, e in zip(pos4, self._v4.find_many(xs).tolist(), strict=True):
                hits[i] = e
        return [self._answer(q, hits.get(i), now) for i, q in enumerate(queries)]

    def lookup_ipv4(self, addrs: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Vectorised: origin ASN for each IPv4 address given as ``uint32``; -1 where no entry.

        This is the bulk path (millions of addresses per second); it does no input
        checking beyond the dtype, so reserved addresses get whatever the table says.

        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.dat"
        >>> _ = p.write_text("1.0.0.0/24\\t2\\n")
        >>> PrefixTable.load(p).lookup_ipv4([0x01000001, 0x02000000]).tolist()
        [2, -1]
        """
        xs = np.asarray(addrs, dtype=np.uint32)
        e = self._v4.find_many(xs)
        return np.where(e >= 0, self._v4.np_asn[np.clip(e, 0, None)], -1)

    # ------------------------------------------------------------------ internals
    def _family(self, version: int) -> _Family:
        return self._v4 if version == 4 else self._v6

    def _base_detail(self) -> dict[str, Any]:
        return {"data_version": {"sha256": self.version.sha256, "header_date": self.version.header_date,
                                 "rib_date": self.version.rib_date, "format": self.version.format,
                                 "file": Path(self.version.path).name}}

    def _answer(self, q: Query, pre: int | None, now: str) -> AsnAnswer:
        detail = {**q.notes, **self._base_detail()} if q.error is None else dict(q.notes)
        if q.error is not None:
            return make_answer(q.text, SOURCE, AsnStatus.ERROR, now, reason=q.error, detail=detail)
        if q.reserved is not None:
            return make_answer(q.text, SOURCE, AsnStatus.RESERVED, now, reason=q.reserved, detail=detail)
        assert q.address is not None
        fam = self._family(q.address.version)
        lo = int(q.address)
        hi = int(q.network.broadcast_address) if q.network is not None else lo
        if pre is not None:
            e = pre
        elif q.network is not None:
            e = fam.covering(lo, hi)
            within = fam.asns_within(lo, hi)
            if within and (e < 0 or within != [fam.asn[e]]):
                # more specific entries inside the prefix route (parts of) it elsewhere
                detail["asns_within_prefix"] = within
        else:
            e = fam.find(lo)
        fname = Path(self.version.path).name
        if e < 0:
            what = "prefix" if q.network is not None else "address"
            why = f"no entry in {fname} covers this {what}"
            if "asns_within_prefix" in detail:
                why += " as a whole (more specific entries cover parts of it)"
            return make_answer(q.text, SOURCE, AsnStatus.NOT_FOUND, now, reason=why, detail=detail)
        detail["line"] = fam.line[e]
        start, end, plen = fam.start[e], fam.end[e], fam.plen[e]
        rng = _range_text(start, end, fam.bits)
        if plen < 0:
            detail["range"] = rng
        prefix = _prefix_text(start, plen, fam.bits) if plen >= 0 else _cidr_around(start, end, lo, hi, fam.bits)
        asn = fam.asn[e]
        holder, country = fam.holder[e], fam.country[e]
        name = self._names.get(asn)
        if name is not None:
            detail["as_name"] = name
            holder = holder or name
            m = _CC.search(name)
            if country is None and m:
                country = m.group(1)
        if asn == 0:
            return make_answer(q.text, SOURCE, AsnStatus.NOT_FOUND, now,
                               reason=f"{rng} is marked not routed (AS0) in {fname}",
                               prefix=prefix, detail=detail)
        return make_answer(q.text, SOURCE, AsnStatus.OK, now, asn=asn, prefix=prefix, holder=holder,
                           country=country, detail=detail)


def _pyasn_row(fields: list[str], lineno: int, rows4: _Rows, rows6: _Rows) -> None:
    if len(fields) != 2:
        raise ValueError("expected 'prefix<TAB>ASN'")
    pfx, asn_text = fields[0].strip(), fields[1].strip()
    addr, _, plen_text = pfx.partition("/")
    version, start = _ip_int(addr)
    bits = 32 if version == 4 else 128
    plen = int(plen_text)
    if not 0 <= plen <= bits:
        raise ValueError(f"prefix length {plen} out of range")
    size = 1 << (bits - plen)
    start &= ~(size - 1)  # a prefix written with host bits set means its network
    asn = int(asn_text)
    if asn < 0 or asn >= 1 << 32:
        raise ValueError(f"AS number {asn} out of range")
    rows = rows4 if version == 4 else rows6
    rows.start.append(start)
    rows.end.append(start + size - 1)
    rows.asn.append(asn)
    rows.line.append(lineno)
    rows.plen.append(plen)
    rows.country.append(None)
    rows.holder.append(None)


def _iptoasn_row(fields: list[str], lineno: int, rows4: _Rows, rows6: _Rows) -> None:
    if len(fields) < 5:
        raise ValueError("expected 5 tab-separated columns")
    v1, start = _ip_int(fields[0].strip())
    v2, end = _ip_int(fields[1].strip())
    if v1 != v2:
        raise ValueError("range start and end are different IP versions")
    if end < start:
        raise ValueError("range end before range start")
    asn = int(fields[2])
    if asn < 0 or asn >= 1 << 32:
        raise ValueError(f"AS number {asn} out of range")
    cc = fields[3].strip()
    desc = "\t".join(fields[4:]).strip()
    rows = rows4 if v1 == 4 else rows6
    rows.start.append(start)
    rows.end.append(end)
    rows.asn.append(asn)
    rows.line.append(lineno)
    rows.plen.append(-1)
    rows.country.append(cc if cc and cc not in ("None", "-", "ZZ") else None)
    rows.holder.append(desc if desc and desc != "Not routed" else None)


def _addr(x: int, bits: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.IPv4Address(x) if bits == 32 else ipaddress.IPv6Address(x)


def _prefix_text(start: int, plen: int, bits: int) -> str:
    return f"{_addr(start, bits)}/{plen}"


def _range_text(start: int, end: int, bits: int) -> str:
    return f"{_addr(start, bits)}-{_addr(end, bits)}"


def _cidr_around(start: int, end: int, lo: int, hi: int, bits: int) -> str:
    """The CIDR block of the range ``[start, end]`` that contains ``[lo, hi]``, or the range itself.

    iptoasn ranges are not always CIDR blocks; the block of the range's CIDR decomposition
    holding the query is a true statement ("this whole block maps to that ASN").
    """
    for net in ipaddress.summarize_address_range(_addr(start, bits), _addr(end, bits)):
        if int(net.network_address) <= lo and hi <= int(net.broadcast_address):
            return str(net)
    return _range_text(start, end, bits)


def _header_date(header: Mapping[str, str]) -> str | None:
    raw = header.get("Converted on")
    if not raw:
        return None
    try:
        return dt.datetime.strptime(raw, "%a %b %d %H:%M:%S %Y").isoformat()
    except ValueError:
        return raw


def _rib_date(header: Mapping[str, str]) -> str | None:
    m = _RIB_DATE.search(header.get("Original file", ""))
    if not m:
        return None
    d, t = m.groups()
    return f"{d[:4]}-{d[4:6]}-{d[6:]}T{t[:2]}:{t[2:]}"

