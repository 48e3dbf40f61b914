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

from collections.abc import Sequence
from typing import Any, TypedDict

from auditor.geo.containment import PartRole, Verdict
from auditor.model import EvidenceSource, Facility, LocationClaim
from auditor.regions import Region, Registry
from auditor.resolve.address.parse import AddressParse, AddressParser, parse_address
from auditor.resolve.address.places import PART_KEYWORDS, PLACES, PartKeyword, Place
from auditor.resolve.address.text import MAX_ADDRESS_CHARS, normalise

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

# --- relation to a region ---------------------------------------------------------------------------
def relation_for_parse(parse: AddressParse, region: Region) -> tuple[Verdict, str]:
    """How what an address proves relates to ``region`` (its options applied).

    A recognised part of ``region`` → inside (a part lies wholly in its region). A part of another
    region → as :meth:`~auditor.regions.Region.part_relation` says (by the unit the address proves,
    else the units the part lies in: regions of two programmes overlap), when that decides.
    Otherwise the unit's relation (``region.admin_relation``, given the address text so that a named
    islet voids an island assumption), sharpened by the ambiguous candidates when they all agree
    (南沙区 is Guangzhou or Sansha: outside ``hainan`` either way).
    """
    own = {p.id for p in region.parts if p.role is PartRole.CORE}
    for part in parse.parts:
        if part in own:
            return Verdict.INSIDE, f"the address names {part}, a part of {region.id} (a part lies wholly inside its region)"
    unit_code = parse.unit.adcode if parse.unit is not None else ""
    for part in parse.parts:
        v, why = region.part_relation(part, adcode=unit_code, text=parse.text)
        if v is not Verdict.INDETERMINATE:
            return v, f"the address {why}"
    cands = [u.adcode for u in parse.ambiguous]
    if cands:
        rels = [region.admin_relation(c, text=parse.text) for c in cands]
        verdicts = {v for v, _ in rels}
        if len(verdicts) == 1:
            v = verdicts.pop()
            names = ", ".join(f"{u.adcode} {u.name_zh}" for u in parse.ambiguous)
            return v, f"the address is ambiguous ({names}) but every reading is {v.value} {region.id}"
    if parse.unit is not None:
        v, reason = region.admin_relation(parse.unit.adcode, text=parse.text)
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
