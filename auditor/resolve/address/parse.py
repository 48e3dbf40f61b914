"""Parsing one address: the most specific administrative unit it proves, and the pilot-region parts it mentions."""


from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from auditor.regions import AdminUnit, Registry
from auditor.resolve.address.gazetteer import _Entry, _gazetteer, _Match
from auditor.resolve.address.places import PartKeyword
from auditor.resolve.address.text import (
    _EN_COUNTRY,
    _EN_DESIGNATION_FIRST,
    _EN_DESIGNATION_MAX,
    _EN_DESIGNATIONS,
    _EN_ETHNIC,
    _EN_LEX,
    _EN_STREET,
    _HAS_LATIN,
    _IS_CJK,
    _ZH_LEAD,
    _ZH_STREET,
    _ZH_STREET_FULL,
    _fold_latin,
    normalise,
)


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
                # a unit the address names that holds exactly one of the place's units picks that side
                holding = [c for c in place.adcodes if context is not None and context in units[c].lineage]
                if explicit:
                    notes.append(f"{place.note}; the address states {self._name(context)}")
                elif place.named_unit_decides and len(holding) == 1 and not competing:
                    notes.append(f"{place.note}; the address names {self._name(context)}, so {self._name(holding[0])}")
                    context = holding[0]
                    chain.append(pm)
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
