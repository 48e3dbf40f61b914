"""report.md: a report a regulator can read, from the same mapping as report.json."""

from __future__ import annotations

from auditor.report.json_report import VERDICT_ORDER, build_report
from auditor.report.safe import md_cell
from auditor.report.unplaced import UNPLACED_TITLES, why_shown
from auditor.result import AuditResult
from auditor.rules._weights import basis_text

__all__ = ["render_markdown"]


def streamed_note(summary: dict) -> str:
    """The sentence a streamed audit's summary carries: how many facilities are detailed, where every row is."""
    tables = ", ".join(summary.get("facility_tables", {}).values()) or "the facility tables"
    return (
        f"Streamed audit of {summary['facility_count']:,} facilities: this report details the first "
        f"{summary['facilities_listed']:,} that did not pass; {tables} hold every row."
    )


def render_markdown(result: AuditResult, *, generated_at: str) -> str:
    r = build_report(result, generated_at=generated_at)
    s = r["summary"]
    lines = [
        f"# Pilot-region audit: {md_cell(r['operator']['name'] or '(bare facility list)')}",
        "",
        f"- **Verdict: {s['verdict'].upper()}**",
        f"- Region: `{r['region']['id']}` — {md_cell(r['region']['name_en'])}",
        f"- Scope: {md_cell(r['region']['scope_note'])}",
        f"- As of: {r['as_of']} (region status: {md_cell((r['region']['status_on_as_of'] or {}).get('status', 'not a pilot region'))})",
        f"- Generated: {r['generated_at']} by {r['tool']['name']} {r['tool']['version']} (rules {r['tool']['rules_version']}, {r['tool']['mode']})",
        "",
    ]
    if r["region"]["options"]:
        lines += ["Region options:", ""]
        for name, o in r["region"]["options"].items():
            lines.append(f"- `{name}` = {str(o['value']).lower()} (default {str(o['default']).lower()}): {md_cell(o['description'])}")
        lines.append("")
    lines += ["## Facilities", "", "| verdict | count |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in s["facilities"].items()]
    if "facilities_listed" in s:
        lines += ["", streamed_note(s)]
    if s.get("location_basis"):
        lines += ["", "## How each location was decided", "",
                  "Only a declared location (coordinates, address, admin unit) can pass a facility; an IP database only casts doubt "
                  "(the weight table is in the README).", "", "| decided on | facilities |", "|---|---|"]
        lines += [f"| {md_cell(basis_text(b.split('+')) if b != 'none' else 'no location evidence')} | {n} |" for b, n in s["location_basis"].items()]
    lines += ["", "## Rules", "", "| rule | pass | fail | indeterminate | not applicable |", "|---|---|---|---|---|"]
    for rule, counts in s["rules"].items():
        lines.append(f"| `{rule}` | {counts.get('pass', 0)} | {counts.get('fail', 0)} | {counts.get('indeterminate', 0)} | {counts.get('not_applicable', 0)} |")
    lines += ["", "## Operator findings", "", "| rule | clause | status | message |", "|---|---|---|---|"]
    for x in r["operator_findings"]:
        lines.append(f"| `{x['rule']}` | {md_cell(x['clause'])} | {x['status']} | {md_cell(x['message'])} |")
    lines += ["", "## Facilities that did not pass", "", "| id | row | kind | verdict | decided on | what |", "|---|---|---|---|---|---|"]
    for fac in sorted(r["facilities"], key=lambda f: (VERDICT_ORDER[f["verdict"]], f["row"])):
        if fac["verdict"] == "pass":
            continue
        if fac.get("errors"):
            what = "; ".join(f"column {e['column'] or '(row)'}: {e['message']}" + (f" ({e['hint']})" if e.get("hint") else "") for e in fac["errors"])
        else:
            what = " ".join(
                f"[{x['rule']}] {x['message']}" for x in fac["findings"] if x["status"] in ("fail", "indeterminate")
            )
        lines.append(f"| {md_cell(fac['id'])} | {fac['row']} | {md_cell(fac['kind'])} | **{fac['verdict']}** | {md_cell(basis_text(fac.get('basis', ())))} | {md_cell(what)} |")
    waived = [(x, subject) for subject, items in [("operator", r["operator_findings"])] + [(f["id"], f["findings"]) for f in r["facilities"]]
              for x in items if x.get("waiver")]
    if waived:
        lines += ["", "## Waived findings", "", "| rule | subject | was | owner | reason | expires | reference |", "|---|---|---|---|---|---|---|"]
        for x, subject in waived:
            w = x["waiver"]
            lines.append(f"| `{x['rule']}` | {md_cell(subject)} | {w['original_status']} | {md_cell(w['owner'])} | {md_cell(w['reason'])} "
                         f"| {w['expires']} | {md_cell(w.get('reference') or '')} |")
    lines += _unplaced(r)
    fp = r.get("footprint")
    if fp:
        lines += ["", "## ISP address space (footprint)", "", "| family | inside | outside | indeterminate | not placed | share outside |", "|---|---|---|---|---|---|"]
        for fam in ("ipv4", "ipv6"):
            c = fp[fam]
            if c["total"]:
                lines.append(f"| {fam} | {c['inside']:,} | {c['outside']:,} | {c['indeterminate']:,} | {c['unlocated']:,} | {c['share_outside']:.1%} |")
        lines += ["", "| prefix | inside | outside | indeterminate | not placed | where the IP database places it |", "|---|---|---|---|---|---|"]
        for p in fp["prefixes"]:
            where = "; ".join(f"{pl['answer']} ({pl['addresses']:,})" for pl in p["places"][:3]) or md_cell(p["note"])
            lines.append(f"| {md_cell(p['prefix'])} | {p['inside']:,} | {p['outside']:,} | {p['indeterminate']:,} | {p['unlocated']:,} | {md_cell(where)} |")
    passed = [f for f in r["facilities"] if f["verdict"] == "pass"]
    lines += ["", f"{len(passed)} facilities passed; their findings are in report.json.", ""]
    if r["warnings"]:
        lines += ["## Warnings", ""] + [f"- {md_cell(w)}" for w in r["warnings"]] + [""]
    lines += ["## Provenance", "", "| input | rows | sha256 |", "|---|---|---|"]
    for i in r["inputs"]:
        lines.append(f"| {md_cell(i['path'])} | {i.get('rows', '')} | `{i['sha256'][:16]}…` |")
    lines += ["", "| data | version | sha256 |", "|---|---|---|"]
    for d in r["data_sources"]:
        lines.append(f"| {md_cell(d['path'])} | {md_cell(d['version'])} | `{d['sha256'][:16]}…` |")
    lines.append("")
    return "\n".join(lines)


def _unplaced(r: dict) -> list[str]:
    """The section that lists the evidence that placed nothing (see :mod:`auditor.report.unplaced`)."""
    counts = r["summary"]["unplaced"]
    lines = ["", "## Unresolved hostnames and unplaced addresses", ""]
    if not any(c["count"] for c in counts.values()):
        return lines + ["Every hostname resolved and some source placed every address."]
    lines += ["They decide nothing: each facility is judged on its other evidence.", "",
              "| what | count | listed |", "|---|---|---|"]
    lines += [f"| {UNPLACED_TITLES[k]} | {c['count']} | {c['listed']} |" for k, c in counts.items()]
    lines += ["", "| row | facility | what | hostname or address | why |", "|---|---|---|---|---|"]
    lines += [f"| {x['row']} | {md_cell(x['facility'])} | {UNPLACED_TITLES[x['kind']]} | {md_cell(x['value'])} | {md_cell(why_shown(x, r))} |"
              for x in r["unplaced"]]
    return lines
