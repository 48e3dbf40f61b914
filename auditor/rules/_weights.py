"""What each kind of location evidence can decide: the weight table the README prints.

*Declared* evidence is what the audit audits: the operator's own coordinates, address and
administrative unit. *Independent* evidence tests it. Independent evidence is *strong* when it is
physics (round-trip times bound where a host can be) and *weak* when it is a database's opinion: an
IP database places a block where it is registered, which for data centres in Yanjiao or Langfang is
routinely Beijing. Weak evidence can cast doubt on a declaration; it never proves a location.

``tests/rules/test_weights.py`` holds the README's table to this one.
"""

from __future__ import annotations

from typing import NamedTuple

from auditor.model import LocationClaim

__all__ = ["DECLARED", "INDEPENDENT", "DECISIVE", "STRONG", "WEAK", "Weight", "WEIGHTS", "weight_of", "source_label", "basis_text", "caveats", "order_of"]

DECLARED, INDEPENDENT = "declared", "independent"
DECISIVE, STRONG, WEAK = "decisive", "strong", "weak"


class Weight(NamedTuple):
    """One row of the weight table."""

    role: str       # declared | independent
    strength: str   # decisive (declared) | strong | weak
    label: str      # how reports name the source
    decides: str    # what it can decide, for the README
    caveat: str = ""  # why it cannot decide more, for findings it casts doubt in


#: Keyed by the claim's source, or ``source/kind`` where one source makes claims of different weight.
WEIGHTS: dict[str, Weight] = {
    "declared_coordinates": Weight(
        DECLARED, DECISIVE, "declared coordinates",
        "inside or outside, once clear of the line by the coordinates' uncertainty plus the line's accuracy",
    ),
    "address": Weight(
        DECLARED, DECISIVE, "declared address",
        "inside or outside, when the unit it names lies wholly on one side (or names a part of a pilot region)",
    ),
    "admin_fact": Weight(
        DECLARED, DECISIVE, "stated admin unit",
        "inside or outside, when the unit (adcode, province/city/district columns) lies wholly on one side",
    ),
    "latency": Weight(
        INDEPENDENT, STRONG, "round-trip times",
        "outside: fails the facility whatever is declared (no host answers that fast from farther away); "
        "inside: corroborates, but never passes a facility with no declared location",
    ),
    "latency/anycast": Weight(
        INDEPENDENT, WEAK, "anycast round-trip times",
        "doubt only: the address answers from several places, so it says nothing of one building "
        "(the CDN rule fails a node whose anycast address has an instance outside)",
        "an anycast address answers from several places, so it cannot place one building",
    ),
    "mmdb": Weight(
        INDEPENDENT, WEAK, "mmdb (MaxMind/DB-IP)",
        "doubt only: a disk of the database's accuracy radius, drawn from registration and routing data",
        "an IP database places an address where its block is registered, which for a data centre can be another city",
    ),
    "ip2region": Weight(
        INDEPENDENT, WEAK, "ip2region",
        "doubt only: the province or city where the address block is registered, not where the building is",
        "an IP database places an address where its block is registered, which for a data centre can be another city",
    ),
    "dns": Weight(
        INDEPENDENT, WEAK, "DNS answer (placed by ip2region)",
        "doubt only: a hostname's addresses, placed by the IP database",
        "an IP database places an address where its block is registered, which for a data centre can be another city",
    ),
}


_ORDER = {key: i for i, key in enumerate(WEIGHTS)}


def weight_of(claim: LocationClaim) -> Weight:
    """The claim's row of the table (an unknown source is weak independent evidence: it never decides)."""
    source = claim.source._value_  # the plain string (``.value`` is a slow descriptor on 3.11)
    return WEIGHTS.get(f"{source}/{claim.kind}") or WEIGHTS.get(source) or Weight(INDEPENDENT, WEAK, source, "doubt only")


def order_of(key: str) -> int:
    """A key's place in the table: bases are listed in this order (declared first)."""
    return _ORDER.get(key, len(_ORDER))


def caveats(keys: tuple[str, ...] | list[str]) -> str:
    """The caveats of these sources, once each, as one clause ("an IP database places ...")."""
    return "; ".join(dict.fromkeys(WEIGHTS[k].caveat for k in keys if k in WEIGHTS and WEIGHTS[k].caveat))


def source_label(source: str) -> str:
    """How reports name an evidence source (``declared_coordinates`` → "declared coordinates")."""
    w = WEIGHTS.get(source)
    return w.label if w else source.replace("_", " ")


def basis_text(basis: tuple[str, ...] | list[str]) -> str:
    """A basis for people: "declared coordinates + declared address", or "none"."""
    return " + ".join(source_label(b) for b in basis) or "none"
