"""Text rules for addresses: normalisation (width, controls, invisible characters, spacing), CJK and Latin folding, street and designation patterns."""


from __future__ import annotations

import re
import unicodedata

#: Only this many characters of an address are read (after normalisation).
MAX_ADDRESS_CHARS = 1000


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
