"""A portfolio: every operator audited (or its report read) into one table and one map.

``auditor portfolio DIR|FILES… --out OUT`` gives :func:`build_portfolio` operator profiles (YAML or
TOML), report folders or report.json files, or folders holding them: a folder's own profiles and
report.json, and those of its immediate subfolders (``DIR/<operator>/operator.yaml``). A YAML file
that is a waivers file (its top level is ``waivers:``) is not a profile and is passed over.

Each operator becomes one row: programme, region, facility counts by verdict, failing rules
(findings that fail, per rule), waivers that expire within 90 days of its as-of date, and — with a
history database — the change since its previous recorded audit (verdict counts, and facilities
regressed, fixed, new, removed as ``auditor diff`` counts them). One operator's unusable input (a
profile that cannot be read, a facility list that is not there, a report that is not JSON) is
reported in its own row with the reason and does not stop the others.

:func:`write_portfolio` writes ``portfolio.json`` (schema ``pilot-zone-auditor/portfolio/1``),
``portfolio.md`` and ``portfolio.html`` (self-contained: a map of every operator's facilities as
inline SVG, one colour per operator; see :mod:`auditor.supervision.portfolio_html`). Apart from
``generated_at``, the same inputs give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import AuditorError, UsageError, os_reason
from auditor.supervision.history import DEFAULT_PROGRAMME, History
from auditor.supervision.records import inputs_fingerprint, operator_key, region_options

__all__ = ["EXPIRING_WITHIN_DAYS", "PORTFOLIO_FORMATS", "PORTFOLIO_SCHEMA", "Entry", "Portfolio", "build_portfolio",
           "expand_sources", "render_portfolio_json", "render_portfolio_markdown", "write_portfolio"]

PORTFOLIO_SCHEMA = "pilot-zone-auditor/portfolio/1"
PORTFOLIO_FORMATS = ("json", "md", "html")
#: Waivers that stop holding within this many days of the audit's as-of date are listed.
EXPIRING_WITHIN_DAYS = 90
PROFILE_SUFFIXES = (".yaml", ".yml", ".toml")
VERDICTS = ("pass", "fail", "indeterminate", "error", "waived")


@dataclass
class Entry:
    """One operator of the portfolio: where it came from, its report (when usable), its row."""

    source: str
    kind: str                                  # "profile" or "report"
    report: dict[str, Any] | None = None
    error: str | None = None
    region: Any = None                         # the Region its facilities are drawn against (None: not drawn)
    recorded_run: int | None = None
    change: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def operator(self) -> str:
        return operator_key(self.report) if self.report is not None else f"(unusable: {Path(self.source).name})"

    def row(self, programme: str) -> dict[str, Any]:
        """The portfolio.json row of this operator."""
        base: dict[str, Any] = {"operator": self.operator, "source": self.source, "source_kind": self.kind}
        if self.report is None:
            return {**base, "status": "error", "error": self.error, "programme": programme}
        r = self.report
        summary = r.get("summary") or {}
        verdicts = summary.get("facilities") or {}
        return {
            **base,
            "status": "audited" if self.kind == "profile" else "read",
            "programme": programme,
            "region": (r.get("region") or {}).get("id"),
            "region_options": region_options(r),
            "as_of": r.get("as_of"),
            "verdict": summary.get("verdict"),
            "facility_count": summary.get("facility_count", len(r.get("facilities") or [])),
            "facilities": {v: int(verdicts.get(v, 0)) for v in VERDICTS},
            "failing_rules": failing_rules(r),
            "waivers_expiring": expiring_waivers(r),
            "change": self.change,
            "recorded_run": self.recorded_run,
            "warnings": len(r.get("warnings") or []),
            "notes": list(self.notes),
        }


@dataclass
class Portfolio:
    """Every operator's entry, in a stable order (operator, then source)."""

    entries: list[Entry]
    generated_at: str
    programme: str = DEFAULT_PROGRAMME
    database: str | None = None

    def rows(self) -> list[dict[str, Any]]:
        return [e.row(self.programme) for e in self.entries]

    def as_dict(self) -> dict[str, Any]:
        rows = self.rows()
        totals = {v: sum(r.get("facilities", {}).get(v, 0) for r in rows) for v in VERDICTS}
        return {
            "schema": PORTFOLIO_SCHEMA,
            "generated_at": self.generated_at,
            "programme": self.programme,
            "database": self.database,
            "operators": rows,
            "totals": {
                "operators": len(rows), "unusable": sum(r["status"] == "error" for r in rows),
                "failing_operators": sum(r.get("verdict") == "fail" for r in rows),
                "facilities": totals, "facility_count": sum(r.get("facility_count", 0) for r in rows),
                "waivers_expiring": sum(len(r.get("waivers_expiring", [])) for r in rows),
            },
        }


