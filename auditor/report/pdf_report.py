"""report.pdf: a printable A4 report to file, in zh-CN or en (reportlab).

What it holds: on the first page the verdict and the audit's metadata (operator, region, as-of date,
the notice 工信部通信函〔2024〕107号, tool, rule catalogue and data versions, the inputs' sha256); then
the counts per verdict, the findings per rule with their titles, what to do (the remediation of
each rule that did not pass), the operator's findings, the facilities that did not pass (at most
:data:`auditor.report.html_report.DETAIL_LIMIT`; passing facilities are counted, and every row is in
facilities.csv and report.xlsx), the waived findings and the clauses checked, summarised.

The font: Adobe's STSong-Light, one of the CID fonts every PDF reader supplies for Chinese
(reportlab's :class:`~reportlab.pdfbase.cidfonts.UnicodeCIDFont`, encoding UniGB-UCS2-H), so no font
file is shipped or needed; its text extracts as Unicode. Strings from the inputs are escaped before
reportlab's paragraph markup sees them, so an input can neither format nor link anything.

Same result → same bytes, but for ``generated_at``: reportlab's invariant mode (no random document
id), and the creation and modification dates are ``generated_at``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import time
from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

from auditor.report.i18n import NOTICE_NUMBER, translator
from auditor.report.json_report import VERDICT_ORDER, build_report
from auditor.report.markdown import cited_clauses, facility_what, failing_rules, streamed_note
from auditor.result import AuditResult

__all__ = ["FONT", "render_pdf"]

#: The CID font every text is set in (no font file: PDF readers supply it).
FONT = "STSong-Light"
_COLOURS = {"pass": "#1a7f37", "fail": "#c62828", "indeterminate": "#b36b00", "error": "#6a1b9a", "waived": "#1565c0", "not_applicable": "#666666"}


def _stamp(generated_at: str) -> float:
    """``generated_at`` as seconds since the epoch (UTC); 2000-01-01 if it is not a timestamp."""
    try:
        when = dt.datetime.fromisoformat(generated_at)
    except ValueError:
        return 946684800.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return float(calendar.timegm(when.astimezone(dt.UTC).timetuple()))


def _p(text: Any) -> str:
    """Plain text for a reportlab Paragraph: markup characters escaped, line breaks kept as breaks."""
    return escape("" if text is None else str(text)).replace("\n", "<br/>")


def render_pdf(result: AuditResult, *, generated_at: str, lang: str | None = "en") -> bytes:
    """report.pdf as bytes (see the module docstring)."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_LEFT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from auditor.report.html_report import DETAIL_LIMIT

    tr = translator(lang)
    _ = tr._
    r = build_report(result, generated_at=generated_at)
    s = r["summary"]
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    # CJK text breaks between any two characters: wordWrap="CJK" (Latin words are still kept whole)
    body = ParagraphStyle("body", fontName=FONT, bulletFontName=FONT, fontSize=9, leading=12.5, alignment=TA_LEFT, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5)
    h1 = ParagraphStyle("h1", parent=body, fontSize=16, leading=21, spaceAfter=4)
    h2 = ParagraphStyle("h2", parent=body, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4)
    verdict_style = ParagraphStyle("verdict", parent=body, fontSize=20, leading=26, textColor=colors.white)

    width = A4[0] - 30 * mm

    def table(header: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float], *, fills: Sequence[str | None] = (),
              fill_col: int = -1) -> Table:
        data = [[Paragraph(_p(h), small) for h in header]] + [[Paragraph(_p(c), small) for c in row] for row in rows]
        t = Table(data, colWidths=[w * width for w in widths], repeatRows=1)
        style = [
            ("FONT", (0, 0), (-1, -1), FONT, 7.5),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecf1")),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#c8ccd2")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
        for i, fill in enumerate(fills, start=1):
            if fill in _COLOURS and fill_col >= 0:
                style.append(("BACKGROUND", (fill_col, i), (fill_col, i), colors.HexColor(_COLOURS[fill]).clone(alpha=0.18)))
        t.setStyle(TableStyle(style))
        return t

    story: list[Any] = []
    title = _("Pilot-region audit: {operator}").format(operator=r["operator"]["name"] or _("(bare facility list)"))
    story.append(Paragraph(_p(title), h1))
    verdict = Table([[Paragraph(_p(_("Verdict") + ": " + tr.status(s["verdict"]).upper()), verdict_style)]], colWidths=[width])
    verdict.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 9), ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor(_COLOURS.get(s["verdict"], "#444444"))),
                                 ("LEFTPADDING", (0, 0), (-1, -1), 8), ("TOPPADDING", (0, 0), (-1, -1), 6), ("BOTTOMPADDING", (0, 0), (-1, -1), 8)]))
    story += [verdict, Spacer(1, 6)]
    region = r["region"]
    status = region["status_on_as_of"] or {}
    facts = [
        (_("Operator"), r["operator"]["name"] or _("(bare facility list)")),
        (_("Registered region"), f"{region['id']} — {region['name_zh']} ({region['name_en']})"),
        (_("Scope"), region["scope_note"]),
        (_("As of"), _("{date} — region status: {status}").format(date=r["as_of"], status=tr.region_status(status.get("status")))),
        (_("Notice"), NOTICE_NUMBER),
        (_("Registration address"), r["operator"]["registration_address"] or "—"),
        (_("Services"), ", ".join(r["operator"]["services"]) or "—"),
        (_("Tool"), f"{r['tool']['name']} {r['tool']['version']}"),
        (_("Rule catalogue"), r["tool"]["rules_version"]),
        (_("Generated"), r["generated_at"]),
    ]
    facts += [(f"{_('Input')}: {i.get('role', '')}", f"{i['path']}\nsha256 {i['sha256']}") for i in r["inputs"]]
    facts += [(f"{_('Data file')}: {d['name']}", f"{d['path']} ({d['version']})\nsha256 {d['sha256']}") for d in r["data_sources"]]
    story.append(table([_("item"), _("value")], facts, [0.25, 0.75]))

    story.append(Paragraph(_p(_("Facilities")), h2))
    counts = [(tr.status(k), f"{v:,}") for k, v in s["facilities"].items()] + [(_("total"), f"{s['facility_count']:,}")]
    story.append(table([_("verdict"), _("count")], counts, [0.3, 0.2], fills=list(s["facilities"]) + [None], fill_col=0))
    if "facilities_listed" in s:
        story.append(Paragraph(_p(streamed_note(s, tr)), body))

    story.append(Paragraph(_p(_("Rules")), h2))
    rule_rows = [(rule, tr.rule_title(rule), c.get("pass", 0), c.get("fail", 0), c.get("indeterminate", 0), c.get("not_applicable", 0), c.get("waived", 0))
                 for rule, c in s["rules"].items()]
    story.append(table([_("rule"), _("title"), tr.status("pass"), tr.status("fail"), tr.status("indeterminate"), tr.status("not_applicable"),
                        tr.status("waived")], rule_rows, [0.24, 0.36, 0.08, 0.08, 0.08, 0.08, 0.08]))
    todo = failing_rules(r)
    if todo:
        story.append(Paragraph(_p(_("What to do")), h2))
        story.append(table([_("rule"), _("remediation")], [(f"{rule}\n{tr.rule_title(rule)}", tr.remediation(rule)) for rule in todo], [0.35, 0.65]))

    if r["operator_findings"]:
        story.append(Paragraph(_p(_("Operator findings")), h2))
        story.append(table([_("rule"), _("clause"), _("status"), _("message")],
                           [(x["rule"], tr.clause(x["clause"]), tr.status(x["status"]), x["message"]) for x in r["operator_findings"]],
                           [0.22, 0.16, 0.1, 0.52], fills=[x["status"] for x in r["operator_findings"]], fill_col=2))

    story.append(Paragraph(_p(_("Facilities that did not pass")), h2))
    bad = sorted((f for f in r["facilities"] if f["verdict"] != "pass"), key=lambda f: (VERDICT_ORDER[f["verdict"]], f["row"]))
    shown = bad[:DETAIL_LIMIT]
    passed = s["facilities"].get("pass", 0)
    story.append(Paragraph(_p(_("{passed} facilities passed and are counted, not listed; every row is in facilities.csv and report.xlsx.").format(
        passed=f"{passed:,}")), body))
    if len(bad) > len(shown):
        story.append(Paragraph(_p(_("The first {n} are listed here.").format(n=f"{len(shown):,}")), body))
    story.append(Spacer(1, 3))
    if shown:
        rows = []
        for f in shown:
            cont = _distance(f)
            rows.append((f["id"], f["row"], f["kind"], f"{f['name']}\n{f['address']}", tr.status(f["verdict"]),
                         tr.basis(f.get("basis", ())) if not f.get("errors") else "—", cont, facility_what(f, tr)))
        story.append(table([_("id"), _("row"), _("kind"), _("name and address"), _("verdict"), _("decided on"), _("to the line"), _("why")], rows,
                           [0.11, 0.05, 0.06, 0.18, 0.08, 0.12, 0.08, 0.32], fills=[f["verdict"] for f in shown], fill_col=4))

    waived = [(x, subject) for subject, items in [(_("operator"), r["operator_findings"])] + [(f["id"], f["findings"]) for f in r["facilities"]]
              for x in items if x.get("waiver")]
    story.append(Paragraph(_p(_("Waived findings")), h2))
    if waived:
        story.append(table([_("rule"), _("subject"), _("was"), _("owner"), _("reason"), _("expires"), _("reference")],
                           [(x["rule"], subj, tr.status(x["waiver"]["original_status"]), x["waiver"]["owner"], x["waiver"]["reason"],
                             x["waiver"]["expires"], x["waiver"].get("reference") or "") for x, subj in waived],
                           [0.18, 0.12, 0.09, 0.13, 0.27, 0.1, 0.11]))
    else:
        story.append(Paragraph(_p(_("No finding is waived.")), body))

    clauses = cited_clauses(r)
    if clauses:
        story.append(Paragraph(_p(_("Clauses checked")), h2))
        story.append(Paragraph(_p(_("Clauses of {number}, summarised.").format(number=NOTICE_NUMBER)), body))
        story.append(table([_("clause"), _("summary")], [(tr.clause(c), tr.clause_summary(c)) for c in clauses], [0.18, 0.82]))
    if tr.zh:
        story += [Spacer(1, 6), Paragraph(_p(_("Finding messages are written by the rules in English and are quoted as they are.")), small)]

    footer = f"{NOTICE_NUMBER} · {r['operator']['name'] or ''} · {r['as_of']} · {r['generated_at']}"

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(colors.HexColor("#5b6472"))
        canvas.drawString(15 * mm, 8 * mm, footer[:160])
        canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, _("page {n}").format(n=doc.page))
        canvas.restoreState()

    when = _stamp(r["generated_at"])

    def canvasmaker(*args: Any, **kwargs: Any) -> Any:
        canvas = Canvas(*args, **kwargs)
        ts = canvas._doc._timeStamp  # the dates reportlab writes (CreationDate, ModDate): generated_at
        ts.t, ts.lt = when, time.gmtime(when)
        ts.YMDhms, ts.dhh, ts.dmm, ts.tzname = tuple(ts.lt)[:6], 0, 0, "UTC"
        return canvas

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=14 * mm, bottomMargin=15 * mm,
        title=title, author=f"{r['tool']['name']} {r['tool']['version']}", subject=NOTICE_NUMBER, creator=f"{r['tool']['name']} {r['tool']['version']}",
        producer="ReportLab", keywords=[r["region"]["id"], r["as_of"]], invariant=1, lang=tr.lang,
        initialFontName=FONT, initialFontSize=9,  # no Helvetica among the pages' fonts
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page, canvasmaker=canvasmaker)
    return buf.getvalue()


def _distance(f: Mapping[str, Any]) -> str:
    points = [c for c in f["claims"] if c["kind"] == "point"]
    point = next((c for c in points if c["source"] == "declared_coordinates"), None) or next(iter(points), None)
    cont = None if point is None else next((c for c in f["containment"] if c["claim"] == point["id"]), None)
    if cont is None or cont.get("distance_to_boundary_m") is None:
        return "—"
    d = float(cont["distance_to_boundary_m"])
    return f"{d / 1000:,.1f} km" if d >= 10_000 else f"{d:,.0f} m"
