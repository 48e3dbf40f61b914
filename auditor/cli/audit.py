"""``auditor audit``: the audit, its reports and the CI gate (issue 25); :func:`register` adds it to the main group.

In memory (the default) or streamed in chunks (large lists, ``--stream``, Dask); either way the
terminal gets :func:`auditor.cli.outcome.print_outcome` and the process the exit status of
:func:`auditor.cli.gate.gate_reason`. ``--out -`` writes report.json to standard output and
every other line to standard error.
"""

from __future__ import annotations

import datetime as dt
import inspect
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from auditor.cli import (
    _SCALE_KEYS,
    EVIDENCE_PARAMS,
    _as_of,
    _options,
    _reading,
    as_of_option,
    crs_option,
    evidence_options,
    handles_errors,
    option_option,
    reading_options,
    region_option,
    scale_options,
    settings_of,
)
from auditor.cli.gate import FAIL_ON, gate_reason
from auditor.cli.outcome import print_outcome
from auditor.config import FILE_LAYER
from auditor.errors import AuditorError, InputError, UsageError

__all__ = ["audit", "default_sarif_root", "register"]

STDOUT = "-"
_EXPLICIT = (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)


def default_sarif_root(start: str | os.PathLike[str] | None = None) -> str:
    """The root report.sarif's paths are relative to by default: the nearest folder above ``start``
    (default: the working directory) that holds ``.git`` (a folder, or a worktree's file), else ``start``."""
    here = Path(os.path.abspath(start if start is not None else os.getcwd()))
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return str(folder)
    return str(here)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _given_files(target: str, waivers_path: str | None, cli_config: dict[str, Any], more: Sequence[str] = ()) -> list[str]:
    """Files named on the command line or in the settings (the target, waivers, evidence files): no report may overwrite them."""
    named: list[Any] = [target, waivers_path, *more]
    for value in cli_config.values():
        named += list(value) if isinstance(value, (list, tuple)) else [value]
    return [str(v) for v in named if isinstance(v, str) and v and os.path.isfile(v)]


def _should_stream(target: str, scale: dict[str, Any], reading: dict[str, Any], whole: list[str]) -> tuple[bool, str]:
    """Whether to stream the audit, and a note when a long list is audited in memory anyway: asked
    (--stream, --chunk-rows, --workers, --dask), else for a list of over IN_MEMORY_ROWS rows unless
    ``whole`` names an option that needs a whole audit (--bundle, --record-dns, --out -)."""
    implied = [flag for flag, key in (("--chunk-rows", "chunk_rows"), ("--workers", "workers"), ("--dask", "dask_address")) if scale[key]]
    if scale["stream"] is False and implied:
        raise UsageError("--no-stream", "", (), message=f"--no-stream audits in memory: {' and '.join(implied)} needs a streamed audit")
    if scale["stream"] is not None or implied:
        return bool(scale["stream"] is not False), ""
    from auditor.config import IN_MEMORY_ROWS  # at call time: tests lower it
    from auditor.inventory.profile import facility_list_of
    from auditor.inventory.read import more_rows_than
    from auditor.inventory.reading import Reading

    path = facility_list_of(target)

    limit = IN_MEMORY_ROWS
    how = Reading(sheet=reading.get("sheet"), header_row=reading.get("header_row"), columns=reading.get("columns", {}))
    if not path.is_file() or not more_rows_than(path, limit, how):
        return False, ""
    if whole:
        return False, (f"{path.name} has over {limit:,} rows, which are streamed by default; {' and '.join(whole)} "
                       f"needs a whole audit, so every row is held in memory (measured: about 20 KB a row at peak): leave it out to stream the list")
    return True, ""


def _dask_client(scale: dict[str, Any]) -> Any:
    """A client for --dask ADDRESS or --workers N (a local cluster of processes), or None."""
    if not (scale["dask_address"] or scale["workers"]):
        return None
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise AuditorError("--dask and --workers need Dask: pip install 'pilot-zone-auditor[dask]'") from None
    if scale["dask_address"]:
        try:
            return Client(scale["dask_address"], timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scale['dask_address']}: {exc}") from None
    cluster = LocalCluster(n_workers=scale["workers"], threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster)


def _lang_kwargs(lang: str | None, writer: Any) -> tuple[dict[str, Any], list[str]]:
    """``{"lang": lang}`` when ``writer`` (write_reports) takes a ``lang`` keyword; else a note saying it was not applied."""
    if lang is None:
        return {}, []
    if "lang" in inspect.signature(writer).parameters:
        return {"lang": lang}, []
    return {}, [f"--lang {lang}: this version writes its reports in one language; --lang was not applied"]


