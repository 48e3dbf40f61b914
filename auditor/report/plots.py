"""Figures for the reports: pure functions of an audit result → matplotlib figures → SVG text / PNG bytes.

Three figures, each ``None`` when the audit has nothing to draw:

``distance``
    Distance of each facility's location claim from the region's drawn line, signed (inside to the
    right), stacked by facility verdict, with the band inside which the line's accuracy leaves a
    point undecided.
``evidence``
    Agreement matrix of the evidence sources: for each pair of sources, the facilities on which both
    gave a decided verdict (inside or outside) and how many of those agree or contradict.
``footprint``
    The ISP's address space by the place the IP database gives it, as shares of each IP family.

Determinism (STYLE #12): figures are built with :class:`matplotlib.figure.Figure` (no pyplot and no
global backend switch, so a notebook's inline backend is left alone); rendering goes through Agg
(PNG) or the SVG backend with a fixed ``svg.hashsalt`` and no date, creator or software metadata, so
the same result gives the same bytes. Text is never run through mathtext, and place names are written
in English (from the gazetteer), so no glyph is missing from the default font.

Languages: ``figures(result, lang="zh-CN")`` labels the figures in Chinese when matplotlib knows a
font with Chinese glyphs (:func:`cjk_font`: Noto Sans CJK SC, Source Han Sans SC, WenQuanYi Micro Hei,
SimHei, Microsoft YaHei, PingFang SC, ..., whichever is installed first), set as the font family of
the figures drawn then, with DejaVu Sans behind it for Latin text. Without one the figures keep their
English labels: a figure never shows empty boxes for missing glyphs.
"""

from __future__ import annotations

import io
import math
import re
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from auditor.report.i18n import N_, Tr, translator
from auditor.result import AuditResult

if TYPE_CHECKING:  # matplotlib itself is imported only when a figure is drawn
    from matplotlib.typing import RcKeyType

__all__ = [
    "FIGURES",
    "distance_figure",
    "evidence_figure",
    "footprint_figure",
    "figures",
    "figure_svg",
    "figure_png",
    "inline_svg",
    "evidence_agreement",
    "signed_distances_km",
    "footprint_shares",
    "VERDICT_COLOURS",
    "cjk_font",
    "figure_title",
]

#: Colours shared with the HTML report (verdicts and containment relations).
VERDICT_COLOURS = {
    "pass": "#1a7f37",
    "inside": "#1a7f37",
    "fail": "#c62828",
    "outside": "#c62828",
    "indeterminate": "#d98c00",
    "error": "#6a1b9a",
    "waived": "#1565c0",
    "unlocated": "#9e9e9e",
    "not_placed": "#9e9e9e",
}

_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",       # text stays text: small, searchable, no glyph paths
    "svg.image_inline": True,
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "text.usetex": False,
}

_SOURCE_ORDER = ("declared_coordinates", "admin_fact", "address", "ip2region", "mmdb", "dns", "latency")
_SOURCE_LABELS = {
    "declared_coordinates": N_("declared coordinates"),
    "admin_fact": N_("stated admin unit"),
    "address": N_("address"),
    "ip2region": N_("IP (ip2region)"),
    "mmdb": N_("IP (mmdb)"),
    "dns": "DNS",
    "latency": N_("latency"),
}
#: Font families with Chinese glyphs, in order of preference (the first one installed is used).
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei",
                "WenQuanYi Zen Hei", "Droid Sans Fallback", "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC",
                "AR PL UMing CN", "AR PL UKai CN", "Noto Serif CJK SC")


def cjk_font() -> str | None:
    """The first installed font family of :data:`CJK_FAMILIES` that matplotlib knows, or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((f for f in CJK_FAMILIES if f in names), None)
_ISP_EN = {"电信": "China Telecom", "联通": "China Unicom", "移动": "China Mobile", "广电": "China Broadnet", "铁通": "China Tietong"}


# -- data behind the figures (pure, testable without matplotlib) ------------------------------


def _point_containment(result: AuditResult, fid: str) -> Any:
    """The containment of a facility's declared point (else its first point claim), as the frames choose it."""
    claims = result.claims.get(fid, ())
    point = next((c for c in claims if c.kind == "point" and c.source.value == "declared_coordinates"), None)
    point = point or next((c for c in claims if c.kind == "point"), None)
    return None if point is None else result.containment.get(point.id)


