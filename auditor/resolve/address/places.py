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
    # Of several units, the one a unit named in the address lies in (深圳 → the Futian side of
    # Hetao, 香港 → the Hong Kong side). False where addresses name the wrong city as a rule
    # (the Hebei side of Daxing airport is addressed as 北京): only the district decides there.
    named_unit_decides: bool = False


@dataclass(frozen=True, slots=True)
class PartKeyword:
    """Names of a pilot-region part (``part`` None: a name that looks like one but is not)."""

    names: tuple[str, ...]
    part: str | None
    strong: bool  # the name exists nowhere else: it counts without an administrative unit
    hosts: tuple[str, ...]  # units the part lies in; an address's unit must contain or lie in one
    whole_area: bool = False  # names the whole Lingang New Area, not one of its parts
    note: str = ""


# The Lingang New Area lies in Pudong and Fengxian, and (Xiaoyangshan) in Shengsi: the parts are
# clipped to those units (issue 19, boundaries/PROVENANCE.md §5), so an address in Minhang (浦江镇)
# naming 临港 does not name Lingang. The whole-area names also host Shengsi; the mainland part's own
# names do not.
_LINGANG_MAIN_HOSTS = ("310115", "310120")       # Pudong, Fengxian
_LINGANG_HOSTS = (*_LINGANG_MAIN_HOSTS, "330922")  # and Shengsi (Xiaoyangshan)

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
    # Development and cooperation zones (issue 19, item 8), with the units they lie in.
    Place(
        ("洋浦经济开发区", "洋浦开发区", "洋浦经开区", "洋浦保税港区", "Yangpu Economic Development Zone", "Yangpu Development Zone",
         "Yangpu Bonded Port Area"),
        ("460400",),
        "洋浦经济开发区 (Yangpu Economic Development Zone) lies in 儋州市 (Danzhou) 460400, on the Yangpu peninsula of "
        "Hainan Island, not on Danzhou's island (海花岛)",
    ),
    Place(
        ("北京经济技术开发区", "北京经济技术开发区（亦庄）", "北京经开区", "亦庄经济技术开发区", "亦庄经济开发区", "亦庄开发区", "亦庄新城", "亦庄",
         "Beijing Economic-Technological Development Area", "Beijing Economic and Technological Development Area",
         "Beijing Economic-Technological Development Zone", "Yizhuang Economic-Technological Development Area",
         "Yizhuang Development Zone", "Yizhuang"),
        ("110115", "110112"),
        "北京经济技术开发区 (Yizhuang) lies in 大兴区 (Daxing) 110115 and 通州区 (Tongzhou) 110112, both in Beijing",
    ),
    Place(
        ("亦庄镇", "Yizhuang Town"),
        ("110115",),
        "亦庄镇 (Yizhuang town) is a town of 大兴区 (Daxing) 110115",
    ),
    Place(
        # not the bare 前海: Beijing's 什刹海 has a lake of that name (北京市西城区前海东沿)
        ("前海深港现代服务业合作区", "前海深港合作区", "前海合作区", "前海自贸片区", "前海蛇口自贸片区",
         "Qianhai Shenzhen-Hong Kong Modern Service Industry Cooperation Zone", "Qianhai Cooperation Zone"),
        ("440305", "440306"),
        "the Qianhai cooperation zone lies in 南山区 (Nanshan) 440305 and, since its extension of 2021-09-06 (from 14.92 to "
        "120.56 km², 《全面深化前海深港现代服务业合作区改革开放方案》), in 宝安区 (Bao'an) 440306 too",
    ),
    Place(
        ("河套深港科技创新合作区", "深港科技创新合作区", "河套合作区", "河套地区深港科技创新合作区",
         "Hetao Shenzhen-Hong Kong Science and Technology Innovation Cooperation Zone",
         "Shenzhen-Hong Kong Science and Technology Innovation Cooperation Zone", "Hetao Cooperation Zone"),
        ("440304", "810000"),
        "the Hetao Shenzhen-Hong Kong science and technology cooperation zone has a Shenzhen park in 福田区 (Futian) "
        "440304 and a Hong Kong park (the Lok Ma Chau Loop) in Hong Kong 810000: the side is what the address says",
        named_unit_decides=True,
    ),
    Place(
        ("落马洲河套", "落马洲河套区", "港深创新及科技园", "Lok Ma Chau Loop", "Hong Kong-Shenzhen Innovation and Technology Park"),
        ("810000",),
        "the Lok Ma Chau Loop (落马洲河套) is the Hong Kong park of the Hetao cooperation zone, in Hong Kong 810000",
    ),
)

PART_KEYWORDS: tuple[PartKeyword, ...] = (
    PartKeyword(("临港新片区", "Lingang New Area", "Lingang Special Area", "Lingang New Zone"), "lingang-main", True,
                _LINGANG_HOSTS, whole_area=True),
    PartKeyword(("临港新城", "南汇新城", "南汇新城镇", "Nanhui New City", "Lingang New City", "Nanhuixincheng"), "lingang-main",
                True, _LINGANG_MAIN_HOSTS),
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
    # Zones of Pudong (issue 19, item 8): names found nowhere else count alone; the bare words need a
    # Shanghai unit that agrees.
    PartKeyword(("外高桥保税区", "外高桥保税物流园区", "外高桥港区", "外高桥自贸区", "Waigaoqiao Free Trade Zone",
                 "Waigaoqiao Bonded Zone", "Waigaoqiao Bonded Area"), "pudong", True, ("310115",),
                note="外高桥 (Waigaoqiao) lies in Pudong"),
    PartKeyword(("外高桥", "外高桥镇", "Waigaoqiao"), "pudong", False, ("310115",), note="外高桥 (Waigaoqiao) lies in Pudong"),
    PartKeyword(("张江高科技园区", "张江科学城", "张江镇", "张江科技园", "Zhangjiang Hi-Tech Park", "Zhangjiang High-Tech Park",
                 "Zhangjiang Science City"), "pudong", True, ("310115",), note="张江 (Zhangjiang) lies in Pudong"),
    PartKeyword(("张江", "Zhangjiang"), "pudong", False, ("310115",), note="张江 (Zhangjiang) lies in Pudong"),
    PartKeyword(("张江高新区", "张江高新技术产业开发区", "张江国家自主创新示范区", "Zhangjiang National Innovation Demonstration Zone"),
                None, False, (),
                note="the Zhangjiang national high-tech zone (张江高新区) has parks in many districts of Shanghai, not only "
                     "Pudong: the district decides"),
    # Yangpu (洋浦) is on Hainan Island: the Yangpu peninsula of Danzhou, whose island (海花岛) it is not.
    PartKeyword(("洋浦经济开发区", "洋浦开发区", "洋浦经开区", "洋浦保税港区", "Yangpu Economic Development Zone",
                 "Yangpu Development Zone", "Yangpu Bonded Port Area"), "hainan-island", True, ("460400",),
                note="洋浦 (Yangpu) is on the Yangpu peninsula of Hainan Island"),
    PartKeyword(("洋浦", "洋浦港", "Yangpu", "Yangpu Port"), "hainan-island", False, ("460400",),
                note="洋浦 (Yangpu) is on the Yangpu peninsula of Hainan Island"),
)
