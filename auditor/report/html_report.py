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
from auditor.report.i18n import N_, NOTICE_NUMBER, Tr, translator
from auditor.report.json_report import VERDICT_ORDER, build_report
from auditor.report.markdown import cited_clauses, facility_what, failing_rules
from auditor.report.plots import figures, inline_svg
from auditor.report.unplaced import unplaced_title, why_shown
from auditor.result import AuditResult

__all__ = ["LIST_LIMIT", "DETAIL_LIMIT", "render_html", "svg_path"]

_STATUSES = ("fail", "indeterminate", "pass", "not_applicable", "waived")
_SOURCE_LABELS = {
    "declared_coordinates": N_("declared coordinates"),
    "admin_fact": N_("stated admin unit"),
    "address": N_("address"),
    "ip2region": "ip2region",
    "mmdb": "mmdb",
    "dns": "DNS",
    "latency": N_("latency"),
}
#: Above this many facilities the page lists only those that did not pass (at most DETAIL_LIMIT of
#: them, with their findings); every row is in facilities.csv and report.xlsx. Passing facilities
#: are then dots on the map, counted, never listed: a 20,000-row audit gives a page of a few MB.
LIST_LIMIT = 2000
DETAIL_LIMIT = 1000


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


def _badge(status: str, tr: Tr) -> str:
    return f'<span class="badge s-{_e(status)}">{_e(tr.status(status))}</span>'


# -- the map ---------------------------------------------------------------------------------

_MAP_W, _MAP_H = 1100.0, 760.0  # the largest the map is drawn; it never grows beyond its own size


def svg_path(geom: Any, tx: Any) -> str:
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


