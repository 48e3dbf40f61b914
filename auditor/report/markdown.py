"""report.md: a report a regulator can read, from the same mapping as report.json, in zh-CN or en."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.report.i18n import NOTICE_NUMBER, Tr, translator
from auditor.report.json_report import VERDICT_ORDER, build_report
from auditor.report.safe import md_cell
from auditor.report.unplaced import unplaced_title, why_shown
from auditor.result import AuditResult

__all__ = ["render_markdown", "streamed_note", "cited_clauses", "failing_rules"]


def streamed_note(summary: Mapping[str, Any], tr: Tr | None = None) -> str:
    """The sentence a streamed audit's summary carries: how many facilities are detailed, where every row is."""
    tr = tr or translator("en")
    tables = ", ".join(summary.get("facility_tables", {}).values()) or tr._("the facility tables")
    return tr._("Streamed audit of {total} facilities: this report details the first {listed} that did not pass; {tables} hold every row.").format(
        total=f"{summary['facility_count']:,}", listed=f"{summary['facilities_listed']:,}", tables=tables)


def cited_clauses(r: Mapping[str, Any]) -> list[str]:
    """Every clause reference the report's findings cite, once, in the order first cited."""
    refs: dict[str, None] = {}
    for x in r["operator_findings"] + [y for f in r["facilities"] for y in f["findings"]]:
        for c in str(x["clause"]).split(";"):
            if c.strip():
                refs.setdefault(c.strip())
    return list(refs)


def failing_rules(r: Mapping[str, Any]) -> list[str]:
    """Rules with a failing or indeterminate finding (in the catalogue's order of the summary)."""
    return [rule for rule, c in r["summary"]["rules"].items() if c.get("fail") or c.get("indeterminate")]


def facility_what(fac: Mapping[str, Any], tr: Tr) -> str:
    """Why a facility did not pass: the row's reading errors, or its failing and indeterminate findings."""
    if fac.get("errors"):
        return "; ".join(
            tr._("column {column}: {message}").format(column=e["column"] or tr._("(row)"), message=e["message"])
            + (f" ({e['hint']})" if e.get("hint") else "") for e in fac["errors"])
    return " ".join(f"[{x['rule']}] {x['message']}" for x in fac["findings"] if x["status"] in ("fail", "indeterminate"))


