"""Internet access goes through basic telecom enterprises: every upstream ASN is one of theirs."""

from __future__ import annotations

from auditor.models import Finding, Severity, Status
from auditor.rules.base import OPERATOR, RuleContext, RuleSpec
from auditor.rules.isp_footprint_in_region import _is_isp

SPEC = RuleSpec(
    id="isp_upstream_basic_telecom",
    clauses=("Annex II.2",),
    title="ISP upstreams are basic telecom enterprises",
    severity=Severity.HIGH,
    scope="operator",
    rationale="A pilot ISP must give users Internet access through the access equipment of basic telecommunications enterprises.",
    remediation="Buy transit only from China Telecom, China Unicom, China Mobile or China Broadnet.",
)


def evaluate(ctx: RuleContext) -> list[Finding]:
    op = ctx.operator
    if not _is_isp(ctx):
        return [SPEC.finding(Status.NOT_APPLICABLE, OPERATOR, "The operator declares no ISP service.")]
    if not op.upstream_asns:
        return [SPEC.finding(Status.INDETERMINATE, OPERATOR, "The ISP declares no upstream ASNs.", missing="isp.upstream_asns in the profile, or BGP/RDAP evidence")]
    table = ctx.basic_telecom
    known, unknown = [], []
    for asn in op.upstream_asns:
        carrier = table.carrier_of(asn)
        (known if carrier else unknown).append(f"AS{asn}" + (f" ({carrier})" if carrier else ""))
    if unknown:
        return [
            SPEC.finding(
                Status.INDETERMINATE, OPERATOR,
                f"Not in the basic-telecom ASN table compiled {table.compiled}: {', '.join(unknown)}; registry (RDAP) evidence of the holder would settle it.",
                missing="RDAP/whois evidence of the ASN holder",
            )
        ]
    return [SPEC.finding(Status.PASS, OPERATOR, f"Every upstream is a basic telecom enterprise's ASN: {', '.join(known)}.")]