# --------------------------------------------------------------------------- what a row says


def failing_rules(report: Mapping[str, Any]) -> dict[str, int]:
    """Failing findings per rule (facility and operator findings), by rule id."""
    out: dict[str, int] = {}
    findings = list(report.get("operator_findings") or [])
    for f in report.get("facilities") or []:
        findings += list(f.get("findings") or []) if isinstance(f, Mapping) else []
    for x in findings:
        if isinstance(x, Mapping) and x.get("status") == "fail":
            out[str(x.get("rule"))] = out.get(str(x.get("rule")), 0) + 1
    return dict(sorted(out.items()))


def expiring_waivers(report: Mapping[str, Any], within_days: int = EXPIRING_WITHIN_DAYS) -> list[dict[str, Any]]:
    """Waivers applied in the report that stop holding within ``within_days`` of its as-of date:
    one entry per waiver (its file and number), with the subjects it covers, soonest first."""
    try:
        as_of = dt.date.fromisoformat(str(report.get("as_of")))
    except ValueError:
        return []
    found: dict[tuple[str, Any], dict[str, Any]] = {}
    findings = [(x, str(x.get("subject", ""))) for x in report.get("operator_findings") or [] if isinstance(x, Mapping)]
    for f in report.get("facilities") or []:
        if isinstance(f, Mapping):
            findings += [(x, str(f.get("id", ""))) for x in f.get("findings") or [] if isinstance(x, Mapping)]
    for x, subject in findings:
        w = x.get("waiver")
        if not isinstance(w, Mapping):
            continue
        try:
            expires = dt.date.fromisoformat(str(w.get("expires")))
        except ValueError:
            continue
        days = (expires - as_of).days
        if not 0 <= days <= within_days:
            continue
        key = (str(w.get("source", "")), w.get("waiver"))
        entry = found.setdefault(key, {
            "waiver": w.get("waiver"), "source": w.get("source"), "pattern": w.get("pattern"), "rules": list(w.get("rules") or []),
            "expires": expires.isoformat(), "days_left": days, "owner": w.get("owner"), "reference": w.get("reference"), "subjects": [],
        })
        if subject not in entry["subjects"]:
            entry["subjects"].append(subject)
    return sorted(found.values(), key=lambda e: (e["days_left"], str(e["source"]), str(e["waiver"])))


def change_since(previous: Mapping[str, Any], report: Mapping[str, Any], previous_run: Any) -> dict[str, Any]:
    """What changed since the operator's previous recorded run: verdict counts, facilities by diff category."""
    from auditor.report.diff import CATEGORIES, diff_reports

    d = diff_reports(previous, report, force=True)
    before = (previous.get("summary") or {}).get("facilities") or {}
    now = (report.get("summary") or {}).get("facilities") or {}
    return {
        "previous_run": previous_run.id, "previous_as_of": previous_run.as_of.isoformat(),
        "previous_recorded_at": previous_run.recorded_at.isoformat(), "previous_verdict": previous_run.verdict,
        "verdicts_delta": {v: int(now.get(v, 0)) - int(before.get(v, 0)) for v in VERDICTS},
        "facilities": {c: len(d.facilities.get(c, [])) for c in CATEGORIES if c != "unchanged" and d.facilities.get(c)},
        "regressions": len(d.regressions),
        "notes": list(d.notes),
    }