class _Run:
    """What the audit command was asked, checked once before any work."""

    def __init__(self, ctx: click.Context, params: dict[str, Any]) -> None:
        self.ctx = ctx
        self.p = params
        self.settings = settings_of(ctx)
        self.stdout = params["out_dir"] == STDOUT
        self.notes: list[str] = []
        self.generated_at = ""

    def explicit(self, name: str) -> bool:
        return self.ctx.get_parameter_source(name) in _EXPLICIT


@click.command()
@click.argument("target", type=click.Path(dir_okay=False))
@region_option
@option_option
@as_of_option
@crs_option
@click.option("--out", "out_dir", default="reports/audit", show_default=True, metavar="DIR|-",
              help="Folder for the reports; - writes report.json to standard output (and no other report; the "
                   "terminal lines go to standard error).")
@click.option("--format", "formats", default="json,md,csv,geojson,html,sarif", show_default=True, help="Comma-separated: json, md, csv, geojson, html, sarif, parquet (facilities as GeoParquet).")
@click.option("--figures/--no-figures", default=False, help="Also write figures/*.svg and *.png beside report.md and link them from it.")
@click.option("--generated-at", hidden=True, help="Fix the report timestamp (for reproducible outputs).")
@click.option("--waivers", "waivers_path", type=click.Path(dir_okay=False),
              help="YAML file of waivers: each names a rule (one rule id, a list of them, or \"*\" for every rule), a facility "
                   "id pattern (*, ?, [..]; (operator) for the operator's own findings), owner, reason, expires and reference.")
@click.option("--bundle", "bundle", is_flag=True, help="Also write OUT/evidence-bundle.zip: inputs, evidence, reports and sha256 manifest, for `auditor verify`.")
@click.option("--fail-on", "fail_on", type=click.Choice(FAIL_ON), default="fail", show_default=True,
              help="The gate: fail exits 1 when a finding failed; indeterminate also when a finding or facility is "
                   "indeterminate; error also when a row could not be read (else such rows exit 3).")
@click.option("--quiet", "-q", "quiet", is_flag=True, help="Print only the verdict line (and errors).")
@click.option("--sarif-root", "sarif_root", type=click.Path(file_okay=False), metavar="DIR",
              help="The repository root report.sarif's paths are relative to (default: the root of the git repository "
                   "the working directory is in, else the working directory).")
@click.option("--db", "db_url", metavar="URL",
              help="Also record the audit in a history database: sqlite:///FILE (or a file path) or postgresql://USER@HOST/DB "
                   "(see `auditor history`).")
@click.option("--lang", "lang", type=click.Choice(["zh-CN", "en"]), help="Language of the human reports (report.md, report.html).")
@click.option("--record-dns", "record_dns", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the DNS answers obtained live (hostname resolutions and ECS sweeps) to FILE, a DNS recording "
                   "that --dns-recording replays offline (e.g. in CI).")
@reading_options
@evidence_options
@scale_options
@handles_errors
def audit(target: str, **params: Any) -> None:
    """Audit TARGET: an operator profile (YAML/TOML) or a facility list (CSV, XLSX, GeoJSON, GPKG, Parquet).

    \b
    Exit status (the gate; --fail-on makes it stricter):
      0  nothing failed
      1  a finding failed (--fail-on indeterminate: or something is
         indeterminate; --fail-on error: or a row could not be read)
      2  unusable input or usage (the message names the file, row and column)
      3  rows could not be read (error verdicts) and nothing else failed

    The terminal lists the facilities that failed, are indeterminate or could not be read, and
    the evidence that placed nothing (hostnames that did not resolve, addresses no source
    placed). Defaults for these options may sit in auditor.toml or pyproject.toml's
    [tool.auditor] in the working directory; the command line wins, then the environment.

    \b
    Example:
      auditor audit examples/shanghai-operator/operator.yaml --out reports/example
      auditor audit facilities.csv --region beijing --crs gcj02 --format json,csv
      auditor audit 节点清单.xlsx --region shanghai --sheet 节点清单 --columns id=节点编号
      auditor audit operator.yaml --out - --quiet --fail-on indeterminate > report.json
    """
    ctx = click.get_current_context()
    run = _Run(ctx, params)
    p = params
    reading = _reading(p.pop("sheet"), p.pop("header_row"), p.pop("columns"))
    if p["bundle"] and reading:
        raise InputError("--bundle cannot record --sheet, --header-row or --columns, so `auditor verify` could not re-run the audit: "
                         "give the columns in the operator profile's columns: block instead, or leave out --bundle")
    waivers = None
    if p["waivers_path"]:
        from auditor.waivers import load_waivers

        waivers = load_waivers(p["waivers_path"])  # a bad waiver file stops here, before any work
    scale = {k: p.pop(k, None) for k in _SCALE_KEYS}
    evidence = {k: p.pop(k) for k in EVIDENCE_PARAMS}
    cli_config = {k: v for k, v in evidence.items() if v not in (None, False, ())}
    protect_config = dict(cli_config)  # files named on the command line: no report may overwrite them
    cli_config.update(reading)
    layer = run.settings.layer()
    if layer is not None:
        cli_config[FILE_LAYER] = layer
    if not p["quiet"]:
        for line in _deprecations(evidence, run.settings):
            click.echo(f"warning: {line}", err=True)
    whole = [flag for flag, given in (("--bundle", p["bundle"]), ("--record-dns", p["record_dns"]), ("--out -", run.stdout)) if given]
    streamed, note = _should_stream(target, scale, reading, whole)
    if note:
        run.notes.append(note)
    if p["bundle"] and streamed:
        raise InputError("--bundle needs a whole audit: it cannot be combined with a streamed one (--stream, --chunk-rows, --workers or --dask)")
    if p["record_dns"] and streamed:
        raise InputError("--record-dns needs a whole audit: a streamed one keeps the DNS answers of the facilities it lists only")
    _check_stdout(run, streamed)
    sarif_root = _sarif_root(p["sarif_root"])
    if p["record_dns"]:
        _check_record_dns(target, p, cli_config)
    protect = _given_files(target, p["waivers_path"], protect_config, run.settings.files() + ([p["record_dns"]] if p["record_dns"] else []))
    if streamed:
        result, paths = _streamed(run, target, waivers, cli_config, scale, sarif_root, protect)
    else:
        result, paths = _in_memory(run, target, waivers, cli_config, sarif_root, protect)
    if p["record_dns"]:
        paths.append(_write_dns_recording(p["record_dns"], result))
    if p["db_url"]:
        run.notes.append(_record_history(p["db_url"], result, run.generated_at))
    print_outcome(result, paths, fail_on=p["fail_on"], streamed=streamed, quiet=p["quiet"], err=run.stdout,
                  settings=run.settings.path, notes=run.notes)
    sys.exit(gate_reason(result, p["fail_on"])[0])


