"""Readers of round-trip-time measurements: RIPE Atlas ping results, probe metadata, plain CSV.

Every reader returns what it could read and a list of :class:`ReadProblem`
(file, record, reason) for what it could not: a bad record never raises.
:class:`~auditor.errors.InputError` is raised only when a whole file is unusable
(missing, not text, not JSON, no ping result in it, no required CSV column), and
names the file.

RIPE Atlas ping results (``type: ping``) have changed shape across probe
firmware (``fw``) versions; all of these are read:

* fw 0: summary only, numbers as strings (``"min": "57.876"``, ``"rcvd": "3"``);
* fw 1: ``addr``/``from``/``name`` instead of ``dst_addr``/``dst_name``;
* fw >= 4460: per-packet ``result`` entries ``{"rtt": 43.87}``, lost packets
  ``{"x": "*"}``, failures ``{"error": "..."}``, late replies ``{"late": 1}``,
  duplicates ``{"dup": 1, "rtt": ...}``; no reply gives ``rcvd: 0`` with
  ``min``/``avg``/``max`` of ``-1`` (fw 4xxx) or ``null`` (later);
* keys with stray spaces (``" proto"``), seen in recorded results.

The RTT kept per result is the smallest reply time of the packets that were
not duplicates (a duplicate may be matched to a later packet and look
impossibly fast); without per-packet entries, the ``min`` field. Results
carry no probe position: it comes from probe metadata, in the API v1 shape (flat
``latitude``/``longitude``) or the v2 shape (GeoJSON ``geometry.coordinates``
as ``[lon, lat]``). RIPE Atlas publishes probe positions blurred by up to about
400 m, which every Atlas sample carries as its vantage uncertainty.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from auditor.documents import check_regular_file
from auditor.errors import InputError, UsageError, os_reason
from auditor.geo.crs import CRS, parse_crs, to_wgs84
from auditor.geo.multilateration import RttSample

__all__ = [
    "ATLAS_POSITION_UNCERTAINTY_M",
    "CSV_COLUMNS",
    "AtlasProbe",
    "ReadProblem",
    "Readout",
    "ProbeReadout",
    "RttSample",
    "atlas_probes",
    "atlas_ping_samples",
    "read_atlas_probes",
    "read_atlas_pings",
    "read_rtt_csv",
]

#: RIPE Atlas moves each published probe position by a random offset of up to
#: ~400 m to protect hosts' privacy (RIPE Atlas probe API documentation).
ATLAS_POSITION_UNCERTAINTY_M = 400.0

#: Required columns of the plain CSV format, in order.
CSV_COLUMNS = ("vantage_id", "vantage_lon", "vantage_lat", "target", "rtt_ms")
#: Optional CSV columns.
CSV_OPTIONAL = ("vantage_uncertainty_m", "vantage_crs", "measured_at")


@dataclass(frozen=True, slots=True)
class ReadProblem:
    """A record that could not be used: which file, which record, and why.

    ``record`` is the 1-based line of a JSON Lines or CSV file (a CSV header is
    line 1), the 1-based position in a JSON array, or None for the whole file.
    """

    file: str
    record: int | None
    reason: str

    def __str__(self) -> str:
        where = self.file if self.record is None else f"{self.file}, record {self.record}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class AtlasProbe:
    """A RIPE Atlas probe's published position (WGS-84, blurred by up to ~400 m)."""

    id: int
    lon: float
    lat: float
    country_code: str = ""
    status: str = ""
    uncertainty_m: float = ATLAS_POSITION_UNCERTAINTY_M


class Readout(NamedTuple):
    """Samples read from a file and the problems met."""

    samples: list[RttSample]
    problems: list[ReadProblem]


class ProbeReadout(NamedTuple):
    """Probes read from a metadata file, by id, and the problems met."""

    probes: dict[int, AtlasProbe]
    problems: list[ReadProblem]


# --------------------------------------------------------------------------- small parsers


