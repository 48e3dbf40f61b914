"""report.html: one self-contained page a regulator can read on screen, filter, and print.

Built from the same mapping as report.json (:func:`auditor.report.json_report.build_report`), plus
the region's boundary for the map and the figures of :mod:`auditor.report.plots`. The page works
offline and fetches nothing: CSS and JS are inline, the map and the figures are inline SVG, fonts are
the reader's own, and a Content-Security-Policy (``default-src 'none'``, the script allowed by its
hash) makes the browser refuse any request and any script an input might smuggle in.

Every string that comes from the inputs goes through :func:`html.escape` with ``quote=True``, in
text and in attributes alike; the data the filters use sit in ``data-`` attributes, and the script
never writes markup (no ``innerHTML``). Same result → same bytes, but for ``generated_at``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import shapely

from auditor.report.html_assets import CSS as _CSS
from auditor.report.html_assets import SCRIPT as _JS
from auditor.report.json_report import VERDICT_ORDER, build_report
from auditor.report.plots import FIGURES, figures, inline_svg
from auditor.report.unplaced import UNPLACED_TITLES, why_shown
from auditor.result import AuditResult
from auditor.rules._weights import basis_text

__all__ = ["render_html"]

_STATUSES = ("fail", "indeterminate", "pass", "not_applicable", "waived")
_SOURCE_LABELS = {
    "declared_coordinates": "declared coordinates",
    "admin_fact": "stated admin unit",
    "address": "address",
    "ip2region": "ip2region",
    "mmdb": "mmdb",
    "dns": "DNS",
    "latency": "latency",
}


def _e(value: object) -> str:
    """Escape for HTML text and attribute values alike (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def _n(value: float | None, unit: str = "") -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:,.0f}{unit}"


def _km(metres: float | None) -> str:
    if metres is None or not math.isfinite(metres):
        return "—"
    return f"{metres / 1000:,.1f} km" if metres >= 10_000 else f"{metres:,.0f} m"


def _badge(status: str) -> str:
    return f'<span class="badge s-{_e(status)}">{_e(status.replace("_", " "))}</span>'


# -- the map ---------------------------------------------------------------------------------

_MAP_W, _MAP_H = 1100.0, 760.0  # the largest the map is drawn; it never grows beyond its own size


