"""MaxMind DB (``.mmdb``) location source: GeoIP2/GeoLite2 City, DB-IP City Lite and look-alikes.

Two layers, kept apart so the judgement can be tested without a file:

* :func:`record_to_answer` — pure: one decoded record (the GeoIP2 ``City`` schema:
  ``location.{latitude,longitude,accuracy_radius}``, ``country.iso_code``,
  ``subdivisions[].names``, ``city.names``, ``postal.code``) → :class:`MmdbAnswer`;
* :class:`MmdbDatabase` — I/O: opens the file (a missing or corrupt one raises
  :class:`~auditor.errors.DataError`), parses and screens the queries, and looks
  them up; :meth:`MmdbDatabase.lookup` never raises for a bad query.

What counts as evidence (DESIGN.md §3: an mmdb answer is a disk of its accuracy radius):

* ``ok`` — a point with a radius. MaxMind's ``location.accuracy_radius`` is in
  kilometres and is converted to metres unchanged (MaxMind states ~67 % confidence).
* A record *with* coordinates but *without* a usable ``accuracy_radius`` (DB-IP City
  Lite has none; neither do most home-made databases) gets
  :data:`DEFAULT_RADIUS_M` = **200 km**. Why so wide: the point of a city-level answer
  is the city's reference point, and a Chinese prefecture-level city reaches
  50–150 km from its seat (the seat of Hangzhou's Chun'an county is ~130 km from the
  city centre), so even a *correct* city answer needs that much; and the database gives
  no confidence for its choice of city. 200 km is twice the largest radius MaxMind's own
  test data give a city answer (3–100 km). The price is that such an answer rarely
  decides a region by itself — a "Hangzhou" point (150–190 km from Pudong and Lingang)
  is *indeterminate* for ``shanghai`` rather than *outside* — which is the honest result
  when the source states no accuracy. ``MmdbDatabase.open(..., default_radius_m=)``
  changes it.
* ``no_location`` — the record exists but places nothing: no coordinates, the 0,0
  placeholder, coordinates out of range, or an answer coarser than a city. A
  country-level (or subdivision-level) record carries the *centroid* of the
  country/subdivision with a radius that does not cover it (MaxMind test data: CN → 35,105
  with "100 km"; the US default point in Kansas with 1000 km) — not a place where the
  address is — so no point is returned; ``country``/``subdivision`` are still filled
  in for an administrative claim.
  A record with coordinates and no place names at all (a home-made database) is taken
  at its word as a point.
* ``not_found`` — no record for the address, or a private/reserved/loopback/link-local/
  multicast/CGNAT address (screened before the look-up; no public database covers them).
* ``invalid`` — not a single IP address (``'x'``, ``''``, ``'1.2.3.4/24'``,
  ``'300.1.1.1'``, a non-string), or an IPv6 address asked of an IPv4-only database.
  IPv4-mapped IPv6 (``::ffff:a.b.c.d``) is looked up as the IPv4 address.
* ``error`` — the database's data is corrupt at this record (the file opened but the
  look-up failed); the query is not at fault.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import maxminddb
from maxminddb.errors import InvalidDatabaseError

from auditor.errors import DataError

__all__ = [
    "DEFAULT_RADIUS_M",
    "MmdbAnswer",
    "MmdbDatabase",
    "record_to_answer",
]

#: Radius (metres) for a point whose record gives no usable ``accuracy_radius``; see the module doc.
DEFAULT_RADIUS_M = 200_000.0

_KM = 1000.0
_CGNAT = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 shared address space
_NAME_LANGUAGES = ("en", "zh-CN")


@dataclass(frozen=True, slots=True)
class MmdbAnswer:
    """What an mmdb database says about one query; ``lon``/``lat``/``accuracy_radius_m`` only when ``ok``."""

    query: str
    status: str  # "ok" | "not_found" | "no_location" | "invalid" | "error"
    lon: float | None
    lat: float | None
    accuracy_radius_m: float | None
    country: str | None  # ISO 3166-1 alpha-2
    subdivision: str | None  # English (else Chinese) name of the first (largest) subdivision, else "CC-code"
    city: str | None  # English (else Chinese) name
    network: str | None  # the database network the address fell in (also for not_found)
    reason: str


# --------------------------------------------------------------------------- pure conversion


def _name(entry: Any) -> str | None:
    if not isinstance(entry, Mapping):
        return None
    names = entry.get("names")
    if isinstance(names, Mapping):
        for lang in _NAME_LANGUAGES:
            value = names.get(lang)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _iso(entry: Any) -> str | None:
    if isinstance(entry, Mapping):
        code = entry.get("iso_code")
        if isinstance(code, str) and code.strip():
            return code.strip()
    return None


def _subdivision(record: Mapping[str, Any], country: str | None) -> str | None:
    subs = record.get("subdivisions")
    if not isinstance(subs, list) or not subs:
        return None
    first = subs[0]
    name = _name(first)
    if name:
        return name
    code = _iso(first)
    if code:
        return f"{country}-{code}" if country else code
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _describe(country: str | None, subdivision: str | None, city: str | None) -> str:
    parts = [p for p in (city, subdivision, country) if p]
    return ", ".join(parts) if parts else "no place names"


def record_to_answer(
    query: str,
    record: Any,
    network: str | None = None,
    *,
    default_radius_m: float = DEFAULT_RADIUS_M,
) -> MmdbAnswer:
    """Judge one decoded mmdb record (``None``: the address is in no network of the database).

    Pure: no I/O, never raises. See the module docstring for the rules.
    """

    def answer(status: str, reason: str, **kw: Any) -> MmdbAnswer:
        base: dict[str, Any] = dict(lon=None, lat=None, accuracy_radius_m=None, country=None, subdivision=None, city=None)
        base.update(kw)
        return MmdbAnswer(query=query, status=status, network=network, reason=reason, **base)

    if record is None:
        return answer("not_found", "no record for this address in the database")
    if not isinstance(record, Mapping):
        return answer("no_location", f"the record is a {type(record).__name__}, not a map with a location")

    country = _iso(record.get("country"))
    subdivision = _subdivision(record, country)
    city = _name(record.get("city"))
    postal = record.get("postal")
    has_postal = isinstance(postal, Mapping) and bool(postal.get("code"))
    places = dict(country=country, subdivision=subdivision, city=city)
    where = _describe(country, subdivision, city)

    location = record.get("location")
    if not isinstance(location, Mapping):
        return answer("no_location", f"the record has no location ({where})", **places)
    lat = _number(location.get("latitude"))
    lon = _number(location.get("longitude"))
    if lat is None or lon is None:
        return answer("no_location", f"the record has no usable latitude/longitude ({where})", **places)
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return answer("no_location", f"latitude/longitude {lat},{lon} out of range ({where})", **places)
    if lat == 0.0 and lon == 0.0:
        return answer("no_location", f"latitude/longitude 0,0 is a placeholder, not a place ({where})", **places)

    if city is None and not has_postal:
        named = any(isinstance(record.get(k), Mapping) for k in ("country", "registered_country", "continent"))
        if subdivision is not None:
            return answer(
                "no_location",
                f"subdivision-level answer ({where}): the coordinates are the subdivision's centroid, not a "
                "place; use the subdivision as an administrative claim",
                **places,
            )
        if country is not None:
            return answer(
                "no_location",
                f"country-level answer ({where}): the coordinates are the country's centroid, not a place",
                **places,
            )
        if named:
            return answer(
                "no_location",
                "only a continent or registered country is known: the coordinates are a centroid, not a place",
                **places,
            )
        # No place names at all: a point-only (home-made) database; take the point at its word.

    radius_km = _number(location.get("accuracy_radius"))
    level = "city-level" if city is not None or has_postal else "point-only"
    if radius_km is not None and radius_km > 0:
        radius_m = radius_km * _KM
        reason = f"{level} answer ({where}); accuracy_radius {radius_km:g} km"
    else:
        radius_m = float(default_radius_m)
        stated = "missing" if location.get("accuracy_radius") is None else f"unusable ({location.get('accuracy_radius')!r})"
        reason = (
            f"{level} answer ({where}); accuracy_radius {stated}: conservative default "
            f"{radius_m / _KM:g} km applied"
        )
    return answer("ok", reason, lon=lon, lat=lat, accuracy_radius_m=radius_m, **places)


# --------------------------------------------------------------------------- query screening


def _non_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why no public database can place this address (None: it is a public address)."""
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_loopback:
        return "loopback address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_multicast:
        return "multicast address"
    if ip.version == 4 and ip in _CGNAT:
        return "shared address space (carrier-grade NAT, RFC 6598)"
    if ip.is_private:
        return "private-use or special-purpose address (RFC 1918/4193/6890)"
    if ip.is_reserved:
        return "reserved address"
    if not ip.is_global:
        return "not a globally routable address"
    return None