def _number(value: Any) -> float | None:
    """A finite float from a JSON number or numeric string; None otherwise (bool is not a number)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        f = float(value)
    elif isinstance(value, str):
        try:
            f = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return f if math.isfinite(f) else None


def _integer(value: Any) -> int | None:
    f = _number(value)
    return int(f) if f is not None and f == int(f) else None


def _strip_keys(record: Mapping[str, Any]) -> dict[str, Any]:
    """Keys with surrounding spaces trimmed (``" proto"``, seen in recorded results); the first of a clash wins."""
    out: dict[str, Any] = {}
    for k, v in record.items():
        out.setdefault(k.strip() if isinstance(k, str) else k, v)
    return out


def _iso_utc(timestamp: Any) -> str | None:
    t = _number(timestamp)
    if t is None:
        return None
    try:
        return dt.datetime.fromtimestamp(t, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return None


def _check_position(lon: float | None, lat: float | None) -> str | None:
    """Why (lon, lat) is not a usable WGS-84 position, or None when it is."""
    if lon is None or lat is None:
        return "no position published (longitude/latitude missing or not numbers)"
    if not -90.0 <= lat <= 90.0:
        return f"impossible latitude {lat:g} (must be within [-90, 90])"
    if not -180.0 <= lon <= 180.0:
        return f"impossible longitude {lon:g} (must be within [-180, 180])"
    if lon == 0.0 and lat == 0.0:
        return "position (0, 0) is a placeholder, not a place"
    return None


#: RTT files of a few million measurements stay well under this; /dev/zero and the like never pass.
MAX_LATENCY_FILE_BYTES = 1 << 30


def _read_text(path: Path) -> str:
    check_regular_file(path, what="latency file", max_bytes=MAX_LATENCY_FILE_BYTES)
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("file not found", source=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", source=str(path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", source=str(path)) from exc
    except OSError as exc:
        raise InputError(f"cannot be read: {os_reason(exc)}", source=str(path)) from exc


def _json_records(path: Path) -> tuple[list[tuple[int, Any]], list[ReadProblem]]:
    """(record number, object) from a JSON document or JSON Lines; bad lines become problems.

    A JSON array gives its elements numbered from 1; a single object gives
    record 1; otherwise the file is read as JSON Lines, numbered by line.
    """
    text = _read_text(path)
    name = str(path)
    if not text.strip():
        raise InputError("the file is empty", source=name)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = None
        whole = False
    except RecursionError:
        raise InputError("not usable JSON: nested too deeply", source=name) from None
    else:
        whole = True
    if whole:
        if isinstance(doc, list):
            return list(enumerate(doc, start=1)), []
        return [(1, doc)], []
    records: list[tuple[int, Any]] = []
    problems: list[ReadProblem] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((lineno, json.loads(line)))
        except json.JSONDecodeError as exc:
            problems.append(ReadProblem(name, lineno, f"not JSON: {exc.msg} at column {exc.colno}"))
        except RecursionError:
            problems.append(ReadProblem(name, lineno, "not usable JSON: nested too deeply"))
    if not records:
        raise InputError(
            "not JSON: neither a JSON document nor JSON Lines",
            source=name,
            hint="RIPE Atlas results as downloaded from the API (format=json or format=txt)",
        )
    return records, problems


# --------------------------------------------------------------------------- probe metadata


def _probe_objects(doc: Any) -> list[Any] | None:
    """The probe objects of an API answer: a list, v1 ``{"objects": [...]}``, v2 ``{"results": [...]}``, or one probe."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in ("objects", "results"):
            if isinstance(doc.get(key), list):
                return doc[key]
        if "id" in doc:
            return [doc]
    return None


