"""Facility and registration addresses → location claims, offline.

:func:`parse_address` reads a Chinese, English/pinyin or mixed address and returns the most
specific administrative unit of the shipped gazetteer (``boundaries/admin-units.csv``) that the
text *proves*, the pilot-region parts it names (Pudong, Lingang, Xiaoyangshan), what it matched
and why it stopped. :class:`AddressResolver` turns facilities' addresses into
:class:`~auditor.model.LocationClaim` objects and :func:`relation_for_parse` says how a parse
relates to a region.

How a name counts (each rule is pinned down by a row of ``tests/fixtures/addresses.csv``):

* The text is NFKC-normalised (full-width forms, ideographic spaces), control and invisible
  format characters (bidi marks, zero-width spaces, BOM) are dropped, and only the first
  :data:`MAX_ADDRESS_CHARS` characters are read.
* **Chinese.** Names are found by leftmost-longest match over every unit's full name (浦东新区),
  its alias forms (浦东, 燕郊) and the part and place names below. A full name of three or more
  characters, which ends in its designation (省 市 区 县 旗 州 盟 ...), counts anywhere. A short
  form counts only at the start of the address (after 中国, 中华人民共和国, 地址, postcodes and
  punctuation) or right after a counted name whose unit contains it (上海浦东, 广东深圳南山). A
  two-character full name (赵县, 城区, 东区) counts only right under a counted parent. A short
  form followed by a street, building or institution word (路 街 大道 巷 弄 站 大厦 银行 大学 ...,
  optionally after 东西南北中 and a number) is a street or building name and never counts:
  上海市黄浦区北京东路 is not Beijing, 南京西路 is not Nanjing, 北京大学深圳医院 is neither. A
  full name loses only to a road word or, for ...市, to 场 (三河市场 is a market); 深圳市中心区 and
  上海市公安局 keep their unit.
* **English/pinyin.** Tokens are matched against each unit's pinyin proper name (the first word
  of the ``pinyin`` column), its English name and its Latin aliases, letters only, apostrophes
  and spaces ignored (Bao'an = Baoan, "Pu Dong" = Pudong). A match counts when a designation
  follows it (District, County, City, Province, New Area, Prefecture, Banner, Qu, Xian, Shi,
  Sheng ...; the designation must fit the unit: "Chaoyang City" is 朝阳市, not 朝阳区), or when it
  is followed by a comma or other separator, the end, a postcode, "China"/"PRC" or another
  counted name. "Beijing Road, Shanghai" is Shanghai; "Nanjing West Road" is nothing.
* **Walk.** Counted names are resolved top-down, province → city → county, whatever their order
  in the text (English runs small to large). At each step the name with the shallowest
  candidate under the current unit is taken; a name with several candidates there is resolved
  by a deeper name under exactly one of them ("Huicheng District, Huizhou": 惠州市, not 徽州区),
  else the walk stops and ``ambiguous`` lists the candidates; ``unit`` is then their deepest
  common ancestor (or the unit reached so far, or None). A county name alone is thus accepted only when it is unique in
  the whole gazetteer. Names that contradict the walk (上海市海淀区) are not dropped: the
  competing units go to ``ambiguous`` and ``unit`` is their common ancestor, if any.
* **Places** that the gazetteer cannot express: 燕郊 (Yanjiao) lies in 三河市 131082 even when
  the address says 北京; 深汕特别合作区 (Shenshan) lies in 海丰县 441521 even when the address says
  深圳 — whether that is in ``shenzhen`` is then the registry's ``include_shenshan`` option;
  大兴国际机场 straddles Beijing and Hebei (110115 / 131003) unless the district is stated.
* **Parts** (:data:`PART_KEYWORDS`). 临港新片区, 南汇新城, Lingang New Area ... name the Lingang
  New Area; 小洋山, 洋山港, Xiaoyangshan, Yangshan Port ... name Xiaoyangshan (administratively
  嵊泗县, Zhejiang, yet in ``shanghai``); 浦东/Pudong names Pudong. **Street-name rule:** a part
  keyword counts only if (1) no street or building word follows it (徐汇区临港路, 临港大道,
  浦东南路, Lingang Avenue are streets), and (2) it agrees with the unit the address proves: that
  unit must contain, or lie in, one of the units the part lies in (Lingang: 浦东 310115, 奉贤
  310120, 闵行 310112; Xiaoyangshan: 嵊泗 330922, and Pudong for the Yangshan port area; Pudong:
  310115). So 上海市徐汇区临港... and 天津市滨海新区临港经济区 do not name Lingang. Names that
  exist nowhere else (临港新片区, 南汇新城, 小洋山, 洋山港) count without any unit; the bare words
  临港/Lingang and 洋山/Yangshan, which other cities use too, need a Shanghai unit that agrees.
  洋山镇 (Yangshan town) and 大洋山 are *not* Xiaoyangshan: the town also holds Dayangshan, which
  the ``lingang-xiaoyangshan`` part excludes (boundaries/PROVENANCE.md §5), so 嵊泗县洋山镇 alone
  stays Shengsi (indeterminate for ``shanghai``).
"""

from __future__ import annotations

import csv
import re
import unicodedata
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from auditor.geo.containment import PartRole, Verdict
from auditor.model import EvidenceSource, Facility, LocationClaim
from auditor.regions import AdminUnit, Region, Registry

__all__ = [
    "MAX_ADDRESS_CHARS",
    "PART_KEYWORDS",
    "PLACES",
    "AddressParse",
    "AddressParser",
    "AddressResolver",
    "PartKeyword",
    "Place",
    "claim_for_parse",
    "normalise",
    "parse_address",
    "relation_for_parse",
]

