"""A sample as JSON, CSV or Markdown: the picks, then the design-based estimate at the end.

The CSV (UTF-8 with BOM, for Chinese Excel) has an empty ``outcome`` column for the inspectors:
filled in (non_compliant / compliant, 不合规 / 合规) it is the outcomes file ``auditor sample
--outcomes`` reads. Its last rows, after a blank line, carry the estimate; they have no outcome and
are passed over when the file is read back.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from auditor.report.safe import csv_cell, md_cell
from auditor.supervision.sample import Sample

__all__ = ["SAMPLE_FORMATS", "render_sample"]

SAMPLE_FORMATS = ("json", "csv", "md")
_COLUMNS = ("key", "stratum", "operator", "region", "id", "row", "kind", "name", "verdict", "category", "reason", "weight",
            "inclusion_probability", "signed_distance_m", "outcome")


def render_sample(s: Sample, fmt: str, outcomes: Mapping[str, Any] | None = None) -> str:
    """The sample in ``fmt`` (json, csv, md), ending with the estimate (from ``outcomes`` when given)."""
    if fmt == "json":
        return json.dumps(s.as_dict(outcomes), ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    if fmt == "csv":
        return _csv(s, outcomes)
    if fmt == "md":
        return _markdown(s, outcomes)
    from auditor.errors import UsageError

    raise UsageError("--format", fmt, SAMPLE_FORMATS)


def _outcome_text(s: Sample, outcomes: Mapping[str, Any] | None, key: str, facility_id: str) -> str:
    if outcomes is None:
        return ""
    value = outcomes.get(key, outcomes.get(facility_id))
    if value is None:
        return ""
    from auditor.supervision.estimate import outcome_value

    return "non_compliant" if outcome_value(value) else "compliant"


def _csv(s: Sample, outcomes: Mapping[str, Any] | None) -> str:
    e = s.estimate(outcomes)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(_COLUMNS)
    for p in s.picks:
        d = p.as_dict()
        w.writerow([csv_cell(d["key"]), csv_cell(d["stratum"]), csv_cell(d["operator"]), csv_cell(d["region"]), csv_cell(d["id"]),
                    "" if d["row"] is None else d["row"], csv_cell(d["kind"]), csv_cell(d["name"]), d["verdict"], d["category"],
                    csv_cell(d["reason"]), f"{d['weight']:g}", f"{d['inclusion_probability']:.6f}",
                    "" if d["signed_distance_m"] is None else f"{d['signed_distance_m']:.1f}",
                    _outcome_text(s, outcomes, p.key, p.record.facility_id)])
    w.writerow([])
    for label, value in (
        ("# seed", s.seed), ("# population", s.population), ("# picks", len(s.picks)),
        ("# estimate source", e.source), ("# estimated non-compliant share", f"{e.share:.6f}"),
        (f"# {e.confidence * 100:g} % interval", f"{e.low:.6f} – {e.high:.6f}"), ("# estimate", e.sentence()),
    ):
        w.writerow([label, csv_cell(value)])
    return "\ufeff" + buf.getvalue()


def _markdown(s: Sample, outcomes: Mapping[str, Any] | None) -> str:
    c = md_cell
    e = s.estimate(outcomes)
    design = "simple random sampling without replacement" if s.equal else (
        "conditional Poisson sampling, inclusion probabilities proportional to the risk weights (capped at 1)")
    lines = [
        "# Facilities drawn for on-site checks", "",
        f"Seed **{s.seed}** · {len(s.picks)} picks from {s.population} facilities"
        + (f" · {s.n} per {c(s.by)}" if s.by else "") + f" · {design}", "",
    ]
    if not s.equal:
        lines += ["| category | weight | facilities | inclusion probability |", "|---|---|---|---|"]
        for design_ in s.strata:
            for g in design_.groups:
                lines.append(f"| {c(g.category)}{' (' + c(design_.key) + ')' if s.by else ''} | {g.weight:g} | {g.size} | {g.probability:.4f} |")
        lines += ["", f"Near the line: passing within {s.near_line_m:,.0f} m of the region's line.", ""]
    lines += ["| # | facility | operator | kind | verdict | reason | inclusion probability | outcome |", "|---|---|---|---|---|---|---|---|"]
    for i, p in enumerate(s.picks, start=1):
        r = p.record
        lines.append(f"| {i} | {c(r.facility_id)} {c(r.name)} | {c(r.operator)} | {c(r.kind)} | {c(r.verdict)} | {c(p.reason)} | "
                     f"{p.inclusion_probability:.4f} | {c(_outcome_text(s, outcomes, p.key, r.facility_id)) or '☐'} |")
    if s.notes:
        lines += [""] + [f"- {c(n)}" for n in s.notes]
    lines += [
        "", "## Estimate", "",
        c(e.sentence()), "",
        f"Horvitz–Thompson total {e.total:.3f} of {e.population}; standard error of the share {e.standard_error * 100:.2f} points; "
        f"Korn–Graubard interval on an effective sample of {e.effective_n:.1f}.",
    ]
    if outcomes is None:
        lines += ["", "Provisional: no on-site outcomes yet, so the audit's verdicts stand in. "
                  "Fill the CSV's outcome column and run `auditor sample ... --outcomes FILE` with the same seed."]
    return "\n".join(lines) + "\n"
