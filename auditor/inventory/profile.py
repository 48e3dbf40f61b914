"""Operator profiles (YAML or TOML): who the operator is and what it declares.

Example (YAML)::

    name: Example Cloud (Shanghai) Co., Ltd.
    programme: notice-2024-107     # the registry's programme (default: the registry's default_programme)
    region: shanghai
    region_options: {}
    registration:
      address: 上海市浦东新区...
      lon: 121.93
      lat: 30.90
      crs: wgs84
      adcode: "310115"
    services: [IDC, CDN]
    foreign_equity_pct: 100
    approvals:                     # the replies approving the pilot operation (试点批复)
      - number: 工信部……〔2025〕……号   # as the reply gives it
        date: 2025-02-26
        authority: 工业和信息化部
        region: shanghai
        services: [IDC, CDN]
    isp: {prefixes: [], service_area: [], upstream_asns: []}
    cdn: {accelerated_domains: [www.example.cn]}
    facilities: facilities.csv     # relative to this file
    facilities_crs: wgs84          # for rows whose crs cell is empty
    columns:                       # which header is which column, when the aliases would guess wrong
      id: 节点编号
      kind: 类型
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from pathlib import Path
from typing import Any

from auditor.documents import check_regular_file, load_yaml
from auditor.errors import InputError, UsageError
from auditor.geo.crs import parse_crs
from auditor.inventory.read import decode_text
from auditor.model import Operator, PilotApproval

__all__ = ["facility_list_of", "load_profile", "parse_profile", "profile_columns", "profile_default_crs", "PROFILE_SUFFIXES"]

PROFILE_SUFFIXES = (".yaml", ".yml", ".toml")
_KNOWN = {
    "name", "programme", "region", "region_options", "registration", "services", "foreign_equity_pct",
    "approvals", "isp", "cdn", "facilities", "facilities_crs", "columns", "notes", "evidence",
}
_APPROVAL_KEYS = {"number", "date", "authority", "region", "services", "note"}
_KNOWN_NESTED = {
    "registration": {"address", "lon", "lat", "crs", "adcode"},
    "isp": {"prefixes", "service_area", "upstream_asns"},
    "cdn": {"accelerated_domains"},
    # evidence settings: the fields of auditor.config.AuditConfig that a profile may set
    "evidence": {"ip_db", "mmdb", "asn_table", "dns_server", "rdap_url", "online", "timeout_s", "cache_dir", "dns_recording", "sweep_server", "latency", "give_up_after"},
}


#: A profile is a page of settings; a megabyte is far beyond any real one.
MAX_PROFILE_BYTES = 1 << 20


def load_profile(path: Path | str) -> tuple[Operator, dict[str, Any]]:
    """Read an operator profile; returns the Operator and the raw mapping (for the report)."""
    p = Path(path)
    if not p.is_file():
        raise InputError("profile not found", source=str(path))
    check_regular_file(p, what="profile", max_bytes=MAX_PROFILE_BYTES)
    text, _ = decode_text(p.read_bytes(), str(p))
    if p.suffix.lower() == ".toml":
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"cannot parse profile: {exc}", source=str(p)) from exc
        except RecursionError:
            raise InputError("cannot parse profile: nested too deeply", source=str(p)) from None
    else:
        doc = load_yaml(text, source=str(p), what="profile")
    return parse_profile(doc, source=str(p)), doc


def facility_list_of(target: Path | str) -> Path:
    """The facility list ``target`` names: for an operator profile (:data:`PROFILE_SUFFIXES`) the list
    the profile names (raises InputError when the profile cannot be used), else ``target`` itself."""
    path = Path(target)
    if path.suffix.lower() in PROFILE_SUFFIXES:
        return Path(load_profile(path)[0].facilities_path or "")
    return path


def _expect(doc: dict[str, Any], key: str, kind: type | tuple[type, ...], source: str, default: Any) -> Any:
    value = doc.get(key, default)
    if value is None:
        return default
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise InputError(f"key {key!r} must be {names}, not {type(value).__name__}", source=source)
    return value


def _str_list(value: Any, key: str, source: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise InputError(f"key {key!r} must be a list of strings, not {type(value).__name__} {value!r}", source=source)
    for v in value:
        if not isinstance(v, (str, int)) or isinstance(v, bool):
            raise InputError(f"key {key!r} must be a list of strings or whole numbers; {v!r} is neither", source=source)
    return tuple(str(v).strip() for v in value if str(v).strip())


def _number(value: Any, key: str, source: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError(f"key {key!r} must be a number", source=source)
    try:
        f = float(value)
    except ValueError:
        raise InputError(f"key {key!r} must be a number, not {value!r}", source=source) from None
    if not math.isfinite(f):
        raise InputError(f"key {key!r} must be finite", source=source)
    return f


def _approvals(value: Any, source: str) -> tuple[PilotApproval, ...]:
    """The profile's ``approvals`` (a list of mappings, or one mapping), each checked."""
    if value is None:
        return ()
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise InputError(f"key 'approvals' must be a list of approvals (number, date, authority, region, services), not {type(value).__name__}", source=source)
    out = []
    for i, item in enumerate(items, 1):
        where = f"approvals[{i}]"
        if not isinstance(item, dict):
            raise InputError(f"{where} must be a mapping with number, date, authority, region, services", source=source)
        extra = sorted(str(k) for k in set(item) - _APPROVAL_KEYS)
        if extra:
            raise InputError(f"unknown key(s) {[f'{where}.{k}' for k in extra]}", source=source, hint=f"an approval takes: {sorted(_APPROVAL_KEYS)}")
        for key in ("number", "authority", "region", "note"):
            v = item.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (str, int))):
                raise InputError(f"key '{where}.{key}' must be text, not {type(v).__name__}", source=source)
        raw_date = item.get("date")
        day = None
        if isinstance(raw_date, dt.datetime):
            day = raw_date.date()
        elif isinstance(raw_date, dt.date):
            day = raw_date
        elif raw_date not in (None, ""):
            try:
                day = dt.date.fromisoformat(str(raw_date).strip())
            except ValueError:
                raise InputError(f"key '{where}.date' must be a date YYYY-MM-DD, not {raw_date!r}", source=source) from None
        out.append(PilotApproval(
            number=str(item.get("number") or "").strip(),
            date=day,
            authority=str(item.get("authority") or "").strip(),
            region=str(item.get("region") or "").strip(),
            services=_str_list(item.get("services"), f"{where}.services", source),
            note=str(item.get("note") or "").strip(),
        ))
    return tuple(out)