def atlas_probes(objects: Iterable[tuple[int, Any]], *, source: str) -> ProbeReadout:
    """Probe positions from (record number, probe object) pairs, v1 or v2 shape.

    v2 puts the position in ``geometry.coordinates`` as ``[lon, lat]`` (GeoJSON
    order); v1 in flat ``longitude``/``latitude``. When both are present the
    geometry wins. A probe with no position, an impossible one (latitude 666),
    (0, 0), or an id seen before is a problem naming the file and the probe.
    """
    probes: dict[int, AtlasProbe] = {}
    problems: list[ReadProblem] = []
    for rec, obj in objects:
        if not isinstance(obj, dict):
            problems.append(ReadProblem(source, rec, f"not a probe object (a JSON {type(obj).__name__})"))
            continue
        obj = _strip_keys(obj)
        pid = _integer(obj.get("id"))
        if pid is None:
            problems.append(ReadProblem(source, rec, f"probe without a numeric id ({obj.get('id')!r})"))
            continue
        lon = lat = None
        geometry = obj.get("geometry")
        if isinstance(geometry, dict) and isinstance(geometry.get("coordinates"), (list, tuple)):
            coords = geometry["coordinates"]
            if len(coords) >= 2:
                lon, lat = _number(coords[0]), _number(coords[1])
        elif "longitude" in obj or "latitude" in obj:
            lon, lat = _number(obj.get("longitude")), _number(obj.get("latitude"))
        why = _check_position(lon, lat)
        if why is not None:
            problems.append(ReadProblem(source, rec, f"probe {pid}: {why}"))
            continue
        if pid in probes:
            problems.append(ReadProblem(source, rec, f"probe {pid}: listed again; the first entry is kept"))
            continue
        status = obj.get("status_name")
        if status is None and isinstance(obj.get("status"), dict):
            status = obj["status"].get("name")
        assert lon is not None and lat is not None
        probes[pid] = AtlasProbe(
            id=pid, lon=lon, lat=lat, country_code=str(obj.get("country_code") or ""), status=str(status or "")
        )
    return ProbeReadout(probes, problems)


def read_atlas_probes(path: str | Path) -> ProbeReadout:
    """Probe positions from a RIPE Atlas probe metadata file (API v1 or v2 answer, or one probe).

    Raises InputError when the file cannot be read, is not JSON, or holds no
    probe objects at all.

    Examples
    --------
    >>> import json, tempfile, os
    >>> probe = {"id": 6001, "geometry": {"type": "Point", "coordinates": [121.47, 31.23]}}
    >>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    ...     json.dump(probe, f)
    >>> read_atlas_probes(f.name).probes[6001].lat
    31.23
    >>> os.unlink(f.name)
    """
    p = Path(path)
    text = _read_text(p)
    if not text.strip():
        raise InputError("the file is empty", source=str(p))
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON ({exc.msg} at line {exc.lineno})", source=str(p)) from exc
    except RecursionError:
        raise InputError("not usable JSON: nested too deeply", source=str(p)) from None
    objects = _probe_objects(doc)
    if objects is None:
        raise InputError(
            "no probe objects: expected a list, {\"objects\": [...]} (API v1), {\"results\": [...]} (API v2) or one probe",
            source=str(p),
        )
    return atlas_probes(enumerate(objects, start=1), source=str(p))


# --------------------------------------------------------------------------- ping results


def _ping_rtt(rec: dict[str, Any]) -> tuple[float | None, str]:
    """The smallest non-duplicate reply time of one ping result, or None and why there is none."""
    replies: list[float] = []
    errors: list[str] = []
    lost = 0
    packets = rec.get("result")
    if isinstance(packets, list):
        for pkt in packets:
            if not isinstance(pkt, dict):
                continue
            pkt = _strip_keys(pkt)
            if "error" in pkt:
                errors.append(str(pkt["error"])[:80])
                continue
            if "x" in pkt:
                lost += 1
                continue
            if pkt.get("dup"):
                continue
            rtt = _number(pkt.get("rtt"))
            if rtt is not None and rtt > 0:
                replies.append(rtt)
    if replies:
        return min(replies), ""
    rcvd = _integer(rec.get("rcvd"))
    minimum = _number(rec.get("min"))
    if not isinstance(packets, list) or not packets:
        # summary-only results (fw 0/1), or an empty packet list next to a summary
        if minimum is not None and minimum > 0 and (rcvd is None or rcvd > 0):
            return minimum, ""
    if errors:
        return None, f"no reply: error {errors[0]!r}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
    if rcvd == 0:
        return None, "no reply (rcvd 0)"
    if lost:
        return None, f"no reply: {lost} packet(s) lost"
    return None, f"no usable RTT (min {rec.get('min')!r}, no per-packet reply times)"