def signed_distances_km(result: AuditResult) -> list[tuple[float, str]]:
    """(signed distance in km, facility verdict) per facility with a located point; inside the drawn line > 0."""
    out = []
    for f in result.facilities:
        cont = _point_containment(result, f.id)
        if cont is None or cont.distance_m is None or not math.isfinite(cont.distance_m):
            continue
        sign = 1.0 if cont.parts else -1.0
        out.append((sign * cont.distance_m / 1000.0, result.facility_verdict(f).value))
    return out


def _sources_present(result: AuditResult) -> list[str]:
    seen = {c.source.value for f in result.facilities for c in result.claims_of(f) if c.id in result.containment}
    ordered = [s for s in _SOURCE_ORDER if s in seen]
    return ordered + sorted(seen - set(ordered))


def evidence_agreement(result: AuditResult) -> tuple[list[str], dict[tuple[str, str], tuple[int, int]], dict[str, int]]:
    """Pairwise agreement of evidence sources over facilities.

    Returns ``(sources, pairs, decided)``: ``pairs[(a, b)] = (agree, contradict)`` counts facilities
    on which both ``a`` and ``b`` gave at least one decided verdict (inside or outside); a facility
    counts as a contradiction if any decided claim of ``a`` is opposite to one of ``b``, else as an
    agreement. ``decided[a]`` is the number of facilities with a decided verdict from ``a``.
    Indeterminate claims decide nothing and are not counted.
    """
    sources = _sources_present(result)
    pairs: dict[tuple[str, str], list[int]] = {(a, b): [0, 0] for a in sources for b in sources if a != b}
    decided: Counter[str] = Counter()
    for f in result.facilities:
        by_source: dict[str, set[str]] = {}
        for c in result.claims_of(f):
            cont = result.containment.get(c.id)
            if cont is not None and cont.verdict.value in ("inside", "outside"):
                by_source.setdefault(c.source.value, set()).add(cont.verdict.value)
        for s in by_source:
            decided[s] += 1
        for a, va in by_source.items():
            for b, vb in by_source.items():
                if a == b:
                    continue
                contradict = any(x != y for x in va for y in vb)
                pairs[(a, b)][1 if contradict else 0] += 1
    return sources, {k: (v[0], v[1]) for k, v in pairs.items()}, {s: decided.get(s, 0) for s in sources}


def _place_label(result: AuditResult, text: str) -> str:
    """An ip2region answer in English (gazetteer name and carrier), for a label in the default font."""
    from auditor.resolve.ipgeo.ip2region import parse_region_text, unit_for_answer

    answer = parse_region_text(text)
    unit, _ = unit_for_answer(result.region.registry, answer)
    isp = _ISP_EN.get(answer.isp, answer.isp if answer.isp.isascii() else "")
    if unit is not None and unit.name_en:
        name = unit.name_en
    elif text.isascii():
        name = text
    else:
        name = f"other ({unit.adcode})" if unit is not None else "other (not in the gazetteer)"
    return f"{name} · {isp}" if isp else name


def footprint_shares(result: AuditResult) -> list[tuple[str, str, str, int, float]]:
    """(family, place label, relation, addresses, share of the family) rows, largest first per family.

    Addresses the database does not place are one row, ``(not placed)``. Empty when the audit has no
    ISP footprint.
    """
    fp = result.footprint
    if fp is None:
        return []
    import ipaddress

    rows: list[tuple[str, str, str, int, float]] = []
    for fam, counts in (("IPv4", fp.v4), ("IPv6", fp.v6)):
        if not counts.total:
            continue
        version = 4 if fam == "IPv4" else 6
        by_place: Counter[tuple[str, str]] = Counter()
        placed = 0
        for p in fp.prefixes:
            try:
                if ipaddress.ip_network(p.prefix, strict=False).version != version:
                    continue
            except ValueError:
                continue
            for text, relation, n in p.places:
                by_place[(_place_label(result, text), str(relation))] += n
                placed += n
        unplaced = counts.total - placed
        if unplaced > 0:
            by_place[("(not placed)", "not_placed")] += unplaced
        for (label, relation), n in sorted(by_place.items(), key=lambda kv: (-kv[1], kv[0])):
            rows.append((fam, label, relation, n, n / counts.total))
    return rows


# -- figures ------------------------------------------------------------------------------


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _no_math(*texts: Any) -> None:
    for t in texts:
        t.set_parse_math(False)