#: Only this many characters of an address are read (after normalisation).
MAX_ADDRESS_CHARS = 1000


# --- data the gazetteer cannot hold ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Place:
    """A named place that is not an administrative unit: where it lies (one adcode) or which units it straddles."""

    names: tuple[str, ...]
    adcodes: tuple[str, ...]
    note: str


@dataclass(frozen=True, slots=True)
class PartKeyword:
    """Names of a pilot-region part (``part`` None: a name that looks like one but is not)."""

    names: tuple[str, ...]
    part: str | None
    strong: bool  # the name exists nowhere else: it counts without an administrative unit
    hosts: tuple[str, ...]  # units the part lies in; an address's unit must contain or lie in one
    whole_area: bool = False  # names the whole Lingang New Area, not one of its parts
    note: str = ""


_LINGANG_HOSTS = ("310115", "310120", "310112")  # Pudong, Fengxian, Minhang (boundaries/PROVENANCE.md §5)

PLACES: tuple[Place, ...] = (
    Place(
        ("燕郊", "燕郊镇", "燕郊开发区", "燕郊高新区", "燕郊经济技术开发区", "Yanjiao"),
        ("131082",),
        "燕郊 (Yanjiao) is a town of 三河市 (Sanhe, Langfang, Hebei) 131082, not of Beijing, whatever the address calls it",
    ),
    Place(
        ("深汕特别合作区", "深汕合作区", "Shenshan Special Cooperation Zone", "Shenzhen-Shanwei Special Cooperation Zone",
         "Shenzhen Shanwei Special Cooperation Zone", "Shenshan Cooperation Zone"),
        ("441521",),
        "the Shenzhen-Shanwei (Shenshan) Special Cooperation Zone is administered by Shenzhen but lies in 海丰县 "
        "(Haifeng, Shanwei) 441521; whether it counts for shenzhen is the registry's include_shenshan option",
    ),
    Place(
        ("大兴国际机场", "大兴机场", "Daxing International Airport", "Beijing Daxing International Airport", "Daxing Airport"),
        ("110115", "131003"),
        "Beijing Daxing International Airport straddles the Beijing-Hebei line (大兴区 110115 / 广阳区, Langfang 131003)",
    ),
)

PART_KEYWORDS: tuple[PartKeyword, ...] = (
    PartKeyword(("临港新片区", "Lingang New Area", "Lingang Special Area", "Lingang New Zone"), "lingang-main", True,
                _LINGANG_HOSTS, whole_area=True),
    PartKeyword(("临港新城", "南汇新城", "南汇新城镇", "Nanhui New City", "Lingang New City", "Nanhuixincheng"), "lingang-main",
                True, _LINGANG_HOSTS),
    PartKeyword(("临港", "Lingang"), "lingang-main", False, _LINGANG_HOSTS, whole_area=True),
    PartKeyword(("小洋山", "小洋山岛", "洋山港", "洋山港区", "洋山深水港", "洋山保税港区", "洋山特殊综合保税区", "Xiaoyangshan",
                 "Xiao Yangshan", "Yangshan Port", "Yangshan Deep-Water Port", "Yangshan Deepwater Port",
                 "Yangshan Bonded Port Area", "Yangshan Special Comprehensive Bonded Zone"),
                "lingang-xiaoyangshan", True, ("330922", "310115")),
    PartKeyword(("洋山", "Yangshan"), "lingang-xiaoyangshan", False, ("310115",)),
    PartKeyword(("洋山镇", "大洋山", "大洋山岛", "Yangshan Town", "Dayangshan", "Da Yangshan"), None, False, (),
                note="洋山镇 (Yangshan town) also holds 大洋山 (Dayangshan), which is not in the Lingang part "
                     "(boundaries/PROVENANCE.md §5): 小洋山 or 洋山港 would settle it"),
    PartKeyword(("浦东", "Pudong"), "pudong", True, ("310115",)),
)

# --- text rules -------------------------------------------------------------------------------------
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_IS_CJK = re.compile(f"[{_CJK}]")
_HAS_LATIN = re.compile(r"[A-Za-z]")
# Controls become spaces; invisible format characters (soft hyphen, zero-width, bidi controls, BOM,
# interlinear annotation) are removed so that 上\u200b海 still reads 上海.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_INVISIBLE = re.compile(r"[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]")
_SPACES = re.compile(r"\s+")
_SURROGATES = re.compile("[\ud800-\udfff]")
_CJK_GAP = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")  # 上 海 市 → 上海市
# What may precede the first name of a Chinese address.
_ZH_LEAD = re.compile(r"(?:中华人民共和国|中国|注册地址|办公地址|经营地址|通讯地址|联系地址|住所|地址|[^" + _CJK + r"])+")
# After a name: a street, building or institution word (optionally after a direction and a number).
_ZH_STREET = re.compile(
    r"[东西南北中]?[一二三四五六七八九十0-9]*(?:路|街|大道|道|巷|弄|胡同|公路|高速|国道|省道|大桥|桥|隧道|站|码头|"
    r"广场|大厦|大楼|中心|花园|公园|小区|大学|学院|学校|中学|小学|医院|银行|发展银行|宾馆|酒店|饭店|商场|市场|公司|集团|"
    r"研究院|研究所|办事处|分公司|分行|支行)"
)
_ZH_STREET_FULL = re.compile(r"(?<=市)场|[东西南北中]?[一二三四五六七八九十0-9]*(?:路|街|大道|大街|巷|弄|胡同)")
_EN_STREET = frozenset(
    "road rd street st avenue ave av lane ln alley highway hwy expressway boulevard blvd bridge tunnel building bldg "
    "tower plaza mansion center centre hotel university college school hospital bank airlines station square park "
    "garden gardens development mall market metro".split()
)
_EN_COUNTRY = frozenset("china prc pr p peoples people mainland cn zhongguo".split())
_APOSTROPHES = str.maketrans("", "", "'\u2019\u2018`\u00b4")
# One pass over the folded text: words, and the characters that end an English name (a comma ...).
_EN_LEX = re.compile(r"[a-z0-9]+|[,;:()\[\]{}|/\\.!?<>\"#\u3001\u3002\u00b7" + _CJK + "]")