def parse_profile(doc: Any, *, source: str) -> Operator:
    """Build an :class:`Operator` from a parsed profile mapping, checking every type."""
    if not isinstance(doc, dict):
        raise InputError("a profile is a mapping of keys (name, region, ...)", source=source)
    unknown = sorted(str(k) for k in set(doc) - _KNOWN)
    if unknown:
        raise InputError(f"unknown key(s) {unknown}", source=source, hint=f"known keys: {sorted(_KNOWN)}")
    for section, allowed in _KNOWN_NESTED.items():
        value = doc.get(section)
        if isinstance(value, dict):
            extra = sorted(f"{section}.{k}" for k in set(value) - allowed)
            if extra:
                raise InputError(f"unknown key(s) {extra}", source=source, hint=f"{section} takes: {sorted(allowed)}")
    evidence = doc.get("evidence") or {}
    if not isinstance(evidence, dict):
        raise InputError("key 'evidence' must be a mapping", source=source)
    for key, value in evidence.items():
        if key in ("mmdb", "latency"):
            _str_list(value, f"evidence.{key}", source)
        elif key == "online" and not isinstance(value, bool):
            raise InputError("key 'evidence.online' must be true or false", source=source)
        elif key == "timeout_s" and (_number(value, "evidence.timeout_s", source) or 0) <= 0:
            raise InputError("key 'evidence.timeout_s' must be a positive number of seconds", source=source)
        elif key == "give_up_after" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InputError("key 'evidence.give_up_after' must be a whole number of failed lookups, at least 1", source=source)
        elif key not in ("online", "timeout_s", "give_up_after") and not isinstance(value, str):
            raise InputError(f"key 'evidence.{key}' must be a string", source=source)
    name = _expect(doc, "name", str, source, "")
    programme = _expect(doc, "programme", str, source, "").strip()
    region = _expect(doc, "region", str, source, "")
    if not region:
        raise InputError("the profile must name its registered region ('region')", source=source)
    options = _expect(doc, "region_options", dict, source, {})
    for k, v in options.items():
        if not isinstance(v, bool):
            raise InputError(f"region option {k!r} must be true or false", source=source)
    reg = _expect(doc, "registration", dict, source, {})
    lon = _number(reg.get("lon"), "registration.lon", source)
    lat = _number(reg.get("lat"), "registration.lat", source)
    if (lon is None) != (lat is None):
        raise InputError("registration needs both lon and lat, or neither", source=source)
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InputError(f"registration coordinates out of range (lon {lon}, lat {lat}); swapped?", source=source)
    reg_crs = reg.get("crs")
    if reg_crs is not None:
        try:
            reg_crs = parse_crs(str(reg_crs)).value
        except UsageError as exc:
            raise InputError(f"key 'registration.crs': {exc}", source=source) from None
    adcode = str(reg.get("adcode", "") or "").strip()
    if adcode and not (adcode.isdigit() and len(adcode) == 6):
        raise InputError(f"registration.adcode must have six digits, not {adcode!r}", source=source)
    isp = _expect(doc, "isp", dict, source, {})
    cdn = _expect(doc, "cdn", dict, source, {})
    asns = []
    raw_asns = isp.get("upstream_asns")
    if isinstance(raw_asns, int) and not isinstance(raw_asns, bool):
        raw_asns = [raw_asns]  # a single AS number
    for a in _str_list(raw_asns, "isp.upstream_asns", source):
        text = a.upper().removeprefix("AS")
        if not (text.isascii() and text.isdigit()) or not (0 < int(text) < 2**32):
            raise InputError(f"isp.upstream_asns: {a!r} is not an AS number", source=source)
        asns.append(int(text))
    facilities = _expect(doc, "facilities", str, source, "")
    if facilities:
        base = Path(source).parent
        facilities = str(base / facilities) if not Path(facilities).is_absolute() else facilities
    profile_columns(doc, source)
    fcrs = doc.get("facilities_crs")
    if fcrs is not None:
        try:
            parse_crs(str(fcrs))
        except UsageError as exc:
            raise InputError(f"key 'facilities_crs': {exc}", source=source) from None
    equity = _number(doc.get("foreign_equity_pct"), "foreign_equity_pct", source)
    if equity is not None and not 0 <= equity <= 100:
        raise InputError(f"key 'foreign_equity_pct' must be between 0 and 100, not {equity:g}", source=source)
    return Operator(
        name=name,
        region=region,
        region_options=dict(options),
        registration_address=str(reg.get("address", "") or ""),
        registration_lon=lon,
        registration_lat=lat,
        registration_crs=reg_crs,
        registration_adcode=adcode,
        services=_str_list(doc.get("services"), "services", source),
        foreign_equity_pct=equity,
        isp_prefixes=_str_list(isp.get("prefixes"), "isp.prefixes", source),
        isp_service_area=_str_list(isp.get("service_area"), "isp.service_area", source),
        upstream_asns=tuple(asns),
        cdn_domains=_str_list(cdn.get("accelerated_domains"), "cdn.accelerated_domains", source),
        facilities_path=facilities,
        source=source,
        programme=programme,
        approvals=_approvals(doc.get("approvals"), source),
    )


def profile_columns(doc: dict[str, Any], source: str = "") -> dict[str, str]:
    """The profile's ``columns:`` block ({canonical column: header}), checked; {} when there is none."""
    from auditor.inventory.columns import CANONICAL, parse_column_spec

    value = doc.get("columns") if isinstance(doc, dict) else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"key 'columns' must be a mapping of column: header (e.g. id: 节点编号), not {type(value).__name__}", source=source)
    for k, v in value.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, (str, int))):
            raise InputError(f"key 'columns.{k}' must be a header's text, not {type(v).__name__}", source=source)
    try:
        return parse_column_spec({str(k): "" if v is None else str(v) for k, v in value.items()}, origin="profile columns:")
    except UsageError as exc:
        raise InputError(f"key 'columns': {exc.value!r} is not a column", source=source, hint=f"columns are: {', '.join(CANONICAL)}") from None


def profile_default_crs(doc: dict[str, Any]) -> str | None:
    value = doc.get("facilities_crs") if isinstance(doc, dict) else None
    return None if value is None else parse_crs(str(value)).value
