"""The bundled reports against the same reports re-rendered from the recomputed audit, byte for byte.

:func:`report_differences` writes the bundle's report set again with
:func:`auditor.report.write_reports` — the formats the bundle holds (report.json always), with
``generated_at`` taken from the bundled report.json, and ``figures=True`` when the bundle holds
``reports/figures/`` (so report.md gets the same "Figures" section) — into a scratch folder and
compares every file with its member, byte for byte: report.json, report.md, report.html,
report.sarif, facilities.csv, facilities.geojson, facilities.parquet (written again with the
installed pyarrow), report.xlsx and report.pdf (in the language the bundled reports were written
in, :func:`bundled_lang`) and every figure (SVG and PNG). A member no re-render gives, or a figure the
recomputed audit draws that the bundle lacks, is a difference too.

The recomputed audit read its files from the scratch folder the bundle was unpacked into; the
reports name them where the original audit found them. :func:`relabel` puts those names back
(the paths bundle.json records for every input, evidence file and the waivers file), so that a
path is the only thing told apart from the original, and it is told from bundle.json, which the
manifest covers. Nothing else of the recomputed result is changed.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["REPORT_FILES", "first_difference", "is_report_member", "recorded_paths", "relabel", "report_differences"]

#: The file each report format is written to (as :func:`auditor.report.write_reports` names it).
REPORT_FILES = {
    "report.json": "json", "report.md": "md", "report.html": "html", "report.sarif": "sarif",
    "facilities.csv": "csv", "facilities.geojson": "geojson", "facilities.parquet": "parquet",
    "report.xlsx": "xlsx", "report.pdf": "pdf",
}
FIGURES_PREFIX = "reports/figures/"
_FIGURE = re.compile(r"reports/figures/[A-Za-z0-9_-]+\.(svg|png)")
_BINARY = (".parquet", ".png", ".xlsx", ".pdf")
_SHOWN = 80  # bytes of a differing line shown, around the first difference
_ATOMS = frozenset({int, float, bool, complex, bytes, type(None)})


def is_report_member(name: str) -> bool:
    """Whether ``name`` is a report member :func:`report_differences` can re-render.

    >>> [is_report_member(n) for n in ("reports/report.md", "reports/figures/distance.png", "reports/notes.txt")]
    [True, True, False]
    """
    return name.removeprefix("reports/") in REPORT_FILES or _FIGURE.fullmatch(name) is not None


def relabel(result: Any, paths: Mapping[str, str]) -> Any:
    """``result`` with every occurrence of a key of ``paths`` (a file's path in the scratch folder)
    replaced by its value (the path the audit recorded), wherever a text in it holds one.

    Walks dataclasses, dicts, lists and tuples; other objects (geometries, enums) are kept as
    they are. What changes is copied; ``result`` itself is not modified.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Rec:
    ...     path: str
    ...     notes: tuple[str, ...]
    >>> relabel(Rec("/tmp/x/in.csv", ("read /tmp/x/in.csv", "ok")), {"/tmp/x/in.csv": "data/in.csv"})
    Rec(path='data/in.csv', notes=('read data/in.csv', 'ok'))
    """
    if not paths:
        return result
    pattern = re.compile("|".join(re.escape(k) for k in sorted(paths, key=len, reverse=True)))
    hint = os.path.commonprefix(list(paths))  # the scratch folder: a text without it holds no key
    seen: dict[int, Any] = {}
    fields: dict[type, tuple[str, ...]] = {}

    def walk(obj: Any) -> Any:
        kind = type(obj)
        if kind is str:
            return pattern.sub(lambda m: paths[m.group(0)], obj) if hint in obj and pattern.search(obj) else obj
        if kind in _ATOMS:
            return obj
        key = id(obj)
        if key in seen:
            return seen[key]
        seen[key] = obj  # a cycle comes back to the object as it is
        out = obj
        if kind in fields or (dataclasses.is_dataclass(obj) and not isinstance(obj, type)):
            names = fields.get(kind)
            if names is None:
                names = fields[kind] = tuple(f.name for f in dataclasses.fields(obj))
            changed = {}
            for name in names:
                value = getattr(obj, name)
                new = walk(value)
                if new is not value:
                    changed[name] = new
            if changed:
                out = copy.copy(obj)
                for name, value in changed.items():
                    object.__setattr__(out, name, value)  # frozen dataclasses too; __post_init__ not run again
        elif isinstance(obj, dict):
            items = [(walk(k), walk(v)) for k, v in obj.items()]
            if any(k is not k0 or v is not v0 for (k, v), (k0, v0) in zip(items, obj.items())):
                out = copy.copy(obj)  # a dict subclass (defaultdict, Counter) stays one
                out.clear()
                out.update(items)
        elif kind is list or kind is tuple:
            items = [walk(v) for v in obj]
            if any(v is not v0 for v, v0 in zip(items, obj)):
                out = kind(items)
        elif isinstance(obj, tuple) and hasattr(obj, "_make"):  # a named tuple
            items = [walk(v) for v in obj]
            if any(v is not v0 for v, v0 in zip(items, obj)):
                out = obj._make(items)
        seen[key] = out
        return out

    return walk(result)


def report_differences(result: Any, members: Mapping[str, Path], *, generated_at: str, scratch: Path,
                       sarif_paths: Mapping[str, str] | None = None) -> tuple[list[str], int]:
    """Every bundled report (``members``: member name → its unpacked file) against the same report
    re-rendered from ``result`` (already :func:`relabel`-ed); the differences and how many matched.

    ``scratch``: an empty folder for the re-rendered set. ``sarif_paths``: bundle.json's
    ``audit.sarif_paths`` (each input path → the path relative to the SARIF root that report.sarif
    names), when the audit was given a SARIF root; report.sarif is then rendered against a root
    standing for it (:func:`sarif_against`).
    """
    from auditor.report import ReportFolder, write_reports

    names = sorted(n for n in members if n.startswith("reports/"))
    formats = ["json"] + [REPORT_FILES[n.removeprefix("reports/")] for n in names if n.removeprefix("reports/") in REPORT_FILES and n != "reports/report.json"]
    figures = any(n.startswith(FIGURES_PREFIX) for n in names)
    problems: list[str] = []
    matched = 0
    with ReportFolder(scratch) as folder:
        staged = write_reports(result, folder, formats, generated_at=generated_at, figures=figures, lang=bundled_lang(members))
        if sarif_paths and "sarif" in formats:
            folder.path(SARIF_FILE).write_text(sarif_against(result, sarif_paths), encoding="utf-8", newline="")
        rendered = {"reports/" + p.relative_to(folder.staging).as_posix(): p for p in staged}
        for name in names:
            mine = rendered.get(name)
            if mine is None:
                why = "the recomputed audit draws no such figure" if name.startswith(FIGURES_PREFIX) else "not a report the auditor writes"
                problems.append(f"{name}: {why}; it cannot be re-rendered from the recomputed audit")
                continue
            where = first_difference(members[name], mine, binary=name.endswith(_BINARY))
            if where is None:
                matched += 1
            else:
                problems.append(f"{name}: differs from the report re-rendered from the recomputed audit, {where}{_writers(members[name], mine)}")
        for name in sorted(set(rendered) - set(names)):  # a figure (the formats are the bundle's), or report.json
            what = "draws this figure" if name.startswith(FIGURES_PREFIX) else "gives this report"
            problems.append(f"{name}: the recomputed audit {what}, but the bundle does not hold it")
    return problems, matched


SARIF_FILE = "report.sarif"
#: A root standing for the audit's SARIF root: absolute and deep, so that a recorded relative path that
#: climbs out of the root ("../../x") climbs the same way under it (only text is computed; nothing is created).
_STAND_IN_ROOT = "/" + "/".join(["sarif-root"] * 64)


def sarif_against(result: Any, sarif_paths: Mapping[str, str]) -> str:
    """report.sarif of ``result`` as the audit rendered it against its SARIF root: every input path it
    names is put under a stand-in root at the relative path bundle.json records (``sarif_paths``), so
    that neither this machine's directories nor the working directory change a byte."""
    import posixpath

    from auditor.report.json_report import build_report
    from auditor.report.sarif_report import render_sarif

    report = build_report(result, generated_at="")

    def moved(path: Any) -> Any:
        return posixpath.join(_STAND_IN_ROOT, sarif_paths[path]) if isinstance(path, str) and path in sarif_paths else path

    report["operator"]["profile"] = moved(report["operator"].get("profile"))
    for rec in report.get("inputs") or []:
        rec["path"] = moved(rec.get("path"))
    for f in report.get("facilities") or []:
        f["source"] = moved(f.get("source"))
    return render_sarif(report, root=_STAND_IN_ROOT)


_HTML_LANG = re.compile(rb'<html lang="([A-Za-z-]+)"')
_PDF_LANG = re.compile(rb"/Lang \(([A-Za-z-]+)\)")
_XLSX_LANG = re.compile(rb"<dc:language>([A-Za-z-]+)</dc:language>")


def bundled_lang(members: Mapping[str, Path]) -> str:
    """The language the bundled human reports were written in (``zh-CN`` or ``en``), read from the
    reports themselves: report.html's ``lang``, report.pdf's ``/Lang``, report.xlsx's ``dc:language``,
    or report.md's title; ``en`` when none says (a bundle from before the reports had languages).

    Reading it from the files is safe: a report re-rendered in the language it claims must still
    match it byte for byte.
    """
    import zipfile

    from auditor.report.i18n import LANGS, translator

    def known(tag: bytes) -> str | None:
        text = tag.decode("ascii", "replace")
        return text if text in LANGS else None

    for name, pattern in (("reports/report.html", _HTML_LANG), ("reports/report.pdf", _PDF_LANG)):
        path = members.get(name)
        if path is not None:
            with open(path, "rb") as f:
                m = pattern.search(f.read(1 << 20))
            if m and known(m.group(1)):
                return str(known(m.group(1)))
    path = members.get("reports/report.xlsx")
    if path is not None:
        try:
            with zipfile.ZipFile(path) as z:
                m = _XLSX_LANG.search(z.read("docProps/core.xml"))
        except (OSError, KeyError, zipfile.BadZipFile):
            m = None
        if m and known(m.group(1)):
            return str(known(m.group(1)))
    path = members.get("reports/report.md")
    if path is not None:
        with open(path, encoding="utf-8", errors="replace") as text:
            first = text.readline()
        for lang in LANGS:
            title = "# " + translator(lang)._("Pilot-region audit: {operator}").split("{")[0]
            if first.startswith(title) and lang != "en":
                return lang
    return "en"


def _writers(bundled: Path, mine: Path) -> str:
    """For a Parquet file, the writers of both when they differ (another pyarrow writes other bytes)."""
    if bundled.suffix != ".parquet":
        return ""
    try:
        import pyarrow.parquet as pq

        theirs, ours = pq.read_metadata(bundled).created_by, pq.read_metadata(mine).created_by
    except Exception:  # noqa: BLE001 — a forged file need not be Parquet at all; the difference is reported anyway
        return ""
    return "" if theirs == ours else f"; written by {theirs}, re-written here by {ours}: verify with the pyarrow that wrote it"


def first_difference(a: Path, b: Path, *, binary: bool = False) -> str | None:
    """Where file ``a`` (bundled) first differs from ``b`` (re-rendered); None if they are equal.

    Text: the line, with both versions of it; binary: the byte offset.
    """
    chunk = 1 << 20
    offset = 0
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(chunk), fb.read(chunk)
            if x == y:
                if not x:
                    return None
                offset += len(x)
                continue
            n = min(len(x), len(y))
            i = next((k for k in range(n) if x[k] != y[k]), n)
            at = offset + i
            break
    if binary:
        return f"first at byte {at:,} (bundled {a.stat().st_size:,} bytes, re-rendered {b.stat().st_size:,})"
    line, start = _line_at(a, at)
    return f"first at line {line}: bundled {_excerpt(a, start, at)}, re-rendered {_excerpt(b, start, at)}"


def _line_at(path: Path, offset: int) -> tuple[int, int]:
    """The 1-based number of the line holding byte ``offset``, and where that line starts."""
    line, start, pos = 1, 0, 0
    with open(path, "rb") as f:
        while pos < offset:
            data = f.read(min(1 << 20, offset - pos))
            if not data:
                break
            line += data.count(b"\n")
            last = data.rfind(b"\n")
            if last >= 0:
                start = pos + last + 1
            pos += len(data)
    return line, start


def _excerpt(path: Path, start: int, at: int) -> str:
    """The line starting at byte ``start``, around byte ``at`` where it differs (its end of line shown)."""
    limit = at - start + _SHOWN
    with open(path, "rb") as f:
        f.seek(start)
        raw = f.readline(limit)
    if not raw:
        return "(the file ends before it)"
    lo = max(0, at - start - _SHOWN // 2)
    while 0 < lo < len(raw) and 0x80 <= raw[lo] < 0xC0:  # not in the middle of a UTF-8 character
        lo -= 1
    hi = min(len(raw), lo + _SHOWN)
    more = hi < len(raw) or (len(raw) == limit and not raw.endswith(b"\n"))
    return ("…" if lo else "") + repr(raw[lo:hi].decode("utf-8", errors="replace")) + ("…" if more else "")


def recorded_paths(root: Path, files: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Scratch-folder path → recorded path, for ``files``: (member, the path the audit recorded it at).

    A member may be given as a path relative to the scratch folder that is not normalised (a
    restated profile's ``verification/../inputs/x.csv``): it is joined as the profile loader joins it.

    >>> recorded_paths(Path("/s"), [("inputs/a.csv", "data/a.csv")])
    {'/s/inputs/a.csv': 'data/a.csv'}
    """
    return {str(root.joinpath(*member.split("/"))): path for member, path in files}
