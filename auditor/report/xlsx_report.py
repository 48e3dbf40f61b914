"""report.xlsx: the audit as a workbook a regulator opens in Excel or WPS, in zh-CN or en.

Sheets (titles in the report's language): the summary; the facilities (every input row once, in
input order: the input's own columns under their own headers, exactly as read, then the verdict, the
failing rules, the basis and the distance to the line); the findings; the waivers; the nodes
discovered through DNS. Every sheet has a frozen header row, an auto filter and column widths; each
facility's verdict cell is filled with its verdict's colour.

Strings from the inputs are data: every text cell is written as a string (``data_type`` ``s``), never
as a formula, so a facility named ``=HYPERLINK(...)`` shows that text and runs nothing; characters
a workbook cannot hold (C0 controls) become U+FFFD. Same result → same bytes, but for
``generated_at``: the workbook's created/modified properties are ``generated_at`` and every member
of the zip carries that date too.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from auditor.report.i18n import NOTICE_NUMBER, Tr, translator
from auditor.report.json_report import build_report
from auditor.report.markdown import facility_what, streamed_note
from auditor.report.table import given_value
from auditor.result import AuditResult

__all__ = ["render_xlsx", "FILLS", "FINDINGS_LIMIT"]

#: Background fill of a verdict's cell (light tints of the HTML report's verdict colours).
FILLS = {"pass": "DCEFE0", "fail": "F8D3D0", "indeterminate": "FCE8C3", "error": "E6D6EE", "waived": "D6E4F5", "not_applicable": "EEEEEE"}
#: Above this many facilities, the findings sheet holds only the findings that did not pass (report.json holds every one).
FINDINGS_LIMIT = 2000
_MAX_WIDTH = 60


def _stamp(generated_at: str) -> dt.datetime:
    """``generated_at`` as a naive UTC datetime (what the workbook's properties hold); 1980 at the earliest (zip dates)."""
    try:
        when = dt.datetime.fromisoformat(generated_at)
    except ValueError:
        when = dt.datetime(1980, 1, 1)
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return max(when.replace(microsecond=0), dt.datetime(1980, 1, 1))


def _text(value: Any) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = "" if value is None else str(value)
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def _width(value: Any) -> int:
    """Display width of a cell: CJK characters count twice."""
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


class _Sheet:
    """Rows appended to a worksheet: text always as strings, numbers as numbers, widths tracked."""

    def __init__(self, ws: Any, header: Sequence[str]) -> None:
        from openpyxl.styles import Font, PatternFill

        self.ws = ws
        self.widths = [_width(h) for h in header]
        self.rows = 0
        self._append(header)
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="E9ECF1")

    def _append(self, values: Sequence[Any]) -> list[Any]:
        self.rows += 1
        cells = []
        for col, value in enumerate(values, start=1):
            cell = self.ws.cell(row=self.rows, column=col)
            if isinstance(value, bool) or value is None:
                value = "" if value is None else str(value).lower()
            if isinstance(value, (int, float)):
                cell.value = value
            else:
                cell.value = _text(value)
                cell.data_type = "s"  # never a formula, whatever the text starts with
            if col > len(self.widths):
                self.widths.append(0)
            self.widths[col - 1] = max(self.widths[col - 1], _width(value))
            cells.append(cell)
        return cells

    def row(self, values: Sequence[Any], fill: tuple[int, str] | None = None) -> None:
        cells = self._append(values)
        if fill is not None and fill[1] in FILLS:
            from openpyxl.styles import PatternFill

            cells[fill[0]].fill = PatternFill("solid", fgColor=FILLS[fill[1]])

    def finish(self, *, filter_: bool = True) -> None:
        from openpyxl.utils import get_column_letter

        self.ws.freeze_panes = "A2"
        if filter_ and self.rows >= 1 and self.widths:
            self.ws.auto_filter.ref = f"A1:{get_column_letter(len(self.widths))}{max(self.rows, 1)}"
        for i, w in enumerate(self.widths, start=1):
            self.ws.column_dimensions[get_column_letter(i)].width = min(_MAX_WIDTH, max(6, w + 2))