def render_markdown(result: AuditResult, *, generated_at: str, lang: str | None = "en") -> str:
    """report.md in ``lang`` (zh-CN or en; see :mod:`auditor.report.i18n`). Finding messages stay as the rules wrote them."""
    tr = translator(lang)
    _ = tr._
    r = build_report(result, generated_at=generated_at)
    s = r["summary"]
    status = (r["region"]["status_on_as_of"] or {}).get("status")
    lines = [
        "# " + _("Pilot-region audit: {operator}").format(operator=md_cell(r["operator"]["name"] or _("(bare facility list)"))),
        "",
        "- **" + _("Verdict: {verdict}").format(verdict=tr.status(s["verdict"]).upper()) + "**",
        "- " + _("Region: {region}").format(region=f"`{r['region']['id']}` — {md_cell(r['region']['name_zh'] if tr.zh else r['region']['name_en'])}"),
        "- " + _("Scope: {scope}").format(scope=md_cell(r["region"]["scope_note"])),
        "- " + _("As of: {date} (region status: {status})").format(date=r["as_of"], status=md_cell(tr.region_status(status))),
        "- " + _("Notice: {number}").format(number=NOTICE_NUMBER),
        "- " + _("Generated: {stamp} by {tool} {version} (rules {rules}, {mode})").format(
            stamp=r["generated_at"], tool=r["tool"]["name"], version=r["tool"]["version"], rules=r["tool"]["rules_version"], mode=r["tool"]["mode"]),
        "",
    ]
    if r["region"]["options"]:
        lines += [_("Region options:"), ""]
        for name, o in r["region"]["options"].items():
            lines.append("- " + _("`{name}` = {value} (default {default}): {meaning}").format(
                name=name, value=str(o["value"]).lower(), default=str(o["default"]).lower(), meaning=md_cell(o["description"])))
        lines.append("")
    lines += ["## " + _("Facilities"), "", f"| {_('verdict')} | {_('count')} |", "|---|---|"]
    lines += [f"| {tr.status(k)} | {v} |" for k, v in s["facilities"].items()]
    if "facilities_listed" in s:
        lines += ["", streamed_note(s, tr)]
    if s.get("location_basis"):
        lines += ["", "## " + _("How each location was decided"), "",
                  _("Only a declared location (coordinates, address, admin unit) can pass a facility; an IP database only casts doubt "
                    "(the weight table is in the README)."), "", f"| {_('decided on')} | {_('facilities')} |", "|---|---|"]
        lines += [f"| {md_cell(tr.basis(b.split('+')) if b != 'none' else _('no location evidence'))} | {n} |" for b, n in s["location_basis"].items()]
    lines += ["", "## " + _("Rules"), "",
              f"| {_('rule')} | {_('title')} | {tr.status('pass')} | {tr.status('fail')} | {tr.status('indeterminate')} | {tr.status('not_applicable')} |",
              "|---|---|---|---|---|---|"]
    for rule, counts in s["rules"].items():
        lines.append(f"| `{rule}` | {md_cell(tr.rule_title(rule))} | {counts.get('pass', 0)} | {counts.get('fail', 0)} "
                     f"| {counts.get('indeterminate', 0)} | {counts.get('not_applicable', 0)} |")
    clauses = cited_clauses(r)
    if clauses:
        lines += ["", "## " + _("Clauses checked"), "", _("Clauses of {number}, summarised.").format(number=NOTICE_NUMBER), "",
                  f"| {_('clause')} | {_('summary')} |", "|---|---|"]
        lines += [f"| {md_cell(tr.clause(c))} | {md_cell(tr.clause_summary(c))} |" for c in clauses]
    lines += ["", "## " + _("Operator findings"), "", f"| {_('rule')} | {_('clause')} | {_('status')} | {_('message')} |", "|---|---|---|---|"]
    for x in r["operator_findings"]:
        lines.append(f"| `{x['rule']}` | {md_cell(tr.clause(x['clause']))} | {tr.status(x['status'])} | {md_cell(x['message'])} |")
    lines += ["", "## " + _("Facilities that did not pass"), "",
              f"| {_('id')} | {_('row')} | {_('kind')} | {_('verdict')} | {_('decided on')} | {_('what')} |", "|---|---|---|---|---|---|"]
    for fac in sorted(r["facilities"], key=lambda f: (VERDICT_ORDER[f["verdict"]], f["row"])):
        if fac["verdict"] == "pass":
            continue
        lines.append(f"| {md_cell(fac['id'])} | {fac['row']} | {md_cell(fac['kind'])} | **{tr.status(fac['verdict'])}** "
                     f"| {md_cell(tr.basis(fac.get('basis', ())))} | {md_cell(facility_what(fac, tr))} |")
    todo = failing_rules(r)
    if todo:
        lines += ["", "## " + _("What to do"), "", f"| {_('rule')} | {_('remediation')} |", "|---|---|"]
        lines += [f"| `{rule}` {md_cell(tr.rule_title(rule))} | {md_cell(tr.remediation(rule))} |" for rule in todo]
    waived = [(x, subject) for subject, items in [(_("operator"), r["operator_findings"])] + [(f["id"], f["findings"]) for f in r["facilities"]]
              for x in items if x.get("waiver")]
    if waived:
        lines += ["", "## " + _("Waived findings"), "",
                  f"| {_('rule')} | {_('subject')} | {_('was')} | {_('owner')} | {_('reason')} | {_('expires')} | {_('reference')} |",
                  "|---|---|---|---|---|---|---|"]
        for x, subject in waived:
            w = x["waiver"]
            lines.append(f"| `{x['rule']}` | {md_cell(subject)} | {tr.status(w['original_status'])} | {md_cell(w['owner'])} | {md_cell(w['reason'])} "
                         f"| {w['expires']} | {md_cell(w.get('reference') or '')} |")
    lines += _unplaced(r, tr)
    fp = r.get("footprint")
    if fp:
        lines += ["", "## " + _("ISP address space (footprint)"), "",
                  f"| {_('family')} | {tr.relation('inside')} | {tr.relation('outside')} | {tr.relation('indeterminate')} | {_('not placed')} | {_('share outside')} |",
                  "|---|---|---|---|---|---|"]
        for fam in ("ipv4", "ipv6"):
            c = fp[fam]
            if c["total"]:
                lines.append(f"| {fam} | {c['inside']:,} | {c['outside']:,} | {c['indeterminate']:,} | {c['unlocated']:,} | {c['share_outside']:.1%} |")
        lines += ["", f"| {_('prefix')} | {tr.relation('inside')} | {tr.relation('outside')} | {tr.relation('indeterminate')} | {_('not placed')} "
                      f"| {_('where the IP database places it')} |", "|---|---|---|---|---|---|"]
        for p in fp["prefixes"]:
            where = "; ".join(f"{pl['answer']} ({pl['addresses']:,})" for pl in p["places"][:3]) or md_cell(p["note"])
            lines.append(f"| {md_cell(p['prefix'])} | {p['inside']:,} | {p['outside']:,} | {p['indeterminate']:,} | {p['unlocated']:,} | {md_cell(where)} |")
    passed = [f for f in r["facilities"] if f["verdict"] == "pass"]
    lines += ["", _("{n} facilities passed; their findings are in report.json.").format(n=len(passed)), ""]
    if r["warnings"]:
        lines += ["## " + _("Warnings"), ""] + [f"- {md_cell(w)}" for w in r["warnings"]] + [""]
    lines += ["## " + _("Provenance"), "", f"| {_('input')} | {_('rows')} | sha256 |", "|---|---|---|"]
    for i in r["inputs"]:
        lines.append(f"| {md_cell(i['path'])} | {i.get('rows', '')} | `{i['sha256'][:16]}…` |")
    lines += ["", f"| {_('data')} | {_('version')} | sha256 |", "|---|---|---|"]
    for d in r["data_sources"]:
        lines.append(f"| {md_cell(d['path'])} | {md_cell(d['version'])} | `{d['sha256'][:16]}…` |")
    if tr.zh:
        lines += ["", _("Finding messages are written by the rules in English and are quoted as they are.")]
    lines.append("")
    return "\n".join(lines)


def _unplaced(r: Mapping[str, Any], tr: Tr) -> list[str]:
    """The section that lists the evidence that placed nothing (see :mod:`auditor.report.unplaced`)."""
    _ = tr._
    counts = r["summary"]["unplaced"]
    lines = ["", "## " + _("Unresolved hostnames and unplaced addresses"), ""]
    if not any(c["count"] for c in counts.values()):
        return lines + [_("Every hostname resolved and some source placed every address.")]
    lines += [_("They decide nothing: each facility is judged on its other evidence."), "",
              f"| {_('what')} | {_('count')} | {_('listed')} |", "|---|---|---|"]
    lines += [f"| {unplaced_title(k, tr)} | {c['count']} | {c['listed']} |" for k, c in counts.items()]
    lines += ["", f"| {_('row')} | {_('facility')} | {_('what')} | {_('hostname or address')} | {_('why')} |", "|---|---|---|---|---|"]
    lines += [f"| {x['row']} | {md_cell(x['facility'])} | {unplaced_title(x['kind'], tr)} | {md_cell(x['value'])} | {md_cell(why_shown(x, r))} |"
              for x in r["unplaced"]]
    return lines
