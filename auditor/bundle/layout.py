"""The names inside an evidence bundle, and the canonical order and manifest both sides derive."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = [
    "BUNDLE_FILENAME", "BUNDLE_SCHEMA", "CAPTURED_ASN", "CAPTURED_DNS", "DESCRIPTION", "EVIDENCE_FILES", "MANIFEST",
    "MANY", "REPORT", "VERIFICATION_PROFILE", "canonical_order", "render_manifest",
]

BUNDLE_SCHEMA = "pilot-zone-auditor/bundle/1"
BUNDLE_FILENAME = "evidence-bundle.zip"  # what `auditor audit --bundle` writes beside the reports
DESCRIPTION = "bundle.json"
MANIFEST = "MANIFEST.sha256"
REPORT = "reports/report.json"
CAPTURED_DNS = "evidence/captured/dns-recording.json"
CAPTURED_ASN = "evidence/captured/asn-answers.json"
VERIFICATION_PROFILE = "verification/operator-profile.yaml"

#: Data sources (report.json ``data_sources`` names) that are files the audit's configuration
#: pointed at, and the AuditConfig field each one fills. Every other data source is the
#: auditor's own data (boundaries, clauses, the basic-telecom table) or a replayed recording.
EVIDENCE_FILES = {"ip2region": "ip_db", "mmdb": "mmdb", "asn_table": "asn_table", "dns_recording": "dns_recording", "latency": "latency"}
MANY = ("mmdb", "latency")  # AuditConfig fields that take several files


def canonical_order(names: Iterable[str]) -> list[str]:
    """bundle.json first, then every other member by its UTF-8 bytes (MANIFEST.sha256, written last, excluded).

    >>> canonical_order(["reports/report.json", "MANIFEST.sha256", "bundle.json", "inputs/a.csv"])
    ['bundle.json', 'inputs/a.csv', 'reports/report.json']
    """
    names = list(names)
    rest = sorted((n for n in names if n not in (DESCRIPTION, MANIFEST)), key=lambda n: n.encode("utf-8"))
    return ([DESCRIPTION] if DESCRIPTION in names else []) + rest


def render_manifest(hashes: Mapping[str, str]) -> str:
    """``sha256sum`` format, sorted by name: ``sha256sum -c MANIFEST.sha256`` checks an unpacked bundle."""
    return "".join(f"{hashes[n]}  {n}\n" for n in sorted(hashes, key=lambda n: n.encode("utf-8")))
