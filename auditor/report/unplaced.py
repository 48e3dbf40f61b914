"""Evidence that placed nothing, for the reports: nothing an audit could not use stays silent.

Three kinds (:attr:`auditor.result.Tallies.UNPLACED_KINDS`), counted over every row (in a streamed
audit too) by :class:`~auditor.result.Tallies`:

* ``hostnames_unresolved``: a facility's hostname that gave no address — the servers failed, the
  name does not exist or has no address, the recording does not hold it, or no DNS source was given;
* ``ipv6_without_evidence``: an IPv6 address (declared, or a hostname's) that no source placed
  (the embedded ip2region database holds IPv4 only);
* ``ips_unplaced``: any other address no source placed (private or reserved, not covered by the
  IP database, a country-less answer).

report.json carries the counts and the facility ids in ``summary.unplaced`` and the listing (first
1,000 of each kind, in row order, each with why) in ``unplaced`` — the same in a streamed audit as
in memory; report.md and report.html show the listing in their own section, quoting what DNS said
of a hostname where the report keeps that answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.report.i18n import N_, Tr
from auditor.result import AuditResult, Tallies

__all__ = ["UNPLACED_TITLES", "unplaced_listing", "unplaced_summary", "unplaced_title", "why_shown"]

#: How the human reports name each kind (in English; :func:`unplaced_title` translates).
UNPLACED_TITLES = {
    "hostnames_unresolved": N_("hostnames that did not resolve"),
    "ipv6_without_evidence": N_("IPv6 addresses with no location evidence"),
    "ips_unplaced": N_("addresses no source could place"),
}


def unplaced_title(kind: str, tr: Tr) -> str:
    """How a report in ``tr``'s language names a kind of unplaced evidence."""
    return tr._(UNPLACED_TITLES[kind])


def unplaced_summary(t: Tallies) -> dict[str, dict[str, Any]]:
    """Per kind: ``count`` (hostnames or addresses, once per facility), the ``facilities`` they belong
    to (ids, in row order, of the listed ones) and how many are ``listed``."""
    out: dict[str, dict[str, Any]] = {}
    for kind in Tallies.UNPLACED_KINDS:
        items = t.unplaced_items.get(kind, [])
        out[kind] = {
            "count": t.unplaced.get(kind, 0),
            "facilities": list(dict.fromkeys(fid for _, fid, _, _ in items)),
            "listed": len(items),
        }
    return out


def _hostname_why(result: AuditResult) -> str:
    # The same in a streamed audit as in memory (its chunks keep no DNS answers): what DNS said of
    # the name is in report.json's dns.resolutions, which the human reports quote (:func:`why_shown`).
    if "dns" not in result.evidence_sources:
        return "not looked up: no DNS server (--dns-server) or DNS recording (--dns-recording) was given"
    return "DNS gave no address"


def unplaced_listing(result: AuditResult, t: Tallies) -> list[dict[str, Any]]:
    """Every listed item as ``{kind, row, facility, value, why}``, kind by kind, each in row order."""
    out = []
    for kind in Tallies.UNPLACED_KINDS:
        for row, fid, value, why in t.unplaced_items.get(kind, []):
            if not why and kind == "hostnames_unresolved":
                why = _hostname_why(result)
            out.append({"kind": kind, "row": row, "facility": fid, "value": value, "why": why})
    return out


def why_shown(item: Mapping[str, Any], report: Mapping[str, Any]) -> str:
    """An item's ``why`` as report.md and report.html show it: for a hostname, what DNS said of it
    when the report holds that answer (``DNS: nxdomain (...)``, ``DNS: not recorded (...)``)."""
    if item["kind"] == "hostnames_unresolved":
        answer = ((report.get("dns") or {}).get("resolutions") or {}).get(item["value"])
        if isinstance(answer, Mapping) and answer.get("status") and answer.get("status") != "ok":
            status, reason = str(answer["status"]).replace("_", " "), str(answer.get("reason") or "")
            if item["why"] in ("", "DNS gave no address"):
                return f"DNS: {status}" + (f" ({reason})" if reason else "")
    return str(item["why"])