def _deprecations(evidence: dict[str, Any], settings: Any) -> list[str]:
    """The deprecated ``dns_server`` where the command sees it: the option, the environment, the settings file."""
    from auditor.config import DNS_SERVER_DEPRECATED

    where = [w for w, given in (("--dns-server", evidence.get("dns_server")), ("AUDITOR_DNS_SERVER", os.environ.get("AUDITOR_DNS_SERVER")),
                                (f"{settings.path}: dns_server", settings.evidence.get("dns_server"))) if given]
    return [DNS_SERVER_DEPRECATED.replace("dns_server", w, 1) for w in where]


def _check_stdout(run: _Run, streamed: bool) -> None:
    """``--out -``: report.json only, on standard output; what cannot go with it is refused before any work."""
    p = run.p
    if not run.stdout:
        return
    for flag, given in (("--bundle", p["bundle"]), ("--figures", p["figures"])):
        if given:
            raise UsageError("--out", STDOUT, (), message=f"--out - writes report.json to standard output and nothing else: {flag} needs a folder")
    if streamed:
        raise UsageError("--out", STDOUT, (), message="--out - needs a whole audit: a streamed one writes its tables into a folder")
    from auditor.report import parse_formats

    others = [f for f in parse_formats(p["formats"]) if f != "json"]
    if others and run.explicit("formats"):
        raise UsageError("--format", ",".join(others), (), message=f"--out - writes report.json only; --format also asks for {', '.join(others)}: give --out DIR")
    if others and run.ctx.get_parameter_source("formats") is click.core.ParameterSource.DEFAULT_MAP:
        run.notes.append(f"--out - writes report.json only; {', '.join(others)} (format in {run.settings.path}) not written")
    p["formats"] = "json"


def _sarif_root(given: str | None) -> str:
    if given is None:
        return default_sarif_root()
    if not os.path.isdir(given):
        raise InputError("--sarif-root: not a folder", source=given)
    return os.path.abspath(given)


def _check_record_dns(target: str, p: dict[str, Any], cli_config: dict[str, Any]) -> None:
    """``--record-dns`` records live answers: refused before any work when nothing would be asked live."""
    from auditor.engine.plan import prepare

    reading = {k: cli_config[k] for k in ("sheet", "header_row", "columns") if k in cli_config}
    config = prepare(target, region=p["region"], region_options=_options(p["options"]), as_of=_as_of(p["as_of"]), crs=p["crs"],
                     cli_config=cli_config, **reading).config
    if config.dns_recording:
        raise InputError(f"--record-dns records DNS answers obtained live, but this audit replays them from {config.dns_recording}: "
                         "leave out one of the two")
    if not (config.dns_resolver or config.online):
        raise InputError("--record-dns has nothing to record: no live DNS source is given (--dns-resolver, --sweep-server, or --online)")