# English designations → the kinds of unit they can stand for (see _designation_kinds).
_EN_DESIGNATIONS: dict[tuple[str, ...], frozenset[str]] = {}
for _words, _kinds in (
    ("district|dist|qu|shiqu", "district newarea"),
    ("new area|new district|xinqu|new zone", "newarea"),
    ("county|xian|autonomous county|zizhixian", "county"),
    ("city|shi|municipality|municipal city", "city"),
    ("province|prov|sheng", "province region"),
    ("autonomous region|zizhiqu|region", "region"),
    ("prefecture|autonomous prefecture|zizhizhou|diqu|zhou", "prefecture"),
    ("banner|qi|autonomous banner|zizhiqi", "banner"),
    ("league|meng", "league"),
    ("sar|special administrative region|tebie xingzhengqu", "sar"),
    ("forestry district|linqu|special district|tequ", "district"),
):
    for _w in _words.split("|"):
        _EN_DESIGNATIONS[tuple(_w.split())] = frozenset(_kinds.split())
_EN_DESIGNATION_MAX = max(len(k) for k in _EN_DESIGNATIONS)
_EN_DESIGNATION_FIRST = frozenset(k[0] for k in _EN_DESIGNATIONS)
# Nationality words that may stand between a name and "Autonomous ..." (Baisha Li Autonomous County).
_EN_ETHNIC = frozenset(
    "li miao zhuang hui yi tujia dong yao bai hani dai kazak kazakh uygur uyghur uighur tibetan zang mongol mongolian "
    "korean manchu man she qiang tu salar bonan dongxiang yugur buyei bouyei shui naxi lisu lahu wa jingpo gelao and "
    "nationality nationalities ethnic".split()
)


def _designation_kinds(name_zh: str, level: str) -> frozenset[str]:
    """What English designations fit a unit, from the end of its Chinese name."""
    for suffix, kinds in (
        ("特别行政区", "sar"), ("自治区", "region"), ("自治州", "prefecture"), ("自治县", "county"), ("自治旗", "banner"),
        ("新区", "newarea district"), ("地区", "prefecture"), ("林区", "district"), ("特区", "district"), ("省", "province"),
        ("市", "city"), ("区", "district"), ("县", "county"), ("旗", "banner"), ("州", "prefecture"), ("盟", "league"),
    ):
        if name_zh.endswith(suffix):
            return frozenset(kinds.split())
    return frozenset()


def normalise(text: object) -> tuple[str, list[str]]:
    """NFKC, controls → spaces, invisible format characters removed, whitespace collapsed, cut to length."""
    notes: list[str] = []
    if text is None:
        return "", notes
    if not isinstance(text, str):
        text = str(text)
    # Lone surrogates (from a bad decode) cannot be normalised or printed: replace them first.
    if not text.isascii():
        text = _SURROGATES.sub("\ufffd", text)
    if len(text) > 4 * MAX_ADDRESS_CHARS:
        text = text[: 4 * MAX_ADDRESS_CHARS]
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", _CONTROLS.sub(" ", text))
    text = _CJK_GAP.sub("", _SPACES.sub(" ", text).strip())
    if len(text) > MAX_ADDRESS_CHARS:
        notes.append(f"address longer than {MAX_ADDRESS_CHARS} characters: only the first {MAX_ADDRESS_CHARS} were read")
        text = text[:MAX_ADDRESS_CHARS]
    return text, notes


def _fold_latin(text: str) -> str:
    """Lower-case, accents removed (ü → u), apostrophes dropped: the text English names are matched in."""
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text.lower().translate(_APOSTROPHES)