def _map_svg(result: AuditResult, report: Mapping[str, Any], tr: Tr, detailed: set[str] | None = None) -> tuple[str, int]:
    """The region and every located facility as inline SVG; returns (svg, number of located facilities).

    ``detailed``: when given (a large list), only these facilities get a marker of their own (with
    a label and a tooltip); every other located facility is a dot, one path per verdict.

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
        f'<svg id="map" role="img" aria-label="{_e(tr._("Map of the region and the facilities"))}" viewBox="0 0 {width:.0f} {height + strip:.0f}" '
        f'width="{width:.0f}" height="{height + strip:.0f}">',
        f'<rect class="map-bg" x="0" y="0" width="{width:.0f}" height="{height:.0f}"/>',
    ]
    simple = [shapely.simplify(g, tol) for g in parts_m]
    for part, g in zip(result.region.parts, simple):
        cls = "part-fill envelope" if part.role.value == "envelope" else "part-fill"
        out.append(f'<path class="{cls}" fill-rule="evenodd" d="{svg_path(g, tx)}"/>')
    # where the line's accuracy leaves a point undecided: the region grown minus the region shrunk
    band = shapely.simplify(shapely.difference(geom.outer, geom.inner), tol)
    out.append(f'<path class="band" fill-rule="evenodd" d="{svg_path(band, tx)}"><title>{_e(tr._("Within the line’s accuracy: a point here is indeterminate"))}</title></path>')
    for part, g in zip(result.region.parts, simple):
        cls = "part envelope" if part.role.value == "envelope" else "part"
        out.append(
            f'<path class="{cls}" fill-rule="evenodd" data-part="{_e(part.id)}" d="{svg_path(g, tx)}">'
            f"<title>{_e(part.id)}: {_e(part.name_en)} ({_e(tr._('line accuracy ±{metres} m').format(metres=f'{part.accuracy_m:,.0f}'))})</title></path>"
        )
    for part, g in zip(result.region.parts, parts_m):
        label = shapely.point_on_surface(g)
        lx, ly = tx(np.array([[label.x, label.y]]))[0]
        out.append(f'<text class="part-label" x="{lx:.1f}" y="{ly:.1f}">{_e(part.id)}</text>')

    # facilities; far ones on the frame's edge, nudged apart along it
    inset = 10.0
    markers, labels = [], []
    edge_taken: list[tuple[float, float]] = []
    dots: dict[str, list[str]] = {}
    xy_all = tx(np.column_stack((px, py))) if len(px) else np.zeros((0, 2))
    for i, (fac, _point, cont) in enumerate(located):
        mx, my = xy_all[i]
        off = not (inset <= mx <= width - inset and inset <= my <= height - inset)
        cx, cy = min(max(mx, inset), width - inset), min(max(my, inset), height - inset)
        if detailed is not None and fac["id"] not in detailed:
            dots.setdefault(fac["verdict"], []).append(f"M{cx:.1f} {cy:.1f}h0")
            continue
        if off:  # stack along the edge, inward, so that neither markers nor their labels overlap
            step = -14.0 if cy > height / 2 else 14.0
            while any(abs(cx - ex) < 60 and abs(cy - ey) < 13 for ex, ey in edge_taken):
                cy += step
            edge_taken.append((cx, cy))
        verdict = fac["verdict"]
        dist = None if cont is None else cont.get("distance_to_boundary_m")
        where = "" if cont is None else "; " + tr._("{relation}, {distance} from the line").format(relation=tr.relation(cont["verdict"]), distance=_km(dist))
        title = f"{fac['id']} — {fac['name'] or tr._('(no name)')} ({fac['kind'] or tr._('no kind')}): {tr.status(verdict)}{where}"
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
        markers.append(f'<polygon class="registration" points="{star}"><title>{_e(tr._("Registration address (declared coordinates)"))}</title></polygon>')
    # facilities without a marker of their own (a large list): one path of dots per verdict, passes first
    out += [f'<path class="dots v-{_e(v)}" d="{"".join(dots[v])}"><title>{_e(tr.status(v))}: {len(dots[v]):,}</title></path>'
            for v in sorted(dots, key=lambda v: -VERDICT_ORDER.get(v, 9))]
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


def _claim_html(claim: Mapping[str, Any], cont: Mapping[str, Any] | None, tr: Tr) -> str:
    """One piece of evidence: its source, the verdict it gives, and why (all escaped)."""
    label = _SOURCE_LABELS.get(claim["source"], claim["source"])
    src = tr._(label) if label != claim["source"] else label
    details = []
    if claim["kind"] == "point":
        details.append(f"{claim['lon']:.5f}, {claim['lat']:.5f} ±{_n(claim.get('uncertainty_m'))} m")
    if cont is None:
        details.append(claim.get("label") or claim.get("adcode") or claim["kind"])
        return f'<b>{_e(src)}</b> <span class="rel rel-none">{_e(tr._("not placed"))}</span> {_e("; ".join(details))}'
    if cont.get("distance_to_boundary_m") is not None:
        details.append(tr._("{distance} from the line").format(distance=_km(cont["distance_to_boundary_m"])))
    if cont.get("parts"):
        details.append(tr._("in {parts}").format(parts=" + ".join(cont["parts"])))
    if cont.get("reason"):
        details.append(cont["reason"])
    elif claim["kind"] != "point" and (claim.get("label") or claim.get("adcode")):
        details.append(claim.get("label") or claim["adcode"])
    verdict = cont["verdict"]
    return f'<b>{_e(src)}</b> <span class="rel rel-{_e(verdict)}">{_e(tr.relation(verdict))}</span> — {_e("; ".join(details))}'


def _evidence_cell(ids: Iterable[str], claims: Mapping[str, Any], conts: Mapping[str, Any], tr: Tr) -> str:
    items = []
    for cid in ids:
        claim = claims.get(cid)
        items.append(f"<li>{_e(cid) if claim is None else _claim_html(claim, conts.get(cid), tr)}</li>")
    return f'<ul class="evidence">{"".join(items)}</ul>' if items else '<span class="muted">—</span>'


def _select(table: str, key: str, label: str, values: Iterable[str], tr: Tr) -> str:
    opts = "".join(f'<option value="{_e(v)}">{_e(tr.status(v) if key in ("status", "verdict") else v)}</option>' for v in values)
    return (
        f'<label>{_e(label)} <select data-filter-for="{table}" data-key="{key}" id="filter-{table}-{key}">'
        f'<option value="">{_e(tr._("all"))}</option>{opts}</select></label>'
    )


def _counters(table: str, tr: Tr) -> str:
    """The "3 of 43 rows shown" counter and the line a filtered table prints with (filled by the script)."""
    shown = tr._("{shown} of {total} rows shown")
    printed = tr._("Printed with filters ({filters}): {shown} of {total} rows.")
    return (f'<span class="shown" data-count-for="{table}" data-template="{_e(shown)}"></span></div>'
            f'<p class="print-only" data-state-for="{table}" data-template="{_e(printed)}"></p>')


def _counts_row(counts: Mapping[str, int], keys: Iterable[str]) -> str:
    return "".join(f'<td class="num">{counts.get(k, 0) or ""}</td>' for k in keys)


def _summary(r: Mapping[str, Any], n_markers: int, tr: Tr) -> str:
    _ = tr._
    s = r["summary"]
    fc = s["facilities"]
    op = r["operator"]
    region = r["region"]
    status = region["status_on_as_of"] or {}
    cards = "".join(
        f'<div class="card v-{k}"><div class="count">{v}</div><div>{_e(tr.status(k))}</div></div>' for k, v in fc.items()
    )
    as_of = _("{date} — region status: {status}").format(date=r["as_of"], status=tr.region_status(status.get("status")))
    if status:
        as_of += " " + _("since {date} ({source})").format(date=status["since"], source=status["source"])
    facts = [
        (_("Operator"), op["name"] or _("(bare facility list)")),
        (_("Registered region"), f"{region['id']} — {region['name_zh'] if tr.zh else region['name_en']} ({region['name_en'] if tr.zh else region['name_zh']})"),
        (_("Scope"), region["scope_note"]),
        (_("As of"), as_of),
        (_("Notice"), NOTICE_NUMBER),
        (_("Registration address"), op["registration_address"] or "—"),
        (_("Services"), ", ".join(op["services"]) or "—"),
        (_("Foreign equity"), "—" if op["foreign_equity_pct"] is None else f"{op['foreign_equity_pct']:g} %"),
        (_("Facilities"), _("{rows} rows, {located} with a location on the map").format(rows=s["facility_count"], located=n_markers)),
    ]
    if "facilities_listed" in s:
        from auditor.report.markdown import streamed_note

        facts.append((_("Streamed"), streamed_note(s, tr)))
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    options = ""
    if region["options"]:
        rows = "".join(
            f"<tr><td><code>{_e(k)}</code></td><td>{_e(str(o['value']).lower())}</td><td>{_e(str(o['default']).lower())}</td><td>{_e(o['description'])}</td></tr>"
            for k, o in region["options"].items()
        )
        options = (f'<h3>{_e(_("Region options"))}</h3><table><thead><tr><th>{_e(_("option"))}</th><th>{_e(_("value"))}</th>'
                   f'<th>{_e(_("default"))}</th><th>{_e(_("meaning"))}</th></tr></thead><tbody>{rows}</tbody></table>')
    clauses: dict[str, str] = {}  # rule -> its clause
    for x in r["operator_findings"] + [y for f in r["facilities"] for y in f["findings"]]:
        clauses.setdefault(x["rule"], x["clause"])
    rule_rows = "".join(
        f"<tr><td><code>{_e(rule)}</code></td><td>{_e(tr.rule_title(rule))}</td><td>{_e(tr.clause(clauses.get(rule, '')))}</td>{_counts_row(c, _STATUSES)}</tr>"
        for rule, c in s["rules"].items()
    )
    rules = (
        f'<table class="counts"><thead><tr><th>{_e(_("rule"))}</th><th>{_e(_("title"))}</th><th>{_e(_("clause"))}</th>'
        + "".join(f"<th>{_e(tr.status(k))}</th>" for k in _STATUSES)
        + f"</tr></thead><tbody>{rule_rows}</tbody></table>"
    )
    by_part = s["declared_points_by_part"]
    part_rows = "".join(
        f"<tr><td><code>{_e(p['id'])}</code></td><td>{_e(p['name_en'])}</td><td>{_e(p['role'])}</td><td class=\"num\">±{p['accuracy_m']:,.0f} m</td>"
        f"<td class=\"num\">{sum(n for k, n in by_part.items() if p['id'] in k.split(' + '))}</td></tr>"
        for p in region["parts"]
    )
    part_rows += f'<tr><td colspan="4">{_e(_("outside every part (nominally)"))}</td><td class="num">{by_part.get("(none)", 0)}</td></tr>'
    parts = (
        f'<table class="counts"><thead><tr><th>{_e(_("part"))}</th><th>{_e(_("name"))}</th><th>{_e(_("role"))}</th>'
        f'<th>{_e(_("line accuracy"))}</th><th>{_e(_("declared points"))}</th></tr></thead>'
        f"<tbody>{part_rows}</tbody></table>"
    )
    ofc = s["operator_findings"]
    sentence = _(
        "{fail} of {total} facilities fail, {indeterminate} are indeterminate, {error} rows could not be read; "
        "operator findings: {op_fail} fail, {op_indeterminate} indeterminate."
    ).format(fail=fc.get("fail", 0), total=s["facility_count"], indeterminate=fc.get("indeterminate", 0), error=fc.get("error", 0),
             op_fail=ofc.get("fail", 0), op_indeterminate=ofc.get("indeterminate", 0))
    clause_rows = "".join(f"<tr><td>{_e(tr.clause(c))}</td><td>{_e(tr.clause_summary(c))}</td></tr>" for c in cited_clauses(r))
    clause_table = (
        f'<h3>{_e(_("Clauses checked"))}</h3><p class="hint">{_e(_("Clauses of {number}, summarised.").format(number=NOTICE_NUMBER))}</p>'
        f'<table><thead><tr><th>{_e(_("clause"))}</th><th>{_e(_("summary"))}</th></tr></thead><tbody>{clause_rows}</tbody></table>'
    ) if clause_rows else ""
    todo = failing_rules(r)
    todo_table = (
        f'<h3>{_e(_("What to do"))}</h3><table><thead><tr><th>{_e(_("rule"))}</th><th>{_e(_("remediation"))}</th></tr></thead><tbody>'
        + "".join(f"<tr><td><code>{_e(rule)}</code> {_e(tr.rule_title(rule))}</td><td>{_e(tr.remediation(rule))}</td></tr>" for rule in todo)
        + "</tbody></table>"
    ) if todo else ""
    return (
        f'<section id="summary"><h2 class="print-only">{_e(_("Summary"))}</h2><div class="verdict v-{_e(s["verdict"])}"><span class="label">{_e(_("Verdict"))}</span> '
        f'<span class="value">{_e(tr.status(s["verdict"]).upper())}</span><span class="why">{_e(sentence)}</span></div>'
        f'<div class="cards">{cards}</div><dl class="facts">{dl}</dl>{options}'
        f'<h3>{_e(_("Findings per rule"))}</h3>{rules}{todo_table}{clause_table}<h3>{_e(_("Declared points per region part"))}</h3>{parts}</section>'
    )


def _operator_findings(r: Mapping[str, Any], claims: Mapping[str, Any], conts: Mapping[str, Any], tr: Tr) -> str:
    _ = tr._
    rows = "".join(
        f"<tr><td><code>{_e(x['rule'])}</code></td><td>{_e(tr.clause(x['clause']))}</td><td>{_badge(x['status'], tr)}</td>"
        f"<td>{_e(x['message'])}{_missing(x, tr)}</td><td>{_evidence_cell(x['evidence'], claims, conts, tr)}</td></tr>"
        for x in r["operator_findings"]
    )
    return (
        f'<section id="operator"><h2>{_e(_("Operator findings"))}</h2><table><thead><tr><th>{_e(_("rule"))}</th><th>{_e(_("clause"))}</th>'
        f'<th>{_e(_("status"))}</th><th>{_e(_("message"))}</th><th>{_e(_("evidence"))}</th></tr></thead><tbody>{rows}</tbody></table></section>'
    )


def _missing(x: Mapping[str, Any], tr: Tr) -> str:
    return f'<div class="missing">{_e(tr._("Would settle it: {what}").format(what=x["missing"]))}</div>' if x.get("missing") else ""


def _facility_row(f: Mapping[str, Any], tr: Tr) -> str:
    point, cont = _facility_point(f)
    if f.get("errors"):
        note = facility_what(f, tr)
    else:
        bad = [x for x in f["findings"] if x["status"] == "fail"] or [x for x in f["findings"] if x["status"] == "indeterminate"]
        note = bad[0]["message"] if bad else ""
        others = [x["rule"] for x in f["findings"] if x["status"] in ("fail", "indeterminate")]
        if len(others) > 1:
            note += f" ({', '.join(others)})"
    location = "—" if point is None else f"{point['lon']:.5f}, {point['lat']:.5f}"
    passing = ' class="passing"' if f["verdict"] == "pass" else ""
    return (
        f'<tr{passing} data-facility="{_e(f["id"])}" data-verdict="{_e(f["verdict"])}" data-kind="{_e(f["kind"])}">'
        f'<td class="num">{f["row"]}</td><td class="id"><code>{_e(f["id"])}</code></td><td>{_e(f["kind"])}</td><td>{_e(f["tenure"])}</td>'
        f'<td>{_e(f["name"])}</td><td>{_e(f["address"])}</td><td>{_badge(f["verdict"], tr)}</td>'
        f'<td>{_e(tr.basis(f.get("basis", ())) if not f.get("errors") else "—")}</td><td class="num coord">{_e(location)}</td>'
        f'<td>{_e("—" if cont is None else tr.relation(cont["verdict"]))}</td><td class="num">{_km(None if cont is None else cont.get("distance_to_boundary_m"))}</td>'
        f'<td>{_e(" + ".join(cont["parts"]) if cont and cont["parts"] else "—")}</td><td class="note">{_e(note)}</td></tr>'
    )


def _listed(r: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], bool]:
    """The facilities the page lists (failing first) and whether that is fewer than every row.

    Up to :data:`LIST_LIMIT` facilities, every one; above it, only those that did not pass, at most
    :data:`DETAIL_LIMIT` of them.
    """
    facs = sorted(r["facilities"], key=lambda f: (VERDICT_ORDER[f["verdict"]], f["row"]))
    if r["summary"]["facility_count"] <= LIST_LIMIT and "facilities_listed" not in r["summary"]:
        return facs, False
    return [f for f in facs if f["verdict"] != "pass"][:DETAIL_LIMIT], True


def _tables_named(r: Mapping[str, Any]) -> str:
    return ", ".join(r["summary"].get("facility_tables", {}).values()) or "facilities.csv, report.xlsx"


def _facilities(r: Mapping[str, Any], listed: list[Mapping[str, Any]], partial: bool, tr: Tr) -> str:
    _ = tr._
    s = r["summary"]
    passed = s["facilities"].get("pass", 0)
    rows = [_facility_row(f, tr) for f in listed]
    kinds = sorted({f["kind"] for f in listed})
    verdicts = [v for v in VERDICT_ORDER if any(f["verdict"] == v for f in listed)]
    if partial:
        hint = _("{total} facilities: this page lists {listed} that did not pass (failing first); every row, with its verdict, "
                 "is in {tables}. {passed} facilities passed: they are counted above and drawn as dots on the map.").format(
            total=f"{s['facility_count']:,}", listed=f"{len(listed):,}", tables=_tables_named(r), passed=f"{passed:,}")
    else:
        hint = _("Every input row once, failing first. Click a marker on the map to see its findings.")
    collapsed = (
        f'<p class="print-only">{_e(_("{n} facilities passed: not printed here; they are listed on screen and in {tables}.").format(n=f"{passed:,}", tables=_tables_named(r)))}</p>'
        if passed and not partial else ""
    )
    return (
        f'<section id="facilities"><h2>{_e(_("Facilities"))}</h2><p class="hint">{_e(hint)}</p>'
        f'<div class="filters">{_select("facility-table", "verdict", _("Verdict"), verdicts, tr)}{_select("facility-table", "kind", _("Kind"), kinds, tr)}'
        f'{_counters("facility-table", tr)}'
        f'<table id="facility-table"><thead><tr><th>{_e(_("row"))}</th><th>{_e(_("id"))}</th><th>{_e(_("kind"))}</th><th>{_e(_("tenure"))}</th>'
        f'<th>{_e(_("name"))}</th><th>{_e(_("address"))}</th><th>{_e(_("verdict"))}</th><th>{_e(_("decided on"))}</th>'
        f'<th>{_e(_("lon, lat (WGS-84)"))}</th><th>{_e(_("containment"))}</th><th>{_e(_("to the line"))}</th><th>{_e(_("part"))}</th><th>{_e(_("why"))}</th></tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table>{collapsed}</section>'
    )


def _findings(r: Mapping[str, Any], listed: list[Mapping[str, Any]], partial: bool, claims: Mapping[str, Any], conts: Mapping[str, Any], tr: Tr) -> str:
    _ = tr._
    rows = []
    shown: list[Mapping[str, Any]] = list(r["operator_findings"])
    for x in r["operator_findings"]:
        rows.append(_finding_row(x, "(operator)", "(operator)", False, claims, conts, tr))
    for f in listed:
        passing = f["verdict"] == "pass"
        for x in f["findings"]:
            if partial and x["status"] not in ("fail", "indeterminate", "waived"):
                continue  # a large list: only what needs action
            shown.append(x)
            rows.append(_finding_row(x, f["id"], f["kind"], passing, claims, conts, tr))
    statuses = [s for s in _STATUSES if any(x["status"] == s for x in shown)]
    rules = list(dict.fromkeys(x["rule"] for x in shown))
    kinds = ["(operator)"] + sorted({f["kind"] for f in listed if f["findings"]})
    subjects = ["(operator)"] + [f["id"] for f in listed if f["findings"]]
    hint = _("Each rule’s outcome for each subject, with the clause and the evidence that decided it.")
    if partial:
        hint += " " + _("Only the failing, indeterminate and waived findings of the facilities listed above; report.json holds every finding.")
    else:
        hint += " " + _("The findings of passing facilities are not printed.")
    return (
        f'<section id="findings"><h2>{_e(_("Findings"))}</h2><p class="hint">{_e(hint)}</p>'
        f'<div class="filters">{_select("finding-table", "status", _("Status"), statuses, tr)}{_select("finding-table", "rule", _("Rule"), rules, tr)}'
        f'{_select("finding-table", "kind", _("Kind"), kinds, tr)}{_select("finding-table", "facility", _("Facility"), subjects, tr)}'
        f'<button type="button" id="clear-filters">{_e(_("Clear filters"))}</button>{_counters("finding-table", tr)}'
        f'<table id="finding-table"><thead><tr><th>{_e(_("subject"))}</th><th>{_e(_("kind"))}</th><th>{_e(_("rule"))}</th><th>{_e(_("clause"))}</th>'
        f'<th>{_e(_("status"))}</th><th>{_e(_("message"))}</th><th>{_e(_("evidence"))}</th></tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table></section>'
    )


def _finding_row(x: Mapping[str, Any], subject: str, kind: str, passing: bool, claims: Mapping[str, Any], conts: Mapping[str, Any], tr: Tr) -> str:
    cls = ' class="passing"' if passing else ""
    return (
        f'<tr{cls} data-facility="{_e(subject)}" data-kind="{_e(kind)}" data-rule="{_e(x["rule"])}" data-status="{_e(x["status"])}">'
        f'<td class="id"><code>{_e(subject)}</code></td><td>{_e(kind)}</td><td><code>{_e(x["rule"])}</code></td><td>{_e(tr.clause(x["clause"]))}</td>'
        f'<td>{_badge(x["status"], tr)}</td><td>{_e(x["message"])}{_missing(x, tr)}</td><td>{_evidence_cell(x["evidence"], claims, conts, tr)}</td></tr>'
    )


def _footprint(r: Mapping[str, Any], figure: str, tr: Tr) -> str:
    _ = tr._
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
    invalid = f"<p>{_e(_('Not prefixes: {items}').format(items=', '.join(fp['invalid'])))}</p>" if fp["invalid"] else ""
    rel = f"<th>{_e(tr.relation('inside'))}</th><th>{_e(tr.relation('outside'))}</th><th>{_e(tr.relation('indeterminate'))}</th><th>{_e(_('not placed'))}</th>"
    return (
        f'<section id="footprint"><h2>{_e(_("ISP address space"))}</h2>'
        f'<p class="hint">{_e(_("The declared prefixes, intersected with the IP database’s ranges (never enumerated)."))}</p>'
        f'<table class="counts"><thead><tr><th>{_e(_("family"))}</th>{rel}<th>{_e(_("share outside"))}</th></tr></thead>'
        f"<tbody>{fam_rows}</tbody></table>"
        f'<table><thead><tr><th>{_e(_("prefix"))}</th>{rel}<th>{_e(_("where the IP database places it"))}</th><th>{_e(_("origin AS"))}</th></tr></thead>'
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


def _discovered(r: Mapping[str, Any], tr: Tr) -> str:
    if not r["discovered"]:
        return ""
    keys = list(dict.fromkeys(k for d in r["discovered"] for k in d))
    head = "".join(f"<th>{_e(k)}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{_e(_plain(d.get(k, '')))}</td>" for k in keys) + "</tr>" for d in r["discovered"])
    return (f'<section id="discovered"><h2>{_e(tr._("Discovered nodes not in the inventory"))}</h2>'
            f'<p class="hint">{_e(tr._("Found through DNS, not declared in the facility list."))}</p>'
            f'<div class="scroll"><table class="wide"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div></section>')


def _unplaced(r: Mapping[str, Any], tr: Tr) -> str:
    """Hostnames that gave no address and addresses no source placed (see :mod:`auditor.report.unplaced`)."""
    _ = tr._
    counts = r["summary"]["unplaced"]
    head = f'<section id="unplaced"><h2>{_e(_("Unresolved hostnames and unplaced addresses"))}</h2>'
    if not any(c["count"] for c in counts.values()):
        return head + f'<p class="hint">{_e(_("Every hostname resolved and some source placed every address."))}</p></section>'
    count_rows = "".join(
        f'<tr><td>{_e(unplaced_title(k, tr))}</td><td class="num">{c["count"]:,}</td><td class="num">{c["listed"]:,}</td></tr>'
        for k, c in counts.items()
    )
    rows = "".join(
        f'<tr data-facility="{_e(x["facility"])}" data-kind="{_e(x["kind"])}"><td class="num">{_e(x["row"])}</td>'
        f'<td class="id"><code>{_e(x["facility"])}</code></td><td>{_e(unplaced_title(x["kind"], tr))}</td>'
        f'<td><code>{_e(x["value"])}</code></td><td class="note">{_e(why_shown(x, r))}</td></tr>'
        for x in r["unplaced"]
    )
    return (
        head + f'<p class="hint">{_e(_("They decide nothing: each facility is judged on its other evidence."))}</p>'
        f'<table class="counts"><thead><tr><th>{_e(_("what"))}</th><th>{_e(_("count"))}</th><th>{_e(_("listed"))}</th></tr></thead>'
        f"<tbody>{count_rows}</tbody></table>"
        f'<table id="unplaced-table"><thead><tr><th>{_e(_("row"))}</th><th>{_e(_("facility"))}</th><th>{_e(_("what"))}</th>'
        f'<th>{_e(_("hostname or address"))}</th><th>{_e(_("why"))}</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></section>"
    )


def _provenance(r: Mapping[str, Any], tr: Tr) -> str:
    _ = tr._
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
        (_("Tool"), f"{t['name']} {t['version']}"),
        (_("Rule catalogue"), t["rules_version"]),
        (_("Mode"), t["mode"]),
        (_("Evidence sources run"), ", ".join(r["evidence_sources"]) or "—"),
        (_("Region status source"), "—" if status is None else status["source"]),
        (_("Report schema"), r["schema"]),
        (_("Judged as of"), r["as_of"]),
        (_("Generated"), r["generated_at"]),
    ]
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    warnings = ""
    if r["warnings"]:
        warnings = f'<h3>{_e(_("Warnings"))}</h3><ul class="warnings">' + "".join(f"<li>{_e(w)}</li>" for w in r["warnings"]) + "</ul>"
    note = f'<p class="hint">{_e(_("Finding messages are written by the rules in English and are quoted as they are."))}</p>' if tr.zh else ""
    return (
        f'<section id="provenance"><h2>{_e(_("Provenance"))}</h2><dl class="facts">{dl}</dl>{warnings}{note}'
        f'<h3>{_e(_("Inputs"))}</h3><table><thead><tr><th>{_e(_("role"))}</th><th>{_e(_("path"))}</th><th>{_e(_("format"))}</th><th>{_e(_("rows"))}</th>'
        f'<th>{_e(_("encoding"))}</th><th>sha256</th><th>{_e(_("notes"))}</th></tr></thead>'
        f"<tbody>{inputs}</tbody></table>"
        f'<h3>{_e(_("Data files"))}</h3><table><thead><tr><th>{_e(_("name"))}</th><th>{_e(_("path"))}</th><th>{_e(_("version"))}</th><th>sha256</th></tr></thead>'
        f"<tbody>{data}</tbody></table></section>"
    )


def _figure_block(name: str, svg: str, caption: str) -> str:
    return f'<figure class="plot" id="figure-{name}">{svg}<figcaption>{_e(caption)}</figcaption></figure>'


_CAPTIONS = {
    "distance": N_("Distance of each located facility from the region's drawn line (inside to the right). In the shaded band the line's own accuracy leaves a point undecided."),
    "evidence": N_("For each pair of evidence sources: facilities on which both gave a decided verdict (inside or outside), and how many of them agree or contradict. A contradiction is a finding in itself."),
    "footprint": N_("The ISP's declared address space by the place the IP database gives it, as a share of each IP family."),
}


def render_html(result: AuditResult, *, generated_at: str, with_figures: bool = True, lang: str | None = "en") -> str:
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
    lang
        ``zh-CN`` or ``en`` (see :mod:`auditor.report.i18n`); finding messages stay as the rules wrote them.

    A list of more than :data:`LIST_LIMIT` facilities is summarised: the page lists the facilities that
    did not pass (at most :data:`DETAIL_LIMIT`) and points to facilities.csv / report.xlsx for every row.
    Printed, the page gives the summary and what needs action: passing facilities are counted, not listed.
    """
    tr = translator(lang)
    _ = tr._
    r = build_report(result, generated_at=generated_at)
    listed, partial = _listed(r)
    map_svg, n_markers = _map_svg(result, r, tr, {f["id"] for f in listed} if partial else None)
    # every claim (operator's and facilities') and its containment, by claim id, for the evidence cells
    claims = {c["id"]: c for c in r["operator_claims"]}
    claims.update((c["id"], c) for f in listed for c in f["claims"])
    conts = {cid: result.containment[cid].as_dict() for cid in claims if cid in result.containment}
    figs = {}
    if with_figures:
        from auditor.report.plots import figure_title

        figs = {name: inline_svg(fig, name, title=figure_title(name, tr)) for name, fig in figures(result, lang=tr.lang).items()}
    plots_html = "".join(_figure_block(n, svg, _(_CAPTIONS[n])) for n, svg in figs.items() if n != "footprint")
    legend = "".join(
        f'<span><svg width="14" height="14" viewBox="-7 -7 14 14" class="v-{v}" aria-hidden="true">{_marker_shape(v, 0, 0)}</svg> {_e(tr.status(v))}</span>'
        for v in ("pass", "indeterminate", "fail")
    )
    title = _("Pilot-region audit: {operator}").format(operator=r["operator"]["name"] or _("(bare facility list)")) + f" — {r['region']['id']}"
    region_name = r["region"]["name_zh"] if tr.zh else r["region"]["name_en"]
    sub = _("Judged as of {date} against {region}.").format(date=r["as_of"], region=region_name) + " " + _(
        "Generated {stamp} by {tool} {version} (rules {rules}, {mode}).").format(
        stamp=r["generated_at"], tool=r["tool"]["name"], version=r["tool"]["version"], rules=r["tool"]["rules_version"], mode=r["tool"]["mode"])
    nav = [("summary", _("Summary")), ("map-section", _("Map")), ("operator", _("Operator")), ("facilities", _("Facilities")), ("findings", _("Findings"))]
    if r.get("footprint"):
        nav.append(("footprint", _("ISP")))
    nav += [("unplaced", _("Unplaced")), ("provenance", _("Provenance"))]
    body = [
        f'<header><h1>{_e(title)}</h1><p class="sub">{_e(sub)}</p>'
        '<nav class="no-print">' + "".join(f'<a href="#{k}">{_e(v)}</a>' for k, v in nav) + "</nav></header>",
        _summary(r, n_markers, tr),
        f'<section id="map-section"><h2>{_e(_("Map"))}</h2><div class="map-wrap">{map_svg}</div>'
        f'<div class="legend">{legend}<span><svg width="14" height="14" viewBox="-7 -7 14 14" aria-hidden="true"><polygon class="registration" points="0,-6 1.8,-1.8 6,-1.5 2.7,1.3 3.6,5.5 0,3 -3.6,5.5 -2.7,1.3 -6,-1.5 -1.8,-1.8"/></svg> {_e(_("registration"))}</span>'
        f'<span><span class="swatch part"></span> {_e(_("region part"))}</span><span><span class="swatch band"></span> {_e(_("within the line’s accuracy"))}</span></div>'
        f'<p class="hint">{_e(_("Transverse Mercator centred on the region ({lon}°E, {lat}°N); boundaries simplified for drawing only — verdicts use the full lines. Facilities beyond the frame are drawn on its edge with their distance.").format(lon=f"{result.region.geometry.projection.lon0:g}", lat=f"{result.region.geometry.projection.lat0:g}"))}</p>'
        f"{plots_html}</section>",
        _operator_findings(r, claims, conts, tr),
        _facilities(r, listed, partial, tr),
        _findings(r, listed, partial, claims, conts, tr),
        _footprint(r, _figure_block("footprint", figs["footprint"], _(_CAPTIONS["footprint"])) if "footprint" in figs else "", tr),
        _discovered(r, tr),
        _unplaced(r, tr),
        _provenance(r, tr),
    ]
    script_hash = base64.b64encode(hashlib.sha256(_JS.encode("utf-8")).digest()).decode("ascii")
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'"
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{tr.lang}"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="{_e(r["tool"]["name"])} {_e(r["tool"]["version"])}">\n'
        f'<meta name="dcterms.created" content="{_e(r["generated_at"])}">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(b for b in body if b)
        + f"\n<footer>{_e(r['schema'])} · {_e(r['generated_at'])}</footer>\n<script>{_JS}</script>\n</body></html>\n"
    )
