"""Renderers (pure: result → text, one module per format) and the writer (the only I/O here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from auditor.engine import AuditResult
from auditor.errors import UsageError

__all__ = ["FORMATS", "render", "write_reports", "parse_formats"]

FORMATS = ("json", "md", "csv", "geojson")
_FILENAMES = {"json": "report.json", "md": "report.md", "csv": "facilities.csv", "geojson": "facilities.geojson"}


def parse_formats(text: str) -> tuple[str, ...]:
    """'json,md' → ('json', 'md'); an unknown format raises UsageError listing the valid ones."""
    chosen = tuple(dict.fromkeys(t.strip().lower() for t in text.split(",") if t.strip()))
    for f in chosen:
        if f not in FORMATS:
            raise UsageError("--format", f, FORMATS)
    return chosen or ("json",)


def render(result: AuditResult, fmt: str, *, generated_at: str | None = None) -> str:
    """Render ``result`` as ``fmt`` (json, md, csv, geojson). Same result → same text, but for ``generated_at``."""
    stamp = generated_at or dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
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
    raise UsageError("--format", fmt, FORMATS)


def write_reports(
    result: AuditResult, out_dir: str | Path, formats: Iterable[str] = FORMATS, *, generated_at: str | None = None
) -> list[Path]:
    """Write each format into ``out_dir`` (created if needed) under fixed file names; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stamp = generated_at or dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    written = []
    for fmt in formats:
        path = out / _FILENAMES[fmt]
        path.write_text(render(result, fmt, generated_at=stamp), encoding="utf-8", newline="")
        written.append(path)
    return written
