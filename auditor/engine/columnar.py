"""Columnar judging of plain rows: a chunk judged as arrays, findings built only for the rows reported in detail.

Most rows of a large facility list are *plain*: an id, a name, a kind, decimal coordinates with
or without a stated system, and at most one IPv4 address. For such rows the rules reduce to a
few cases (:mod:`auditor.rules._location`: declared inside, declared outside, doubted by the IP
database, near the line), so a chunk of them is judged here column by column — coordinates
parsed once per cell, containment in one vectorised call, the IP database asked once per distinct
answer — into per-row status and message columns, and the table rows are rendered from those
columns. :class:`~auditor.model.Finding` objects are built (by the per-row path) only for the
rows the summary reports list in detail.

What this path gives equals the per-row path (:func:`auditor.engine.judge.judge`), row for row
and byte for byte in the tables: ``tests/engine/test_columnar.py`` compares the two on chunks made
to reach every case. Anything else — a row that is not plain, evidence other than declared
coordinates and ip2region, waivers, ISP access points (the operator's footprint rule reads
their combined verdicts) — sends the chunk down the per-row path, which stays the reference.
"""

from __future__ import annotations

import collections
import itertools
import math
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from auditor.errors import InventoryError, UsageError
from auditor.geo.containment import INDETERMINATE, INSIDE, OUTSIDE, VERDICT_CODES
from auditor.geo.crs import CRS, datum_ambiguity_m, parse_crs, to_wgs84
from auditor.inventory.read import RawTable
from auditor.inventory.validate import check_columns, extra_name, header_crs, text_cell
from auditor.inventory.values import crs_word, kind_word, tenure_word
from auditor.iptext import global_ipv4, is_dotted_quad
from auditor.model import EvidenceSource
from auditor.resolve.ipgeo.xdb import parse_ipv4
from auditor.result import Tallies
from auditor.rules._location import ASSUMPTION_MARK, part_names
from auditor.rules._weights import caveats
from auditor.rules.base import CDN_KINDS, ISP_KINDS

if TYPE_CHECKING:
    from auditor.config import AuditConfig
    from auditor.engine.plan import AuditPlan
    from auditor.regions import DataSource

__all__ = ["PlainRows", "PlainJudgement", "PlainStart", "PlainPlaces", "plain_evidence_only", "read_plain", "judge_plain",
           "start_plain", "locate_plain", "finish_plain", "written_coordinates"]

#: The canonical columns a plain row may fill; any other canonical column must be blank in the chunk.
PLAIN_COLUMNS = frozenset({"id", "name", "kind", "tenure", "lon", "lat", "crs", "ip"})

_VERDICT_TEXT = {code: verdict.value for code, verdict in enumerate(VERDICT_CODES)}  # describe()'s words
_CODE_OF = {verdict: code for code, verdict in enumerate(VERDICT_CODES)}
_NO_IP, _IP_UNRESOLVED, _IP_CONTAINED = 0, 1, 2
_NO_VERDICT = -1

_FIR, _CDN, _LEC = "facility_in_region", "cdn_nodes_in_region", "location_evidence_consistent"
_IP_KEY = EvidenceSource.IP2REGION.value
_COORDINATES_KEY = EvidenceSource.DECLARED_COORDINATES.value


def plain_evidence_only(config: AuditConfig) -> bool:
    """Whether the configuration asks for no evidence beyond declared coordinates, admin facts,
    addresses and the ip2region database (the sources the columnar path reproduces)."""
    return not (
        config.mmdb or config.latency or config.dns_configured or config.asn_table or config.asn_recording
        or config.cymru_server or config.rdap_url or config.sweep_server or config.online
    )


@dataclass
class PlainRows:
    """A chunk's rows as validated columns (only built when every row is plain)."""

    rows: list[int]
    ids: list[str]
    names: list[str]
    kinds: list[str]
    tenures: list[str]
    lon: np.ndarray
    lat: np.ndarray
    decimals: list[int]
    crs: list[str]                  # the row's system ("" when neither the row nor a default states one)
    ips: list[str]                  # the row's one address ("" when none)
    has_ip: np.ndarray
    ip_values: np.ndarray           # the address as an integer (0 where none)
    extra_names: list[str]
    extra_values: list[list[str]]   # per extra column, the raw cells
    raw: list[Any] = field(default_factory=list, repr=False)  # every column's cells as read (for the rows listed in detail)
    # the coordinates as repr() writes them, read off their cells where that is the cell without trailing zeros
    # (facilities.csv writes the coordinates as given with repr; None: it formats them itself)
    lon_text: list[str] | None = None
    lat_text: list[str] | None = None
    # the stripped cells and their decimal places (where lon_text and lat_text are given: the cells are repr's, padded)
    lon_cells: list[str] | None = None
    lat_cells: list[str] | None = None
    lon_places: np.ndarray | None = None
    lat_places: np.ndarray | None = None