# --------------------------------------------------------------------------- the sources


def _is_waivers_file(path: Path) -> bool:
    """A YAML file whose top level is ``waivers:`` (a waivers file, not a profile). Unreadable: False."""
    if path.suffix.lower() not in (".yaml", ".yml"):
        return False
    try:
        import yaml

        with open(path, encoding="utf-8-sig") as f:
            head = f.read(1 << 20)
        doc = yaml.safe_load(head)
    except Exception:  # noqa: BLE001 - unreadable here means "let the audit say why", in its row
        return False
    return isinstance(doc, Mapping) and "waivers" in doc and "region" not in doc


def expand_sources(sources: Iterable[str | os.PathLike[str]]) -> list[tuple[str, str]]:
    """``(path, "profile" | "report")`` for every operator named: files as given, folders expanded
    (their profiles and report.json, and their immediate subfolders'), each in name order."""
    out: list[tuple[str, str]] = []

    def folder(d: Path, depth: int) -> None:
        if (d / "report.json").is_file():
            out.append((str(d / "report.json"), "report"))
            return
        for child in sorted(d.iterdir(), key=lambda p: p.name):
            if child.is_file() and child.suffix.lower() in PROFILE_SUFFIXES and not _is_waivers_file(child):
                out.append((str(child), "profile"))
        if depth == 0:
            for child in sorted(d.iterdir(), key=lambda p: p.name):
                if child.is_dir() and not child.name.startswith("."):
                    folder(child, 1)

    for s in sources:
        p = Path(s)
        if p.is_dir():
            folder(p, 0)
        elif p.suffix.lower() == ".json":
            out.append((str(p), "report"))
        else:
            out.append((str(p), "profile"))
    return list(dict.fromkeys(out))