def _input_columns(r: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(canonical field, the input's header) for each column the input's reading mapped, in the reading's order."""
    for i in r["inputs"]:
        if i.get("role") == "facility_list" and isinstance(i.get("columns"), dict):
            return [(str(k), str(v)) for k, v in i["columns"].items() if v]
    return []


def _given(f: Any, field: str) -> Any:
    if field == "lonlat":
        return "" if f.lon is None or f.lat is None else f"{f.lon!r}, {f.lat!r}"
    if field == "uncertainty_m":
        return f.uncertainty_m
    return given_value(f, field)


def render_xlsx(result: AuditResult, *, generated_at: str, lang: str | None = "en") -> bytes:
    """report.xlsx as bytes (see the module docstring)."""
    from openpyxl import Workbook

    tr = translator(lang)
    _ = tr._
    r = build_report(result, generated_at=generated_at)
    wb = Workbook()
    summary_ws = wb.active
    summary_ws.title = _("Summary")
    _summary(_Sheet(summary_ws, [_("item"), _("value")]), r, tr)
    _facilities(wb, result, r, tr)
    _findings(wb, r, tr)
    _waivers(wb, r, tr)
    _discovered(wb, r, tr)

    when = _stamp(generated_at)
    props = wb.properties
    props.creator = f"{r['tool']['name']} {r['tool']['version']}"
    props.lastModifiedBy = props.creator
    props.title = _("Pilot-region audit: {operator}").format(operator=r["operator"]["name"] or _("(bare facility list)"))
    props.subject = NOTICE_NUMBER
    props.language = tr.lang
    props.created = props.modified = when
    return _save(wb, when)


def _save(wb: Any, when: dt.datetime) -> bytes:
    """The workbook's bytes with every zip member dated ``when`` (openpyxl dates them now, and sets
    ``modified`` to now in ``save``: its writer is driven directly here)."""
    from openpyxl.writer.excel import ExcelWriter

    stamp = when.timetuple()[:6]

    class _FixedDates(zipfile.ZipFile):
        def writestr(self, zinfo_or_arcname: Any, data: Any, compress_type: Any = None, compresslevel: Any = None) -> None:
            if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
                zinfo_or_arcname = zipfile.ZipInfo(zinfo_or_arcname, date_time=stamp)
                zinfo_or_arcname.compress_type = zipfile.ZIP_DEFLATED
                zinfo_or_arcname.external_attr = 0o600 << 16
            else:
                zinfo_or_arcname.date_time = stamp
            super().writestr(zinfo_or_arcname, data, compress_type=compress_type, compresslevel=compresslevel)

        def write(self, filename: Any, arcname: Any = None, compress_type: Any = None, compresslevel: Any = None) -> None:
            # the worksheets come from temporary files: their contents, not their modification times
            with open(filename, "rb") as f:
                self.writestr(arcname or filename, f.read())

    buf = io.BytesIO()
    archive = _FixedDates(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    ExcelWriter(wb, archive).save()
    return buf.getvalue()


def _summary(sheet: _Sheet, r: Mapping[str, Any], tr: Tr) -> None:
    _ = tr._
    s = r["summary"]
    region = r["region"]
    status = region["status_on_as_of"] or {}
    rows: list[tuple[str, Any]] = [
        (_("Operator"), r["operator"]["name"] or _("(bare facility list)")),
        (_("Verdict"), tr.status(s["verdict"])),
        (_("Registered region"), f"{region['id']} — {region['name_zh']} ({region['name_en']})"),
        (_("Scope"), region["scope_note"]),
        (_("As of"), r["as_of"]),
        (_("Region status"), tr.region_status(status.get("status"))),
        (_("Notice"), NOTICE_NUMBER),
        (_("Registration address"), r["operator"]["registration_address"] or ""),
        (_("Services"), ", ".join(r["operator"]["services"])),
        (_("Facilities"), s["facility_count"]),
    ]
    rows += [(tr.status(k), v) for k, v in s["facilities"].items()]
    if "facilities_listed" in s:
        rows.append((_("Streamed"), streamed_note(s, tr)))
    if s["facility_count"] > FINDINGS_LIMIT:
        rows.append((_("Findings"), _("More than {n} facilities: the findings sheet holds the findings that did not pass; report.json holds every one.").format(
            n=f"{FINDINGS_LIMIT:,}")))
    rows += [
        (_("Tool"), f"{r['tool']['name']} {r['tool']['version']}"),
        (_("Rule catalogue"), r["tool"]["rules_version"]),
        (_("Generated"), r["generated_at"]),
        (_("Report schema"), r["schema"]),
    ]
    rows += [(f"{_('Input')}: {i.get('role', '')}", f"{i['path']} sha256 {i['sha256']}") for i in r["inputs"]]
    rows += [(f"{_('Data file')}: {d['name']}", f"{d['path']} {d['version']} sha256 {d['sha256']}") for d in r["data_sources"]]
    for key, value in rows:
        sheet.row([key, value])
    sheet.ws.cell(row=3, column=2).fill = _fill(s["verdict"])
    if tr.zh:
        sheet.row([_("Note"), _("Finding messages are written by the rules in English and are quoted as they are.")])
    sheet.finish(filter_=False)


def _fill(verdict: str) -> Any:
    from openpyxl.styles import PatternFill

    return PatternFill("solid", fgColor=FILLS.get(verdict, "FFFFFF"))


def _point_containment(fac: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The containment of the point a facility is drawn at (declared coordinates first), as the HTML map picks it."""
    points = [c for c in fac["claims"] if c["kind"] == "point"]
    point = next((c for c in points if c["source"] == "declared_coordinates"), None) or next(iter(points), None)
    if point is None:
        return None
    return next((c for c in fac["containment"] if c["claim"] == point["id"]), None)


def _facilities(wb: Any, result: AuditResult, r: Mapping[str, Any], tr: Tr) -> None:
    _ = tr._
    mapped = _input_columns(r)
    if not mapped:  # an input that records no reading (a frame): the canonical fields any row has
        fields = ["id", "kind", "tenure", "name", "address", "lon", "lat", "crs", "ip", "hostname", "adcode", "province", "city", "district"]
        mapped = [(c, c) for c in fields if c == "id" or any(_given(f, c) not in ("", None) for f in result.facilities)]
    extra = list(dict.fromkeys(k for f in result.facilities for k in f.extra))
    taken = {h for _c, h in mapped}
    header = [_("row")] + [h for _c, h in mapped] + [f"input:{c}" if c in taken else c for c in extra]
    judged = [_("verdict"), _("failing rules"), _("indeterminate rules"), _("decided on"), _("containment"), _("distance to the line (m)"),
              _("part"), _("why")]
    sheet = _Sheet(wb.create_sheet(_("Facilities")), header + judged)
    verdict_col = 1 + len(mapped) + len(extra)
    by_row = {(fac["source"], fac["row"]): fac for fac in r["facilities"]}
    for f in result.facilities:
        fac = by_row[(f.source, f.row)]
        findings = fac["findings"]
        cont = None if f.errors else _point_containment(fac)
        verdict = fac["verdict"]
        values: list[Any] = [f.row] + [_given(f, c) for c, _h in mapped] + [f.extra.get(c, "") for c in extra]
        values += [
            tr.status(verdict),
            ";".join(x["rule"] for x in findings if x["status"] == "fail"),
            ";".join(x["rule"] for x in findings if x["status"] == "indeterminate"),
            tr.basis(fac.get("basis", ())) if not f.errors else "",
            "" if cont is None else tr.relation(cont["verdict"]),
            None if cont is None or cont.get("distance_to_boundary_m") is None else round(float(cont["distance_to_boundary_m"]), 1),
            "" if cont is None else " + ".join(cont.get("parts") or ()),
            facility_what(fac, tr) if verdict != "pass" else "",
        ]
        sheet.row(values, fill=(verdict_col, verdict))
    sheet.finish()


def _subjects(r: Mapping[str, Any], tr: Tr) -> Iterable[tuple[str, Any, str, Mapping[str, Any]]]:
    """(subject, row, kind, finding) for every finding: the operator's, then each facility's in row order."""
    for x in r["operator_findings"]:
        yield tr._("(operator)"), None, "", x
    for f in r["facilities"]:
        for x in f["findings"]:
            yield f["id"], f["row"], f["kind"], x


def _findings(wb: Any, r: Mapping[str, Any], tr: Tr) -> None:
    _ = tr._
    sheet = _Sheet(wb.create_sheet(_("Findings")), [
        _("subject"), _("row"), _("kind"), _("rule"), _("title"), _("clause"), _("status"), _("message"), _("would settle it"),
        _("decided on"), _("remediation")])
    only_open = r["summary"]["facility_count"] > FINDINGS_LIMIT
    for subject, row, kind, x in _subjects(r, tr):
        if only_open and x["status"] in ("pass", "not_applicable"):
            continue
        needs = x["status"] in ("fail", "indeterminate")
        sheet.row([subject, row, kind, x["rule"], tr.rule_title(x["rule"]), tr.clause(x["clause"]), tr.status(x["status"]), x["message"],
                   x.get("missing") or "", tr.basis(x.get("basis") or ()) if x.get("basis") else "", tr.remediation(x["rule"]) if needs else ""],
                  fill=(6, x["status"]))
    sheet.finish()


def _waivers(wb: Any, r: Mapping[str, Any], tr: Tr) -> None:
    _ = tr._
    sheet = _Sheet(wb.create_sheet(_("Waivers")), [
        _("rule"), _("subject"), _("was"), _("status"), _("owner"), _("reason"), _("expires"), _("reference")])
    for subject, _row, _kind, x in _subjects(r, tr):
        w = x.get("waiver")
        if w:
            sheet.row([x["rule"], subject, tr.status(w["original_status"]), tr.status(x["status"]), w["owner"], w["reason"], w["expires"],
                       w.get("reference") or ""], fill=(3, x["status"]))
    sheet.finish()


def _discovered(wb: Any, r: Mapping[str, Any], tr: Tr) -> None:
    keys = list(dict.fromkeys(k for d in r["discovered"] for k in d)) or ["domain", "address", "relation"]
    sheet = _Sheet(wb.create_sheet(tr._("Discovered nodes")), keys)
    for d in r["discovered"]:
        sheet.row([_plain(d.get(k, "")) for k in keys])
    sheet.finish()


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(_plain(v)) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return value
