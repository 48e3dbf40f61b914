"""``auditor portfolio``, ``auditor history`` and ``auditor sample``: supervision across operators and
quarters (issue 20), over :mod:`auditor.supervision`. :func:`register` adds them to the main group::

    from auditor.cli.supervision import register
    register(main)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from auditor.cli import EXIT_FAILED, EXIT_OK, as_of_option, crs_option, evidence_options, handles_errors
from auditor.errors import InputError, UsageError

__all__ = ["history", "portfolio", "register", "sample"]

_DEFAULT_PROGRAMME = "notice-2024-107"
db_option = click.option("--db", "db_url", metavar="URL",
                         help="History database: sqlite:///FILE (or a file path) or postgresql://USER@HOST/DB (pip install 'pilot-zone-auditor[postgres]').")


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(option, v, (), message=f"{option} {v!r}: write NAME=VALUE")
        out[key.strip()] = value.strip()
    return out


@click.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out_dir", default="reports/portfolio", show_default=True, type=click.Path(file_okay=False), help="Folder for portfolio.json, .md, .html.")
@click.option("--format", "formats", default="json,md,html", show_default=True, help="Comma-separated: json, md, html.")
@as_of_option
@crs_option
@click.option("--waivers", "waivers", multiple=True, metavar="PROFILE=FILE", help="Waivers for one operator's audit (repeatable).")
@db_option
@click.option("--programme", default=_DEFAULT_PROGRAMME, show_default=True, help="The pilot programme recorded with each run.")
@click.option("--generated-at", hidden=True, help="Fix the timestamp (for reproducible outputs).")
@evidence_options
@handles_errors
def portfolio(sources: tuple[str, ...], out_dir: str, formats: str, as_of: str | None, crs: str | None, waivers: tuple[str, ...],
              db_url: str | None, programme: str, generated_at: str | None, **evidence: Any) -> None:
    """Audit every operator in SOURCES (profiles, report folders, report.json files, or folders of them)
    into one table and one map: portfolio.json, portfolio.md, portfolio.html.

    One operator's unusable input is reported in its row; the others are audited. With --db each
    audit is recorded and each row says what changed since the operator's previous recorded audit.

    Exit status: 0 no operator failed and every input was usable, 1 an operator failed or an input
    could not be used, 2 usage.

    \b
    Example:
      auditor portfolio operators/ --out reports/2026-Q4 --as-of 2026-11-01 --db sqlite:///reports/history.db
    """
    from auditor.api.audit import as_date
    from auditor.supervision.portfolio import PORTFOLIO_FORMATS, build_portfolio, write_portfolio

    chosen = tuple(dict.fromkeys(f.strip().lower() for f in formats.split(",") if f.strip()))
    for f in chosen:
        if f not in PORTFOLIO_FORMATS:
            raise UsageError("--format", f, PORTFOLIO_FORMATS)
    cli_config = {k: v for k, v in evidence.items() if v not in (None, False, ())}

    def step(source: str, done: int, total: int) -> None:
        click.echo(f"  [{done}/{total}] {source}", err=True)

    result = build_portfolio(list(sources), as_of=as_date(as_of, "--as-of"), crs=crs, cli_config=cli_config,
                             waivers=_pairs(waivers, "--waivers"), db=db_url, programme=programme, generated_at=generated_at, progress=step)
    paths = write_portfolio(result, out_dir, chosen or PORTFOLIO_FORMATS)
    rows = result.rows()
    for r in rows:
        if r["status"] == "error":
            click.echo(f"{r['operator']}: UNUSABLE INPUT — {r['error']}")
        else:
            f = r["facilities"]
            change = r.get("change")
            since = f"; fail {change['verdicts_delta']['fail']:+d} since run {change['previous_run']}" if change else ""
            click.echo(f"{r['operator']} ({r['region']}): {str(r['verdict']).upper()} — {r['facility_count']} facilities "
                       f"(pass {f['pass']}, fail {f['fail']}, indeterminate {f['indeterminate']}, error {f['error']}){since}")
    click.echo("portfolio: " + ", ".join(str(p) for p in paths))
    bad = any(r["status"] == "error" or r.get("verdict") == "fail" or r.get("facilities", {}).get("error") for r in rows)
    sys.exit(EXIT_FAILED if bad else EXIT_OK)


def _history_text(runs: list[Any], trends: dict[str, list[dict[str, Any]]]) -> str:
    if not runs:
        return "no recorded runs\n"
    lines = []
    for operator, points in trends.items():
        lines.append(f"{operator}")
        for p in points:
            v = p["verdicts"]
            changes = p.get("changes")
            delta = p.get("delta")
            since = ""
            if delta is not None:
                moved = ", ".join(f"{k} {n}" for k, n in (changes or {}).items())
                since = f"  (fail {delta.get('fail', 0):+d}{'; ' + moved if moved else ''})"
            lines.append(f"  run {p['id']:>4}  {p['recorded_at'][:19]}  as of {p['as_of']}  {p['region']:<9} {p['verdict'].upper():<13} "
                         f"{p['facility_count']} facilities: pass {v.get('pass', 0)}, fail {v.get('fail', 0)}, "
                         f"indeterminate {v.get('indeterminate', 0)}, error {v.get('error', 0)}{since}")
    return "\n".join(lines) + "\n"


def _history_md(trends: dict[str, list[dict[str, Any]]]) -> str:
    from auditor.report.safe import md_cell as c

    lines = ["# Audit history", ""]
    for operator, points in trends.items():
        lines += [f"## {c(operator)}", "", "| run | recorded | as of | programme | region | verdict | pass | fail | indet. | error | waived | change |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for p in points:
            v = p["verdicts"]
            change = "—"
            if p.get("delta") is not None:
                moved = ", ".join(f"{k} {n}" for k, n in (p.get("changes") or {}).items())
                change = f"fail {p['delta'].get('fail', 0):+d}" + (f"; {moved}" if moved else "")
            lines.append(f"| {p['id']} | {c(p['recorded_at'][:19])} | {c(p['as_of'])} | {c(p['programme'])} | {c(p['region'])} | {c(p['verdict'])} | "
                         f"{v.get('pass', 0)} | {v.get('fail', 0)} | {v.get('indeterminate', 0)} | {v.get('error', 0)} | {v.get('waived', 0)} | {c(change)} |")
        lines.append("")
    return "\n".join(lines) if len(lines) > 2 else "# Audit history\n\nNo recorded runs.\n"


@click.command()
@click.option("--db", "db_url", metavar="URL", required=True, help="History database: sqlite:///FILE (or a file path) or postgresql://USER@HOST/DB.")
@click.option("--operator", default=None, help="Only this operator's runs.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "md"]), default="text", show_default=True, help="Output format.")
@click.option("--record", "record", multiple=True, type=click.Path(), metavar="REPORT",
              help="First record these report.json files or report folders (repeatable).")
@click.option("--programme", default=_DEFAULT_PROGRAMME, show_default=True, help="The programme --record records them under.")
@click.option("--diff", "diff_runs", nargs=2, type=int, metavar="OLD NEW", help="Compare two recorded runs, as `auditor diff` compares two reports.")
@click.option("--force", is_flag=True, help="With --diff: compare runs of different regions or operators anyway.")
@handles_errors
def history(db_url: str, operator: str | None, fmt: str, record: tuple[str, ...], programme: str,
            diff_runs: tuple[int, int] | None, force: bool) -> None:
    """List the audits recorded in a history database, with each operator's trend; or compare two runs.

    Exit status: 0, or with --diff 1 when something regressed; 2 usage or an unusable database.

    \b
    Example:
      auditor history --db sqlite:///reports/history.db --format md
      auditor history --db sqlite:///reports/history.db --record reports/2026-11 --operator "Example Cloud"
      auditor history --db postgresql://auditor@db.example/history --diff 3 7
    """
    import json

    from auditor.report.diff import load_report
    from auditor.supervision.history import History

    with History(db_url) as db:
        for path in record:
            run = db.record(load_report(path), programme=programme, source=f"report:{path}")
            click.echo(f"recorded {path} as run {run.id}", err=True)
        if diff_runs:
            from auditor.report.diff import diff_json, diff_markdown, diff_reports, diff_text

            d = diff_reports(db.load(diff_runs[0]), db.load(diff_runs[1]), force=force)
            click.echo({"text": diff_text, "json": diff_json, "md": diff_markdown}[fmt](d), nl=False)
            sys.exit(EXIT_FAILED if d.has_regression else EXIT_OK)
        if operator is not None and operator not in db.operators():
            raise InputError(f"no recorded run of operator {operator!r}", hint="recorded operators: " + (", ".join(db.operators()) or "none"))
        runs = db.runs(operator)
        trends = db.trends(operator) if runs else {}
    if fmt == "json":
        click.echo(json.dumps({"schema": "pilot-zone-auditor/history/1", "runs": [r.as_dict() for r in runs], "trends": trends},
                              ensure_ascii=False, indent=2))
    elif fmt == "md":
        click.echo(_history_md(trends), nl=False)
    else:
        click.echo(_history_text(runs, trends), nl=False)


@click.command()
@click.argument("report", required=False, type=click.Path())
@db_option
@click.option("--n", "n", type=click.IntRange(min=1), required=True, help="Facilities to draw (per stratum with --by).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed; the same seed draws the same sample (default: a fresh one, printed).")
@click.option("--by", type=click.Choice(["operator", "region", "kind"]), default=None, help="Draw --n from each operator, region or kind.")
@click.option("--equal", is_flag=True, help="Plain random sampling, every facility equally likely (no risk weights).")
@click.option("--weight", "weights", multiple=True, metavar="CATEGORY=W",
              help="Risk weight of a category: fail, error, indeterminate, waived, near_line, new, rest (repeatable).")
@click.option("--near-line", "near_line_m", type=float, default=2000.0, show_default=True, help="Metres from the line within which a passing facility is 'near the line'.")
@click.option("--previous", type=click.Path(), help="The operator's previous report: its facilities not in it are 'new' (with REPORT).")
@click.option("--operator", default=None, help="With --db: only this operator's latest run.")
@click.option("--outcomes", type=click.Path(dir_okay=False), help="On-site outcomes (CSV: key or id, outcome): the estimate uses them.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "md"]), default="md", show_default=True, help="Output format.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Write to this file instead of standard output.")
@handles_errors
def sample(report: str | None, db_url: str | None, n: int, seed: int | None, by: str | None, equal: bool, weights: tuple[str, ...],
           near_line_m: float, previous: str | None, operator: str | None, outcomes: str | None, fmt: str, out_file: str | None) -> None:
    """Draw facilities for on-site checks from REPORT (a report.json or report folder) or --db (each
    operator's latest recorded run), weighted by risk, each with its reason and inclusion
    probability, and end with the Horvitz–Thompson estimate of the non-compliant share.

    The seed is printed (on standard error) and written in the output: the same seed and input draw
    the same facilities.

    \b
    Example:
      auditor sample reports/example --n 10 --seed 2026 --format csv --out checks.csv
      auditor sample reports/example --n 10 --seed 2026 --outcomes checks.csv    # after the visits
      auditor sample --db sqlite:///reports/history.db --n 5 --by operator --seed 7
    """
    from auditor.report.diff import load_report
    from auditor.supervision.estimate import read_outcomes
    from auditor.supervision.history import History
    from auditor.supervision.sample import records_from_history, records_from_report
    from auditor.supervision.sample import sample as draw
    from auditor.supervision.sample_output import render_sample

    if (report is None) == (db_url is None):
        raise UsageError("REPORT/--db", report or db_url, (), message="give either REPORT (a report.json or report folder) or --db URL, not both or neither")
    if report is not None:
        if operator is not None:
            raise UsageError("--operator", operator, (), message="--operator chooses among the runs of --db; a REPORT has one operator")
        records = records_from_report(load_report(report), previous=load_report(previous) if previous else None)
    else:
        if previous is not None:
            raise UsageError("--previous", previous, (), message="--previous goes with REPORT; with --db the previous recorded run is used")
        with History(str(db_url)) as db:
            records = records_from_history(db, operator=operator)
    s = draw(records, n, seed, by=by, equal=equal, weights=_pairs(weights, "--weight"), near_line_m=near_line_m)
    marks = read_outcomes(outcomes) if outcomes else None
    text = render_sample(s, fmt, marks)
    click.echo(f"seed {s.seed}: {len(s.picks)} of {s.population} facilities drawn", err=True)
    if out_file:
        Path(out_file).write_text(text, encoding="utf-8")
        click.echo(f"sample: {out_file}", err=True)
    else:
        click.echo(text, nl=False)


def register(group: click.Group) -> None:
    """Add ``portfolio``, ``history`` and ``sample`` to ``group`` (the ``auditor`` command)."""
    group.add_command(portfolio)
    group.add_command(history)
    group.add_command(sample)