def _squash(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", _fold_latin(s))


# --- the gazetteer index ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Unit:
    adcode: str
    name_zh: str
    level: str
    lineage: tuple[str, ...]  # from the province down to the unit itself
    kinds: frozenset[str]


class _Entry:
    """What one lookup key can mean."""

    __slots__ = ("full", "alias", "generic_only", "part", "place", "label")

    def __init__(self, label: str) -> None:
        self.label = label
        self.full: list[str] = []  # units whose full name this is (Chinese)
        self.alias: list[str] = []  # units this is a short form or alias of (Chinese); usable stems (English)
        self.generic_only: list[str] = []  # English: units this stem names only with a designation after it
        self.part: PartKeyword | None = None
        self.place: Place | None = None


@dataclass(slots=True)
class _Match:
    start: int
    end: int
    text: str
    cands: tuple[str, ...]
    full: bool = False  # a Chinese full name, or an English name with its designation
    place: Place | None = None


class _Gazetteer:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        path = Path(registry.root) / "admin-units.csv"
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        parents = {r["adcode"]: r.get("parent_adcode", "") for r in rows}
        self.units: dict[str, _Unit] = {}
        for r in rows:
            code, lineage = r["adcode"], [r["adcode"]]
            while parents.get(lineage[0]):
                lineage.insert(0, parents[lineage[0]])
            level = r.get("level") or ("province" if len(lineage) == 1 else "city" if len(lineage) == 2 else "county")
            self.units[code] = _Unit(code, r["name_zh"], level, tuple(lineage), _designation_kinds(r["name_zh"], level))
        self.depth: dict[str, int] = {c: len(u.lineage) for c, u in self.units.items()}
        self.cjk: dict[str, _Entry] = {}
        self.latin: dict[str, _Entry] = {}
        province_keys: set[str] = set()
        latin_rows = []
        for r in rows:
            code = r["adcode"]
            self._cjk(r["name_zh"]).full.append(code)
            aliases = [a for a in r.get("aliases", "").split("|") if a]
            for a in aliases:
                if _IS_CJK.search(a):
                    self._cjk(a).alias.append(code)
            short_usable = bool(r.get("short_zh")) and r["short_zh"] in aliases
            is_province = self.units[code].level == "province"
            pinyin = [p for p in r.get("pinyin", "").split("|") if p]
            stems: list[str] = []
            if pinyin:
                words = pinyin[0].split()
                # A unit with no short form (赵县 Zhao Xian) is reachable only with its designation; the
                # 市辖区 rows and other multi-designation names without a short form not at all.
                if r.get("short_zh") or len(words) <= 2:
                    stems.append(words[0])
                stems += [_strip_en_designation(p) for p in pinyin[1:]]
            if r.get("name_en"):
                stems.append(_strip_en_designation(r["name_en"]))
            stems += [_strip_en_designation(a) for a in aliases if not _IS_CJK.search(a)]
            stems += [s.replace("ü", "v") for s in stems if "ü" in s]  # Lüliang is also typed Lvliang
            keys = sorted({k for k in (_squash(s) for s in stems) if k})
            if is_province:
                province_keys |= set(keys)
            latin_rows.append((code, keys, short_usable or is_province))
        for code, keys, standalone in latin_rows:
            for k in keys:
                e = self._latin(k)
                if standalone and (self.units[code].level == "province" or k not in province_keys):
                    e.alias.append(code)
                else:
                    e.generic_only.append(code)
        for place in PLACES:
            if all(c in self.units for c in place.adcodes):
                for n in place.names:
                    (self._cjk(n) if _IS_CJK.search(n) else self._latin(_squash(n))).place = place
        for kw in PART_KEYWORDS:
            for n in kw.names:
                (self._cjk(n) if _IS_CJK.search(n) else self._latin(_squash(n))).part = kw
        # A full name that contains a part keyword names the part too (浦东新区 → pudong).
        keywords = sorted(((n, kw) for kw in PART_KEYWORDS for n in kw.names if _IS_CJK.search(n)), key=lambda t: -len(t[0]))
        for key, e in self.cjk.items():
            if e.part is None and e.full:
                for n, kw in keywords:
                    if n in key:
                        e.part = kw
                        break
        self.cjk_lengths: dict[str, tuple[int, ...]] = {}
        for key in self.cjk:
            self.cjk_lengths.setdefault(key[0], ())
            self.cjk_lengths[key[0]] = tuple(sorted(set(self.cjk_lengths[key[0]]) | {len(key)}, reverse=True))
        self.latin_max_tokens = 6
        self.latin_prefixes = frozenset(k[:i] for k in self.latin for i in range(1, len(k) + 1))
        self._regex: re.Pattern[str] | None = None

    def _cjk(self, key: str) -> _Entry:
        e = self.cjk.get(key)
        if e is None:
            e = self.cjk[key] = _Entry(key)
        return e

    def _latin(self, key: str) -> _Entry:
        e = self.latin.get(key)
        if e is None:
            e = self.latin[key] = _Entry(key)
        return e

    # -- Chinese scanning: two interchangeable index structures (benchmarks/address.py measures both)

    def scan_cjk_dict(self, text: str) -> list[tuple[int, int, _Entry]]:
        """Leftmost-longest matches, by a dict of key lengths per first character."""
        out = []
        i, n = 0, len(text)
        lengths, cjk = self.cjk_lengths, self.cjk
        while i < n:
            lens = lengths.get(text[i])
            if lens:
                for ln in lens:
                    if i + ln <= n:
                        e = cjk.get(text[i : i + ln])
                        if e is not None:
                            out.append((i, i + ln, e))
                            i += ln
                            break
                else:
                    i += 1
            else:
                i += 1
        return out

    def scan_cjk_regex(self, text: str) -> list[tuple[int, int, _Entry]]:
        """Leftmost-longest matches, by one regular expression built as a trie of every key."""
        if self._regex is None:
            self._regex = re.compile(_trie_regex(self.cjk))
        cjk = self.cjk
        return [(m.start(), m.end(), cjk[m.group()]) for m in self._regex.finditer(text)]


def _strip_en_designation(form: str) -> str:
    """'Pudong New Area' → 'Pudong'; 'Hong Kong SAR' → 'Hong Kong'; 'Pudong Xinqu' → 'Pudong'."""
    words = _fold_latin(form).split()
    while len(words) > 1:
        for k in range(min(_EN_DESIGNATION_MAX, len(words) - 1), 0, -1):
            if tuple(words[-k:]) in _EN_DESIGNATIONS:
                words = words[:-k]
                break
        else:
            break
    return " ".join(words)


def _trie_regex(keys: Iterable[str]) -> str:
    """A regex matching exactly ``keys``, longest first at every branch (so finditer is leftmost-longest)."""
    trie: dict = {}
    for k in keys:
        node = trie
        for ch in k:
            node = node.setdefault(ch, {})
        node[""] = True

    def build(node: dict) -> str:
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


_GAZETTEERS: weakref.WeakKeyDictionary[Registry, _Gazetteer] = weakref.WeakKeyDictionary()


def _gazetteer(registry: Registry) -> _Gazetteer:
    g = _GAZETTEERS.get(registry)
    if g is None:
        g = _GAZETTEERS[registry] = _Gazetteer(registry)
    return g


# --- the parse --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AddressParse:
    """What an address proves.

    ``unit`` is the most specific administrative unit proven (None if none), ``level`` its level
    (province, city, county); ``matched`` the names used, top-down, then the part names used;
    ``parts`` the pilot-region part ids named (``pudong``, ``lingang-main``,
    ``lingang-xiaoyangshan``); ``ambiguous`` the competing units when the walk had to stop
    (``unit`` is then their common ancestor); ``notes`` why names were or were not used.
    """

    text: str
    unit: AdminUnit | None
    level: str | None
    matched: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    ambiguous: tuple[AdminUnit, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def resolved(self) -> bool:
        """Whether the address says anything the auditor can use (a unit, a part or candidates)."""
        return self.unit is not None or bool(self.parts) or bool(self.ambiguous)


class AddressParser:
    """A parser bound to a registry's gazetteer; ``scanner`` is ``"dict"`` (default) or ``"regex"``."""

    def __init__(self, registry: Registry, scanner: str = "dict") -> None:
        if scanner not in ("dict", "regex"):
            raise ValueError(f"scanner must be 'dict' or 'regex', not {scanner!r}")
        self.registry = registry
        self.g = _gazetteer(registry)
        self._scan = self.g.scan_cjk_dict if scanner == "dict" else self.g.scan_cjk_regex

    # -- helpers
    def _name(self, code: str) -> str:
        u = self.g.units.get(code)
        return f"{code} {u.name_zh}" if u else code

    def _under(self, code: str, context: str | None) -> bool:
        """``code`` lies strictly under ``context`` (anything does under None)."""
        return context is None or (code != context and context in self.g.units[code].lineage)

    def _common_ancestor(self, codes: Iterable[str]) -> str | None:
        lineages = [self.g.units[c].lineage for c in codes]
        if not lineages:
            return None
        common = None
        for level in zip(*lineages):
            if all(x == level[0] for x in level):
                common = level[0]
            else:
                break
        return common

    # -- scanning
    def _chinese(self, text: str, notes: list[str]) -> tuple[list[_Match], list[tuple[_Match, PartKeyword]]]:
        matches: list[_Match] = []
        parts: list[tuple[_Match, PartKeyword]] = []
        first = _IS_CJK.search(text)
        if first is None:
            return matches, parts
        lead = _ZH_LEAD.match(text, first.start())
        anchor = lead.end() if lead else first.start()
        prev: _Match | None = None
        for start, end, e in self._scan(text):
            # A full name (浦东新区, 深圳市) is followed by anything in a real address (深圳市中心区,
            # 上海市公安局): only a road word, or 场 after 市 (三河市场 is a market), makes it a street name.
            street = (_ZH_STREET_FULL if e.full and len(e.label) >= 3 else _ZH_STREET).match(text, end)
            if e.part is not None:
                m = _Match(start, end, e.label, ())
                if street is None:
                    parts.append((m, e.part))
                elif e.part.part and not (e.full or e.alias):
                    notes.append(f"{e.label} is followed by {text[end:street.end()]!r}: a street or building name, not the part {e.part.part}")
            if e.place is not None:
                if street is None:
                    m = _Match(start, end, e.label, e.place.adcodes, full=True, place=e.place)
                    matches.append(m)
                    prev = m
                continue
            if not (e.full or e.alias):
                continue
            if street is not None:
                notes.append(f"{e.label} is followed by {text[end:street.end()]!r}: read as a street or building name, "
                             f"not as a {'part or ' if e.part and e.part.part else ''}unit")
                continue
            full = len(e.label) >= 3 and bool(e.full)
            if full:
                m = _Match(start, end, e.label, tuple(dict.fromkeys(e.full + e.alias)), full=True)
            else:
                cands = tuple(dict.fromkeys(e.full + e.alias))
                below_prev = prev is not None and any(self._under(c, p) for c in cands for p in prev.cands)
                adjacent = prev is not None and text[prev.end : start].strip(" ,，、()（）-/") == ""
                if e.full and not e.alias:  # a two-character full name (赵县, 城区): only right under its parent
                    ok = below_prev
                else:
                    ok = start == anchor or (adjacent and below_prev)
                if not ok:
                    continue
                m = _Match(start, end, e.label, cands)
            matches.append(m)
            prev = m
        return matches, parts

    def _latin(self, text: str, notes: list[str]) -> tuple[list[_Match], list[tuple[_Match, PartKeyword]]]:
        low = _fold_latin(text)
        toks: list[str] = []  # words; English matches are placed by word index
        hard_after: list[bool] = []
        for w in _EN_LEX.findall(low):
            if w[0] < "\x80" and w[0].isalnum():
                toks.append(w)
                hard_after.append(False)
            elif hard_after:
                hard_after[-1] = True
        n = len(toks)
        if n:
            hard_after[-1] = True
        raw: list[tuple[int, int, _Entry, frozenset[str] | None, int]] = []  # (tok start, tok end, entry, designation kinds, end incl. designation)
        k = 0
        latin, prefixes = self.g.latin, self.g.latin_prefixes
        while k < n:
            w = toks[k]
            if w not in prefixes:
                k += 1
                continue
            found = None
            key = ""
            for j in range(k, min(n, k + self.g.latin_max_tokens)):
                key += toks[j]
                if key not in prefixes:
                    break
                e = latin.get(key)
                if e is not None:
                    found = (j + 1, e)
                if hard_after[j]:
                    break
            if found is None:
                k += 1
                continue
            j_end, e = found
            kinds, d_end = self._designation(toks, hard_after, k, j_end)
            raw.append((k, j_end, e, kinds, d_end))
            k = d_end
        matches: list[_Match] = []
        parts: list[tuple[_Match, PartKeyword]] = []
        accepted_starts: set[int] = set()
        for k, _j_end, e, kinds, d_end in reversed(raw):
            label = " ".join(toks[k:d_end])
            nxt = toks[d_end] if d_end < n else None
            streetish = nxt in _EN_STREET and not hard_after[d_end - 1]
            if e.part is not None:
                if not streetish:
                    parts.append((_Match(k, d_end, label, ()), e.part))
                elif e.part.part and not (e.alias or e.generic_only):
                    notes.append(f"{label!r} is followed by {nxt!r}: a street or building name, not the part {e.part.part}")
            if e.place is not None:
                if not streetish:
                    matches.append(_Match(k, d_end, label, e.place.adcodes, full=True, place=e.place))
                    accepted_starts.add(k)
                continue
            if kinds is not None:
                pool = e.alias + e.generic_only
                fit = tuple(c for c in pool if self.g.units[c].kinds & kinds)
                cands = fit or tuple(e.alias)
                full = bool(fit)
            else:
                cands, full = tuple(e.alias), False
            if not cands:
                continue
            bounded = (
                kinds is not None
                or hard_after[d_end - 1]
                or nxt is None
                or (nxt.isdigit() and len(nxt) in (5, 6))
                or nxt in _EN_COUNTRY
                or d_end in accepted_starts
            )
            if not bounded:
                if streetish or nxt is not None:
                    notes.append(f"{label!r} is followed by {nxt!r}, not by a designation, comma or the end: not read as a place name")
                continue
            matches.append(_Match(k, d_end, label, tuple(dict.fromkeys(cands)), full=full))
            accepted_starts.add(k)
        matches.reverse()
        parts.reverse()
        return matches, parts

    def _designation(self, toks, hard_after, k: int, j_end: int) -> tuple[frozenset[str] | None, int]:
        """An English designation right after tokens k..j_end (nationality words allowed before 'Autonomous')."""
        n = len(toks)
        if (j_end > k and hard_after[j_end - 1]) or j_end >= n or (toks[j_end] not in _EN_DESIGNATION_FIRST and toks[j_end] not in _EN_ETHNIC):
            return None, j_end
        starts = [j_end]
        j = j_end
        while j < n and j - j_end < 4 and toks[j] in _EN_ETHNIC and not hard_after[j]:
            j += 1
            starts.append(j)
        for s in starts:
            for size in range(min(_EN_DESIGNATION_MAX, n - s), 0, -1):
                words = tuple(toks[s : s + size])
                if words in _EN_DESIGNATIONS and not any(hard_after[s + q] for q in range(size - 1)):
                    if s > j_end and not (words[0].startswith("autonomous") or words[0].startswith("zizhi")):
                        continue
                    return _EN_DESIGNATIONS[words], s + size
        return None, j_end

    # -- resolution
    def _walk(self, matches: list[_Match], notes: list[str]):
        """Top-down walk; returns (context, chain matches, competing units)."""
        units = self.g.units
        context: str | None = None
        chain: list[_Match] = []
        remaining = [m for m in matches if m.place is None]
        competing: list[str] = []
        # Fast path (most addresses): every name has one candidate and they form one line of descent.
        if remaining and all(len(m.cands) == 1 for m in remaining):
            line = sorted(remaining, key=lambda m: len(units[m.cands[0]].lineage))
            deepest = units[line[-1].cands[0]].lineage
            if all(m.cands[0] in deepest for m in line):
                seen: set[str] = set()
                for m in line:
                    if m.cands[0] not in seen:
                        seen.add(m.cands[0])
                        chain.append(m)
                return line[-1].cands[0], chain, competing
        depth = self.g.depth
        while remaining:
            opts = []
            top = 99
            for m in remaining:
                under: Sequence[str]
                if context is None:
                    under = m.cands
                else:
                    under = [c for c in m.cands if c != context and context in units[c].lineage]
                if under:
                    d = min(depth[c] for c in under)
                    opts.append((m, under, d))
                    top = min(top, d)
            if not opts:
                break
            tier = [(m, u) for m, u, d in opts if d == top]
            common = set(tier[0][1]).intersection(*(set(u) for _, u in tier[1:]))
            chosen: str | None = None
            if len(common) == 1:
                chosen = next(iter(common))
            else:
                pool = sorted(common) if common else sorted({c for _, u in tier for c in u})
                tier_ids = {id(m) for m, _ in tier}
                others = [x for x in remaining if id(x) not in tier_ids]
                supported = [c for c in pool if any(any(self._under(d, c) for d in x.cands) for x in others)]
                if len(tier) == 1 and len(supported) == 1:
                    chosen = supported[0]
                    notes.append(f"{tier[0][0].text} could be {', '.join(self._name(c) for c in pool)}; "
                                 f"{self._name(chosen)} because the address also names a place in it")
                else:
                    amb = supported if len(supported) > 1 else pool
                    anc = self._common_ancestor(amb)
                    if anc is not None and anc in amb:  # nested readings: only the outer one is proven
                        chosen = anc
                        notes.append(f"{tier[0][0].text} could be {', '.join(self._name(c) for c in amb)}; only {self._name(anc)} is proven")
                    else:
                        what = "names" if len(tier) > 1 else f"{tier[0][0].text} is ambiguous:"
                        notes.append(f"{what} {', '.join(self._name(c) + self._where(c) for c in amb)}"
                                     f"{' contradict each other' if len(tier) > 1 else ''}; the walk stops at "
                                     f"{self._name(context) if context else 'no unit'}")
                        competing = list(amb)
                        break
            context = chosen
            chain.append(tier[0][0])
            lineage = units[chosen].lineage
            remaining = [x for x in remaining if not any(c in lineage for c in x.cands)]
        if not competing and context is not None:
            for x in remaining:
                if not any(context in units[c].lineage or c in units[context].lineage for c in x.cands):
                    notes.append(f"{x.text} ({', '.join(self._name(c) for c in x.cands[:4])}) contradicts "
                                 f"{self._name(context)}: both kept as candidates")
                    chain.append(x)
                    competing = sorted(set(competing or [context]) | set(x.cands))
        return context, chain, competing

    def _where(self, code: str) -> str:
        lineage = self.g.units[code].lineage
        if len(lineage) < 2:
            return ""
        parent = self.g.units[lineage[-2]]
        if parent.name_zh.endswith("市辖区") and len(lineage) > 2:  # 北京市市辖区 → 北京市
            parent = self.g.units[lineage[-3]]
        return f" (in {parent.name_zh})"

    def parse(self, text: object) -> AddressParse:
        original = "" if text is None else text if isinstance(text, str) else str(text)
        norm, notes = normalise(original)
        if not norm:
            return AddressParse(original, None, None, notes=tuple(notes + ["empty address"]))
        matches: list[_Match] = []
        part_hits: list[tuple[_Match, PartKeyword]] = []
        if _IS_CJK.search(norm):
            m, p = self._chinese(norm, notes)
            matches += m
            part_hits += p
        if _HAS_LATIN.search(norm):
            m, p = self._latin(norm, notes)
            matches += m
            part_hits += p
        context, chain, competing = self._walk(matches, notes)
        units = self.g.units

        # Places the gazetteer cannot express.
        places = [m for m in matches if m.place is not None]
        place_kinds = {m.place for m in places if m.place is not None}
        if len(place_kinds) > 1:
            notes.append("the address names places that exclude each other: " + ", ".join(sorted(p.names[0] for p in place_kinds)))
            competing = sorted({c for p in place_kinds for c in p.adcodes} | set(competing))
        elif place_kinds:
            place = next(iter(place_kinds))
            pm = next(m for m in places)
            if len(place.adcodes) == 1:
                code = place.adcodes[0]
                agree = [x for x in chain if any(c in units[code].lineage for c in x.cands)]
                dropped = [x.text for x in chain if x not in agree]
                if dropped:
                    notes.append(f"{', '.join(dropped)} in the address not used: {place.note}")
                else:
                    notes.append(place.note)
                context, chain, competing = code, agree + [pm], []
            else:
                explicit = context in place.adcodes and any(m.full and context in m.cands for m in chain)
                if explicit:
                    notes.append(f"{place.note}; the address states {self._name(context)}")
                else:
                    notes.append(place.note)
                    competing = list(place.adcodes)
                    chain.append(pm)

        ambiguous: tuple[str, ...] = ()
        if competing:
            ambiguous = tuple(sorted(set(competing)))
            context = self._common_ancestor(ambiguous)
            if context in ambiguous:
                ambiguous = tuple(c for c in ambiguous if c != context)
        if not matches and not part_hits:
            notes.append("no administrative unit or pilot-region part recognised")

        # Parts.
        parts: list[str] = []
        used_parts: list[str] = []
        main_named = False  # lingang-main named by a name of the mainland part itself (南汇新城), not of the whole area
        for hit, kw in part_hits:
            if kw.part is None:
                notes.append(f"{hit.text}: {kw.note}")
                continue
            if context is None:
                ok = kw.strong and not ambiguous
                why = "without a unit that agrees with it, it is also a name used elsewhere" if not kw.strong else "the address's units contradict each other"
            else:
                ok = any(h in units[context].lineage or (h in units and context in units[h].lineage) for h in kw.hosts)
                why = f"{self._name(context)} is not where the part lies"
            if ok:
                if kw.part not in parts:
                    parts.append(kw.part)
                used_parts.append(hit.text)
                if kw.part == "lingang-main" and not kw.whole_area:
                    main_named = True
            else:
                notes.append(f"{hit.text} not read as the part {kw.part}: {why}")
        if "lingang-main" in parts and "lingang-xiaoyangshan" in parts and not main_named:
            parts.remove("lingang-main")
        if "lingang-main" in parts and not main_named:
            notes.append("the address names the Lingang New Area as a whole: reported as lingang-main (the mainland part); "
                         "both Lingang parts lie wholly in shanghai")
        order = {p: i for i, p in enumerate(("pudong", "lingang-main", "lingang-xiaoyangshan"))}
        parts.sort(key=lambda p: order.get(p, 99))

        unit = self.registry.units.get(context) if context else None
        level = units[context].level if context else None
        matched = tuple(dict.fromkeys([m.text for m in sorted(chain, key=lambda m: len(units[m.cands[0]].lineage) if m.cands else 9)] + used_parts))
        amb_units = tuple(self.registry.units[c] for c in ambiguous if c in self.registry.units)
        return AddressParse(original, unit, level, matched, tuple(parts), amb_units, tuple(dict.fromkeys(notes)))


_PARSERS: weakref.WeakKeyDictionary[Registry, AddressParser] = weakref.WeakKeyDictionary()


def parse_address(text: str, registry: Registry) -> AddressParse:
    """Parse one address against ``registry``'s gazetteer (the index is built once per registry)."""
    p = _PARSERS.get(registry)
    if p is None:
        p = _PARSERS[registry] = AddressParser(registry)
    return p.parse(text)


# --- relation to a region ---------------------------------------------------------------------------
_PART_CACHE: weakref.WeakKeyDictionary[Registry, dict] = weakref.WeakKeyDictionary()


def _part_overlaps(registry: Registry, part_id: str, region: Region) -> tuple[str | None, bool]:
    """(the region whose part ``part_id`` is, whether that part overlaps ``region``'s parts), cached."""
    cache = _PART_CACHE.setdefault(registry, {})
    key = (part_id, region.id, region.options_key)
    if key not in cache:
        owner, geom = None, None
        for rid in registry.region_ids:
            for p in registry.region(rid).parts:
                if p.id == part_id and owner is None:
                    owner, geom = rid, p.geometry
        overlaps = geom is not None and any(geom.intersects(p.geometry) for p in region.parts)
        cache[key] = (owner, overlaps)
    return cache[key]


def relation_for_parse(parse: AddressParse, region: Region) -> tuple[Verdict, str]:
    """How what an address proves relates to ``region`` (its options applied).

    A recognised part of ``region`` → inside (a part lies wholly in its region). A part of another
    region → outside when that part does not overlap ``region``. Otherwise the unit's relation
    (``region.admin_relation``: from the shared-line admin table), sharpened by the ambiguous
    candidates when they all agree (南沙区 is Guangzhou or Sansha: outside ``hainan`` either way).
    """
    own = {p.id for p in region.parts if p.role is PartRole.CORE}
    for part in parse.parts:
        if part in own:
            return Verdict.INSIDE, f"the address names {part}, a part of {region.id} (a part lies wholly inside its region)"
    for part in parse.parts:
        owner, overlaps = _part_overlaps(region.registry, part, region)
        if owner is not None and not overlaps:
            return Verdict.OUTSIDE, f"the address names {part}, a part of {owner}, which does not overlap {region.id}"
    cands = [u.adcode for u in parse.ambiguous]
    if cands:
        rels = [region.admin_relation(c) for c in cands]
        verdicts = {v for v, _ in rels}
        if len(verdicts) == 1:
            v = verdicts.pop()
            names = ", ".join(f"{u.adcode} {u.name_zh}" for u in parse.ambiguous)
            return v, f"the address is ambiguous ({names}) but every reading is {v.value} {region.id}"
    if parse.unit is not None:
        v, reason = region.admin_relation(parse.unit.adcode)
        if v is Verdict.INDETERMINATE:
            reason += "; coordinates or a more specific address would settle it"
        if cands:
            reason += f" (candidates: {', '.join(u.adcode + ' ' + u.name_zh for u in parse.ambiguous)})"
        return v, reason
    if cands:
        return Verdict.INDETERMINATE, (
            f"the address is ambiguous ({', '.join(u.adcode + ' ' + u.name_zh for u in parse.ambiguous)}) and the readings "
            f"disagree about {region.id}; coordinates or the city/province would settle it"
        )
    return Verdict.INDETERMINATE, "the address names no administrative unit or pilot-region part the gazetteer knows; coordinates would settle it"


# --- the resolver -----------------------------------------------------------------------------------
class AddressResolver:
    """Location claims from facilities' ``address`` column (offline; the gazetteer only)."""

    name = EvidenceSource.ADDRESS.value

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.parser = AddressParser(registry)

    def parse(self, text: str) -> AddressParse:
        return self.parser.parse(text)

    def claims(self, facilities: Sequence[Facility]) -> list[LocationClaim]:
        out: list[LocationClaim] = []
        for f in facilities:
            if f.errors or not (f.address or "").strip():
                continue
            out.append(claim_for_parse(f.id, self.parser.parse(f.address)))
        return out


class _ClaimBase(TypedDict):
    """The fields every address claim shares (passed as ``**base`` to :class:`LocationClaim`)."""

    id: str
    subject: str
    source: EvidenceSource
    original: dict[str, Any]


def claim_for_parse(subject: str, parse: AddressParse) -> LocationClaim:
    """The claim an address makes: a Lingang part, else the unit, else a part, else unresolved."""
    notes = list(parse.notes)
    if parse.matched:
        notes.insert(0, "matched: " + " → ".join(parse.matched))
    if parse.parts:
        notes.append("parts named: " + ", ".join(parse.parts))
    base = _ClaimBase(id=f"{subject}#address", subject=subject, source=EvidenceSource.ADDRESS, original={"address": parse.text})
    lingang = [p for p in parse.parts if p.startswith("lingang")]
    pudong_unit = parse.unit is not None and parse.unit.adcode == "310115"
    if lingang or (parse.parts and not pudong_unit):
        label = (lingang or list(parse.parts))[-1]
        return LocationClaim(kind="region_part", label=label, adcode=parse.unit.adcode if parse.unit else "",
                             notes=tuple(notes), **base)
    if parse.unit is not None:
        u = parse.unit
        return LocationClaim(kind="admin_unit", adcode=u.adcode, label=" ".join(x for x in (u.name_zh, u.name_en) if x) or u.adcode,
                             notes=tuple(notes), **base)
    if parse.ambiguous:
        notes.append("ambiguous: " + ", ".join(f"{u.adcode} {u.name_zh}" for u in parse.ambiguous))
    return LocationClaim(kind="unresolved", notes=tuple(notes) or ("no administrative unit recognised",), **base)
