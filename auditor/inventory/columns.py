"""Column names: the canonical facility-list columns and the headers accepted for each."""

from __future__ import annotations

import unicodedata

__all__ = ["CANONICAL", "HEADER_ALIASES", "normalise_header", "map_headers"]

#: canonical column -> accepted headers (compared after :func:`normalise_header`)
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "facility_id", "site_id", "编号", "设施编号", "设施id", "序号"),
    "kind": ("kind", "type", "facility_type", "类型", "设施类型", "类别"),
    "tenure": ("tenure", "ownership", "权属", "产权", "产权性质", "使用方式"),
    "name": ("name", "facility_name", "site_name", "名称", "设施名称", "机房名称"),
    "address": ("address", "addr", "site_address", "地址", "详细地址", "机房地址"),
    "lon": ("lon", "lng", "long", "longitude", "x", "经度"),
    "lat": ("lat", "latitude", "y", "纬度"),
    "crs": ("crs", "coord_sys", "coordinate_system", "datum", "坐标系", "坐标系统"),
    "uncertainty_m": ("uncertainty_m", "accuracy_m", "precision_m", "精度", "精度_米", "误差_米"),
    "ip": ("ip", "ips", "ip_address", "ip_addresses", "ip地址", "ip段", "地址段"),
    "hostname": ("hostname", "hostnames", "host", "domain", "域名", "主机名"),
    "adcode": ("adcode", "行政区划代码", "区划代码"),
    "province": ("province", "省", "省份"),
    "city": ("city", "市", "城市"),
    "district": ("district", "county", "区", "区县", "县区"),
}
CANONICAL = tuple(HEADER_ALIASES)


def normalise_header(text: str) -> str:
    """NFKC (full-width to half-width), trimmed, lower case, runs of space/-/. as '_'."""
    t = unicodedata.normalize("NFKC", str(text)).strip().lower().lstrip("\ufeff")
    for ch in " -./()（）":
        t = t.replace(ch, "_")
    while "__" in t:
        t = t.replace("__", "_")
    return t.strip("_")


_LOOKUP = {normalise_header(a): canon for canon, aliases in HEADER_ALIASES.items() for a in aliases}


def map_headers(headers: list[str]) -> tuple[dict[int, str], dict[str, list[str]]]:
    """Map header positions to canonical names.

    Returns ``(position -> canonical or original header, canonical -> [original headers])``;
    the second tells the caller about two headers naming the same column.
    """
    positions: dict[int, str] = {}
    seen: dict[str, list[str]] = {}
    for i, h in enumerate(headers):
        canon = _LOOKUP.get(normalise_header(h))
        if canon is not None:
            seen.setdefault(canon, []).append(str(h))
            positions[i] = canon
        else:
            positions[i] = str(h).strip().lstrip("\ufeff")
    return positions, seen