def distance_figure(result: AuditResult, tr: Tr | None = None) -> Any:
    """Histogram of signed distances to the boundary (symmetric log scale), stacked by verdict."""
    import numpy as np

    tr = tr or translator("en")
    data = signed_distances_km(result)
    if not data:
        return None
    fig = _figure(6.4, 2.8)
    ax = fig.add_subplot()
    lim = max(1.0, max(abs(d) for d, _ in data))
    top = 10 ** math.ceil(math.log10(lim))
    # bins: linear within ±1 km (where line accuracy matters), logarithmic beyond
    pos = np.concatenate([np.linspace(0.0, 1.0, 5)[1:], np.logspace(0.0, math.log10(top), 4 * int(round(math.log10(top))) + 1)[1:]])
    edges = np.concatenate([-pos[::-1], [0.0], pos])
    order = ("pass", "indeterminate", "fail")
    values = [[d for d, v in data if v == verdict] for verdict in order]
    ax.hist(values, bins=edges, stacked=True, color=[VERDICT_COLOURS[v] for v in order], label=[tr.status(v) for v in order], edgecolor="white", linewidth=0.5)
    ax.set_xscale("symlog", linthresh=1.0, linscale=0.6)
    accuracy_km = max((p.accuracy_m for p in result.region.parts), default=0.0) / 1000.0
    if accuracy_km:
        ax.axvspan(-accuracy_km, accuracy_km, color="#d98c00", alpha=0.12, linewidth=0, label=tr._("line accuracy (±{km} km)").format(km=f"{accuracy_km:g}"))
    ax.axvline(0.0, color="#333333", linewidth=0.8)
    ticks = [t for t in (-1000, -100, -10, -1, 0, 1, 10, 100, 1000) if abs(t) <= top]
    ax.set_xticks(ticks, [f"{abs(t):g}" for t in ticks])
    ax.set_xlim(-top, top)
    ax.set_xlabel(tr._("distance to the region's drawn line, km  (← outside · inside →)"))
    ax.set_ylabel(tr._("facilities"))
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    ax.set_title(tr._("Distance of each located facility to the boundary"))
    return fig


def evidence_figure(result: AuditResult, tr: Tr | None = None) -> Any:
    """Agreement matrix of evidence sources: 'agree / contradict' facility counts per pair."""
    import numpy as np
    from matplotlib.colors import LinearSegmentedColormap

    tr = tr or translator("en")
    sources, pairs, decided = evidence_agreement(result)
    if len(sources) < 2:
        return None
    n = len(sources)
    share = np.full((n, n), np.nan)
    for i, a in enumerate(sources):
        for j, b in enumerate(sources):
            if a != b:
                agree, contra = pairs[(a, b)]
                if agree + contra:
                    share[i, j] = contra / (agree + contra)
    fig = _figure(1.6 + 1.25 * n, 1.0 + 0.85 * n)
    ax = fig.add_subplot()
    cmap = LinearSegmentedColormap.from_list("agree", ["#e3f1e6", "#f6c9c4", "#c62828"])
    # vector cells (pcolormesh), not a raster (imshow): crisp in print, and no embedded image
    edges = np.arange(n + 1) - 0.5
    ax.set_facecolor("#f2f2f2")
    ax.pcolormesh(edges, edges, np.ma.masked_invalid(share), cmap=cmap, vmin=0.0, vmax=1.0, edgecolors="white", linewidth=2)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(n - 0.5, -0.5)
    for i, a in enumerate(sources):
        for j, b in enumerate(sources):
            if a == b:
                text = tr._("{n} decided\n(facilities)").format(n=decided[a])
                colour = "#555555"
            else:
                agree, contra = pairs[(a, b)]
                text = tr._("{agree} agree\n{contradict} contradict").format(agree=agree, contradict=contra) if agree + contra else tr._("no overlap")
                colour = "white" if (share[i, j] >= 0.6) else "#222222"
            _no_math(ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour))
    labels = [tr._(_SOURCE_LABELS[s]) if s in _SOURCE_LABELS else s for s in sources]
    ax.set_xticks(range(n), labels, rotation=20, ha="right")
    ax.set_yticks(range(n), labels)
    _no_math(*ax.get_xticklabels(), *ax.get_yticklabels())
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(tr._("Evidence agreement per pair of sources"))
    return fig


def _count(n: int) -> str:
    """An address count for a label: 65,536; 2^96 for huge powers of two; 1.2e+30 otherwise."""
    if n >= 1 << 32 and n & (n - 1) == 0:
        return f"2^{n.bit_length() - 1}"
    return f"{n:,}" if n < 10**12 else f"{n:.2g}"