def atlas_ping_samples(
    records: Iterable[tuple[int, Any]],
    probes: Mapping[int, AtlasProbe],
    *,
    source: str,
) -> Readout:
    """RTT samples from (record number, RIPE Atlas result) pairs; positions from ``probes``.

    One sample per usable result: its fastest non-duplicate reply. The target is
    ``dst_addr`` (``addr`` in fw 1), else ``dst_name``/``name``; the vantage is
    ``atlas:<prb_id>``. A result of another type, without a probe id or a
    target, from a probe not in ``probes``, or without any reply is a problem.
    """
    samples: list[RttSample] = []
    problems: list[ReadProblem] = []
    for rec_no, obj in records:
        if not isinstance(obj, dict):
            problems.append(ReadProblem(source, rec_no, f"not a result object (a JSON {type(obj).__name__})"))
            continue
        rec = _strip_keys(obj)
        kind = rec.get("type")
        if kind is not None and kind != "ping":
            problems.append(ReadProblem(source, rec_no, f"not a ping result (type {kind!r})"))
            continue
        prb = _integer(rec.get("prb_id"))
        if prb is None:
            problems.append(ReadProblem(source, rec_no, f"no numeric prb_id ({rec.get('prb_id')!r})"))
            continue
        target = next((str(rec[k]).strip() for k in ("dst_addr", "addr", "dst_name", "name") if rec.get(k)), "")
        if not target:
            problems.append(ReadProblem(source, rec_no, f"probe {prb}: no target (dst_addr, addr, dst_name or name)"))
            continue
        rtt, why = _ping_rtt(rec)
        if rtt is None:
            problems.append(ReadProblem(source, rec_no, f"probe {prb} to {target}: {why}"))
            continue
        probe = probes.get(prb)
        if probe is None:
            problems.append(
                ReadProblem(source, rec_no, f"probe {prb} to {target}: no position for probe {prb} in the probe metadata given")
            )
            continue
        msm = rec.get("msm_id")
        samples.append(
            RttSample(
                vantage_id=f"atlas:{prb}",
                vantage_lon=probe.lon,
                vantage_lat=probe.lat,
                vantage_uncertainty_m=probe.uncertainty_m,
                target=target,
                rtt_ms=rtt,
                source=f"RIPE Atlas msm {msm} ({source}, record {rec_no})",
                measured_at=_iso_utc(rec.get("timestamp")),
            )
        )
    return Readout(samples, problems)


def read_atlas_pings(path: str | Path, probes: Mapping[int, AtlasProbe]) -> Readout:
    """RTT samples from a RIPE Atlas results file (JSON array or JSON Lines) of ping results.

    ``probes`` gives each probe's position (see :func:`read_atlas_probes`).
    Raises InputError when the file cannot be read, is not JSON, or holds no
    ping result at all (e.g. a traceroute measurement).
    """
    p = Path(path)
    records, problems = _json_records(p)
    kinds = {_strip_keys(o).get("type") for _, o in records if isinstance(o, dict)}
    if "ping" not in kinds and None not in kinds:
        found = ", ".join(sorted(str(k) for k in kinds)) or "no result objects"
        raise InputError(f"no ping results in the file (found: {found})", source=str(p))
    out = atlas_ping_samples(records, probes, source=str(p))
    return Readout(out.samples, sorted(problems + out.problems, key=lambda q: (q.record or 0)))


# --------------------------------------------------------------------------- plain CSV


