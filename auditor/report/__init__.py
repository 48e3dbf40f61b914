"""Renderers (pure: result → text, one module per format) and the writer (the only I/O here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

from auditor.errors import UsageError
from auditor.report.folder import ReportFolder
from auditor.result import AuditResult

__all__ = ["FORMATS", "TEXT_FORMATS", "ReportFolder", "input_paths", "render", "write_reports", "write_figures", "parse_formats"]

#: the formats written by default: text, rendered by :func:`render`
TEXT_FORMATS = ("json", "md", "csv", "geojson", "html", "sarif")
#: every format: the text ones and facilities.parquet (GeoParquet, binary; on request)
FORMATS = TEXT_FORMATS + ("parquet",)
_FILENAMES = {
    "json": "report.json",
    "md": "report.md",
    "csv": "facilities.csv",
    "geojson": "facilities.geojson",
    "html": "report.html",
    "sarif": "report.sarif",
    "parquet": "facilities.parquet",
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


def render(result: AuditResult, fmt: str, *, generated_at: str | None = None, sarif_root: str | Path | None = None) -> str:
    """Render ``result`` as ``fmt`` (json, md, csv, geojson, html, sarif). Same result → same text, but for ``generated_at``.

    ``sarif_root``: the repository root report.sarif's paths are relative to (default: the folder of
    the operator profile; see :func:`auditor.report.sarif_report.build_sarif`).
    """
    stamp = generated_at or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    if fmt == "json":
        from auditor.report.json_report import render_json

        return render_json(result, generated_at=stamp)
    if fmt == "md":
        from auditor.report.markdown import render_markdown

        return render_markdown(result, generated_at=stamp)
    if fmt == "csv":
        from auditor.report.csv_report import render_csv

        return render_csv(result)
    if fmt == "geojson":
        from auditor.report.geojson_report import render_geojson

        return render_geojson(result)
    if fmt == "html":
        from auditor.report.html_report import render_html

        return render_html(result, generated_at=stamp)
    if fmt == "sarif":
        from auditor.report.sarif_report import render_sarif

        return render_sarif(result, root=sarif_root)
    raise UsageError("--format", fmt, FORMATS)


def _markdown_figures(names: Iterable[str]) -> str:
    """A Markdown section linking the written figures (SVG, with the PNG beside it)."""
    from auditor.report.plots import FIGURES

    lines = ["## Figures", ""]
    for name in names:
        caption = FIGURES[name][1]
        lines += [f"![{caption}]({FIGURES_DIR}/{name}.svg)", "", f"([PNG]({FIGURES_DIR}/{name}.png))", ""]
    return "\n".join(lines)


def write_figures(result: AuditResult, out_dir: str | Path) -> list[Path]:
    """Write every figure the audit has data for as ``figures/NAME.svg`` and ``figures/NAME.png``."""
    from auditor.report.plots import figure_png, figure_svg, figures

    folder = Path(out_dir) / FIGURES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in figures(result).items():
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
    """
    if not isinstance(out_dir, ReportFolder):
        with ReportFolder(out_dir) as folder:
            staged = write_reports(result, folder, formats, generated_at=generated_at, figures=figures, progress=progress,
                                   sarif_root=sarif_root)
            folder.commit()
            return [folder.final(p) for p in staged]
    folder = out_dir
    folder.protect(input_paths(result))
    folder.keep((getattr(result, "tables", None) or {}).values())  # a streamed audit's tables, already in place
    stamp = generated_at or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    fmts = list(formats)
    total = len(fmts) + (1 if figures else 0)
    written: list[Path] = []
    figure_names: list[str] = []
    if figures:
        paths = write_figures(result, folder.staging)
        written += paths
        figure_names = [p.stem for p in paths if p.suffix == ".svg"]
        if progress:
            progress("write reports", 1, total)
    for i, fmt in enumerate(fmts):
        path = folder.path(_FILENAMES[fmt])
        if fmt == "parquet":
            from auditor.report.table import write_parquet

            write_parquet(result, path)
            written.append(path)
            if progress:
                progress("write reports", i + 1 + (1 if figures else 0), total)
            continue
        text = render(result, fmt, generated_at=stamp, sarif_root=sarif_root)
        if fmt == "md" and figure_names:
            section = _markdown_figures(figure_names)
            at = text.find("\n## Provenance\n")
            text = text + "\n" + section + "\n" if at < 0 else text[: at + 1] + section + "\n" + text[at:]
        path.write_text(text, encoding="utf-8", newline="")
        written.append(path)
        if progress:
            progress("write reports", i + 1 + (1 if figures else 0), total)
    return written


def input_paths(result: AuditResult) -> list[str]:
    """The files an audit read (its inputs and data files), which no report may overwrite."""
    return [str(i["path"]) for i in result.inputs if i.get("path")] + [s.path for s in result.data_sources if s.path]
