"""portfolio.html: the portfolio as one self-contained page — the operators' table and a map per
region of every operator's facilities, one colour per operator, one shape per verdict.

Like report.html it fetches nothing: CSS inline, maps as inline SVG (each region drawn in its own
local projection, the one containment is measured in), no script at all, and a
Content-Security-Policy of ``default-src 'none'`` so the browser refuses any request an input
might smuggle in. Every string from the inputs goes through :func:`html.escape` (quotes too).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from auditor.report.html_report import svg_path
from auditor.supervision.records import core_parts, facility_point

if TYPE_CHECKING:
    from auditor.supervision.portfolio import Portfolio

__all__ = ["PALETTE", "render_portfolio_html"]

#: Operator colours (Okabe & Ito's colour-blind-safe set, then darker tones); past ten they repeat
#: with a dashed outline, and the legend and every marker's title still name the operator.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#7F3C8D", "#11A579")
_W, _H = 900.0, 620.0
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1180px;padding:1rem 1.5rem;color:#1b1b1b}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin-top:1.8rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #d0d0d0;padding:.25rem .45rem;vertical-align:top;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.v-fail{color:#b00020;font-weight:600}.v-pass{color:#1b6e20}.v-indeterminate{color:#8a5a00}.unusable{background:#fff0f0}
.sub{color:#555}.swatch{display:inline-block;width:.9em;height:.9em;border-radius:50%;vertical-align:-.1em;margin-right:.3em;border:1px solid #333}
.legend span{margin-right:1.1rem;white-space:nowrap}.map{border:1px solid #ccc;background:#f7fafc;max-width:100%;height:auto}
.part{fill:#e3efe3;stroke:#2f6b2f;stroke-width:1.2}.marker{stroke:#222;stroke-width:.8}.marker.dash{stroke-dasharray:2 1.5}
.label{font-size:10px;fill:#333}.partlabel{font-size:11px;fill:#2f6b2f;font-style:italic}
@media print{.map{break-inside:avoid}}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _shape(verdict: str, x: float, y: float) -> str:
    if verdict == "fail":
        return f'<rect x="{x - 4.5:.1f}" y="{y - 4.5:.1f}" width="9" height="9"/>'
    if verdict in ("indeterminate", "error"):
        return f'<path d="M{x:.1f} {y - 6:.1f}L{x + 5.5:.1f} {y + 4:.1f}L{x - 5.5:.1f} {y + 4:.1f}Z"/>'
    if verdict == "waived":
        return f'<path d="M{x:.1f} {y - 5.5:.1f}L{x + 5.5:.1f} {y:.1f}L{x:.1f} {y + 5.5:.1f}L{x - 5.5:.1f} {y:.1f}Z"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5"/>'


def _region_map(region: Any, points: Sequence[tuple[int, str, Mapping[str, Any], Mapping[str, Any]]], colours: Sequence[str]) -> tuple[str, int]:
    """One region's map: its parts and every operator's located facilities; (svg, markers drawn)."""
    import shapely

    geom = region.geometry
    parts_m = list(geom.projected_parts)
    bounds = shapely.total_bounds(parts_m)
    reach = 0.6 * max(bounds[2] - bounds[0], bounds[3] - bounds[1])
    if points:
        px, py = geom.projection.forward(np.asarray([p[3]["lon"] for p in points], dtype=float),
                                         np.asarray([p[3]["lat"] for p in points], dtype=float))
        px, py = np.atleast_1d(px), np.atleast_1d(py)
    else:
        px = py = np.zeros(0)
    x0, y0, x1, y1 = bounds
    near = (px >= x0 - reach) & (px <= x1 + reach) & (py >= y0 - reach) & (py <= y1 + reach)
    if near.any():
        x0, x1 = min(x0, px[near].min()), max(x1, px[near].max())
        y0, y1 = min(y0, py[near].min()), max(y1, py[near].max())
    pad = 0.05 * max(x1 - x0, y1 - y0)
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    scale = min(_W / (x1 - x0), _H / (y1 - y0))
    width, height = (x1 - x0) * scale, (y1 - y0) * scale

    def tx(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(((xy[:, 0] - x0) * scale, (y1 - xy[:, 1]) * scale))

    tol = 0.4 / scale
    out = [f'<svg class="map" role="img" aria-label="{_e(region.id)}: facilities of every operator" viewBox="0 0 {width:.0f} {height:.0f}" '
           f'width="{width:.0f}" height="{height:.0f}" data-region="{_e(region.id)}">']
    for part, g in zip(region.parts, parts_m):
        out.append(f'<path class="part" fill-rule="evenodd" d="{svg_path(shapely.simplify(g, tol), tx)}"><title>{_e(part.id)}: '
                   f'{_e(part.name_en)} (line accuracy ±{part.accuracy_m:,.0f} m)</title></path>')
        label = shapely.point_on_surface(g)
        lx, ly = tx(np.array([[label.x, label.y]]))[0]
        out.append(f'<text class="partlabel" x="{lx:.1f}" y="{ly:.1f}">{_e(part.id)}</text>')
    inset = 8.0
    for i, (op_index, operator, fac, point) in enumerate(points):
        mx, my = tx(np.array([[px[i], py[i]]]))[0]
        off = not (inset <= mx <= width - inset and inset <= my <= height - inset)
        cx, cy = min(max(mx, inset), width - inset), min(max(my, inset), height - inset)
        verdict = str(fac.get("verdict", ""))
        d = point.get("signed_distance_m")
        where = "" if d is None else f"; {abs(d):,.0f} m {'inside' if d >= 0 else 'outside'} the line"
        title = f"{operator} — {fac.get('id')} {fac.get('name') or ''} ({fac.get('kind') or 'no kind'}): {verdict}{where}" + (" (beyond the frame)" if off else "")
        dash = " dash" if op_index >= len(PALETTE) else ""
        out.append(f'<g class="marker v-{_e(verdict)}{dash}" fill="{colours[op_index]}" data-operator="{_e(operator)}" '
                   f'data-id="{_e(fac.get("id"))}" data-verdict="{_e(verdict)}"><title>{_e(title)}</title>{_shape(verdict, cx, cy)}</g>')
    out.append("</svg>")
    return "\n".join(out), len(points)


def _maps(portfolio: Portfolio, colours: Sequence[str]) -> tuple[str, int]:
    by_region: dict[tuple[str, tuple[tuple[str, bool], ...]], tuple[Any, list[tuple[int, str, Mapping[str, Any], Mapping[str, Any]]]]] = {}
    unplaced = 0
    for i, entry in enumerate(portfolio.entries):
        if entry.report is None or entry.region is None:
            continue
        key = (entry.region.id, tuple(sorted(entry.region.options.items())))
        _, points = by_region.setdefault(key, (entry.region, []))
        cores = core_parts(entry.report)
        for fac in entry.report.get("facilities") or []:
            point = facility_point(fac, cores) if isinstance(fac, Mapping) else None
            if point is None:
                unplaced += 1
                continue
            points.append((i, entry.operator, fac, point))
    blocks, total = [], 0
    for (rid, options), (region, points) in sorted(by_region.items()):
        svg, n = _region_map(region, points, colours)
        total += n
        opts = ", ".join(f"{k}={'on' if v else 'off'}" for k, v in options if v) or "default options"
        blocks.append(f'<section class="region-map"><h3>{_e(region.name_en)} ({_e(rid)}; {_e(opts)}) — {n} facilities</h3>{svg}</section>')
    note = f"<p class=\"sub\">{unplaced} facilities have no point to draw (no coordinates, or an unreadable row); the table counts them.</p>" if unplaced else ""
    return "\n".join(blocks) + note, total


def render_portfolio_html(portfolio: Portfolio) -> str:
    """The portfolio as one self-contained HTML page (see the module docstring)."""
    d = portfolio.as_dict()
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(portfolio.entries))]
    maps, n_markers = _maps(portfolio, colours)
    t = d["totals"]
    legend = "".join(f'<span><span class="swatch" style="background:{colours[i]}"></span>{_e(e.operator)}</span>'
                     for i, e in enumerate(portfolio.entries) if e.report is not None)
    shapes = "".join(f'<span><svg width="14" height="14" viewBox="-7 -7 14 14" aria-hidden="true" fill="#888" stroke="#222">{_shape(v, 0, 0)}</svg> {v}</span>'
                     for v in ("pass", "fail", "indeterminate", "waived"))
    rows = []
    for i, r in enumerate(d["operators"]):
        swatch = f'<span class="swatch" style="background:{colours[i]}"></span>' if r["status"] != "error" else ""
        if r["status"] == "error":
            rows.append(f'<tr class="unusable"><td>{_e(r["operator"])}</td><td colspan="8"><strong>unusable input</strong>: {_e(r["error"])}'
                        f'<br><span class="sub">{_e(r["source"])}</span></td></tr>')
            continue
        f = r["facilities"]
        rules = "<br>".join(f"{_e(k)} ({v})" for k, v in r["failing_rules"].items()) or "—"
        waivers = "<br>".join(f"{_e(w['expires'])} ({w['days_left']} d): {_e(', '.join(w['subjects']))}" for w in r["waivers_expiring"]) or "—"
        change = r["change"]
        if change:
            moved = ", ".join(f"{_e(k)} {v}" for k, v in change["facilities"].items())
            change_html = (f"since run {change['previous_run']} ({_e(change['previous_as_of'])}): fail {change['verdicts_delta']['fail']:+d}"
                           + (f"<br>{moved}" if moved else ""))
        else:
            change_html = "—"
        rows.append(
            f'<tr data-operator="{_e(r["operator"])}"><td>{swatch}{_e(r["operator"])}<br><span class="sub">{_e(r["source"])}</span></td>'
            f'<td>{_e(r["programme"])}</td><td>{_e(r["region"])}</td><td>{_e(r["as_of"])}</td><td class="v-{_e(r["verdict"])}">{_e(r["verdict"])}</td>'
            f'<td class="num">{f["pass"]} / {f["fail"]} / {f["indeterminate"]} / {f["error"]} / {f["waived"]}</td>'
            f"<td>{rules}</td><td>{waivers}</td><td>{change_html}</td></tr>"
        )
    title = f"Pilot-region portfolio — {t['operators']} operators"
    csp = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
    body = (
        f"<header><h1>{_e(title)}</h1><p class=\"sub\">Generated {_e(d['generated_at'])} · programme {_e(d['programme'])} · "
        f"{t['failing_operators']} failing, {t['unusable']} unusable · {t['facility_count']} facilities"
        + (f" · history {_e(d['database'])}" if d["database"] else "") + "</p></header>"
        '<section id="operators"><h2>Operators</h2><table><thead><tr><th>operator</th><th>programme</th><th>region</th><th>as of</th>'
        "<th>verdict</th><th>facilities<br>pass / fail / indet. / error / waived</th><th>failing rules (findings)</th>"
        "<th>waivers expiring ≤ 90 days</th><th>change since previous audit</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></section>"
        f'<section id="maps"><h2>Map</h2><div class="legend">{legend}</div><div class="legend">{shapes}</div>'
        f'<p class="sub">{n_markers} facilities drawn. Each region in its own transverse Mercator projection; boundaries simplified for drawing only. '
        "Facilities beyond a frame sit on its edge; every marker's title names its operator, id and verdict.</p>"
        f"{maps}</section>"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n"
        f"<footer class=\"sub\">{_e(d['schema'])} · {_e(d['generated_at'])}</footer>\n</body></html>\n"
    )