def read_rtt_csv(path: str | Path) -> Readout:
    """RTT samples from a CSV with columns ``vantage_id, vantage_lon, vantage_lat, target, rtt_ms``.

    Optional columns: ``vantage_uncertainty_m`` (metres, default 0),
    ``vantage_crs`` (wgs84, gcj02 or bd09; default wgs84: coordinates in another
    system are converted), ``measured_at`` (kept as given). Column names are
    matched ignoring case and surrounding spaces. Each row that cannot be used
    (a missing or non-numeric value, a negative RTT, an impossible position, a
    row with more or fewer fields than the header) is a problem naming its line;
    the header is line 1.

    Raises InputError when the file cannot be read, is empty, or lacks a
    required column.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    ...     _ = f.write("vantage_id,vantage_lon,vantage_lat,target,rtt_ms\\nsh,121.47,31.23,dc1,1.2\\nsh,121.47,31.23,dc1,-1\\n")
    >>> samples, problems = read_rtt_csv(f.name)
    >>> samples[0].rtt_ms, problems[0].record, problems[0].reason
    (1.2, 3, 'negative rtt_ms -1 (no reply?)')
    >>> os.unlink(f.name)
    """
    p = Path(path)
    name = str(p)
    text = _read_text(p)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("the file is empty", source=name) from None
    except csv.Error as exc:
        raise InputError(f"not CSV: {exc}", source=name) from exc
    cols = [h.strip().lower() for h in header]
    missing = [c for c in CSV_COLUMNS if c not in cols]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}",
            source=name,
            hint=f"the header must hold {', '.join(CSV_COLUMNS)} (optional: {', '.join(CSV_OPTIONAL)})",
        )
    dupes = sorted({c for c in cols if c and cols.count(c) > 1})
    if dupes:
        raise InputError(f"column(s) {', '.join(dupes)} appear more than once", source=name)
    where = {c: cols.index(c) for c in (*CSV_COLUMNS, *CSV_OPTIONAL) if c in cols}

    samples: list[RttSample] = []
    problems: list[ReadProblem] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(ReadProblem(name, reader.line_num, f"not CSV: {exc}"))
            continue
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(cols):
            problems.append(ReadProblem(name, line, f"{len(row)} fields where the header has {len(cols)}"))
            continue
        sample, why = _csv_sample(row, where, f"{name}, line {line}")
        if sample is None:
            problems.append(ReadProblem(name, line, why))
        else:
            samples.append(sample)
    return Readout(samples, problems)


def _csv_sample(row: list[str], where: dict[str, int], source: str) -> tuple[RttSample | None, str]:
    def cell(column: str) -> str:
        return row[where[column]].strip() if column in where else ""

    for column in CSV_COLUMNS:
        if not cell(column):
            return None, f"missing value for column {column!r}"
    values: dict[str, float] = {}
    for column in ("vantage_lon", "vantage_lat", "rtt_ms"):
        v = _number(cell(column))
        if v is None:
            return None, f"{column} is not a finite number ({cell(column)[:40]!r})"
        values[column] = v
    if values["rtt_ms"] < 0:
        return None, f"negative rtt_ms {cell('rtt_ms')} (no reply?)"
    unc = 0.0
    if cell("vantage_uncertainty_m"):
        u = _number(cell("vantage_uncertainty_m"))
        if u is None or not 0 <= u <= 20_000_000:
            return None, f"vantage_uncertainty_m must be a number of metres from 0 to 20,000,000 ({cell('vantage_uncertainty_m')[:40]!r})"
        unc = u
    lon, lat = values["vantage_lon"], values["vantage_lat"]
    crs = CRS.WGS84
    if cell("vantage_crs"):
        try:
            crs = parse_crs(cell("vantage_crs"))
        except UsageError as exc:
            return None, str(exc)
    why = _check_position(lon, lat)
    if why is not None:
        return None, f"vantage {cell('vantage_id')!r}: {why}"
    if crs is not CRS.WGS84:
        x, y = to_wgs84(lon, lat, crs)
        lon, lat = float(x), float(y)
    return (
        RttSample(
            vantage_id=cell("vantage_id"),
            vantage_lon=lon,
            vantage_lat=lat,
            vantage_uncertainty_m=unc,
            target=cell("target"),
            rtt_ms=values["rtt_ms"],
            source=source,
            measured_at=cell("measured_at") or None,
        ),
        "",
    )