def _write_dns_recording(path: str, result: Any) -> Path:
    from auditor.resolve.dns import write_recording

    sweeps = [s for s in result.sweeps.values() if not isinstance(s, str)]
    return write_recording(path, resolutions=result.dns.values(), sweeps=sweeps)


def _record_history(db_url: str, result: Any, generated_at: str) -> str:
    from auditor.report.json_report import build_report
    from auditor.supervision.history import record_result

    run = record_result(db_url, result, build_report(result, generated_at=generated_at))
    return f"recorded in the history database (--db) as run {run.id}"


def _in_memory(run: _Run, target: str, waivers: Any, cli_config: dict[str, Any], sarif_root: str,
               protect: list[str]) -> tuple[Any, list[Any]]:
    from auditor.cli.progress import ProgressBars
    from auditor.engine import audit as run_audit
    from auditor.report import ReportFolder, parse_formats, render, write_reports

    p = run.p
    fmts = parse_formats(p["formats"])
    run.generated_at = p["generated_at"] or _now()  # one timestamp for every report, the bundle and the history
    lang, notes = _lang_kwargs(p["lang"], write_reports)
    run.notes += notes
    with ProgressBars(enabled=False if p["quiet"] else None) as progress:  # draws only on a terminal, never in pipes or CI
        result = run_audit(
            target, region=p["region"], region_options=_options(p["options"]), as_of=_as_of(p["as_of"]), crs=p["crs"],
            cli_config=cli_config, progress=progress,
        )
        if waivers is not None:
            from auditor.waivers import apply_waivers_to_result

            result, _ = apply_waivers_to_result(result, waivers)
        if run.stdout:
            click.echo(render(result, "json", generated_at=run.generated_at), nl=False)
            return result, []
        with ReportFolder(p["out_dir"], protect=protect) as folder:
            staged = write_reports(result, folder, fmts, generated_at=run.generated_at, figures=p["figures"], progress=progress,
                                   sarif_root=sarif_root, **lang)
            if p["bundle"]:  # beside the reports; see auditor.bundle for what it holds
                from auditor.bundle import BUNDLE_FILENAME, write_bundle

                write_bundle(result, folder.path(BUNDLE_FILENAME), reports=staged, crs=p["crs"], waivers=p["waivers_path"],
                             generated_at=run.generated_at, sarif_root=sarif_root)
                staged.append(folder.path(BUNDLE_FILENAME))
            folder.commit()
            paths = [folder.final(x) for x in staged]
    return result, paths


def _streamed(run: _Run, target: str, waivers: Any, cli_config: dict[str, Any], scale: dict[str, Any], sarif_root: str,
              protect: list[str]) -> tuple[Any, list[Any]]:
    """``audit`` for large inputs: chunks judged here or on Dask, tables written as they come."""
    from auditor.cli.progress import ProgressBars
    from auditor.engine.stream import DEFAULT_CHUNK_ROWS, TABLE_FORMATS, audit_streamed
    from auditor.report import ReportFolder, write_reports

    p = run.p
    chosen = [f.strip().lower() for f in p["formats"].split(",") if f.strip()]
    # every row is in facilities.csv, always; facilities.parquet stands in for facilities.geojson
    tables = ["csv"]
    if "geojson" in chosen:
        chosen.remove("geojson")
        tables.append("parquet")
        run.notes.append("a streamed audit writes no facilities.geojson; facilities.parquet (GeoParquet) holds every row with its point")
    for fmt in chosen:
        if fmt not in TABLE_FORMATS:
            raise UsageError("--format", fmt, TABLE_FORMATS)
    run.generated_at = p["generated_at"] or _now()
    lang, notes = _lang_kwargs(p["lang"], write_reports)
    run.notes += notes
    client = _dask_client(scale)
    try:
        with ProgressBars(enabled=False if p["quiet"] else None) as progress, ReportFolder(p["out_dir"], protect=protect) as folder:
            out = audit_streamed(
                target, folder, formats=tuple(dict.fromkeys(chosen + tables)), region=p["region"],
                region_options=_options(p["options"]), as_of=_as_of(p["as_of"]), crs=p["crs"], cli_config=cli_config,
                waivers=waivers or (), chunk_rows=scale["chunk_rows"] or DEFAULT_CHUNK_ROWS, client=client, progress=progress,
            )
            summaries = tuple(f for f in chosen if f not in ("csv", "parquet"))
            staged = out.tables + write_reports(out.result, folder, summaries, generated_at=run.generated_at, sarif_root=sarif_root, **lang)
            folder.commit()
            paths = [folder.final(x) for x in staged]
    finally:
        if client is not None:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    return out.result, paths


def register(group: click.Group) -> None:
    """Add ``audit`` to ``group`` (the ``auditor`` command)."""
    group.add_command(audit)