def footprint_figure(result: AuditResult, tr: Tr | None = None) -> Any:
    """The ISP address space by place, as a share of each IP family, coloured by relation to the region."""
    tr = tr or translator("en")
    rows = footprint_shares(result)
    if not rows:
        return None
    fig = _figure(6.4, 0.9 + 0.38 * len(rows))
    ax = fig.add_subplot()
    labels = [f"{fam}: {label}" for fam, label, _, _, _ in rows]
    y = list(range(len(rows)))[::-1]
    ax.barh(y, [100.0 * s for *_, s in rows], color=[VERDICT_COLOURS.get(r, "#9e9e9e") for _, _, r, _, _ in rows], height=0.6)
    for yi, (_, _, relation, n, s) in zip(y, rows):
        text = tr._("{n} addresses · {relation}").format(n=_count(n), relation=tr._(_RELATIONS.get(relation, relation.replace("_", " "))))
        inside_bar = s > 0.55
        x = 100.0 * s - 1.5 if inside_bar else 100.0 * s + 1.5
        _no_math(ax.text(x, yi, text, va="center", ha="right" if inside_bar else "left", fontsize=8, color="white" if inside_bar else "#222222"))
    ax.set_yticks(y, labels)
    _no_math(*ax.get_yticklabels())
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel(tr._("share of the family's addresses, %"))
    ax.set_title(tr._("ISP address space by the place the IP database gives it"))
    return fig


_RELATIONS = {"inside": N_("inside"), "outside": N_("outside"), "indeterminate": N_("indeterminate"), "not_placed": N_("not placed"),
              }

#: name → (builder, caption). The order is the order of the report.
FIGURES: dict[str, tuple[Callable[[AuditResult, Tr | None], Any], str]] = {
    "distance": (distance_figure, N_("Distance to the boundary")),
    "evidence": (evidence_figure, N_("Evidence agreement matrix")),
    "footprint": (footprint_figure, N_("ISP footprint by place")),
}


def figure_title(name: str, tr: Tr) -> str:
    """A figure's caption in ``tr``'s language."""
    return tr._(FIGURES[name][1])


def figures(result: AuditResult, *, lang: str | None = "en") -> dict[str, Any]:
    """Every figure the audit has data for, by name, in report order.

    ``lang="zh-CN"`` labels them in Chinese if a CJK font is installed (:func:`cjk_font`), else in English.
    """
    import matplotlib

    tr = translator(lang)
    rc = dict(_RC)
    if tr.zh:
        family = cjk_font()
        if family is None:
            tr = translator("en")  # no font with Chinese glyphs: English labels rather than empty boxes
        else:
            rc["font.family"] = [family, "DejaVu Sans"]
    out = {}
    with matplotlib.rc_context(rc):
        for name, (build, _) in FIGURES.items():
            fig = build(result, tr)
            if fig is not None:
                # settle the constrained layout once, then freeze it: every later save (SVG, PNG,
                # again) draws the same geometry instead of re-solving from the previous draw
                fig.draw_without_rendering()
                fig.set_layout_engine("none")
                out[name] = fig
    return out


def figure_svg(fig: Any, *, salt: str = "auditor") -> str:
    """A standalone SVG document, byte-stable: fixed hash salt, no date/creator metadata."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({**_RC, "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return buf.getvalue()


def figure_png(fig: Any, *, dpi: int = 150) -> bytes:
    """PNG bytes (Agg), with no software metadata, so the bytes depend on the figure alone."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


_ID_ATTR = re.compile(r'\bid="([^"]+)"')


def inline_svg(fig: Any, name: str, *, title: str = "") -> str:
    """The figure as an ``<svg>`` element for an HTML page.

    Drops the XML prolog and namespace declarations (the HTML parser supplies the SVG namespace),
    uses plain ``href`` for internal references, and prefixes every id with ``name`` so that
    several figures on one page do not share ids.
    """
    text = figure_svg(fig, salt=f"auditor-{name}")
    text = text[text.index("<svg"):]
    text = text.replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "").replace(' xmlns="http://www.w3.org/2000/svg"', "")
    text = text.replace("xlink:href=", "href=")
    text = _ID_ATTR.sub(lambda m: f'id="{name}-{m.group(1)}"', text)
    text = text.replace('href="#', f'href="#{name}-').replace("url(#", f"url(#{name}-")
    from html import escape

    label = escape(title or name, quote=True)
    return text.replace("<svg ", f'<svg role="img" aria-label="{label}" class="figure-svg" ', 1).strip()
