"""Did you mean: administrative-unit names a facility list states (province / city / district
columns), checked against the shipped gazetteer, with the units one slip away.

A name the gazetteer does not hold where the row puts it is never taken silently: the row gets a
warning, and, when a unit's name is one edit away (朝杨区 → 朝阳区) or sounds the same in pinyin
(a homophone picked from the input method's list, the commonest slip in typed Chinese), the
warning names it. Suggestions stay inside the unit the row's other columns prove (a district under
its province), so 朝杨区 under 北京市 suggests 朝阳区 (110105) and not Changchun's or Shantou's.

Pinyin comes from pypinyin (MIT), a runtime dependency for this reason: the gazetteer holds
each unit's pinyin, but a misspelt name's pinyin has to be computed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

from auditor.editdistance import edit_distance
from auditor.regions import AdminUnit, Registry, adcode_prefix, load_registry

__all__ = ["GazetteerNames", "suggest_units"]


def _is_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


@functools.lru_cache(maxsize=65536)
def _pinyin(text: str) -> str:
    """Toneless pinyin of a Chinese name, syllables run together (朝阳区 -> chaoyangqu)."""
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(text, style=Style.NORMAL, errors="ignore"))


def _level(u: AdminUnit) -> str:
    code = u.adcode
    return "province" if code.endswith("0000") else "city" if code.endswith("00") else "district"


def _latin(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def suggest_units(registry: Registry, name: str, *, level: str = "", within: AdminUnit | None = None,
                  limit: int = 3) -> list[AdminUnit]:
    """Units whose name is one slip from ``name``: the same toneless pinyin, one character added or
    dropped, or (inside ``within``) one character changed (Chinese); one edit, two in names longer
    than six letters (pinyin or English).

    Only units inside ``within`` (by adcode) are considered; those of ``level``
    (``province`` / ``city`` / ``district``) rank first, then homophones, then the fewest edits.

    Examples
    --------
    >>> from auditor.regions import load_registry
    >>> reg = load_registry()
    >>> [u.adcode for u in suggest_units(reg, "朝杨区", within=reg.units["110000"])]
    ['110105']
    """
    text = name.strip()
    if not text:
        return []
    prefix = adcode_prefix(within.adcode) if within is not None else ""
    cjk = _is_cjk(text)
    typed_pinyin = _pinyin(text) if cjk else ""
    typed_latin = _latin(text)
    scored: list[tuple[tuple[int, int, int, str], AdminUnit]] = []
    for u in registry.units.values():
        if prefix and (not u.adcode.startswith(prefix) or u.adcode == within.adcode):  # type: ignore[union-attr]
            continue
        best: tuple[int, int] | None = None  # (not a homophone, edits)
        if cjk:
            for form in (u.name_zh, *(a for a in u.aliases if _is_cjk(a))):
                if not form:
                    continue
                edits = edit_distance(text, form)
                same_sound = len(form) == len(text) and _pinyin(form) == typed_pinyin
                # one character changed is a slip only among a province's or city's few units, or when it
                # sounds the same; nationwide it finds a stranger (火星区 -> 七星区)
                if same_sound or (edits <= 1 and (within is not None or len(form) != len(text))):
                    score = (0 if same_sound else 1, edits)
                    best = score if best is None or score < best else best
        else:
            for form in (u.name_en, *(a for a in u.aliases if a and not _is_cjk(a))):
                key = _latin(form)
                if not key:
                    continue
                edits = edit_distance(typed_latin, key)
                if edits <= (1 if len(typed_latin) <= 6 else 2):
                    score = (1, edits)
                    best = score if best is None or score < best else best
        if best is not None:
            scored.append(((0 if not level or _level(u) == level else 1, best[0], best[1], u.adcode), u))
    scored.sort(key=lambda s: s[0])
    return [u for _, u in scored[:limit]]


def _parent_names(registry: Registry, u: AdminUnit) -> str:
    """The province (and city) a unit lies in, for telling same-named units apart."""
    code = u.adcode
    names = []
    for parent in (code[:2] + "0000", code[:4] + "00"):
        p = registry.units.get(parent)
        if p is not None and parent != code and p.name_zh and p.name_zh not in names and not p.name_zh.endswith("市辖区"):
            names.append(p.name_zh)
    return "".join(names)


class GazetteerNames:
    """The gazetteer check a facility list's province / city / district columns get
    (:class:`auditor.inventory.reading.UnitNames`).

    Pickles as the registry's folder, so that a streamed audit's workers rebuild it.
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._seen: dict[tuple[str, str, str], tuple[str, ...]] = {}

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (_for_root, (str(self.registry.root),))

    def check(self, province: str, city: str, district: str) -> tuple[str, ...]:
        key = (province.strip(), city.strip(), district.strip())
        if key not in self._seen:
            self._seen[key] = tuple(self._check(*key))
        return self._seen[key]

    def _check(self, province: str, city: str, district: str) -> Iterable[str]:
        reg = self.registry
        chosen: AdminUnit | None = None
        for level, name, label in (("province", province, "province"), ("city", city, "city"), ("district", district, "district")):
            if not name:
                continue
            matches = reg.find_units(name)
            inside = [u for u in matches if chosen is None or adcode_prefix(u.adcode).startswith(adcode_prefix(chosen.adcode))]
            if inside:
                if len(inside) == 1:
                    chosen = inside[0]
                continue  # a known name (an ambiguous one is the admin-unit evidence's note, not a spelling matter)
            where = f" in {chosen.name_zh or chosen.adcode}" if chosen is not None else ""
            if matches:
                text = f"{label} {name!r} is not{where} (the gazetteer has it in {', '.join(_parent_names(reg, u) or u.adcode for u in matches[:3])})"
            else:
                text = f"{label} {name!r} is not a name the gazetteer holds{where}"
            near = suggest_units(reg, name, level=level, within=chosen)
            if near:
                yield text + "; did you mean " + " or ".join(
                    f"{u.name_zh} ({u.adcode}{', ' + _parent_names(reg, u) if chosen is None and _parent_names(reg, u) else ''})" for u in near
                ) + "? It is not used to place the facility until it is corrected"
            else:
                yield text + "; no unit's name is one slip away, and it is not used to place the facility"


@functools.lru_cache(maxsize=8)
def _for_root(root: str) -> GazetteerNames:
    return GazetteerNames(load_registry(Path(root)))