def read_plain(
    table: RawTable, default_crs: str | None, ids_before: Mapping[str, int] | None,
    columns: tuple[list[int], list[list[str]]] | None = None,
) -> PlainRows | None:
    """The table's rows as :class:`PlainRows`, or None when a row is not plain (the per-row path
    then validates the chunk and says what is wrong with which row). ``columns``: the rows given
    as (row numbers, one list per header) instead of ``table.rows`` (a split CSV block)."""
    if table.file_crs is not None or table.row_problems or table.cell_problems:
        return None
    try:
        cmap = table.column_map()
        check_columns(table, cmap)
        default = header_crs(table, cmap) or (parse_crs(default_crs).value if default_crs is not None else None)
    except (InventoryError, UsageError):
        return None
    width = len(table.headers)
    transposed: list[Any]
    if columns is None:
        values = [v for _, v in table.rows]
        if any(len(v) != width for v in values):
            return None
        row_numbers = [r for r, _ in table.rows]
        transposed = list(zip(*values))  # one pass for every column
    else:
        row_numbers, transposed = columns
        if len(transposed) != width:
            return None
    n = len(row_numbers)
    if not n:
        return None
    read = dict(cmap.read)
    index = {canon: i for i, canon in read.items()}
    if "lon" not in index or "lat" not in index:
        return None
    for canon, i in index.items():
        if canon not in PLAIN_COLUMNS and any(_texts(list(transposed[i]))):
            return None

    def column(canon: str) -> list[str]:
        i = index.get(canon)
        return [""] * n if i is None else list(transposed[i])

    ids = _texts(column("id"))
    unique = set(ids)
    if len(unique) != n or "" in unique or "#" in "".join(ids) or (ids_before and not unique.isdisjoint(ids_before)):
        return None  # a missing or duplicate id (the per-row path words it), or one that is not a plain claim id
    kinds = _by_value(column("kind"), _kind)
    tenure_header = cmap.header("tenure") or ""
    tenure_cells = column("tenure")
    tenures = _by_value(tenure_cells, lambda t: _tenure(t, tenure_header))
    if kinds is None or tenures is None:
        return None
    kind_codes = [k for k, _ in kinds]
    # the kind's word (自建机房, 租用机房) implies a tenure where the tenure cell is empty
    tenure_texts = tenures if not any(implied for _, implied in kinds) else [
        t if t or text_cell(cell) else implied for t, cell, (_, implied) in zip(tenures, tenure_cells, kinds)]
    lon_cells, lat_cells = _plain_degrees(column("lon")), _plain_degrees(column("lat"))
    if lon_cells is None or lat_cells is None:
        return None
    lon_a, lat_a = lon_cells[0], lat_cells[0]
    decimals = np.minimum(lon_cells[1], lat_cells[1]).tolist()
    ok = np.isfinite(lon_a) & np.isfinite(lat_a) & (np.abs(lat_a) <= 90.0) & (np.abs(lon_a) <= 180.0) & ~((lon_a == 0.0) & (lat_a == 0.0))
    if not ok.all():
        return None
    crs = _by_value(column("crs"), lambda t: _crs_of(t, default))
    if crs is None:
        return None
    ips = _texts(column("ip"))
    has_ip = np.fromiter(map(bool, ips), dtype=bool, count=n)
    ip_values = np.zeros(len(ips), np.uint32)
    if has_ip.any():
        parsed, valid = parse_ipv4([ip for ip in ips if ip])  # valid: a canonical dotted quad, as is_dotted_quad says
        if not valid.all():
            return None
        ip_values[has_ip] = parsed
    extra_idx = [i for i in range(width) if i not in read]
    extra_names = [_extra_name(cmap, i) for i in extra_idx]
    return PlainRows(
        rows=list(row_numbers), ids=ids, names=_texts(column("name")), kinds=kind_codes,
        tenures=tenure_texts, lon=lon_a, lat=lat_a, decimals=decimals, crs=list(crs), ips=ips, has_ip=has_ip, ip_values=ip_values,
        extra_names=extra_names, extra_values=[list(transposed[i]) for i in extra_idx], raw=transposed,
        lon_text=lon_cells[2], lat_text=lat_cells[2], lon_cells=lon_cells[3], lat_cells=lat_cells[3],
        lon_places=lon_cells[1], lat_places=lat_cells[1],
    )


