"""Reading one DNS response for one question, free of I/O (as dnspython's ``_Resolution`` is).

:func:`interpret` walks the CNAMEs of a response from the name asked, keeps only records that
answer the question (class IN, on the chain), clamps TTLs and says what comes next: addresses,
"follow this target", NODATA, NXDOMAIN, a loop, a chain too long, or a response that answers
something else. The loops that send queries (``resolve.py``, ``sweep.py``) only do I/O.

Hostile answers and what they become:

* a CNAME back to a name already in the chain -> ``loop`` (never a hang);
* more than ``max_chain`` CNAMEs -> ``too_long``;
* records for names not on the chain, or of another class -> ignored with a note; if nothing
  else was in the answer -> ``bad`` ("the answer is for another name");
* a TTL above 2**31 - 1 -> 0, as RFC 2181 §8 says (dnspython's wire reader already does this
  silently; :func:`clamp_ttl` does it for the sweep's own reader); above ``max_ttl`` -> clamped
  and noted.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

__all__ = ["MAX_CHAIN", "MAX_TTL", "Step", "clamp_ttl", "interpret", "text_of"]

MAX_CHAIN = 16
"""CNAMEs followed at most. dnspython's resolver and BIND both give up around this depth
(BIND's ``max-recursion-depth`` class of limits); a real CDN chain has 2-4."""

MAX_TTL = 7 * 24 * 3600
"""TTLs above a week are clamped (BIND's default ``max-cache-ttl`` is one week)."""

_RFC2181_MAX = 2**31 - 1


def text_of(name: dns.name.Name) -> str:
    """Lower-case, no trailing dot; the root is ``"."``."""
    text = name.to_text(omit_final_dot=True).lower()
    return text or "."


def clamp_ttl(ttl: int, max_ttl: int = MAX_TTL) -> tuple[int, str]:
    """``(ttl to use, note)``; the note is empty when nothing changed.

    >>> clamp_ttl(300)
    (300, '')
    >>> clamp_ttl(4294967295)[0], clamp_ttl(2147483647)[0]
    (0, 604800)
    """
    if ttl > _RFC2181_MAX:
        return 0, f"TTL {ttl} has the top bit set; read as 0 (RFC 2181 §8)"
    if ttl > max_ttl:
        return max_ttl, f"TTL {ttl} clamped to {max_ttl}"
    return ttl, ""


@dataclass
class Step:
    """What one response says. ``kind``: answer | nodata | nxdomain | follow | loop | too_long | bad."""

    kind: str
    target: dns.name.Name | None = None  # the name to ask next ("follow"), or the chain's end
    added: list[dns.name.Name] = field(default_factory=list)  # CNAME targets appended to the chain
    addresses: list[str] = field(default_factory=list)
    ttls: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reason: str = ""


def interpret(
    response: dns.message.Message,
    qname: dns.name.Name,
    rdtype: dns.rdatatype.RdataType,
    chain: Sequence[dns.name.Name],
    *,
    max_chain: int = MAX_CHAIN,
    max_ttl: int = MAX_TTL,
) -> Step:
    """Interpret a NOERROR or NXDOMAIN ``response`` to ``(qname, rdtype)``.

    ``chain`` is the chain so far, ending with ``qname`` (names already followed); it is not
    changed — the step lists the names to add. Other rcodes are the caller's (server failures).
    """
    step = Step("nodata", target=qname)
    cnames: dict[dns.name.Name, dns.rrset.RRset] = {}
    data: dict[dns.name.Name, dns.rrset.RRset] = {}
    others: list[dns.rrset.RRset] = []
    for rrset in response.answer:
        if rrset.rdclass != dns.rdataclass.IN:
            step.notes.append(
                f"ignored {dns.rdataclass.to_text(rrset.rdclass)}-class {dns.rdatatype.to_text(rrset.rdtype)} "
                f"records for {text_of(rrset.name)}"
            )
            others.append(rrset)
        elif rrset.rdtype == dns.rdatatype.CNAME and rrset.name not in cnames:
            cnames[rrset.name] = rrset
        elif rrset.rdtype == rdtype and rrset.name not in data:
            data[rrset.name] = rrset
        else:
            others.append(rrset)

    used: set[int] = set()
    seen = set(chain)
    cur = qname
    while cur in cnames:
        rrset = cnames[cur]
        used.add(id(rrset))
        targets = sorted(rd.target for rd in rrset)
        target = targets[0]
        if len(targets) > 1:
            step.notes.append(
                f"{text_of(cur)} has {len(targets)} CNAME records (RFC 1034 allows one); "
                f"followed the first in canonical order, {text_of(target)}"
            )
        step.ttls.append(_ttl(rrset.ttl, max_ttl, step.notes))
        if target in seen:
            step.added.append(target)
            step.kind, step.target = "loop", target
            step.reason = f"CNAME loop: {text_of(cur)} points back to {text_of(target)}, already in the chain"
            return step
        seen.add(target)
        step.added.append(target)
        if len(chain) - 1 + len(step.added) > max_chain:
            step.kind, step.target = "too_long", target
            step.reason = f"CNAME chain longer than {max_chain}: gave up at {text_of(target)}"
            return step
        cur = target
    step.target = cur

    found = data.get(cur)
    if found is not None:
        used.add(id(found))
        step.ttls.append(_ttl(found.ttl, max_ttl, step.notes))
        step.addresses = [str(ipaddress.ip_address(rd.address)) for rd in found]

    on_chain = seen
    stray = [r for r in (*cnames.values(), *data.values(), *others) if id(r) not in used]
    for r in stray:
        if r.rdclass != dns.rdataclass.IN:
            continue  # noted above
        what = f"ignored {dns.rdatatype.to_text(r.rdtype)} records for {text_of(r.name)}"
        if r.name not in on_chain:
            step.notes.append(f"{what}: not on the chain of {text_of(qname)}")
        elif r.rdtype not in (dns.rdatatype.RRSIG, dns.rdatatype.CNAME):
            step.notes.append(f"{what}: {dns.rdatatype.to_text(rdtype)} was asked")

    if step.addresses:
        step.kind = "answer"
    elif response.rcode() == dns.rcode.NXDOMAIN:
        step.kind, step.reason = "nxdomain", f"{text_of(cur)} does not exist (NXDOMAIN)"
    elif cur != qname:
        step.kind = "follow"  # the chain leaves this response: ask for its end
    elif response.answer and not used:
        step.kind = "bad"
        step.reason = "the answer holds no record for the name asked: " + "; ".join(step.notes)
    else:
        step.kind = "nodata"
        step.reason = f"{text_of(cur)} has no {dns.rdatatype.to_text(rdtype)} records (NODATA)"
    return step


def _ttl(ttl: int, max_ttl: int, notes: list[str]) -> int:
    value, note = clamp_ttl(int(ttl), max_ttl)
    if note and note not in notes:
        notes.append(note)
    return value
