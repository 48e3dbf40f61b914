"""DNS evidence: where hostnames and CDN-accelerated domains really point (DESIGN §3, issue 4).

Two kinds of evidence, each live or replayed from a recording:

- **resolution** — :class:`DnsResolver` follows a hostname's CNAME chain at explicit nameservers,
  collects its A/AAAA addresses and names the CDN provider from the chain's suffixes
  (:class:`Resolution`; statuses in :class:`ResolutionStatus` keep NXDOMAIN, NODATA, timeout and
  server failure apart). Offline: :class:`ReplayResolver`.
- **ECS sweep** — :func:`sweep` / :class:`EcsSweeper` ask a CDN's authoritative server for a
  name once per representative client /24 of every (province, carrier) pair in the ip2region
  database (RFC 7871 EDNS Client Subnet) and report every edge node handed out and to whom
  (:class:`SweepResult`). Offline: :class:`ReplaySweeper`.

:func:`write_recording` / :func:`read_recording` store both in one deterministic JSON file.
Nothing here goes online on its own: every source is given its servers, or a recording;
:func:`system_nameservers` reads the servers a resolv.conf names, for ``--online``.
"""

from __future__ import annotations

from .model import (
    ClientSubnet,
    Nameserver,
    Resolution,
    ResolutionStatus,
    SweepAnswer,
    SweepResult,
    SweepStatus,
)
from .providers import CdnSuffixTable, default_suffix_table
from .record import (
    Recording,
    ReplayResolver,
    ReplaySweeper,
    read_recording,
    write_recording,
)
from .resolve import DEFAULT_LIFETIME, DEFAULT_TIMEOUT, DnsResolver, ResolutionSource
from .subnets import CARRIERS, SubnetPlan, normalise_province, plan_subnets
from .sweep import EcsSweeper, Progress, SweepConfigError, SweepSource, sweep
from .system import DEFAULT_RESOLV_CONF, system_nameservers

__all__ = [
    "CARRIERS",
    "CdnSuffixTable",
    "ClientSubnet",
    "DEFAULT_LIFETIME",
    "DEFAULT_RESOLV_CONF",
    "DEFAULT_TIMEOUT",
    "DnsResolver",
    "EcsSweeper",
    "Nameserver",
    "Progress",
    "Recording",
    "ReplayResolver",
    "ReplaySweeper",
    "Resolution",
    "ResolutionSource",
    "ResolutionStatus",
    "SubnetPlan",
    "SweepAnswer",
    "SweepConfigError",
    "SweepResult",
    "SweepSource",
    "SweepStatus",
    "default_suffix_table",
    "normalise_province",
    "plan_subnets",
    "read_recording",
    "sweep",
    "system_nameservers",
    "write_recording",
]
