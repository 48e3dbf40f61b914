"""CDN provider of a CNAME chain, by suffix: a data table (``cdn_suffixes.yaml``), a pure matcher.

The table comes from turbobytes/cdnfinder (MIT; attribution in the YAML header). cdnfinder tests
each name of the chain, first to last, with a plain substring test; here patterns match at label
boundaries (so ``.cloudfront.net`` does not match ``x.cloudfront.net.evil.test``) and the *last*
matching name of the chain wins: it is the one closest to the addresses, i.e. the CDN that
actually serves when one provider hands over to another (``a.example.test -> a.lxdns.com ->
b.cloudfront.net`` is CloudFront's edge).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from auditor.errors import DataError

__all__ = ["CdnSuffix", "CdnSuffixTable", "default_suffix_table"]

_DATA_FILE = "cdn_suffixes.yaml"


@dataclass(frozen=True, slots=True)
class CdnSuffix:
    pattern: str  # as in the source, e.g. ".akamaiedge.net" or ".google."
    provider: str
    match: str  # "suffix" | "contains"

    def matches(self, name: str) -> bool:
        """``name``: lower-case, no trailing dot. Like cdnfinder's substring test on the FQDN,
        but a match must start at a label boundary (and, for a suffix, end the name)."""
        p = self.pattern.lower()
        if self.match == "contains":
            fqdn = name + "."
            return p in fqdn if p.startswith(".") else (fqdn.startswith(p) or "." + p in fqdn)
        if p.startswith("."):
            return name.endswith(p)  # ".cloudfront.net": a label in front is needed
        return name == p or name.endswith("." + p)


@dataclass(frozen=True, slots=True)
class CdnSuffixTable:
    """Ordered patterns; the first pattern matching a name gives its provider.

    Examples
    --------
    >>> t = default_suffix_table()
    >>> t.provider_of("e1234.a.akamaiedge.net")
    'Akamai'
    >>> t.classify(("www.shop.test", "www.shop.test.lxdns.com"))
    ('ChinaNetCenter', 'www.shop.test.lxdns.com')
    >>> t.classify(("www.shop.test",))
    (None, None)
    >>> t.provider_of("d1.cloudfront.net.evil.test") is None, t.provider_of("cloudfront.net") is None
    (True, True)
    """

    entries: tuple[CdnSuffix, ...]
    source: str = ""

    def provider_of(self, name: str) -> str | None:
        key = name.strip(".").lower()
        for e in self.entries:
            if e.matches(key):
                return e.provider
        return None

    def classify(self, chain: Sequence[str]) -> tuple[str | None, str | None]:
        """``(provider, name that matched)`` for the last name of ``chain`` with a provider."""
        for name in reversed(chain):
            provider = self.provider_of(name)
            if provider is not None:
                return provider, name
        return None, None

    def with_extra(self, extra: Mapping[str, str] | Iterable[tuple[str, str]]) -> CdnSuffixTable:
        """A table whose ``{suffix: provider}`` entries are tried before these (e.g. an operator's own CDN)."""
        pairs = extra.items() if isinstance(extra, Mapping) else extra
        added = tuple(CdnSuffix(str(p), str(n), "contains" if str(p).endswith(".") else "suffix") for p, n in pairs)
        return CdnSuffixTable(added + self.entries, self.source)


def load_suffix_table(text: str, *, where: str = _DATA_FILE) -> CdnSuffixTable:
    """Parse the YAML table; raises :class:`~auditor.errors.DataError` naming the entry at fault."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataError(f"not valid YAML: {exc}", path=where) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("suffixes"), list):
        raise DataError("expected a mapping with a `suffixes` list", path=where)
    entries = []
    for i, item in enumerate(doc["suffixes"]):
        if not isinstance(item, dict) or not {"pattern", "provider", "match"} <= set(item):
            raise DataError(f"suffixes[{i}] needs pattern, provider and match", path=where)
        if item["match"] not in ("suffix", "contains"):
            raise DataError(f"suffixes[{i}].match must be suffix or contains, got {item['match']!r}", path=where)
        entries.append(CdnSuffix(str(item["pattern"]), str(item["provider"]), str(item["match"])))
    return CdnSuffixTable(tuple(entries), str(doc.get("source", "")))


@lru_cache(maxsize=1)
def default_suffix_table() -> CdnSuffixTable:
    """The shipped table (``auditor/resolve/dns/cdn_suffixes.yaml``), read once."""
    ref = resources.files(__package__).joinpath(_DATA_FILE)
    try:
        text = ref.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(
            f"cannot read the CDN suffix table: {exc}", path=str(ref),
            hint="reinstall the package; packaging must include auditor/resolve/dns/*.yaml",
        ) from exc
    return load_suffix_table(text, where=str(ref))