def _failure(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"{exc.filename + ': ' if exc.filename else ''}{os_reason(exc)}"
    if isinstance(exc, RecursionError):
        return "an input is nested too deeply to read"
    if isinstance(exc, MemoryError):
        return "out of memory: an input is too large to handle"
    return str(exc) or type(exc).__name__


# --------------------------------------------------------------------------- building it


def build_portfolio(
    sources: Sequence[str | os.PathLike[str]],
    *,
    as_of: dt.date | str | None = None,
    crs: str | None = None,
    cli_config: Mapping[str, Any] | None = None,
    waivers: Mapping[str, str | os.PathLike[str]] | None = None,
    db: str | os.PathLike[str] | None = None,
    programme: str = DEFAULT_PROGRAMME,
    generated_at: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Portfolio:
    """Audit every operator profile (or read every report) in ``sources`` into a :class:`Portfolio`.

    Parameters
    ----------
    sources : sequence of paths
        Profiles, report folders, report.json files, or folders of them (see :func:`expand_sources`).
    as_of, crs, cli_config
        As for ``auditor audit``: the date judged on, the CRS of rows that state none, evidence
        options (``{"asn_table": ..., "dns_recording": ...}``). They apply to every profile.
    waivers : mapping, optional
        Profile path → waivers file, applied to that operator's audit.
    db : str, optional
        A history database: each operator's previous run gives its row's ``change``, and each
        audit (and each report not recorded yet) is recorded. Opened first: an unusable database
        stops the portfolio before anything is audited.
    programme : str, default "notice-2024-107"
        Recorded with each run and shown in each row.
    generated_at : str, optional
        The timestamp in portfolio.json and every report built (default: now, UTC).
    progress : callable, optional
        ``progress(source, done, total)`` after each operator.
    """
    from auditor.report.json_report import build_report

    stamp = generated_at or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    found = expand_sources(sources)
    if not found:
        raise UsageError("sources", ", ".join(str(s) for s in sources), (),
                         message=f"no operator profile or report found in {', '.join(str(s) for s in sources) or '(nothing)'}")
    wanted_waivers = {os.path.realpath(k): str(v) for k, v in (waivers or {}).items()}
    unknown = sorted(set(wanted_waivers) - {os.path.realpath(p) for p, kind in found if kind == "profile"})
    if unknown:
        raise UsageError("--waivers", unknown[0], (), message=f"--waivers names profiles the portfolio does not audit: {', '.join(unknown)}")
    history = History(db) if db is not None else None
    entries: list[Entry] = []
    try:
        for done, (path, kind) in enumerate(found, start=1):
            entry = Entry(source=path, kind=kind)
            try:
                if kind == "profile":
                    entry.report, entry.region = _audit(path, as_of=as_of, crs=crs, cli_config=cli_config,
                                                        waivers=wanted_waivers.get(os.path.realpath(path)), generated_at=stamp, build=build_report)
                else:
                    from auditor.report.diff import load_report

                    entry.report = load_report(path)
                    entry.region = _region_of(entry.report, entry.notes)
            except (AuditorError, OSError, ValueError, RecursionError, MemoryError) as exc:
                entry.report, entry.error = None, _failure(exc)
            if history is not None and entry.report is not None:
                _with_history(history, entry, programme)
            entries.append(entry)
            if progress is not None:
                progress(path, done, len(found))
    finally:
        if history is not None:
            history.close()
    entries.sort(key=lambda e: (e.operator, e.source))
    return Portfolio(entries=entries, generated_at=stamp, programme=programme,
                     database=None if history is None else _safe(history))


def _safe(history: History) -> str:
    from auditor.supervision.history import safe_url

    return safe_url(history.url)


def _audit(path: str, *, as_of: Any, crs: str | None, cli_config: Mapping[str, Any] | None, waivers: str | None,
           generated_at: str, build: Callable[..., dict[str, Any]]) -> tuple[dict[str, Any], Any]:
    from auditor.engine import audit

    result = audit(path, as_of=as_of, crs=crs, cli_config=dict(cli_config or {}))
    if waivers:
        from auditor.waivers import apply_waivers_to_result, load_waivers

        result, _ = apply_waivers_to_result(result, load_waivers(waivers))
    return build(result, generated_at=generated_at), result.region


def _region_of(report: Mapping[str, Any], notes: list[str]) -> Any:
    """The registry's region a read report names (with its options), for the map; None (and a note) if unknown."""
    from auditor.regions import load_registry

    region_id = str((report.get("region") or {}).get("id", ""))
    try:
        return load_registry().region(region_id, region_options(report))
    except AuditorError as exc:
        notes.append(f"not drawn on the map: {exc}")
        return None


def _with_history(history: History, entry: Entry, programme: str) -> None:
    """The change since the operator's previous recorded run, then this run recorded (a report read
    again that is already the latest recorded run is not recorded twice)."""
    report = entry.report
    assert report is not None
    previous = history.latest(operator_key(report))
    same = (previous is not None and entry.kind == "report"
            and previous.inputs_sha256 == inputs_fingerprint(report.get("inputs") or [])
            and history.load(previous.id).get("generated_at") == report.get("generated_at"))
    if same:
        assert previous is not None
        entry.recorded_run = previous.id
        before = history.previous(previous)
        if before is not None:
            entry.change = change_since(history.load(before.id), report, before)
        entry.notes.append(f"already recorded as run {previous.id}")
        return
    if previous is not None:
        entry.change = change_since(history.load(previous.id), report, previous)
    run = history.record(report, programme=programme, source="portfolio" if entry.kind == "profile" else f"report:{entry.source}")
    entry.recorded_run = run.id


# --------------------------------------------------------------------------- writing it


def render_portfolio_json(portfolio: Portfolio) -> str:
    return json.dumps(portfolio.as_dict(), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def _counts(row: Mapping[str, Any]) -> str:
    f = row.get("facilities") or {}
    return " / ".join(str(f.get(v, 0)) for v in ("pass", "fail", "indeterminate", "error", "waived"))


def _change_text(change: Mapping[str, Any] | None) -> str:
    if not change:
        return "—"
    delta = change.get("verdicts_delta") or {}
    moved = ", ".join(f"{k} {v}" for k, v in (change.get("facilities") or {}).items())
    fail = delta.get("fail", 0)
    return f"since run {change.get('previous_run')} ({change.get('previous_as_of')}): fail {fail:+d}" + (f"; {moved}" if moved else "")


def render_portfolio_markdown(portfolio: Portfolio) -> str:
    """portfolio.md: one row per operator, then the unusable inputs and expiring waivers in detail."""
    from auditor.report.safe import md_cell as c

    d = portfolio.as_dict()
    t = d["totals"]
    lines = [
        "# Pilot-region portfolio", "",
        f"Generated {c(d['generated_at'])} · programme {c(d['programme'])} · {t['operators']} operators "
        f"({t['failing_operators']} failing, {t['unusable']} unusable) · {t['facility_count']} facilities"
        + (f" · history {c(d['database'])}" if d["database"] else ""), "",
        "| operator | region | as of | verdict | facilities (pass / fail / indet. / error / waived) | failing rules | waivers expiring ≤ 90 days | change since previous audit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in d["operators"]:
        if r["status"] == "error":
            lines.append(f"| {c(r['operator'])} | — | — | **unusable input** | — | {c(r['error'])} | — | — |")
            continue
        rules = ", ".join(f"{k} ({v})" for k, v in r["failing_rules"].items()) or "—"
        waivers = ", ".join(f"{w['expires']} ({w['days_left']} d)" for w in r["waivers_expiring"]) or "—"
        lines.append(f"| {c(r['operator'])} | {c(r['region'])} | {c(r['as_of'])} | {c(r['verdict'])} | {_counts(r)} | {c(rules)} | "
                     f"{c(waivers)} | {c(_change_text(r['change']))} |")
    expiring = [(r, w) for r in d["operators"] for w in r.get("waivers_expiring", [])]
    if expiring:
        lines += ["", "## Waivers expiring within 90 days", "", "| operator | expires | days left | rules | subjects | owner | reference |", "|---|---|---|---|---|---|---|"]
        for r, w in expiring:
            lines.append(f"| {c(r['operator'])} | {c(w['expires'])} | {w['days_left']} | {c(', '.join(w['rules']))} | "
                         f"{c(', '.join(w['subjects']))} | {c(w['owner'])} | {c(w['reference'])} |")
    bad = [r for r in d["operators"] if r["status"] == "error"]
    if bad:
        lines += ["", "## Unusable inputs", ""] + [f"- {c(r['source'])}: {c(r['error'])}" for r in bad]
    lines += ["", "## Sources", ""] + [f"- {c(r['operator'])}: {c(r['source'])} ({r['status']})" for r in d["operators"]]
    return "\n".join(lines) + "\n"


def write_portfolio(portfolio: Portfolio, out_dir: str | os.PathLike[str], formats: Sequence[str] = PORTFOLIO_FORMATS) -> list[Path]:
    """Write portfolio.json / .md / .html into ``out_dir``; each file is written beside its name and
    moved into place whole (``os.replace``), so a reader never sees half a file."""
    for f in formats:
        if f not in PORTFOLIO_FORMATS:
            raise UsageError("--format", f, PORTFOLIO_FORMATS)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    texts: dict[str, str] = {}
    if "json" in formats:
        texts["portfolio.json"] = render_portfolio_json(portfolio)
    if "md" in formats:
        texts["portfolio.md"] = render_portfolio_markdown(portfolio)
    if "html" in formats:
        from auditor.supervision.portfolio_html import render_portfolio_html

        texts["portfolio.html"] = render_portfolio_html(portfolio)
    written = []
    for name, text in texts.items():
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=out)
        try:
            os.fchmod(fd, 0o644)  # as an ordinary file would be (mkstemp makes it 0600)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            os.replace(tmp, out / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(out / name)
    return written
