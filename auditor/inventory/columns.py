"""Column names: the canonical facility-list columns, the headers people write for each, and how
one list's headers were read (:class:`ColumnMap`).

Headers are compared after :func:`normalise_header` (full-width forms, case, spaces, line breaks,
a leading ``*`` that marks a required field, a trailing colon); a header with a bracketed remark
(``经度(°)``, ``IP地址（多个用分号分隔）``, ``精度（米）``) is tried as written and then without the remark.

Where the aliases come from: the English ones and the first Chinese ones were the reader's own; the
Chinese headers added for issue 17 are those seen across operator and regulator filing templates
(节点编号 / 机房编号 / 设施编号 / 站点编码 / 资源编号, 节点名称 / 站点名称, 节点类型 / 机房类型 / 业务类型,
产权性质 / 权属 / 机房性质 / 是否自有, 所属省份 / 所在城市 / 地市 / 所在区县, 节点地址, 经纬度 / 坐标,
东经 / 北纬, 节点IP / 服务IP / 出口IP) and the forms a header takes in the same templates (``节点ID``,
``所在省份``, ``区/县``, ``Node ID`` ...).

**Precedence.** Some headers name a column only when nothing better is there: ``序号`` (a row
counter, 1..n) is the id only when no real id column exists; ``机房名称`` / ``机房地址`` /
``机房编号`` (the room a node sits in) give a node list's name, address and id only when no
``节点名称`` / ``详细地址`` / ``节点编号`` ... does; ``业务类型`` gives the kind only without a
``节点类型``; ``出口IP`` the addresses only without an ``IP地址``; a combined ``经纬度`` cell the
coordinates only without separate ``经度`` / ``纬度`` columns. A passed-over column is kept like any
unused one (carried to the facility tables) and said so. Two headers of the same rank for one
column are an error (say which to use with ``--columns``).

``加速域名`` (an accelerated domain) is deliberately *not* an alias of ``hostname``: it names the
customer's domain a CDN node serves, which resolves to nodes everywhere, not the node itself;
accelerated domains belong in the profile's ``cdn.accelerated_domains``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.editdistance import edit_distance

__all__ = [
    "CANONICAL",
    "HEADER_ALIASES",
    "LATER_ALIASES",
    "ColumnMap",
    "closest",
    "closest_alias",
    "column_letter",
    "edit_distance",
    "headers_listing",
    "known_columns",
    "lookup_header",
    "map_headers",
    "normalise_header",
    "parse_column_spec",
    "resolve_columns",
]

#: canonical column -> headers that name it (compared after :func:`normalise_header`), best first
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "facility_id", "site_id", "node_id", "编号", "设施编号", "设施id", "设施编码", "节点编号", "节点id",
           "节点编码", "站点编号", "站点编码", "站点id", "资源编号", "资源编码", "机房编号", "机房编码", "机房id", "序号"),
    "kind": ("kind", "type", "facility_type", "node_type", "site_type", "类型", "设施类型", "类别", "节点类型", "机房类型",
             "站点类型", "设施类别", "业务类型"),
    "tenure": ("tenure", "ownership", "权属", "产权", "产权性质", "使用方式", "权属性质", "产权归属", "机房性质", "是否自有"),
    "name": ("name", "facility_name", "site_name", "node_name", "名称", "设施名称", "节点名称", "站点名称", "机房名称"),
    "address": ("address", "addr", "site_address", "node_address", "地址", "详细地址", "节点地址", "站点地址", "设施地址",
                "所在地址", "安装地址", "节点详细地址", "机房地址", "机房详细地址"),
    "lon": ("lon", "lng", "long", "longitude", "x", "经度", "东经"),
    "lat": ("lat", "latitude", "y", "纬度", "北纬"),
    "lonlat": ("lonlat", "lon_lat", "lng_lat", "coordinates", "coordinate", "经纬度", "坐标", "经纬度坐标", "位置坐标",
               "坐标位置", "gps坐标"),
    "crs": ("crs", "coord_sys", "coordinate_system", "datum", "坐标系", "坐标系统", "坐标类型", "坐标体系"),
    "uncertainty_m": ("uncertainty_m", "accuracy_m", "precision_m", "精度", "精度_米", "误差_米", "定位精度"),
    "ip": ("ip", "ips", "ip_address", "ip_addresses", "ip地址", "ip段", "地址段", "ip地址段", "节点ip", "服务ip", "业务ip",
           "公网ip", "ip列表", "出口ip"),
    "hostname": ("hostname", "hostnames", "host", "domain", "域名", "主机名", "节点域名"),
    "adcode": ("adcode", "行政区划代码", "区划代码", "行政区划编码", "行政区代码"),
    "province": ("province", "省", "省份", "所属省份", "所在省份", "省_自治区_直辖市"),
    "city": ("city", "市", "城市", "所在城市", "所属城市", "地市", "所在地市", "所属地市"),
    "district": ("district", "county", "区", "区县", "县区", "所在区县", "所属区县", "区_县", "县_区"),
}
CANONICAL = tuple(HEADER_ALIASES)

#: aliases used only when no other header names the column: rank 1 (a related column), 2 (a row counter)
LATER_ALIASES: dict[str, dict[str, int]] = {
    "id": {"机房编号": 1, "机房编码": 1, "机房id": 1, "序号": 2},
    "kind": {"业务类型": 1},
    "name": {"机房名称": 1},
    "address": {"机房地址": 1, "机房详细地址": 1},
    "ip": {"出口ip": 1},
}
#: said when a header is passed over for a better one
_WHY_LATER = {"序号": "a row counter"}
#: headers of a row counter (normalised)
_ROW_COUNTERS = frozenset({"序号"})


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def normalise_header(text: str) -> str:
    """NFKC (full-width to half-width), trimmed, lower case; a leading ``*`` (required) and a trailing
    colon dropped; whitespace removed in Chinese headers (``节点 编号``, line breaks); runs of
    space/-/./brackets as ``_`` otherwise."""
    t = unicodedata.normalize("NFKC", str(text)).strip().lower().lstrip("\ufeff").strip()
    t = t.lstrip("*※").rstrip(":：").strip()
    if _has_cjk(t):
        t = "".join(t.split())
    for ch in " -./()（）、\\[]【】":
        t = t.replace(ch, "_")
    while "__" in t:
        t = t.replace("__", "_")
    return t.strip("_")


_BRACKETED = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]")

_LOOKUP: dict[str, tuple[str, int]] = {}
for _canon, _aliases in HEADER_ALIASES.items():
    for _a in _aliases:
        _LOOKUP[normalise_header(_a)] = (_canon, LATER_ALIASES.get(_canon, {}).get(_a, 0))


def lookup_header(header: str) -> tuple[str, int] | None:
    """(canonical column, rank) that ``header`` names, or None. Rank 0 is a first choice; see :data:`LATER_ALIASES`."""
    key = normalise_header(header)
    hit = _LOOKUP.get(key)
    if hit is None and _BRACKETED.search(str(header)):
        hit = _LOOKUP.get(normalise_header(_BRACKETED.sub("", unicodedata.normalize("NFKC", str(header)))))
    return hit


def map_headers(headers: Sequence[str]) -> tuple[dict[int, str], dict[str, list[str]]]:
    """Map header positions to canonical names (every alias, whatever its rank).

    Returns ``(position -> canonical or original header, canonical -> [original headers])``.
    For how a list is read (precedence, explicit mapping) see :func:`resolve_columns`.
    """
    positions: dict[int, str] = {}
    seen: dict[str, list[str]] = {}
    for i, h in enumerate(headers):
        hit = lookup_header(h)
        if hit is not None:
            seen.setdefault(hit[0], []).append(str(h))
            positions[i] = hit[0]
        else:
            positions[i] = _plain(h)
    return positions, seen


def _plain(header: str) -> str:
    return str(header).strip().lstrip("\ufeff")


def column_letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index (0 -> A, 26 -> AA)."""
    n, out = index + 1, ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def closest(text: str, choices: Sequence[str], *, key: Any = None) -> str | None:
    """The choice nearest ``text`` by edit distance (after ``key``), if near enough to be a slip:
    at most one edit in up to four characters, else a third of the length."""
    fold = key or (lambda s: s)
    t = fold(text)
    if not t:
        return None
    best: tuple[int, str] | None = None
    for c in choices:
        d = edit_distance(t, fold(c))
        if best is None or d < best[0]:
            best = (d, c)
    if best is None:
        return None
    limit = 1 if len(t) <= 4 else max(1, len(t) // 3)
    return best[1] if best[0] <= limit else None


def parse_column_spec(spec: str | Mapping[str, str], *, origin: str = "--columns") -> dict[str, str]:
    """``id=节点编号,kind=类型`` (or a mapping) -> {canonical: header}; ``name=`` (empty) reads no column as ``name``.

    Raises :class:`~auditor.errors.UsageError` for a name that is not a canonical column.
    """
    from auditor.errors import InputError, UsageError

    if isinstance(spec, Mapping):
        pairs = [(str(k), "" if v is None else str(v)) for k, v in spec.items()]
    else:
        pairs = []
        for part in re.split(r"[,，;；]", spec):
            if not part.strip():
                continue
            name, eq, header = part.partition("=")
            if not eq:
                raise InputError(f"{origin} {part.strip()!r}: write COLUMN=HEADER, e.g. id=节点编号")
            pairs.append((name, header))
    out: dict[str, str] = {}
    for name, header in pairs:
        canon = name.strip().lower()
        if canon not in HEADER_ALIASES:
            raise UsageError(f"{origin} (column name)", name.strip(), CANONICAL)
        out[canon] = header.strip()
    return out


# -- how one list's headers were read --------------------------------------------------------------

@dataclass(frozen=True)
class ColumnMap:
    """How the headers of one facility list were read.

    ``read`` maps a column index to the canonical column it gives; every other index is
    unused and carried to the facility tables under its header (``Facility.extra``).
    ``passed_over`` says why a column that names a canonical column was not read
    (a better header, or the caller's mapping). ``conflicts`` lists canonical columns that
    two headers of the same rank name (an error, raised by validation).
    """

    headers: tuple[str, ...]
    read: Mapping[int, str]
    given: frozenset[str] = frozenset()
    passed_over: Mapping[int, str] = field(default_factory=dict)
    conflicts: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def index(self, canon: str) -> int | None:
        return next((i for i, c in self.read.items() if c == canon), None)

    def header(self, canon: str) -> str | None:
        i = self.index(canon)
        return None if i is None else _plain(self.headers[i])

    def has(self, canon: str) -> bool:
        return self.index(canon) is not None

    @property
    def unused(self) -> tuple[int, ...]:
        return tuple(i for i in range(len(self.headers)) if i not in self.read)

    def extra_name(self, i: int) -> str:
        """The name an unused column is carried under: its header, or ``column_N`` for a blank one."""
        return (_plain(self.headers[i]) if i < len(self.headers) else "") or f"column_{i + 1}"

    def unused_names(self) -> list[str]:
        return [self.extra_name(i) for i in self.unused]

    def notes(self) -> list[str]:
        """What a reader of the audit should know about the reading: an id taken from a row counter."""
        i = self.index("id")
        if i is not None and i not in self.passed_over and normalise_header(self.headers[i]) in _ROW_COUNTERS and "id" not in self.given:
            return [f"id read from {_plain(self.headers[i])!r}, a row counter: no other column names the facilities, so their ids "
                    "change when rows are added or removed (name the id column with --columns id=HEADER)"]
        return []

    def record(self) -> dict[str, Any]:
        """What the audit records about the reading (report.json ``inputs``): canonical -> header, unused headers."""
        out: dict[str, Any] = {"columns": {c: self.header(c) for c in CANONICAL if self.has(c)}}
        if self.given:
            out["columns_given"] = [c for c in CANONICAL if c in self.given]
        out["unused_columns"] = self.unused_names()
        return out


def resolve_columns(headers: Sequence[str], given: Mapping[str, str] | None = None, *, source: str = "",
                    header_row: int = 1, origin: str = "--columns") -> ColumnMap:
    """Read ``headers``: the caller's mapping ``given`` ({canonical: header}) first, then the aliases by rank.

    A header named in ``given`` that is not among ``headers`` raises
    :class:`~auditor.errors.InventoryError` listing the headers read and the closest one.
    """
    from auditor.errors import InventoryError

    given = dict(given or {})
    heads = [_plain(h) for h in headers]
    read: dict[int, str] = {}
    passed: dict[int, str] = {}
    taken_by_given: dict[int, str] = {}
    for canon, want in given.items():
        if not want:
            continue  # NAME= : no column is read as NAME
        i = _find_header(heads, want)
        if i is None:
            near = closest(want, [h for h in heads if h], key=normalise_header)
            raise InventoryError(
                f"{origin} {canon}={want}: no such header; headers read: {_listing(heads)}",
                source=source, row=header_row, column=canon,
                hint=f"did you mean {canon}={near}?" if near else "name one of the headers read (or use --header-row if the header is on another row)",
            )
        if i in taken_by_given:
            raise InventoryError(f"{origin} names header {want!r} for both {taken_by_given[i]!r} and {canon!r}",
                                 source=source, row=header_row, column=canon, hint="name each header once")
        taken_by_given[i] = canon
        read[i] = canon
    # aliases, by rank, for the columns the caller left to us
    named: dict[str, list[tuple[int, int]]] = {}
    for i, h in enumerate(headers):
        if i in taken_by_given:
            continue
        hit = lookup_header(h)
        if hit is None:
            continue
        canon, rank = hit
        if canon in given:
            passed[i] = f"names {canon}, but {origin} says " + (f"{canon}={given[canon]}" if given[canon] else f"no column is {canon}")
            continue
        named.setdefault(canon, []).append((rank, i))
    conflicts: dict[str, tuple[int, ...]] = {}
    for canon, hits in named.items():
        best = min(r for r, _ in hits)
        top = [i for r, i in hits if r == best]
        if len(top) > 1:
            conflicts[canon] = tuple(top)
        read[top[0]] = canon
        for r, i in hits:
            if r != best:
                why = _WHY_LATER.get(normalise_header(headers[i]))
                passed[i] = f"{why + '; ' if why else ''}{canon} is read from {heads[top[0]]!r}"
    # separate lon/lat beat a combined cell, unless the caller named the combined one
    coords = {c for c in ("lon", "lat") if c in read.values()}
    if coords and "lonlat" in read.values():
        i = next(i for i, c in read.items() if c == "lonlat")
        if "lonlat" in given and not ({"lon", "lat"} & set(given)):
            for j in [j for j, c in read.items() if c in ("lon", "lat")]:
                del read[j]
                passed[j] = f"the coordinates are read from {heads[i]!r} ({origin})"
        else:
            del read[i]
            passed[i] = "the coordinates are read from the separate longitude and latitude columns"
    return ColumnMap(tuple(str(h) for h in headers), dict(sorted(read.items())), frozenset(c for c, h in given.items()),
                     dict(sorted(passed.items())), conflicts)


def _find_header(heads: Sequence[str], want: str) -> int | None:
    for i, h in enumerate(heads):
        if h == want.strip():
            return i
    key = normalise_header(want)
    for i, h in enumerate(heads):
        if normalise_header(h) == key:
            return i
    return None


def _listing(heads: Sequence[str], limit: int = 30) -> str:
    shown = [h if h else "(blank)" for h in heads[:limit]]
    return ", ".join(shown) + (f", … ({len(heads) - limit} more)" if len(heads) > limit else "") if shown else "(none)"


def headers_listing(headers: Sequence[str]) -> str:
    """The headers of a list as an error message shows them."""
    return _listing([_plain(h) for h in headers])


def closest_alias(canon: str, headers: Sequence[str]) -> str | None:
    """The header among ``headers`` that looks most like an alias of ``canon`` (a slip such as ``节点编码号``)."""
    best: tuple[int, str] | None = None
    aliases = [normalise_header(a) for a in HEADER_ALIASES[canon]]
    for h in headers:
        key = normalise_header(h)
        if not key or lookup_header(h) is not None:
            continue
        for a in aliases:
            d = edit_distance(key, a)
            limit = 1 if len(a) <= 4 else max(1, len(a) // 3)
            if d <= limit and (best is None or d < best[0]):
                best = (d, _plain(h))
    return None if best is None else best[1]


def known_columns(cells: Sequence[str], given_headers: frozenset[str] = frozenset()) -> int:
    """How many distinct canonical columns a row's cells name (a header row names several);
    ``given_headers`` (normalised) are the headers the caller's mapping names."""
    found: set[str] = set()
    for c in cells:
        if not c or not str(c).strip():
            continue
        key = normalise_header(c)
        if key in given_headers:
            found.add("given:" + key)
            continue
        hit = lookup_header(c)
        if hit is not None:
            found.add(hit[0])
    return len(found)