def likely_plain(table: RawTable) -> list[bool] | None:
    """Which rows could be plain, by the per-row reasons a chunk most often is not: what the reader
    said of the row, a filled column other than :data:`PLAIN_COLUMNS` (a province, an address), a
    missing, repeated or '#' id, coordinates that are not plain decimal degrees, a cell that is not
    one dotted-quad address. A hint for cutting a chunk into pieces: :func:`read_plain` still decides
    each piece. None when no row can be (the headers give no longitude and latitude)."""
    try:
        cmap = table.column_map()
        check_columns(table, cmap)
    except (InventoryError, UsageError):
        return None
    index = {canon: i for i, canon in cmap.read.items()}
    if "lon" not in index or "lat" not in index:
        return None
    width = len(table.headers)
    reader = table.row_problems.keys() | table.cell_problems.keys()
    ok = [len(v) == width and r not in reader for r, v in table.rows]
    values = [v if good else [""] * width for good, (_, v) in zip(ok, table.rows)]

    def cells(i: int) -> list[str]:
        return [v[i].strip() for v in values]

    for canon, i in index.items():
        if canon not in PLAIN_COLUMNS:
            ok = [good and not c for good, c in zip(ok, cells(i))]
    ids = cells(index["id"]) if "id" in index else [""] * len(ok)
    seen = collections.Counter(ids)
    ok = [good and bool(fid) and seen[fid] == 1 and "#" not in fid for good, fid in zip(ok, ids)]
    degrees = _PLAIN_DEGREE.fullmatch
    for canon in ("lon", "lat"):
        ok = [good and degrees(c) is not None for good, c in zip(ok, cells(index[canon]))]
    if "ip" in index:
        ok = [good and (not c or is_dotted_quad(c)) for good, c in zip(ok, cells(index["ip"]))]
    return ok


_PLAIN_DEGREE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)


def _extra_name(cmap: Any, i: int) -> str:
    return extra_name(cmap, i) or f"column_{i + 1}"


_REJECT = object()


def _by_value(cells: list[str], read: Any) -> list[Any] | None:
    """``read(cell)`` for every cell, computed once per distinct cell; None when a reading is
    refused (``_REJECT``: a warning or an error, which the per-row path words)."""
    memo = {cell: read(cell) for cell in dict.fromkeys(cells)}
    if any(got is _REJECT for got in memo.values()):
        return None
    return [memo[cell] for cell in cells]


def _kind(cell: str) -> Any:
    code, implied, warning = kind_word(cell)
    return _REJECT if warning else (code, implied)


def _tenure(cell: str, header: str) -> Any:
    tenure, warning = tenure_word(cell, header)
    return _REJECT if warning else tenure


def _crs_of(cell: str, default: str | None) -> Any:
    t = text_cell(cell)
    if not t:
        return default or ""
    try:
        return crs_word(t) or parse_crs(t).value
    except UsageError:
        return _REJECT


def _texts(cells: list[str]) -> list[str]:
    """:func:`text_cell` of every cell (a plain strip when the column is ASCII, as it leaves ASCII alone)."""
    if "".join(cells).isascii():
        return list(map(str.strip, cells))
    return [text_cell(c) for c in cells]


#: the characters of plain decimal degrees (and the line ends between them)
_DEGREE_CHARS = b"0123456789.+-\n"
def _plain_degrees(cells: list[str]) -> tuple[np.ndarray, np.ndarray, list[str] | None, list[str]] | None:
    """(values, decimal places, what repr() writes of each value where the cells tell it, the stripped cells) of a column of
    plain decimal degrees, as :func:`~auditor.inventory.values.parse_degrees` reads them; None when a
    cell is anything else. Made only of digits, signs and points, a cell is plain decimal degrees
    exactly when ``float`` reads it (no exponent, no underscores, no words are left to it)."""
    texts = list(map(str.strip, cells))
    joined = "\n".join(texts)
    if not joined.isascii():
        return None
    raw = joined.encode("ascii")
    if raw.translate(None, _DEGREE_CHARS):
        return None
    try:
        values = np.array(list(map(float, texts)), dtype=np.float64)
    except ValueError:  # "", ".", "1.2.3", "+-1", "1-2"
        return None
    lengths, points, starts = _cell_shapes(raw, len(texts))
    decimals = np.where(points >= 0, lengths - points - 1, 0)
    return values, decimals, _as_repr(texts) if _repr_is_trimmed(raw, lengths, points, starts, values) else None, texts


