"""Values as people write them: facility kinds, tenure and coordinate-system words, and coordinates
(decimal degrees, degrees-minutes-seconds, hemisphere letters, full-width digits, a decimal comma,
and a longitude and latitude in one cell).

Where the words come from: the canonical codes are the validator's (``KINDS``; owned / rented /
purchased, the notice's 自有、租用、购买 facilities; wgs84 / gcj02 / bd09). The Chinese words added for
issue 17 are the values seen in operator and regulator filing templates (CDN节点, CDN边缘节点,
内容分发节点, IDC机房, 数据中心, 自建机房, 租用机房, 互联网接入点, POP点; 自有, 自建, 租用, 租赁, 购买, 是/否
under 是否自有; 高德, 百度, 腾讯, GCJ-02, 国测局, 火星坐标, BD-09, WGS84, GPS, CGCS2000, 2000国家大地坐标系),
the issue's own list (内容分发, 机房, 购置), and the usual suffixed forms of the same words
(高德坐标系, 百度地图, 腾讯地图, CDN缓存节点, 数据中心机房, 自有产权). 汇聚节点 (an aggregation node) is
left unread on purpose: it is a CDN's mid tier in one operator's list and an access network's
aggregation point in another's; such a row keeps its word and says so.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "CN_LAT",
    "CN_LON",
    "KINDS",
    "KIND_CODES",
    "KIND_WORDS",
    "TENURE_WORDS",
    "CRS_WORDS",
    "Degrees",
    "crs_word",
    "kind_word",
    "parse_degrees",
    "parse_lonlat",
    "tenure_word",
]

KINDS = ("IDC", "CDN", "ISP_POP", "POP", "OFFICE", "NOC", "DATA_PROCESSING", "OTHER")
#: codes read as written: the validator's kinds and the CDN / ISP codes the rules know (auditor.rules.base)
KIND_CODES = frozenset(KINDS) | {"CDN_NODE", "EDGE", "CDN_EDGE", "CACHE", "ISP", "ACCESS", "BRAS"}

#: a kind as written (NFKC, upper case, spaces and brackets' contents dropped) -> code
KIND_WORDS: dict[str, str] = {
    **dict.fromkeys(("CDN节点", "CDN边缘节点", "边缘节点", "内容分发", "内容分发节点", "内容分发网络", "内容分发网络节点",
                     "CDN缓存节点", "缓存节点", "CDN加速节点", "加速节点", "CDN服务器"), "CDN"),
    **dict.fromkeys(("IDC机房", "数据中心", "机房", "互联网数据中心", "IDC数据中心", "数据中心机房", "自建机房", "租用机房"), "IDC"),
    **dict.fromkeys(("互联网接入点", "接入点", "接入节点", "ISP接入点", "互联网接入节点"), "ISP_POP"),
    "POP点": "POP",
    **dict.fromkeys(("数据处理", "在线数据处理", "在线数据处理与交易处理", "数据处理中心"), "DATA_PROCESSING"),
    **dict.fromkeys(("办公场所", "办公室", "办公地点"), "OFFICE"),
    **dict.fromkeys(("网管中心", "网络管理中心", "网络运营中心"), "NOC"),
    **dict.fromkeys(("其他", "其它"), "OTHER"),
}
#: kind words that state the tenure too (used when the tenure cell is empty)
_KIND_TENURE = {"自建机房": "owned", "租用机房": "rented"}
# words inside a longer kind (CDN边缘节点（华东）): a service names the kind before the building it is in
_CDN_MARKS = ("CDN", "内容分发")
_ISP_MARKS = ("接入点", "接入节点")
_IDC_MARKS = ("IDC", "数据中心", "机房")

TENURE_WORDS: dict[str, str] = {
    **dict.fromkeys(("owned", "own", "自有", "自建", "自有产权"), "owned"),
    **dict.fromkeys(("rented", "rent", "leased", "lease", "租用", "租赁", "承租"), "rented"),
    **dict.fromkeys(("purchased", "purchase", "bought", "购买", "采购", "购置"), "purchased"),
}
_YES = frozenset({"是", "y", "yes", "true", "1", "√", "✓"})
_NO = frozenset({"否", "n", "no", "false", "0", "×", "✗"})

#: a coordinate system as written (NFKC, lower case, spaces / - / _ dropped, a trailing 坐标系 / 坐标 / 地图 dropped) -> code
CRS_WORDS: dict[str, str] = {
    **dict.fromkeys(("wgs84", "gps", "cgcs2000", "2000国家大地", "国家2000", "cgcs", "epsg:4326", "epsg:4490", "4326", "4490",
                     "地球", "天地图"), "wgs84"),
    **dict.fromkeys(("gcj02", "gcj", "高德", "腾讯", "国测局", "火星", "amap", "autonavi", "tencent"), "gcj02"),
    **dict.fromkeys(("bd09", "bd09ll", "百度", "baidu"), "bd09"),
}
_CRS_SUFFIXES = ("坐标系统", "坐标系", "坐标", "地图", "系")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


@functools.lru_cache(maxsize=4096)  # a list repeats a handful of words over every row
def kind_word(text: str) -> tuple[str, str, str | None]:
    """(kind code, tenure the word implies or "", warning or None) for a kind cell."""
    t = _fold(text)
    if not t:
        return "", "", None
    code = t.upper().replace(" ", "_").replace("-", "_")
    if code in KIND_CODES:
        return code, "", None
    key = re.sub(r"[(（\[【][^)）\]】]*[)）\]】]", "", t).upper().replace(" ", "")
    if key in KIND_WORDS:
        return KIND_WORDS[key], _KIND_TENURE.get(key, ""), None
    cdn, isp, idc = (any(m in key for m in marks) for marks in (_CDN_MARKS, _ISP_MARKS, _IDC_MARKS))
    if cdn and not isp:
        return "CDN", "", None
    if isp and not cdn:
        return "ISP_POP", "", None
    if idc and not (cdn or isp):
        return "IDC", "", None
    why = "it names both a CDN and an access point" if cdn and isp else "it is not a kind the rules know"
    return t.upper().replace(" ", "_") if t.isascii() else t, "", (
        f"kind {t!r} is not read as a kind ({why}: {', '.join(KINDS)}); the facility is audited all the same, "
        "but no kind-specific rule (CDN, ISP) applies to it")


@functools.lru_cache(maxsize=4096)
def tenure_word(text: str, header: str = "") -> tuple[str, str | None]:
    """(tenure, warning or None) for a tenure cell; under a yes/no header (是否自有) 是 is owned."""
    t = _fold(text)
    if not t:
        return "", None
    low = t.lower()
    if header and "是否" in header:
        if low in _YES:
            return "owned", None
        if low in _NO:
            return "", f"{header} {t!r}: not owned, but whether rented or purchased is not stated"
    tenure = TENURE_WORDS.get(low)
    if tenure is not None:
        return tenure, None
    return low, f"tenure {t!r} is not owned/rented/purchased; the facility is audited all the same"


@functools.lru_cache(maxsize=4096)
def crs_word(text: str) -> str | None:
    """The coordinate-system code a word names (高德 -> gcj02), or None (then :func:`auditor.geo.crs.parse_crs` decides)."""
    key = re.sub(r"[\s\-_]", "", _fold(text).lower())
    if key in CRS_WORDS:
        return CRS_WORDS[key]
    for suffix in _CRS_SUFFIXES:
        if key.endswith(suffix) and key[: -len(suffix)] in CRS_WORDS:
            return CRS_WORDS[key[: -len(suffix)]]
    return None


# -- coordinates ---------------------------------------------------------------------------------

#: China's rough extent: it decides which number of a pair is the longitude (the two ranges do not overlap)
CN_LON = (73.0, 136.0)
CN_LAT = (3.0, 54.0)

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_EXPONENT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)[eE][+-]?\d+$|^[+-]?(nan|inf|infinity)$", re.IGNORECASE)
_DECIMAL_COMMA = re.compile(r"^[+-]?\d{1,3},\d+$")
_DMS = re.compile(
    r"^(?P<d>\d+(?:\.\d+)?)\s*(?:°|度|º|˚)\s*"
    r"(?:(?P<m>\d+(?:\.\d+)?)\s*(?:'|′|’|‘|分)\s*"
    r"(?:(?P<s>\d+(?:\.\d+)?)\s*(?:\"|″|”|“|''|′′|’’|秒)?\s*)?)?$"
)
_HEMI_PREFIX = re.compile(r"^(东经|西经|北纬|南纬|[EWNSewns])\s*[:：]?\s*(?=[\d.])")
_HEMI_SUFFIX = re.compile(r"\s*([EWNSewns])$")
_HEMI = {"东经": "E", "西经": "W", "北纬": "N", "南纬": "S"}


@dataclass(frozen=True, slots=True)
class Degrees:
    """One coordinate read from text."""

    value: float
    decimals: int | None       # the resolution stated, as decimal places of a degree (None: an exponent form)
    axis: str | None = None    # "lon" or "lat" when a hemisphere letter or word says so
    note: str | None = None    # how it was read, when not plain decimal degrees


def _clean(text: str) -> str:
    t = _fold(text).replace("−", "-").replace("－", "-")
    return t


def parse_degrees(text: str, *, decimal_comma: bool = True) -> Degrees:
    """Read one coordinate; raise ValueError with what is wrong.

    Accepts decimal degrees (``121.5012``, ``121.5°``), an exponent form, a decimal comma
    (``121,5012``: a degree value has no thousands), degrees-minutes-seconds (``121°35'24"``,
    ``121°35.4'``, ``121度35分24秒``) and a hemisphere letter or word (``E121.5``, ``121.5E``,
    ``东经121.5``, ``S`` and ``W`` negative). Full-width digits and signs are read as ASCII.
    """
    plain_ascii = text.strip()
    if plain_ascii.isascii() and _NUMBER.match(plain_ascii):  # the common case, without the rest
        return Degrees(float(plain_ascii), len(plain_ascii.split(".", 1)[1]) if "." in plain_ascii else 0)
    t = _clean(text)
    hemi = None
    m = _HEMI_PREFIX.match(t)
    if m:
        hemi, t = _HEMI.get(m.group(1), m.group(1).upper()), t[m.end():]
    else:
        m = _HEMI_SUFFIX.search(t)
        if m and (t[: m.start()].rstrip()[-1:].isdigit() or t[: m.start()].rstrip()[-1:] in "°'\"′″秒分度"):
            hemi, t = m.group(1).upper(), t[: m.start()]
    t = t.strip()
    if hemi is not None and t[:1] in "+-":
        raise ValueError("both a sign and a hemisphere letter")
    note = None
    plain = t.replace("°", "") if t.endswith("°") and t.count("°") == 1 else t
    if _NUMBER.match(plain):
        value, decimals = float(plain), (len(plain.split(".", 1)[1]) if "." in plain else 0)
    elif _EXPONENT.match(plain):
        value, decimals = float(plain), None
    elif decimal_comma and _DECIMAL_COMMA.match(plain):
        value, decimals = float(plain.replace(",", ".")), len(plain.split(",", 1)[1])
        note = f"{text.strip()!r} read with a decimal comma as {plain.replace(',', '.')}"
    else:
        dms = _DMS.match(t)
        if not dms:
            raise ValueError("not a number of degrees")
        d, mi, se = dms.group("d"), dms.group("m"), dms.group("s")
        minutes = float(mi) if mi else 0.0
        seconds = float(se) if se else 0.0
        if minutes >= 60 or seconds >= 60:
            raise ValueError("minutes and seconds must be below 60")
        value = float(d) + minutes / 60 + seconds / 3600
        # the resolution stated, as the decimal places no finer than it (1" ~ 0.00028 deg -> 3 places)
        if se is not None:
            decimals = int(math.floor(math.log10(3600 * 10 ** (len(se.split(".", 1)[1]) if "." in se else 0))))
        elif mi is not None:
            decimals = int(math.floor(math.log10(60 * 10 ** (len(mi.split(".", 1)[1]) if "." in mi else 0))))
        else:
            decimals = len(d.split(".", 1)[1]) if "." in d else 0
        note = f"{text.strip()!r} read as degrees-minutes-seconds: {value:.6f}"
    axis = None
    if hemi is not None:
        axis = "lon" if hemi in "EW" else "lat"
        if hemi in "WS":
            value = -value
    return Degrees(value, decimals, axis, note)


_SEPARATORS = (";", ",", "/", "、", "|")
_LABEL = re.compile(r"(经度|纬度|longitude|latitude|lon|lng|lat)\s*[:：=]?\s*", re.IGNORECASE)
_LON_LABELS = ("经度", "longitude", "lon", "lng")


def _labelled(t: str) -> list[str] | None:
    """[lon text, lat text] when the cell labels both numbers (经度:121.59 纬度:31.20, lat=31.2;lon=121.6)."""
    pieces = _LABEL.split(t)
    if len(pieces) != 5 or pieces[0].strip(" ,;/|、"):
        return None
    (l1, v1), (l2, v2) = (pieces[1], pieces[2]), (pieces[3], pieces[4])
    first_lon, second_lon = l1.lower() in _LON_LABELS, l2.lower() in _LON_LABELS
    if first_lon == second_lon:
        return None
    v1, v2 = v1.strip(" ,;/|、"), v2.strip(" ,;/|、")
    return [v1, v2] if first_lon else [v2, v1]


def _in(v: float, box: tuple[float, float]) -> bool:
    return box[0] <= v <= box[1]


def parse_lonlat(text: str) -> tuple[float, float, int | None, tuple[str, ...]]:
    """Read a longitude and a latitude from one cell (``121.59,31.20``, ``31.20，121.59``, ``121.59 31.20``,
    ``E121°35'24" N31°12'``, ``经度:121.59 纬度:31.20``): (lon, lat, decimals, notes); raise ValueError.

    Which number is the longitude: labels or hemisphere letters if the cell has them; else the one
    that lies in China's longitude range while the other lies in its latitude range (the ranges do
    not overlap, so inside China this is never in doubt). Outside China a pair that reads both ways
    is refused rather than guessed.
    """
    t = _clean(text)
    t = re.sub(r"^\s*(?:point\s*)?[(\[{（【]\s*|\s*[)\]}）】]\s*$", "", t, flags=re.IGNORECASE).strip()
    labelled_parts = _labelled(t)
    if labelled_parts is not None:
        parts, labelled = labelled_parts, True
    else:
        labelled = False
        parts = []
        for sep in _SEPARATORS:
            if sep in t:
                pieces = [x.strip() for x in t.split(sep)]
                if len(pieces) == 2 and all(pieces):
                    parts = pieces
                    break
                if sep == "," and len(pieces) > 2:
                    continue  # perhaps decimal commas: "121,59 31,20"
        if not parts:
            pieces = t.split()
            if len(pieces) == 2:
                parts = pieces
            elif len(pieces) > 2:
                # DMS written with spaces: "E 121° 35' 24\" N 31° 12'" -> split before the second hemisphere / degree group
                m2 = re.match(r"^(.*?[°度].*?)\s+((?:[NSEW]|北纬|南纬|东经|西经)?\s*\d+(?:\.\d+)?\s*[°度].*)$", t)
                if m2:
                    parts = [m2.group(1).strip(), m2.group(2).strip()]
        if len(parts) != 2:
            raise ValueError("not two numbers (write longitude, latitude: e.g. 121.59,31.20)")
    comma_split = "," in t and not any(("," in p) for p in parts)
    a, b = (parse_degrees(p, decimal_comma=not comma_split) for p in parts)
    notes = [n for n in (a.note, b.note) if n]
    decimals = None if a.decimals is None or b.decimals is None else min(a.decimals, b.decimals)
    if labelled:
        return a.value, b.value, decimals, tuple(notes)
    if a.axis or b.axis:
        if a.axis == b.axis:
            raise ValueError("both numbers carry the same hemisphere (two longitudes or two latitudes)")
        if a.axis == "lat" or b.axis == "lon":
            return b.value, a.value, decimals, tuple(notes)
        return a.value, b.value, decimals, tuple(notes)
    if _in(a.value, CN_LON) and _in(b.value, CN_LAT):
        return a.value, b.value, decimals, tuple(notes)
    if _in(b.value, CN_LON) and _in(a.value, CN_LAT):
        return b.value, a.value, decimals, (*notes, f"{text.strip()!r} read as latitude, longitude (the first number is no longitude in China)")
    a_lat, b_lat = abs(a.value) <= 90, abs(b.value) <= 90
    if a_lat and b_lat and abs(a.value) <= 180 and abs(b.value) <= 180:
        raise ValueError("outside China the order cannot be told (both numbers could be either); label them (E/N) or use separate 经度 and 纬度 columns")
    if b_lat and abs(a.value) <= 180:
        return a.value, b.value, decimals, tuple(notes)
    if a_lat and abs(b.value) <= 180:
        return b.value, a.value, decimals, (*notes, f"{text.strip()!r} read as latitude, longitude (the first number cannot be a latitude)")
    raise ValueError("out of range (longitude -180..180, latitude -90..90)")
