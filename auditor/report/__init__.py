"""Renderers (pure: result → text or bytes, one module per format) and the writer (the only I/O here).

The human reports (report.md, report.html, report.xlsx, report.pdf) are written in ``lang``
(``zh-CN`` or ``en``; default: ``AUDITOR_LANG``, else the locale, else ``en`` — see
:mod:`auditor.report.i18n`); the machine ones (report.json, report.sarif, facilities.*) are the same
in every language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal, overload

from auditor.errors import UsageError
from auditor.report.folder import ReportFolder
from auditor.report.i18n import LANGS, resolve_lang, translator
from auditor.result import AuditResult

__all__ = ["BINARY_FORMATS", "FORMATS", "HUMAN_FORMATS", "LANGS", "TEXT_FORMATS", "ReportFolder", "input_paths", "render", "resolve_lang",
           "write_reports", "write_figures", "parse_formats"]

#: the formats written by default: text, rendered by :func:`render`
TEXT_FORMATS = ("json", "md", "csv", "geojson", "html", "sarif")
#: binary reports on request: the workbook and the printable PDF (bytes from :func:`render`)
BINARY_FORMATS = ("xlsx", "pdf")
#: every format: the text ones, facilities.parquet (GeoParquet, binary) and the binary reports (on request)
FORMATS = TEXT_FORMATS + ("parquet",) + BINARY_FORMATS
#: the formats whose words follow ``lang``
HUMAN_FORMATS = ("md", "html", "xlsx", "pdf")
_FILENAMES = {
    "json": "report.json",
    "md": "report.md",
    "csv": "facilities.csv",
    "geojson": "facilities.geojson",
    "html": "report.html",
    "sarif": "report.sarif",
    "parquet": "facilities.parquet",
    "xlsx": "report.xlsx",
    "pdf": "report.pdf",
}
#: Folder (next to report.md) that figures are written to, as NAME.svg and NAME.png.
FIGURES_DIR = "figures"


def parse_formats(text: str) -> tuple[str, ...]:
    """'json,md' → ('json', 'md'); an unknown format raises UsageError listing the valid ones."""
    chosen = tuple(dict.fromkeys(t.strip().lower() for t in text.split(",") if t.strip()))
    for f in chosen:
        if f not in FORMATS:
            raise UsageError("--format", f, FORMATS)
    return chosen or ("json",)


@overload
def render(result: AuditResult, fmt: Literal["xlsx", "pdf"], *, generated_at: str | None = ..., sarif_root: str | Path | None = ...,
           lang: str | None = ...) -> bytes: ...
@overload
def render(result: AuditResult, fmt: Literal["json", "md", "csv", "geojson", "html", "sarif"], *, generated_at: str | None = ...,
           sarif_root: str | Path | None = ..., lang: str | None = ...) -> str: ...
@overload
def render(result: AuditResult, fmt: str, *, generated_at: str | None = ..., sarif_root: str | Path | None = ...,
           lang: str | None = ...) -> str | bytes: ...
def render(result: AuditResult, fmt: str, *, generated_at: str | None = None, sarif_root: str | Path | None = None,
           lang: str | None = None) -> str | bytes:
    """Render ``result`` as ``fmt``: text for json, md, csv, geojson, html, sarif; bytes for xlsx and pdf.
    Same result → same output, but for ``generated_at``.

    ``sarif_root``: the repository root report.sarif's paths are relative to (default: the folder of
    the operator profile; see :func:`auditor.report.sarif_report.build_sarif`). ``lang``: ``zh-CN`` or
    ``en`` for md, html, xlsx and pdf (default: ``AUDITOR_LANG``, else the locale, else ``en``); an
    unknown language raises :class:`~auditor.errors.UsageError`.
    """
    stamp = generated_at or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    language = resolve_lang(lang) if fmt in HUMAN_FORMATS else "en"
    if fmt == "json":
        from auditor.report.json_report import render_json

        return render_json(result, generated_at=stamp)
    if fmt == "md":
        from auditor.report.markdown import render_markdown

        return render_markdown(result, generated_at=stamp, lang=language)
    if fmt == "csv":
        from auditor.report.csv_report import render_csv

        return render_csv(result)
    if fmt == "geojson":
        from auditor.report.geojson_report import render_geojson

        return render_geojson(result)
    if fmt == "html":
        from auditor.report.html_report import render_html

        return render_html(result, generated_at=stamp, lang=language)
    if fmt == "sarif":
        from auditor.report.sarif_report import render_sarif

        return render_sarif(result, root=sarif_root)
    if fmt == "xlsx":
        from auditor.report.xlsx_report import render_xlsx

        return render_xlsx(result, generated_at=stamp, lang=language)
    if fmt == "pdf":
        from auditor.report.pdf_report import render_pdf

        return render_pdf(result, generated_at=stamp, lang=language)
    raise UsageError("--format", fmt, FORMATS)


def _markdown_figures(names: Iterable[str], lang: str = "en") -> str:
    """A Markdown section linking the written figures (SVG, with the PNG beside it)."""
    from auditor.report.plots import figure_title

    tr = translator(lang)
    lines = ["## " + tr._("Figures"), ""]
    for name in names:
        caption = figure_title(name, tr)
        lines += [f"![{caption}]({FIGURES_DIR}/{name}.svg)", "", f"([PNG]({FIGURES_DIR}/{name}.png))", ""]
    return "\n".join(lines)


def write_figures(result: AuditResult, out_dir: str | Path, *, lang: str | None = "en") -> list[Path]:
    """Write every figure the audit has data for as ``figures/NAME.svg`` and ``figures/NAME.png``
    (labelled in ``lang`` when a CJK font is installed for zh-CN; see :func:`auditor.report.plots.figures`)."""
    from auditor.report.plots import figure_png, figure_svg, figures

    folder = Path(out_dir) / FIGURES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in figures(result, lang=lang).items():
        svg, png = folder / f"{name}.svg", folder / f"{name}.png"
        svg.write_text(figure_svg(fig, salt=f"auditor-{name}"), encoding="utf-8", newline="")
        png.write_bytes(figure_png(fig))
        written += [svg, png]
    return written


def write_reports(
    result: AuditResult,
    out_dir: str | Path | ReportFolder,
    formats: Iterable[str] = TEXT_FORMATS,
    *,
    generated_at: str | None = None,
    figures: bool = False,
    progress: Callable[..., None] | None = None,
    sarif_root: str | Path | None = None,
    lang: str | None = None,
) -> list[Path]:
    """Write each format into ``out_dir`` (created if needed) under fixed file names; returns the paths.

    The set is written whole or not at all (:class:`~auditor.report.folder.ReportFolder`): into a
    staging folder first, then moved into place; report files of an earlier run that this one does
    not write are removed, and a folder where a report would overwrite one of the audit's inputs
    is refused. Given a :class:`ReportFolder` already open (to add a bundle or streamed tables to
    the same set), the files are only staged, the staged paths are returned, and the caller
    commits.

    With ``figures=True`` the figures are written too (:func:`write_figures`) and, when Markdown is
    among the formats, report.md links them in a "Figures" section before its provenance. Without
    it, every file is exactly what :func:`render` gives. ``progress(step, done, total)`` is called
    as each file is written (see :mod:`auditor.cli.progress`). ``sarif_root``: see :func:`render`.
    ``lang``: the language of report.md, report.html, report.xlsx, report.pdf and the figures
    (``zh-CN`` or ``en``; default ``AUDITOR_LANG``, else the locale, else ``en``).
    """
    lang = resolve_lang(lang)  # once, before anything is written: a bad value is refused up front
    fmts = list(formats)
    for fmt in fmts:
        if fmt not in FORMATS:
            raise UsageError("--format", fmt, FORMATS)
    if not isinstance(out_dir, ReportFolder):
        with ReportFolder(out_dir) as folder:
            staged = write_reports(result, folder, fmts, generated_at=generated_at, figures=figures, progress=progress,
                                   sarif_root=sarif_root, lang=lang)
            folder.commit()
            return [folder.final(p) for p in staged]
    folder = out_dir
    folder.protect(input_paths(result))
    folder.keep((getattr(result, "tables", None) or {}).values())  # a streamed audit's tables, already in place
    stamp = generated_at or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    total = len(fmts) + (1 if figures else 0)
    written: list[Path] = []
    figure_names: list[str] = []
    if figures:
        paths = write_figures(result, folder.staging, lang=lang)
        written += paths
        figure_names = [p.stem for p in paths if p.suffix == ".svg"]
        if progress:
            progress("write reports", 1, total)
    from auditor.report.json_report import facility_entries_shared

    with facility_entries_shared():  # report.json, .md, .html and .sarif list the same facility entries: built once
        written += _write_formats(result, folder, fmts, stamp, sarif_root, lang, figure_names, progress, total - len(fmts))
    return written


def _write_formats(result: AuditResult, folder: ReportFolder, fmts: list[str], stamp: str, sarif_root: str | Path | None, lang: str,
                   figure_names: list[str], progress: Callable[..., None] | None, before: int) -> list[Path]:
    """Render and stage each format (``before``: the steps progress has counted already)."""
    written: list[Path] = []
    total = before + len(fmts)
    for i, fmt in enumerate(fmts):
        path = folder.path(_FILENAMES[fmt])
        if fmt == "parquet":
            from auditor.report.table import write_parquet

            write_parquet(result, path)
            written.append(path)
            if progress:
                progress("write reports", before + i + 1, total)
            continue
        if fmt in BINARY_FORMATS:
            data = render(result, fmt, generated_at=stamp, lang=lang)
            assert isinstance(data, bytes)
            path.write_bytes(data)
            written.append(path)
            if progress:
                progress("write reports", before + i + 1, total)
            continue
        text = render(result, fmt, generated_at=stamp, sarif_root=sarif_root, lang=lang)
        assert isinstance(text, str)
        if fmt == "md" and figure_names:
            section = _markdown_figures(figure_names, lang)
            at = text.find("\n## " + translator(lang)._("Provenance") + "\n")
            text = text + "\n" + section + "\n" if at < 0 else text[: at + 1] + section + "\n" + text[at:]
        path.write_text(text, encoding="utf-8", newline="")
        written.append(path)
        if progress:
            progress("write reports", before + i + 1, total)
    return written


def input_paths(result: AuditResult) -> list[str]:
    """The files an audit read (its inputs and data files), which no report may overwrite."""
    return [str(i["path"]) for i in result.inputs if i.get("path")] + [s.path for s in result.data_sources if s.path]