def _cell_shapes(raw: bytes, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(length, offset of the point or -1, start in ``raw``) of each of the ``n`` cells joined by line
    ends in ``raw``, none holding a line end or more than one point (as any that ``float`` read)."""
    data = np.frombuffer(raw, dtype=np.uint8)
    ends = np.flatnonzero(data == ord("\n"))
    starts = np.concatenate(([0], ends + 1))
    lengths = np.concatenate((ends, [len(data)])) - starts
    dots = np.flatnonzero(data == ord("."))
    points = np.full(n, -1, dtype=np.int64)
    cell = np.searchsorted(starts, dots, side="right") - 1
    points[cell] = dots - starts[cell]
    return lengths, points, starts


def _repr_is_trimmed(raw: bytes, lengths: np.ndarray, points: np.ndarray, starts: np.ndarray, values: np.ndarray) -> bool:
    """Whether repr() of every value is its cell without trailing zeros (``raw``: the cells joined by
    line ends, each of digits, signs and points, read by ``float``). So it is for a cell with no sign
    but a minus, one to three digits before its point, no leading zero, digits after it, at most 15
    digits in all (then no other decimal of as few digits reads back as the same double, so the
    shortest one repr picks is this one), and not below 1e-4 unless zero (where repr turns to an exponent)."""
    n = len(lengths)
    if b"+" in raw or raw.count(b".") != n or (points < 0).any():
        return False
    data = np.frombuffer(raw, dtype=np.uint8)
    minus = (data[starts] == ord("-")).astype(np.int64)
    whole = points - minus  # digits before the point
    if raw.count(b"-") != minus.sum() or ((whole < 1) | (whole > 3)).any() or (lengths - points < 2).any() or (lengths - minus > 16).any():
        return False
    if ((whole > 1) & (data[starts + minus] == ord("0"))).any():
        return False
    return bool(((np.abs(values) >= 1e-4) | (values == 0)).all())


def _as_repr(texts: list[str]) -> list[str]:
    """What repr() writes of each number matched by ``_REPR`` (its text without trailing zeros)."""
    out = list(map(str.rstrip, texts, itertools.repeat("0")))
    if "." in map(operator.itemgetter(-1), out):  # "121.000" -> "121." -> "121.0"
        out = [t + "0" if t.endswith(".") else t for t in out]
    return out


# -- judging -------------------------------------------------------------------------------------

@dataclass
class PlainJudgement:
    """Per-row columns of a judged chunk: what the tables and tallies need."""

    rows: PlainRows
    w_lon: np.ndarray
    w_lat: np.ndarray
    uncertainty: np.ndarray
    containment: list[str]
    distance: list[float]
    parts: list[str]                 # "+"-joined part ids
    parts_key: list[str]             # " + "-joined, or "(none)", as the tallies count them
    verdict: list[str]
    basis: list[str]
    failed_rules: list[str]
    indeterminate_rules: list[str]
    message: list[str]
    rule_statuses: list[tuple[tuple[str, str], ...]]
    unplaced: list[tuple[int, str, str, str]]   # (row, id, address, why) of addresses nothing placed
    data_sources: list[DataSource] = field(default_factory=list)
    any_ip: bool = False
    # ISP access points in row order, as FacilityDigest holds them: (id, combined verdict, evidence ids)
    access_points: list[tuple[str, Any, tuple[str, ...]]] = field(default_factory=list)


@dataclass
class PlainStart:
    """What is known of plain rows before the geometry: their WGS-84 points and radii, and what the
    IP database says of their addresses (per row: state, verdict code, suffix, why unplaced)."""

    rows: PlainRows
    w_lon: np.ndarray
    w_lat: np.ndarray
    radius: list[float]
    ip: tuple[Any, ...]


@dataclass
class PlainPlaces:
    """What the region's geometry says of a PlainStart's points."""

    containment: Any                 # auditor.geo.containment.PointContainment
    accuracy: dict[int, float]       # the nearest part's accuracy, for the rows near the line


def judge_plain(p: PlainRows, plan: AuditPlan) -> PlainJudgement | None:
    """Judge plain rows as the per-row path would (None: a case it does not reproduce, e.g. an
    IP database answer whose levels contradict each other): :func:`start_plain`, then
    :func:`locate_plain`, then :func:`finish_plain`."""
    start = start_plain(p, plan)
    return None if start is None else finish_plain(start, locate_plain(start, plan.region.geometry), plan)


def start_plain(p: PlainRows, plan: AuditPlan) -> PlainStart | None:
    """The rows' WGS-84 points, their radii and the IP database's answers (None: a case the columnar
    path does not reproduce). Touches no GEOS geometry."""
    n = len(p.rows)
    crs = np.array(p.crs)
    w_lon, w_lat = p.lon.copy(), p.lat.copy()
    for system in (CRS.GCJ02, CRS.BD09):
        sel = crs == system.value
        if sel.any():
            w_lon[sel], w_lat[sel] = to_wgs84(p.lon[sel], p.lat[sel], system)
    unknown = crs == ""
    ambiguity = np.zeros(n)
    if unknown.any():
        ambiguity[unknown] = datum_ambiguity_m(p.lon[unknown], p.lat[unknown])
    # radius_for_decimals, inlined with its own scalar arithmetic (numpy's cos and hypot differ from
    # math's in the last bit for ~1 % of latitudes, which would change a printed uncertainty)
    half_unit = {d: 0.5 * 10.0 ** (-d) * 111_320.0 for d in set(p.decimals)}
    hypot, cos, radians = math.hypot, math.cos, math.radians
    radius = [hypot(half_unit[d], half_unit[d] * cos(radians(la))) for la, d in zip(p.lat.tolist(), p.decimals)]
    for i in np.flatnonzero(unknown).tolist():
        radius[i] += float(ambiguity[i])
    ip = _ip_columns(p, plan)
    return None if ip[0] is None else PlainStart(p, w_lon, w_lat, radius, ip)


def locate_plain(start: PlainStart, geom: Any) -> PlainPlaces:
    """The geometry's part: three-valued containment, distance and parts of every point, and the
    nearest part's accuracy where a point is near the line. Mostly GEOS and k-d tree queries, which
    release the GIL, so a streamed audit runs it on a thread of its own (:func:`auditor.engine.stream`)."""
    res = geom.classify_points(start.w_lon, start.w_lat, np.array(start.radius))
    undecided = np.flatnonzero(res.verdict == INDETERMINATE)
    accuracy: dict[int, float] = {}
    if undecided.size:
        acc = geom.nearest_part_accuracy_m(start.w_lon[undecided], start.w_lat[undecided])
        accuracy = dict(zip(undecided.tolist(), acc.tolist()))
    return PlainPlaces(res, accuracy)


def finish_plain(start: PlainStart, places: PlainPlaces, plan: AuditPlan) -> PlainJudgement:
    """The rules' outcomes and the words, from what :func:`start_plain` and :func:`locate_plain` found
    (touches no GEOS geometry)."""
    p, region = start.rows, plan.region
    n = len(p.rows)
    w_lon, w_lat, radius, res, accuracy = start.w_lon, start.w_lat, start.radius, places.containment, places.accuracy
    ip_state, ip_verdict, ip_suffix, ip_why, data_sources = start.ip
    assert res.distance_m is not None and res.nominal_inside is not None and res.part_mask is not None
    verdicts = res.verdict.tolist()
    distances = res.distance_m.tolist()
    undecided = np.flatnonzero(res.verdict == INDETERMINATE)
    part_ids = [q.id for q in region.geometry.parts]
    codes = (np.asarray(res.part_mask, dtype=np.int64) << np.arange(len(part_ids), dtype=np.int64)).sum(axis=1).tolist()
    parts_of = {code: tuple(pid for k, pid in enumerate(part_ids) if code >> k & 1) for code in set(codes)}

    region_id = region.id
    cav = caveats([_IP_KEY]) or "it cannot prove a location"
    v = res.verdict.astype(np.int64)
    state, iv = ip_state, ip_verdict
    contained = state == _IP_CONTAINED
    decided_ip = contained & ((iv == INSIDE) | (iv == OUTSIDE))
    # the outcome of auditor.rules._location.locate for each row (one declared point, at most one weak claim)
    case = np.full(n, _NEAR)
    case[v == OUTSIDE] = _OUT
    case[v == INSIDE] = _IN
    case[(v == INSIDE) & (iv == OUTSIDE)] = _DOUBTED
    case[(v == INDETERMINATE) & decided_ip] = _NEAR_IP
    lec = np.where(contained, _LEC_PASS, _LEC_NA)
    lec[contained & (((v == INSIDE) & (iv == OUTSIDE)) | ((v == OUTSIDE) & (iv == INSIDE)))] = _LEC_INDETERMINATE
    cdn = np.array([k in CDN_KINDS for k in p.kinds], dtype=bool)
    key = (case * 2 + cdn) * 3 + lec
    cases = case.tolist()

    # the message: "The facility (tenure)" + the case's lead + the declared point as
    # auditor.rules._location.describe words it + the case's tail (with the IP claim where one is decided)
    head = {t: f"The facility ({t})" if t else "The facility" for t in set(p.tenures)}
    lead = {_OUT: f" lies outside {region_id}: ", _IN: f" lies inside {region_id}: ", _DOUBTED: f" is declared inside {region_id} (",
            _NEAR: f" cannot be placed inside or outside {region_id}: ", _NEAR_IP: f" cannot be placed inside or outside {region_id}: "}
    said = {(x, code): f"declared coordinates: {_VERDICT_TEXT[x]}, " for x in set(verdicts) for code in set(codes)}
    parts_text = {code: f" (in {part_names(parts)})" if parts else "" for code, parts in parts_of.items()}
    after = {(x, code): f" m from the boundary{parts_text[code]}" for x, code in said}
    tails = [_TAIL] * n
    nominal = res.nominal_inside
    for i in undecided.tolist():
        side = "inside" if nominal[i] else "outside"
        tails[i] = (f" — {distances[i]:,.0f} m {side} the drawn line, within the claim's uncertainty "
                    f"({radius[i]:,.0f} m) plus the line's accuracy there ({accuracy.get(i, 0):,.0f} m).")
    for i in np.flatnonzero((case == _DOUBTED) | (case == _NEAR_IP)).tolist():  # the IP claim is said
        ip_said = f"ip2region:{p.ips[i]}: {_VERDICT_TEXT[int(iv[i])]}{ip_suffix[i]}"
        if cases[i] == _DOUBTED:
            tails[i] = f"{tails[i][:-1]}), but weak independent evidence places it outside ({ip_said}), and {cav}: check on site."
        else:
            tails[i] = f"{tails[i][:-1]}; {ip_said}."
    message = [f"{head[t]}{lead[c]}{said[x, code]}{d:,.0f}{after[x, code]}{tail}"
               for t, c, x, code, d, tail in zip(p.tenures, cases, verdicts, codes, distances, tails)]

    keys = key.tolist()
    unplaced = [(p.rows[i], p.ids[i], p.ips[i], ip_why[i]) for i in np.flatnonzero(state == _IP_UNRESOLVED).tolist()]
    access_points: list[tuple[str, Any, tuple[str, ...]]] = []
    for i, kind in enumerate(p.kinds):
        if kind in ISP_KINDS:
            fid, c = p.ids[i], cases[i]
            evidence = (f"{fid}#coordinates", f"{fid}#ip2region:{p.ips[i]}") if c in (_DOUBTED, _NEAR_IP) else (f"{fid}#coordinates",)
            access_points.append((fid, _CASE_VERDICT[c], evidence))
    parts_key = {code: " + ".join(parts) or "(none)" for code, parts in parts_of.items()}
    parts_joined = {code: "+".join(parts) for code, parts in parts_of.items()}
    row = [_ROW_FACTS[k] for k in keys]
    return PlainJudgement(
        rows=p, w_lon=w_lon, w_lat=w_lat, uncertainty=np.array(radius), containment=[_VERDICT_TEXT[x] for x in verdicts],
        distance=distances, parts=[parts_joined[c] for c in codes], parts_key=[parts_key[c] for c in codes],
        verdict=[r[0] for r in row], basis=[r[1] for r in row], failed_rules=[r[2] for r in row],
        indeterminate_rules=[r[3] for r in row], message=message, rule_statuses=[r[4] for r in row], unplaced=unplaced,
        data_sources=data_sources, any_ip=any(p.ips), access_points=access_points,
    )


#: the location outcomes of a plain row (auditor.rules._location): declared outside, declared inside,
#: declared inside but doubted by the IP database, near the line, near the line with the IP database decided
_OUT, _IN, _DOUBTED, _NEAR, _NEAR_IP = range(5)
_LEC_PASS, _LEC_NA, _LEC_INDETERMINATE = range(3)
_CASE_STATUS = {_OUT: "fail", _IN: "pass", _DOUBTED: "indeterminate", _NEAR: "indeterminate", _NEAR_IP: "indeterminate"}
_CASE_VERDICT = {_OUT: VERDICT_CODES[OUTSIDE], _IN: VERDICT_CODES[INSIDE], _DOUBTED: VERDICT_CODES[INDETERMINATE],
                 _NEAR: VERDICT_CODES[INDETERMINATE], _NEAR_IP: VERDICT_CODES[INDETERMINATE]}
_TAIL = "."  # a message's end where nothing more is said
_LEC_STATUS = {_LEC_PASS: "pass", _LEC_NA: "not_applicable", _LEC_INDETERMINATE: "indeterminate"}


def _row_facts(case: int, cdn: int, lec: int) -> tuple[str, str, str, str, tuple[tuple[str, str], ...]]:
    """(verdict, basis, failed rules, indeterminate rules, findings' rules and statuses) of one combination."""
    status = _CASE_STATUS[case]
    found = ((_FIR, status),) + (((_CDN, status),) if cdn else ()) + ((_LEC, _LEC_STATUS[lec]),)
    statuses = [x for _, x in found]
    verdict = "fail" if "fail" in statuses else "indeterminate" if "indeterminate" in statuses else "pass"
    basis = f"{_COORDINATES_KEY}+{_IP_KEY}" if case in (_DOUBTED, _NEAR_IP) else _COORDINATES_KEY
    return (verdict, basis, ";".join(r for r, x in found if x == "fail"), ";".join(r for r, x in found if x == "indeterminate"), found)


_ROW_FACTS = {(case * 2 + cdn) * 3 + lec: _row_facts(case, cdn, lec) for case in range(5) for cdn in (0, 1) for lec in range(3)}


def _ip_columns(p: PlainRows, plan: AuditPlan) -> tuple[Any, ...]:
    """Per row (arrays): whether its address was placed (state), the placing claim's verdict code,
    the text a finding adds after the verdict, and why nothing placed it; plus the database's data
    source. (None, ...) when an answer is a case the columnar path does not reproduce."""
    n = len(p.rows)
    state, verdict = np.full(n, _NO_IP, dtype=np.int64), np.full(n, _NO_VERDICT, dtype=np.int64)
    suffix, why = np.full(n, "", dtype=object), np.full(n, "", dtype=object)
    if not p.has_ip.any():
        return state, verdict, suffix, why, []
    from auditor.engine.gather import Evidence, ip_database
    from auditor.resolve.ipgeo.ip2region import NOT_GLOBAL, Ip2regionResolver, normalise_ip

    ev = Evidence()
    db = ip_database(ev, plan.config)
    resolver = Ip2regionResolver(db, plan.registry)
    if resolver.ip_version == 4:
        # normalise_ip for a canonical dotted quad: a global address is looked up as it is, any
        # other is "private or reserved" (ipaddress's is_global, vectorised)
        is_global = global_ipv4(p.ip_values)
        asked = np.flatnonzero(p.has_ip & is_global)
        rids = db.lookup_uint32(p.ip_values[asked])
        not_global = p.has_ip & ~is_global
        state[not_global], why[not_global] = _IP_UNRESOLVED, NOT_GLOBAL
    else:
        queries, queried = [], []
        for i in np.flatnonzero(p.has_ip).tolist():
            address, note = normalise_ip(p.ips[i], resolver.ip_version)
            if address is None:
                state[i], why[i] = _IP_UNRESOLVED, note
            elif note:
                return None, None, None, None, None  # a rewritten address (IPv4-mapped): its note is part of the claim
            else:
                queries.append(address)
                queried.append(i)
        asked = np.array(queried, dtype=np.int64)
        rids = db.lookup(queries) if queries else np.zeros(0, dtype=np.int64)
    distinct, which = np.unique(rids, return_inverse=True)
    memo = _answers_memo(db, plan)
    answers = []
    for rid in distinct.tolist():  # each distinct answer worded once, and once per process
        if rid not in memo:
            memo[rid] = _ip_answer(resolver, plan, rid)
        answers.append(memo[rid])
    if any(a is None for a in answers):
        return None, None, None, None, None
    if answers:
        a_state, a_verdict, a_suffix, a_why = (np.array(x, dtype=object if k >= 2 else np.int64) for k, x in enumerate(zip(*answers)))
        state[asked], verdict[asked], suffix[asked], why[asked] = a_state[which], a_verdict[which], a_suffix[which], a_why[which]
    return state, verdict, suffix, why, list(ev.data_sources)


#: (database, region) -> {region id in the database: what that answer means for the region}; a few
#: audits' worth, holding the objects themselves so that the ids in the key stay theirs
_ANSWERS: collections.OrderedDict[tuple[int, int], tuple[Any, Any, dict[int, Any]]] = collections.OrderedDict()
_ANSWERS_KEPT = 8


def _answers_memo(db: Any, plan: AuditPlan) -> dict[int, Any]:
    key = (id(db), id(plan.region))
    if key not in _ANSWERS:
        _ANSWERS[key] = (db, plan.region, {})
        while len(_ANSWERS) > _ANSWERS_KEPT:
            _ANSWERS.popitem(last=False)
    return _ANSWERS[key][2]


def _ip_answer(resolver: Any, plan: AuditPlan, rid: int) -> tuple[int, int, str, str] | None:
    """What one database answer means for the region, as :meth:`Ip2regionResolver.claims` and
    :func:`auditor.engine.judge.contain` make of it: (state, verdict code, describe suffix, why unplaced)."""
    from auditor.resolve.ipgeo.ip2region import CHINA_NAMES, cached_unit, parse_region_text

    db = resolver.db
    text = db.region_text(rid) if rid >= 0 else None
    if text is None:
        return _IP_UNRESOLVED, _NO_VERDICT, "", "not covered by the database"
    answer = parse_region_text(text, resolver.layout)
    unit, unit_note = cached_unit(plan.registry, answer)
    if unit is None:
        if answer.country and answer.country not in CHINA_NAMES:
            return _IP_CONTAINED, OUTSIDE, f" — {text}: outside mainland China", ""
        if "contradict" in unit_note:
            return None  # the consistency rule fails such a row: per-row path
        return _IP_UNRESOLVED, _NO_VERDICT, "", unit_note or "no evidence source placed it"
    label = " ".join(x for x in (unit.name_zh, unit.name_en) if x) or unit.adcode
    relation, note = plan.region.admin_relation(unit.adcode, text="")
    code = _CODE_OF[relation]
    reason = f"{label}: {note}" + ("; coordinates would settle it" if code == INDETERMINATE else "")
    shown = reason and (code != INSIDE or ASSUMPTION_MARK in reason)
    return _IP_CONTAINED, code, f" — {reason}" if shown else "", ""




def plain_tallies(j: PlainJudgement) -> Tallies:
    """The chunk's tallies, as :meth:`Tallies.of_facilities` counts them (first-seen order kept:
    a Counter remembers the order its keys first came in)."""
    t = Tallies(facility_count=len(j.verdict))
    for found, count in collections.Counter(j.rule_statuses).items():
        for rule, status in found:
            counts = t.rules.setdefault(rule, {})
            counts[status] = counts.get(status, 0) + count
    t.verdicts = dict(collections.Counter(j.verdict))
    t.bases = dict(collections.Counter(j.basis))
    t.parts = dict(collections.Counter(j.parts_key))
    if j.unplaced:
        t.unplaced = {"ips_unplaced": len(j.unplaced)}
        t.unplaced_items = {"ips_unplaced": j.unplaced[: Tallies.UNPLACED_LISTED]}
    return t


def table_columns(j: PlainJudgement) -> dict[str, Any]:
    """The facility table's columns (:data:`auditor.report.table.COLUMNS`, then ``input:NAME``), as
    :func:`auditor.report.table.facility_record` fills them row by row."""
    p = j.rows
    n = len(p.rows)
    blank = [""] * n
    cols: dict[str, Any] = {
        "id": p.ids, "row": p.rows, "kind": p.kinds, "tenure": p.tenures, "name": p.names, "address": blank,
        "lon": p.lon, "lat": p.lat, "crs": p.crs, "ip": p.ips, "hostname": blank,
        "adcode": blank, "province": blank, "city": blank, "district": blank,
        "verdict": j.verdict, "basis": j.basis, "lon_wgs84": j.w_lon, "lat_wgs84": j.w_lat, "uncertainty_m": j.uncertainty,
        "containment": j.containment, "distance_to_boundary_m": np.asarray(j.distance, dtype=np.float64), "parts": j.parts,
        "failed_rules": j.failed_rules, "indeterminate_rules": j.indeterminate_rules, "message": j.message,
    }
    for name, values in zip(p.extra_names, p.extra_values):
        cols[f"input:{name}"] = values
    return cols


def written_coordinates(j: PlainJudgement) -> dict[str, list[str]]:
    """The coordinate columns already as facilities.csv writes them, where the cells gave them: as given
    (repr of the value), and as WGS-84 (seven decimals) where no row was moved from another datum and no
    cell has more than seven decimals — then the seven-decimal text is the cell (which is repr's but for
    trailing zeros) padded with zeros, since a double read from a decimal of at most seven places is far
    nearer it than half of the seventh place."""
    p = j.rows
    written = {c: text for c, text in (("lon", p.lon_text), ("lat", p.lat_text)) if text is not None}
    if "lon" in written and "lat" in written and not any(c in _MOVED for c in dict.fromkeys(p.crs)):
        for c, cells, places in (("lon", p.lon_cells, p.lon_places), ("lat", p.lat_cells, p.lat_places)):
            if cells is not None and places is not None and len(places) and places.max() <= 7:
                written[f"{c}_wgs84"] = list(map(str.__add__, cells, map(_ZEROS.__getitem__, (7 - places).tolist())))
    return written


#: systems whose points are moved to WGS-84 (their WGS-84 text is not the cell's)
_MOVED = frozenset({CRS.GCJ02.value, CRS.BD09.value})
_ZEROS = ["0" * k for k in range(8)]


def detail_rows(table: RawTable, j: PlainJudgement, cap: int) -> RawTable:
    """The first ``cap`` rows that did not pass, as a table the per-row path judges in detail."""
    p = j.rows
    picked = [i for i, v in enumerate(j.verdict) if v != "pass"][:cap]
    rows = [(p.rows[i], [col[i] for col in p.raw]) for i in picked]
    return replace(table, rows=rows, row_problems={}, cell_problems={})


def sources_run(j: PlainJudgement) -> list[str]:
    """The evidence sources the per-row path runs over such rows, in its order."""
    out = [EvidenceSource.DECLARED_COORDINATES.value, EvidenceSource.ADMIN_FACT.value, EvidenceSource.ADDRESS.value]
    return out + ([_IP_KEY] if j.any_ip else [])

