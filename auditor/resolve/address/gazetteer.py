"""The gazetteer index: every administrative unit of boundaries/admin-units.csv under its Chinese, short and pinyin forms, matched in one pass."""


from __future__ import annotations

import csv
import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from auditor.regions import Registry
from auditor.resolve.address.places import PART_KEYWORDS, PLACES, PartKeyword, Place
from auditor.resolve.address.text import _EN_DESIGNATION_MAX, _EN_DESIGNATIONS, _IS_CJK, _designation_kinds, _fold_latin, _squash


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
