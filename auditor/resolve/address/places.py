"""Places the gazetteer cannot hold: pilot-region parts named in addresses (临港新片区, 小洋山, 浦东) and the keywords that name them."""


from __future__ import annotations

from dataclasses import dataclass


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