def _path(geom: Any, tx: Any) -> str:
    """SVG path data of a (multi)polygon in map pixels."""
    out = []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        for ring in (poly.exterior, *poly.interiors):
            xy = tx(np.asarray(ring.coords)[:, :2])
            out.append("M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in xy) + "Z")
    return "".join(out)


def _nice_length(target_m: float) -> float:
    k = 10 ** math.floor(math.log10(target_m))
    return max(m * k for m in (1, 2, 5) if m * k <= target_m)


def _marker_shape(verdict: str, x: float, y: float) -> str:
    if verdict == "fail":  # square
        return f'<rect x="{x - 4.5:.1f}" y="{y - 4.5:.1f}" width="9" height="9"/>'
    if verdict == "indeterminate":  # triangle
        return f'<path d="M{x:.1f} {y - 6:.1f}L{x + 5.5:.1f} {y + 4:.1f}L{x - 5.5:.1f} {y + 4:.1f}Z"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5"/>'


def _facility_point(fac: Mapping[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The point a facility is drawn at (declared coordinates first, as the frames choose), and its containment."""
    claims = fac["claims"]
    point = next((c for c in claims if c["kind"] == "point" and c["source"] == "declared_coordinates"), None)
    point = point or next((c for c in claims if c["kind"] == "point"), None)
    if point is None or point.get("lon") is None or point.get("lat") is None:
        return None, None
    cont = next((c for c in fac["containment"] if c["claim"] == point["id"]), None)
    return point, cont


def _place_labels(items: list[tuple[float, float, str, int]], width: float, height: float) -> list[str]:
    """Greedy label placement: right, left, above, below the marker, the first spot free of other labels.

    ``items`` are (x, y, text, priority); lower priority numbers are placed first. A label with no free
    spot is still drawn to the right (its marker's tooltip and the tables carry the id anyway).
    """
    taken: list[tuple[float, float, float, float]] = []
    out = []
    for x, y, text, _ in sorted(items, key=lambda t: (t[3], t[1], t[0], t[2])):
        w, h = 6.1 * len(text) + 2, 12.0
        spots = [(x + 8, y - h / 2, "start"), (x - 8 - w, y - h / 2, "end"), (x - w / 2, y - 8 - h, "middle"), (x - w / 2, y + 8, "middle")]
        chosen = spots[0]
        for bx, by, anchor in spots:
            box = (bx, by, bx + w, by + h)
            inside = box[0] >= 2 and box[1] >= 2 and box[2] <= width - 2 and box[3] <= height - 2
            if inside and not any(b[0] < box[2] and box[0] < b[2] and b[1] < box[3] and box[1] < b[3] for b in taken):
                chosen = (bx, by, anchor)
                break
        bx, by, anchor = chosen
        taken.append((bx, by, bx + w, by + h))
        tx_ = {"start": bx, "end": bx + w, "middle": bx + w / 2}[anchor]
        out.append(f'<text class="marker-label" x="{tx_:.1f}" y="{by + h - 2.5:.1f}" text-anchor="{anchor}">{_e(text)}</text>')
    return out


def _map_svg(result: AuditResult, report: Mapping[str, Any]) -> tuple[str, int]:
    """The region and every located facility as inline SVG; returns (svg, number of facility markers).

    Projected with the region's own local projection (the one containment is measured in), the
    boundary simplified to under half a pixel. The shaded band is the region grown minus the region
    shrunk by each line's accuracy: a point in it is indeterminate. Facilities far outside the
    region are drawn on the frame's edge, in their direction, labelled with their distance.
    """
    geom = result.region.geometry
    proj = geom.projection
    parts_m = list(geom.projected_parts)
    bounds = shapely.total_bounds(parts_m)
    reach = 0.6 * max(bounds[2] - bounds[0], bounds[3] - bounds[1])

    located = []
    for fac in report["facilities"]:
        point, cont = _facility_point(fac)
        if point is not None:
            located.append((fac, point, cont))
    op_point = next((c for c in report["operator_claims"] if c["kind"] == "point"), None)
    lons = [p["lon"] for _, p, _ in located] + ([op_point["lon"]] if op_point else [])
    lats = [p["lat"] for _, p, _ in located] + ([op_point["lat"]] if op_point else [])
    px, py = proj.forward(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))

    # the extent: the region, and every point within `reach` of it; farther points sit on the frame
    x0, y0, x1, y1 = bounds
    near = (px >= bounds[0] - reach) & (px <= bounds[2] + reach) & (py >= bounds[1] - reach) & (py <= bounds[3] + reach)
    if near.any():
        x0, x1 = min(x0, px[near].min()), max(x1, px[near].max())
        y0, y1 = min(y0, py[near].min()), max(y1, py[near].max())
    pad = 0.05 * max(x1 - x0, y1 - y0)
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    scale = min(_MAP_W / (x1 - x0), _MAP_H / (y1 - y0))
    width, height = (x1 - x0) * scale, (y1 - y0) * scale
    strip = 30.0  # below the map: scale bar and north arrow, clear of every marker

    def tx(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(((xy[:, 0] - x0) * scale, (y1 - xy[:, 1]) * scale))

    tol = 0.4 / scale  # simplify to under half a pixel
    out = [
        f'<svg id="map" role="img" aria-label="Map of the region and the facilities" viewBox="0 0 {width:.0f} {height + strip:.0f}" '
        f'width="{width:.0f}" height="{height + strip:.0f}">',
        f'<rect class="map-bg" x="0" y="0" width="{width:.0f}" height="{height:.0f}"/>',
    ]
    simple = [shapely.simplify(g, tol) for g in parts_m]
    for part, g in zip(result.region.parts, simple):
        cls = "part-fill envelope" if part.role.value == "envelope" else "part-fill"
        out.append(f'<path class="{cls}" fill-rule="evenodd" d="{_path(g, tx)}"/>')
    # where the line's accuracy leaves a point undecided: the region grown minus the region shrunk
    band = shapely.simplify(shapely.difference(geom.outer, geom.inner), tol)
    out.append(f'<path class="band" fill-rule="evenodd" d="{_path(band, tx)}"><title>Within the line\'s accuracy: a point here is indeterminate</title></path>')
    for part, g in zip(result.region.parts, simple):
        cls = "part envelope" if part.role.value == "envelope" else "part"
        out.append(
            f'<path class="{cls}" fill-rule="evenodd" data-part="{_e(part.id)}" d="{_path(g, tx)}">'
            f"<title>{_e(part.id)}: {_e(part.name_en)} (line accuracy ±{part.accuracy_m:,.0f} m)</title></path>"
        )
    for part, g in zip(result.region.parts, parts_m):
        label = shapely.point_on_surface(g)
        lx, ly = tx(np.array([[label.x, label.y]]))[0]
        out.append(f'<text class="part-label" x="{lx:.1f}" y="{ly:.1f}">{_e(part.id)}</text>')

    # facilities; far ones on the frame's edge, nudged apart along it
    inset = 10.0
    markers, labels = [], []
    edge_taken: list[tuple[float, float]] = []
    for i, (fac, _point, cont) in enumerate(located):
        mx, my = tx(np.array([[px[i], py[i]]]))[0]
        off = not (inset <= mx <= width - inset and inset <= my <= height - inset)
        cx, cy = min(max(mx, inset), width - inset), min(max(my, inset), height - inset)
        if off:  # stack along the edge, inward, so that neither markers nor their labels overlap
            step = -14.0 if cy > height / 2 else 14.0
            while any(abs(cx - ex) < 60 and abs(cy - ey) < 13 for ex, ey in edge_taken):
                cy += step
            edge_taken.append((cx, cy))
        verdict = fac["verdict"]
        dist = None if cont is None else cont.get("distance_to_boundary_m")
        where = "" if cont is None else f"; {cont['verdict']}, {_km(dist)} from the line"
        title = f"{fac['id']} — {fac['name'] or '(no name)'} ({fac['kind'] or 'no kind'}): {verdict}{where}"
        markers.append(
            f'<g class="marker v-{_e(verdict)}{" off-map" if off else ""}" data-id="{_e(fac["id"])}" data-kind="{_e(fac["kind"])}" '
            f'data-verdict="{_e(verdict)}" tabindex="0"><title>{_e(title)}</title>{_marker_shape(verdict, cx, cy)}</g>'
        )
        if verdict != "pass" or off:
            text = fac["id"] + (f" → {_km(dist)}" if off and dist is not None else "")
            labels.append((cx, cy, text, VERDICT_ORDER.get(verdict, 9)))
    if op_point is not None:
        ox, oy = tx(np.array([[px[-1], py[-1]]]))[0]
        ox, oy = min(max(ox, inset), width - inset), min(max(oy, inset), height - inset)
        star = " ".join(
            f"{ox + (7 if k % 2 == 0 else 3) * math.sin(k * math.pi / 5):.1f},{oy - (7 if k % 2 == 0 else 3) * math.cos(k * math.pi / 5):.1f}"
            for k in range(10)
        )
        markers.append(f'<polygon class="registration" points="{star}"><title>Registration address (declared coordinates)</title></polygon>')
    out += _place_labels(labels, width, height) + markers

    # scale bar and north arrow, in the strip below the map
    bar_m = _nice_length((x1 - x0) / 5)
    bar_px = bar_m * scale
    sx, sy = 12.0, height + 20.0
    out.append(
        f'<g class="scale"><path d="M{sx:.1f} {sy - 5:.1f}V{sy:.1f}H{sx + bar_px:.1f}V{sy - 5:.1f}"/>'
        f'<text x="{sx + bar_px + 6:.1f}" y="{sy:.1f}">{bar_m / 1000:g} km</text></g>'
        f'<g class="north"><path d="M{width - 40:.1f} {height + 6:.1f}L{width - 35:.1f} {height + 24:.1f}L{width - 40:.1f} {height + 20:.1f}L{width - 45:.1f} {height + 24:.1f}Z"/>'
        f'<text x="{width - 28:.1f}" y="{height + 21:.1f}">N</text></g>'
    )
    out.append("</svg>")
    return "\n".join(out), len(located)


# -- tables ----------------------------------------------------------------------------------


def _claim_html(claim: Mapping[str, Any], cont: Mapping[str, Any] | None) -> str:
    """One piece of evidence: its source, the verdict it gives, and why (all escaped)."""
    src = _SOURCE_LABELS.get(claim["source"], claim["source"])
    details = []
    if claim["kind"] == "point":
        details.append(f"{claim['lon']:.5f}, {claim['lat']:.5f} ±{_n(claim.get('uncertainty_m'))} m")
    if cont is None:
        details.append(claim.get("label") or claim.get("adcode") or claim["kind"])
        return f'<b>{_e(src)}</b> <span class="rel rel-none">not placed</span> {_e("; ".join(details))}'
    if cont.get("distance_to_boundary_m") is not None:
        details.append(f"{_km(cont['distance_to_boundary_m'])} from the line")
    if cont.get("parts"):
        details.append("in " + " + ".join(cont["parts"]))
    if cont.get("reason"):
        details.append(cont["reason"])
    elif claim["kind"] != "point" and (claim.get("label") or claim.get("adcode")):
        details.append(claim.get("label") or claim["adcode"])
    verdict = cont["verdict"]
    return f'<b>{_e(src)}</b> <span class="rel rel-{_e(verdict)}">{_e(verdict)}</span> — {_e("; ".join(details))}'


def _evidence_cell(ids: Iterable[str], claims: Mapping[str, Any], conts: Mapping[str, Any]) -> str:
    items = []
    for cid in ids:
        claim = claims.get(cid)
        items.append(f"<li>{_e(cid) if claim is None else _claim_html(claim, conts.get(cid))}</li>")
    return f'<ul class="evidence">{"".join(items)}</ul>' if items else '<span class="muted">—</span>'


def _select(table: str, key: str, label: str, values: Iterable[str]) -> str:
    opts = "".join(f'<option value="{_e(v)}">{_e(v.replace("_", " ") if key in ("status", "verdict") else v)}</option>' for v in values)
    return (
        f'<label>{_e(label)} <select data-filter-for="{table}" data-key="{key}" id="filter-{table}-{key}">'
        f'<option value="">all</option>{opts}</select></label>'
    )


def _counts_row(counts: Mapping[str, int], keys: Iterable[str]) -> str:
    return "".join(f'<td class="num">{counts.get(k, 0) or ""}</td>' for k in keys)


def _summary(r: Mapping[str, Any], n_markers: int) -> str:
    s = r["summary"]
    fc = s["facilities"]
    op = r["operator"]
    region = r["region"]
    status = region["status_on_as_of"] or {}
    cards = "".join(
        f'<div class="card v-{k}"><div class="count">{v}</div><div>{_e(k)}</div></div>' for k, v in fc.items()
    )
    facts = [
        ("Operator", op["name"] or "(bare facility list)"),
        ("Registered region", f"{region['id']} — {region['name_en']} ({region['name_zh']})"),
        ("Scope", region["scope_note"]),
        ("As of", f"{r['as_of']} — region status: {status.get('status', 'not a pilot region')}"
         + (f" since {status['since']} ({status['source']})" if status else "")),
        ("Registration address", op["registration_address"] or "—"),
        ("Services", ", ".join(op["services"]) or "—"),
        ("Foreign equity", "—" if op["foreign_equity_pct"] is None else f"{op['foreign_equity_pct']:g} %"),
        ("Facilities", f"{s['facility_count']} rows, {n_markers} with a location on the map"),
    ]
    if "facilities_listed" in s:
        from auditor.report.markdown import streamed_note

        facts.append(("Streamed", streamed_note(s)))
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    options = ""
    if region["options"]:
        rows = "".join(
            f"<tr><td><code>{_e(k)}</code></td><td>{_e(str(o['value']).lower())}</td><td>{_e(str(o['default']).lower())}</td><td>{_e(o['description'])}</td></tr>"
            for k, o in region["options"].items()
        )
        options = f'<h3>Region options</h3><table><thead><tr><th>option</th><th>value</th><th>default</th><th>meaning</th></tr></thead><tbody>{rows}</tbody></table>'
    clauses: dict[str, str] = {}  # rule -> its clause
    for x in r["operator_findings"] + [y for f in r["facilities"] for y in f["findings"]]:
        clauses.setdefault(x["rule"], x["clause"])
    rule_rows = "".join(
        f"<tr><td><code>{_e(rule)}</code></td><td>{_e(clauses.get(rule, ''))}</td>{_counts_row(c, _STATUSES)}</tr>"
        for rule, c in s["rules"].items()
    )
    rules = (
        '<table class="counts"><thead><tr><th>rule</th><th>clause</th>'
        + "".join(f"<th>{_e(k.replace('_', ' '))}</th>" for k in _STATUSES)
        + f"</tr></thead><tbody>{rule_rows}</tbody></table>"
    )
    by_part = s["declared_points_by_part"]
    part_rows = "".join(
        f"<tr><td><code>{_e(p['id'])}</code></td><td>{_e(p['name_en'])}</td><td>{_e(p['role'])}</td><td class=\"num\">±{p['accuracy_m']:,.0f} m</td>"
        f"<td class=\"num\">{sum(n for k, n in by_part.items() if p['id'] in k.split(' + '))}</td></tr>"
        for p in region["parts"]
    )
    part_rows += f'<tr><td colspan="4">outside every part (nominally)</td><td class="num">{by_part.get("(none)", 0)}</td></tr>'
    parts = (
        '<table class="counts"><thead><tr><th>part</th><th>name</th><th>role</th><th>line accuracy</th><th>declared points</th></tr></thead>'
        f"<tbody>{part_rows}</tbody></table>"
    )
    ofc = s["operator_findings"]
    sentence = (
        f"{fc.get('fail', 0)} of {s['facility_count']} facilities fail, {fc.get('indeterminate', 0)} are indeterminate, "
        f"{fc.get('error', 0)} rows could not be read; operator findings: {ofc.get('fail', 0)} fail, {ofc.get('indeterminate', 0)} indeterminate."
    )
    return (
        f'<section id="summary"><div class="verdict v-{_e(s["verdict"])}"><span class="label">Verdict</span> '
        f'<span class="value">{_e(s["verdict"].upper())}</span><span class="why">{_e(sentence)}</span></div>'
        f'<div class="cards">{cards}</div><dl class="facts">{dl}</dl>{options}'
        f'<h3>Findings per rule</h3>{rules}<h3>Declared points per region part</h3>{parts}</section>'
    )


def _operator_findings(r: Mapping[str, Any], claims: Mapping[str, Any], conts: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><td><code>{_e(x['rule'])}</code></td><td>{_e(x['clause'])}</td><td>{_badge(x['status'])}</td>"
        f"<td>{_e(x['message'])}{_missing(x)}</td><td>{_evidence_cell(x['evidence'], claims, conts)}</td></tr>"
        for x in r["operator_findings"]
    )
    return (
        '<section id="operator"><h2>Operator findings</h2><table><thead><tr><th>rule</th><th>clause</th><th>status</th>'
        f"<th>message</th><th>evidence</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _missing(x: Mapping[str, Any]) -> str:
    return f'<div class="missing">Would settle it: {_e(x["missing"])}</div>' if x.get("missing") else ""


def _facilities(r: Mapping[str, Any]) -> str:
    facs = sorted(r["facilities"], key=lambda f: (VERDICT_ORDER[f["verdict"]], f["row"]))
    rows = []
    for f in facs:
        point, cont = _facility_point(f)
        if f.get("errors"):
            note = "; ".join(
                f"column {e['column'] or '(row)'}: {e['message']}" + (f" ({e['hint']})" if e.get("hint") else "") for e in f["errors"]
            )
        else:
            bad = [x for x in f["findings"] if x["status"] == "fail"] or [x for x in f["findings"] if x["status"] == "indeterminate"]
            note = bad[0]["message"] if bad else ""
            others = [x["rule"] for x in f["findings"] if x["status"] in ("fail", "indeterminate")]
            if len(others) > 1:
                note += f" ({', '.join(others)})"
        location = "—" if point is None else f"{point['lon']:.5f}, {point['lat']:.5f}"
        rows.append(
            f'<tr data-facility="{_e(f["id"])}" data-verdict="{_e(f["verdict"])}" data-kind="{_e(f["kind"])}">'
            f'<td class="num">{f["row"]}</td><td class="id"><code>{_e(f["id"])}</code></td><td>{_e(f["kind"])}</td><td>{_e(f["tenure"])}</td>'
            f'<td>{_e(f["name"])}</td><td>{_e(f["address"])}</td><td>{_badge(f["verdict"])}</td><td>{_e(basis_text(f.get("basis", ())) if not f.get("errors") else "—")}</td><td class="num coord">{_e(location)}</td>'
            f'<td>{_e("—" if cont is None else cont["verdict"])}</td><td class="num">{_km(None if cont is None else cont.get("distance_to_boundary_m"))}</td>'
            f'<td>{_e(" + ".join(cont["parts"]) if cont and cont["parts"] else "—")}</td><td class="note">{_e(note)}</td></tr>'
        )
    kinds = sorted({f["kind"] for f in r["facilities"]})
    verdicts = [v for v in VERDICT_ORDER if any(f["verdict"] == v for f in r["facilities"])]
    return (
        '<section id="facilities"><h2>Facilities</h2><p class="hint">Every input row once, failing first. Click a marker on the map to see its findings.</p>'
        f'<div class="filters">{_select("facility-table", "verdict", "Verdict", verdicts)}{_select("facility-table", "kind", "Kind", kinds)}'
        '<span class="shown" data-count-for="facility-table"></span></div><p class="print-only" data-state-for="facility-table"></p>'
        '<table id="facility-table"><thead><tr><th>row</th><th>id</th><th>kind</th><th>tenure</th><th>name</th><th>address</th><th>verdict</th><th>decided on</th>'
        '<th>lon, lat (WGS-84)</th><th>containment</th><th>to the line</th><th>part</th><th>why</th></tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table></section>'
    )


def _findings(r: Mapping[str, Any], claims: Mapping[str, Any], conts: Mapping[str, Any]) -> str:
    rows = []
    for x in r["operator_findings"]:
        rows.append(_finding_row(x, "(operator)", "(operator)", claims, conts))
    for f in sorted(r["facilities"], key=lambda f: (VERDICT_ORDER[f["verdict"]], f["row"])):
        for x in f["findings"]:
            rows.append(_finding_row(x, f["id"], f["kind"], claims, conts))
    all_findings = r["operator_findings"] + [x for f in r["facilities"] for x in f["findings"]]
    statuses = [s for s in _STATUSES if any(x["status"] == s for x in all_findings)]
    rules = list(dict.fromkeys(x["rule"] for x in all_findings))
    kinds = ["(operator)"] + sorted({f["kind"] for f in r["facilities"] if f["findings"]})
    subjects = ["(operator)"] + [f["id"] for f in r["facilities"] if f["findings"]]
    return (
        '<section id="findings"><h2>Findings</h2><p class="hint">Each rule’s outcome for each subject, with the clause and the evidence that decided it.</p>'
        f'<div class="filters">{_select("finding-table", "status", "Status", statuses)}{_select("finding-table", "rule", "Rule", rules)}'
        f'{_select("finding-table", "kind", "Kind", kinds)}{_select("finding-table", "facility", "Facility", subjects)}'
        '<button type="button" id="clear-filters">Clear filters</button><span class="shown" data-count-for="finding-table"></span></div><p class="print-only" data-state-for="finding-table"></p>'
        '<table id="finding-table"><thead><tr><th>subject</th><th>kind</th><th>rule</th><th>clause</th><th>status</th><th>message</th><th>evidence</th></tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table></section>'
    )


def _finding_row(x: Mapping[str, Any], subject: str, kind: str, claims: Mapping[str, Any], conts: Mapping[str, Any]) -> str:
    return (
        f'<tr data-facility="{_e(subject)}" data-kind="{_e(kind)}" data-rule="{_e(x["rule"])}" data-status="{_e(x["status"])}">'
        f'<td class="id"><code>{_e(subject)}</code></td><td>{_e(kind)}</td><td><code>{_e(x["rule"])}</code></td><td>{_e(x["clause"])}</td>'
        f'<td>{_badge(x["status"])}</td><td>{_e(x["message"])}{_missing(x)}</td><td>{_evidence_cell(x["evidence"], claims, conts)}</td></tr>'
    )


def _footprint(r: Mapping[str, Any], figure: str) -> str:
    fp = r.get("footprint")
    if not fp:
        return ""
    fam_rows = "".join(
        f"<tr><td>{fam}</td><td class=\"num\">{c['inside']:,}</td><td class=\"num\">{c['outside']:,}</td><td class=\"num\">{c['indeterminate']:,}</td>"
        f"<td class=\"num\">{c['unlocated']:,}</td><td class=\"num\">{c['share_outside']:.1%}</td></tr>"
        for fam, c in ((fam, fp[fam]) for fam in ("ipv4", "ipv6"))
        if c["total"]
    )
    asn = r.get("isp_prefix_asn") or {}
    pre_rows = "".join(
        f"<tr><td><code>{_e(p['prefix'])}</code></td><td class=\"num\">{p['inside']:,}</td><td class=\"num\">{p['outside']:,}</td>"
        f"<td class=\"num\">{p['indeterminate']:,}</td><td class=\"num\">{p['unlocated']:,}</td>"
        f"<td>{_e(_places(p))}</td><td>{_e(_origins(asn.get(p['prefix'], [])))}</td></tr>"
        for p in fp["prefixes"]
    )
    invalid = f"<p>Not prefixes: {_e(', '.join(fp['invalid']))}</p>" if fp["invalid"] else ""
    return (
        '<section id="footprint"><h2>ISP address space</h2><p class="hint">The declared prefixes, intersected with the IP database’s ranges (never enumerated).</p>'
        '<table class="counts"><thead><tr><th>family</th><th>inside</th><th>outside</th><th>indeterminate</th><th>not placed</th><th>share outside</th></tr></thead>'
        f"<tbody>{fam_rows}</tbody></table>"
        '<table><thead><tr><th>prefix</th><th>inside</th><th>outside</th><th>indeterminate</th><th>not placed</th><th>where the IP database places it</th><th>origin AS</th></tr></thead>'
        f"<tbody>{pre_rows}</tbody></table>{invalid}{figure}</section>"
    )


def _places(p: Mapping[str, Any]) -> str:
    return "; ".join(f"{pl['answer']} ({pl['addresses']:,}, {pl['relation']})" for pl in p["places"]) or p["note"]


def _origins(answers: Iterable[Mapping[str, Any]]) -> str:
    out = [f"{a['source']}: AS{a['asn']} {a.get('holder') or ''}".strip() for a in answers if a.get("asn")]
    return "; ".join(out) or "—"


def _plain(value: Any) -> str:
    """A JSON value as cell text: lists joined, mappings as key: value."""
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def _discovered(r: Mapping[str, Any]) -> str:
    if not r["discovered"]:
        return ""
    keys = list(dict.fromkeys(k for d in r["discovered"] for k in d))
    head = "".join(f"<th>{_e(k)}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{_e(_plain(d.get(k, '')))}</td>" for k in keys) + "</tr>" for d in r["discovered"])
    return f'<section id="discovered"><h2>Discovered nodes not in the inventory</h2><p class="hint">Found through DNS, not declared in the facility list.</p><div class="scroll"><table class="wide"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div></section>'


def _unplaced(r: Mapping[str, Any]) -> str:
    """Hostnames that gave no address and addresses no source placed (see :mod:`auditor.report.unplaced`)."""
    counts = r["summary"]["unplaced"]
    head = '<section id="unplaced"><h2>Unresolved hostnames and unplaced addresses</h2>'
    if not any(c["count"] for c in counts.values()):
        return head + '<p class="hint">Every hostname resolved and some source placed every address.</p></section>'
    count_rows = "".join(
        f'<tr><td>{_e(UNPLACED_TITLES[k])}</td><td class="num">{c["count"]:,}</td><td class="num">{c["listed"]:,}</td></tr>'
        for k, c in counts.items()
    )
    rows = "".join(
        f'<tr data-facility="{_e(x["facility"])}" data-kind="{_e(x["kind"])}"><td class="num">{_e(x["row"])}</td>'
        f'<td class="id"><code>{_e(x["facility"])}</code></td><td>{_e(UNPLACED_TITLES[x["kind"]])}</td>'
        f'<td><code>{_e(x["value"])}</code></td><td class="note">{_e(why_shown(x, r))}</td></tr>'
        for x in r["unplaced"]
    )
    return (
        head + '<p class="hint">They decide nothing: each facility is judged on its other evidence.</p>'
        '<table class="counts"><thead><tr><th>what</th><th>count</th><th>listed</th></tr></thead>'
        f"<tbody>{count_rows}</tbody></table>"
        '<table id="unplaced-table"><thead><tr><th>row</th><th>facility</th><th>what</th><th>hostname or address</th><th>why</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></section>"
    )


def _provenance(r: Mapping[str, Any]) -> str:
    t = r["tool"]
    inputs = "".join(
        f"<tr><td>{_e(i.get('role', ''))}</td><td><code>{_e(i['path'])}</code></td><td>{_e(i.get('format', ''))}</td>"
        f"<td class=\"num\">{_e(i.get('rows', ''))}</td><td>{_e(i.get('encoding', ''))}</td><td class=\"hash\">{_e(i['sha256'])}</td>"
        f"<td>{_e('; '.join(i.get('notes', [])))}</td></tr>"
        for i in r["inputs"]
    )
    data = "".join(
        f"<tr><td>{_e(d['name'])}</td><td><code>{_e(d['path'])}</code></td><td>{_e(d['version'])}</td><td class=\"hash\">{_e(d['sha256'])}</td></tr>"
        for d in r["data_sources"]
    )
    status = r["region"]["status_on_as_of"]
    facts = [
        ("Tool", f"{t['name']} {t['version']}"),
        ("Rule catalogue", t["rules_version"]),
        ("Mode", t["mode"]),
        ("Evidence sources run", ", ".join(r["evidence_sources"]) or "—"),
        ("Region status source", "—" if status is None else status["source"]),
        ("Report schema", r["schema"]),
        ("Judged as of", r["as_of"]),
        ("Generated", r["generated_at"]),
    ]
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    warnings = ""
    if r["warnings"]:
        warnings = '<h3>Warnings</h3><ul class="warnings">' + "".join(f"<li>{_e(w)}</li>" for w in r["warnings"]) + "</ul>"
    return (
        f'<section id="provenance"><h2>Provenance</h2><dl class="facts">{dl}</dl>{warnings}'
        '<h3>Inputs</h3><table><thead><tr><th>role</th><th>path</th><th>format</th><th>rows</th><th>encoding</th><th>sha256</th><th>notes</th></tr></thead>'
        f"<tbody>{inputs}</tbody></table>"
        '<h3>Data files</h3><table><thead><tr><th>name</th><th>path</th><th>version</th><th>sha256</th></tr></thead>'
        f"<tbody>{data}</tbody></table></section>"
    )


def _figure_block(name: str, svg: str, caption: str) -> str:
    return f'<figure class="plot" id="figure-{name}">{svg}<figcaption>{_e(caption)}</figcaption></figure>'


_CAPTIONS = {
    "distance": "Distance of each located facility from the region's drawn line (inside to the right). In the shaded band the line's own accuracy leaves a point undecided.",
    "evidence": "For each pair of evidence sources: facilities on which both gave a decided verdict (inside or outside), and how many of them agree or contradict. A contradiction is a finding in itself.",
    "footprint": "The ISP's declared address space by the place the IP database gives it, as a share of each IP family.",
}


def render_html(result: AuditResult, *, generated_at: str, with_figures: bool = True) -> str:
    """The audit as one self-contained HTML page (see the module docstring).

    Parameters
    ----------
    result
        What :func:`auditor.audit` returned.
    generated_at
        The timestamp written in the header and the provenance: the only part that changes between
        two renderings of the same result.
    with_figures
        Include the matplotlib figures (distance histogram, evidence agreement, ISP footprint).
    """
    r = build_report(result, generated_at=generated_at)
    map_svg, n_markers = _map_svg(result, r)
    # every claim (operator's and facilities') and its containment, by claim id, for the evidence cells
    claims = {c["id"]: c for c in r["operator_claims"]}
    claims.update((c["id"], c) for f in r["facilities"] for c in f["claims"])
    conts = {cid: result.containment[cid].as_dict() for cid in claims if cid in result.containment}
    figs = {}
    if with_figures:
        figs = {name: inline_svg(fig, name, title=FIGURES[name][1]) for name, fig in figures(result).items()}
    plots_html = "".join(_figure_block(n, svg, _CAPTIONS[n]) for n, svg in figs.items() if n != "footprint")
    legend = "".join(
        f'<span><svg width="14" height="14" viewBox="-7 -7 14 14" class="v-{v}" aria-hidden="true">{_marker_shape(v, 0, 0)}</svg> {v}</span>'
        for v in ("pass", "indeterminate", "fail")
    )
    title = f"Pilot-region audit: {r['operator']['name'] or '(bare facility list)'} — {r['region']['id']}"
    body = [
        f'<header><h1>{_e(title)}</h1><p class="sub">Judged as of {_e(r["as_of"])} against {_e(r["region"]["name_en"])}. '
        f'Generated {_e(r["generated_at"])} by {_e(r["tool"]["name"])} {_e(r["tool"]["version"])} (rules {_e(r["tool"]["rules_version"])}, {_e(r["tool"]["mode"])}).</p>'
        '<nav class="no-print"><a href="#summary">Summary</a><a href="#map-section">Map</a><a href="#operator">Operator</a>'
        '<a href="#facilities">Facilities</a><a href="#findings">Findings</a>'
        + ('<a href="#footprint">ISP</a>' if r.get("footprint") else "")
        + '<a href="#unplaced">Unplaced</a><a href="#provenance">Provenance</a></nav></header>',
        _summary(r, n_markers),
        f'<section id="map-section"><h2>Map</h2><div class="map-wrap">{map_svg}</div>'
        f'<div class="legend">{legend}<span><svg width="14" height="14" viewBox="-7 -7 14 14" aria-hidden="true"><polygon class="registration" points="0,-6 1.8,-1.8 6,-1.5 2.7,1.3 3.6,5.5 0,3 -3.6,5.5 -2.7,1.3 -6,-1.5 -1.8,-1.8"/></svg> registration</span>'
        '<span><span class="swatch part"></span> region part</span><span><span class="swatch band"></span> within the line\'s accuracy</span></div>'
        f'<p class="hint">Transverse Mercator centred on the region ({result.region.geometry.projection.lon0:g}°E, {result.region.geometry.projection.lat0:g}°N); '
        "boundaries simplified for drawing only — verdicts use the full lines. Facilities beyond the frame are drawn on its edge with their distance.</p>"
        f"{plots_html}</section>",
        _operator_findings(r, claims, conts),
        _facilities(r),
        _findings(r, claims, conts),
        _footprint(r, _figure_block("footprint", figs["footprint"], _CAPTIONS["footprint"]) if "footprint" in figs else ""),
        _discovered(r),
        _unplaced(r),
        _provenance(r),
    ]
    script_hash = base64.b64encode(hashlib.sha256(_JS.encode("utf-8")).digest()).decode("ascii")
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="{_e(r["tool"]["name"])} {_e(r["tool"]["version"])}">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(b for b in body if b)
        + f"\n<footer>{_e(r['schema'])} · {_e(r['generated_at'])}</footer>\n<script>{_JS}</script>\n</body></html>\n"
    )