def _parse(query: Any) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address | None, str]:
    """(address to look up, note) or (None, why the query is invalid)."""
    if not isinstance(query, str):
        return None, f"not a string ({type(query).__name__})"
    text = query.strip()
    if not text:
        return None, "empty query"
    if "/" in text:
        return None, "a network, not a single address (look up one address of it)"
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None, "not an IPv4 or IPv6 address"
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, f"IPv4-mapped address looked up as {ip.ipv4_mapped}"
    return ip, ""


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


# --------------------------------------------------------------------------- I/O


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class MmdbDatabase:
    """An open ``.mmdb`` file. Use :meth:`open`; close it (or use ``with``) when done."""

    path: str
    sha256: str
    version: str  # "<database_type> <build date, ISO>", e.g. "GeoLite2-City 2026-02-04"

    def __init__(self, reader: Any, path: str, sha256: str, *, default_radius_m: float = DEFAULT_RADIUS_M) -> None:
        self._reader = reader
        self.path = path
        self.sha256 = sha256
        meta = reader.metadata()
        self.database_type = str(meta.database_type)
        self.ip_version = int(meta.ip_version)
        built = dt.datetime.fromtimestamp(int(meta.build_epoch), dt.UTC).date()
        self.build_date = built
        self.version = f"{self.database_type} {built.isoformat()}"
        self.default_radius_m = float(default_radius_m)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, default_radius_m: float = DEFAULT_RADIUS_M) -> MmdbDatabase:
        """Open and check a MaxMind DB file; :class:`DataError` naming the path if it is missing or corrupt."""
        p = os.fspath(path)
        if not os.path.exists(p):
            raise DataError(
                "mmdb database not found", path=p,
                hint="give the path of a MaxMind DB file (GeoLite2-City.mmdb, DB-IP City Lite .mmdb)",
            )
        if not os.path.isfile(p):
            raise DataError("mmdb database is not a regular file", path=p, hint="give the path of the .mmdb file itself")
        try:
            digest = _sha256(p)
            reader = maxminddb.open_database(p, maxminddb.MODE_AUTO)
        except (InvalidDatabaseError, ValueError, OSError) as exc:
            raise DataError(
                f"not a readable MaxMind DB file ({exc})", path=p,
                hint="the file is truncated or not an .mmdb database; download it again and check its checksum",
            ) from exc
        try:
            return cls(reader, p, digest, default_radius_m=default_radius_m)
        except (AttributeError, TypeError, ValueError, OverflowError, OSError) as exc:
            reader.close()
            raise DataError(
                f"MaxMind DB metadata unusable ({exc})", path=p,
                hint="the file's metadata lacks database_type/ip_version/build_epoch; download it again",
            ) from exc

    def lookup(self, ips: Sequence[str]) -> list[MmdbAnswer]:
        """One answer per query, same order; bad queries give ``invalid`` answers, never exceptions."""
        if isinstance(ips, (str, bytes)):
            raise TypeError("lookup() takes a sequence of addresses, not a single string")
        if self._reader is None:
            raise DataError("mmdb database is closed", path=self.path, hint="look up before close() / inside the with block")
        seen: dict[Any, MmdbAnswer] = {}
        out: list[MmdbAnswer] = []
        for q in ips:
            key = q if isinstance(q, str) else id(q)
            hit = seen.get(key)
            if hit is None:
                hit = seen[key] = self._one(q)
            out.append(hit)
        return out

    def _one(self, query: Any) -> MmdbAnswer:
        text = query if isinstance(query, str) else repr(query)
        ip, note = _parse(query)

        def bare(status: str, reason: str, network: str | None = None) -> MmdbAnswer:
            return MmdbAnswer(text, status, None, None, None, None, None, None, network, reason)

        if ip is None:
            return bare("invalid", note)
        why = _non_public(ip)
        if why is not None:
            return bare("not_found", _join(note, f"{why}: no public database locates it"))
        if ip.version == 6 and self.ip_version == 4:
            return bare("invalid", _join(note, f"IPv6 address, but the database ({self.database_type}) is IPv4-only"))
        try:
            record, prefix_len = self._reader.get_with_prefix_len(ip)
        except InvalidDatabaseError as exc:
            return bare("error", f"corrupt database data at this address: {exc}")
        except ValueError as exc:  # e.g. IPv6 in an IPv4-only tree the metadata did not reveal
            return bare("invalid", _join(note, str(exc)))
        except Exception as exc:  # noqa: BLE001 - a reader bug must not abort an audit; report it per query
            return bare("error", f"look-up failed: {type(exc).__name__}: {exc}")
        try:
            network = str(ipaddress.ip_network((ip, int(prefix_len)), strict=False))
        except (TypeError, ValueError):
            network = None
        a = record_to_answer(text, record, network, default_radius_m=self.default_radius_m)
        if note:
            a = MmdbAnswer(
                a.query, a.status, a.lon, a.lat, a.accuracy_radius_m, a.country, a.subdivision, a.city,
                a.network, _join(a.reason, note),
            )
        return a

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> MmdbDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._reader is None else "open"
        return f"MmdbDatabase({self.path!r}, {self.version!r}, {state})"
