"""ip2region answers → administrative-unit claims.

An ip2region answer is a text such as ``中国|0|上海|上海市|电信`` (xdb 2.0, fields
country|area|province|city|isp) or ``中国|广东省|深圳市|电信|CN`` (xdb 3.0, fields
country|province|city|isp|iso2), ``0`` meaning unknown. Its claim is the most
specific unit it names — the city when it gives one, else the province — whose
relation to each region comes from the precomputed admin table, so that
"Beijing" is inside ``beijing`` and "Shanghai" is indeterminate for ``shanghai``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from auditor.iptext import is_plain_global_ipv4
from auditor.model import EvidenceSource, Facility, LocationClaim
from auditor.regions import AdminUnit, Registry, adcode_prefix

__all__ = ["Ip2regionAnswer", "parse_region_text", "unit_for_answer", "Ip2regionResolver", "normalise_ip"]

_ISO2 = re.compile(r"^[A-Z]{2}$")
_CHINA = {"中国", "China", "CN"}
# ip2region gives SAR and Taiwan answers with the country "中国" and the province naming them
_PROVINCIAL_OUTLIERS = {"香港": "810000", "澳门": "820000", "台湾": "710000", "台湾省": "710000"}


@dataclass(frozen=True, slots=True)
class Ip2regionAnswer:
    """The fields of one ip2region answer ('' where the database says 0)."""

    text: str
    country: str
    province: str
    city: str
    isp: str
    private: bool = False


def _field(value: str) -> str:
    value = value.strip()
    return "" if value in ("0", "") else value


def parse_region_text(text: str, layout: str = "auto") -> Ip2regionAnswer:
    """Split an ip2region answer into fields.

    ``layout`` is ``v2`` (country|area|province|city|isp, xdb structure 2),
    ``v3`` (country|province|city|isp|iso2, xdb structure 3) or ``auto``, which
    takes v3 only when the last field is a two-letter country code.

    Examples
    --------
    >>> parse_region_text("中国|0|上海|上海市|电信").city
    '上海市'
    >>> parse_region_text("中国|广东省|深圳市|电信|CN").province
    '广东省'
    """
    parts = text.split("|")
    private = any(p in ("内网IP", "Reserved") for p in parts)
    if layout == "auto":
        layout = "v3" if len(parts) == 5 and _ISO2.match(parts[4]) else "v2"
    padded = (parts + ["0"] * 5)[:5]
    if layout == "v3":
        country, province, city, isp = padded[0], padded[1], padded[2], padded[3]
    else:
        country, province, city, isp = padded[0], padded[2], padded[3], padded[4]
    return Ip2regionAnswer(text, _field(country), _field(province), _field(city), _field(isp), private)


def unit_for_answer(registry: Registry, answer: Ip2regionAnswer) -> tuple[AdminUnit | None, str]:
    """The most specific admin unit an answer proves, or None with the reason."""
    if answer.private:
        return None, "private or reserved address"
    if not answer.country:
        return None, "ip2region does not know the country"
    if answer.country not in _CHINA:
        return None, f"ip2region places it in {answer.country}"
    if not answer.province:
        return None, "ip2region says China but names no province"
    if answer.province in _PROVINCIAL_OUTLIERS:
        code = _PROVINCIAL_OUTLIERS[answer.province]
        return registry.units.get(code) or AdminUnit(code, answer.province, ""), ""
    provinces = [u for u in registry.find_units(answer.province) if u.adcode.endswith("0000")]
    if len(provinces) != 1:
        return None, f"province {answer.province!r} not found in the gazetteer"
    province = provinces[0]
    if not answer.city:
        return province, ""
    cities = [u for u in registry.find_units(answer.city) if adcode_prefix(u.adcode).startswith(adcode_prefix(province.adcode))]
    if province.adcode[:2] in ("11", "12", "31", "50") and answer.city in (province.name_zh, *province.aliases):
        return province, ""  # a municipality's "city" is the municipality itself
    if len(cities) == 1:
        return cities[0], ""
    if not cities:
        return province, f"city {answer.city!r} not found in the gazetteer under {province.name_zh}; using the province"
    return province, f"city {answer.city!r} is ambiguous under {province.name_zh}; using the province"


#: Why an address that is not global has no location.
NOT_GLOBAL = "private or reserved address: no location"


def normalise_ip(text: str, ip_version: int = 4) -> tuple[str | None, str]:
    """An address for lookup in an ip2region database of ``ip_version`` (4, or 6 for an IPv6 xdb), or None with the reason.

    For an IPv4 database an IPv4-mapped IPv6 address is unwrapped; an IPv6 database answers
    global IPv6 addresses only.

    Examples
    --------
    >>> normalise_ip("2402:f000::1")
    (None, 'IPv6: the embedded ip2region database has IPv4 data only')
    >>> normalise_ip("2402:f000::1", 6)
    ('2402:f000::1', '')
    """
    stripped = text.strip()
    if ip_version == 4 and is_plain_global_ipv4(stripped):
        return stripped, ""  # what the general path below gives for it, ~10x faster
    try:
        ip = ipaddress.ip_address(stripped)
    except ValueError:
        return None, "not an IP address"
    if ip_version == 6:
        if isinstance(ip, ipaddress.IPv4Address) or ip.ipv4_mapped is not None:
            return None, "IPv4: the ip2region database given has IPv6 data only"
        if not ip.is_global:
            return None, NOT_GLOBAL
        return str(ip), ""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped), f"IPv4-mapped IPv6 {text} looked up as {ip.ipv4_mapped}"
        return None, "IPv6: the embedded ip2region database has IPv4 data only"
    if not ip.is_global:
        return None, NOT_GLOBAL
    return str(ip), ""


class Ip2regionResolver:
    """IP addresses of facilities → admin-unit claims from an ip2region xdb database."""

    name = EvidenceSource.IP2REGION.value

    def __init__(self, db, registry: Registry) -> None:  # noqa: ANN001 - XdbDatabase
        self.db = db
        self.registry = registry
        self.layout = "v3" if "xdb 3" in str(getattr(db, "version", "")) else "v2"
        self.ip_version = int(getattr(db, "ip_version", 4))

    def claims(self, facilities: Sequence[Facility]) -> list[LocationClaim]:
        queries: list[tuple[Facility, str, str, str]] = []  # facility, original, lookup ip, note
        out: list[LocationClaim] = []
        for f in facilities:
            if f.errors:
                continue
            for given in f.ip:
                if "/" in given:
                    continue  # prefixes are address space: see footprint
                ip, note = normalise_ip(given, self.ip_version)
                if ip is None:
                    out.append(self._unplaced(f, given, note))
                else:
                    queries.append((f, given, ip, note))
        if not queries:
            return out
        ids = self.db.lookup([q[2] for q in queries])
        parsed: dict[int, tuple[str, Ip2regionAnswer, AdminUnit | None, str]] = {}  # per answer, not per address
        for (f, original, _ip, note), rid in zip(queries, ids.tolist()):
            text = self.db.region_text(rid) if rid >= 0 else None
            if text is None:
                out.append(self._unplaced(f, original, "not covered by the database"))
                continue
            if rid not in parsed:
                answer = parse_region_text(text, self.layout)
                parsed[rid] = (text, answer, *_cached_unit(self.registry, answer))
            text, answer, unit, why = parsed[rid]
            notes = tuple(n for n in (note, why) if n)
            if unit is None:
                kind = "country" if answer.country and answer.country not in _CHINA else "unresolved"
                out.append(LocationClaim(
                    id=f"{f.id}#ip2region:{original}", subject=f.id, source=EvidenceSource.IP2REGION, kind=kind,
                    label=text, original={"ip": original, "answer": text, "country": answer.country},
                    data_version=self.db.version, notes=notes,
                ))
                continue
            out.append(LocationClaim(
                id=f"{f.id}#ip2region:{original}", subject=f.id, source=EvidenceSource.IP2REGION, kind="admin_unit",
                adcode=unit.adcode, label=" ".join(x for x in (unit.name_zh, unit.name_en) if x) or unit.adcode,
                original={"ip": original, "answer": text, "isp": answer.isp}, data_version=self.db.version, notes=notes,
            ))
        return out

    def _unplaced(self, f: Facility, ip: str, why: str) -> LocationClaim:
        return LocationClaim(
            id=f"{f.id}#ip2region:{ip}", subject=f.id, source=EvidenceSource.IP2REGION, kind="unresolved",
            original={"ip": ip}, data_version=self.db.version, notes=(why,),
        )


_UNITS: dict[tuple[int, str], tuple[AdminUnit | None, str]] = {}


def _cached_unit(registry: Registry, answer: Ip2regionAnswer) -> tuple[AdminUnit | None, str]:
    key = (id(registry), answer.text)
    if key not in _UNITS:
        _UNITS[key] = unit_for_answer(registry, answer)
    return _UNITS[key]


# for the columnar path (auditor.engine.columnar), which makes the same claims from each distinct answer
CHINA_NAMES = _CHINA
cached_unit = _cached_unit
