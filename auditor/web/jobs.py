"""Audits in worker threads, one at a time, with progress and cancellation; and the files made from a
finished audit (every report format ``write_reports`` writes, and the evidence bundle)."""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import threading
from pathlib import Path
from typing import Any

from auditor.errors import AuditorError, InputError
from auditor.web.workspace import Cancelled, Job, Upload

__all__ = ["BUNDLE", "JobRunner", "download_formats", "history_mapping", "make_download"]

log = logging.getLogger("auditor.web")

#: The download name of the evidence bundle (beside the report formats).
BUNDLE = "bundle"


def download_formats() -> tuple[str, ...]:
    """Every report format :func:`auditor.report.write_reports` can write here, then the bundle."""
    from auditor.report import FORMATS

    return (*FORMATS, BUNDLE)


def _lang_kwargs(writer: Any, lang: str) -> dict[str, Any]:
    """``{"lang": lang}`` when the report writer takes a language, else nothing."""
    try:
        return {"lang": lang} if "lang" in inspect.signature(writer).parameters else {}
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return {}


def _shown(text: str, upload: Upload) -> str:
    """A message with the server's stored paths replaced by the file names the browser sent."""
    for path, name in ((upload.list_path, upload.list_name), (upload.profile_path, upload.profile_name),
                       (upload.waivers_path, upload.waivers_name)):
        if path is not None:
            text = text.replace(str(path), name or path.name)
    return text.replace(str(upload.folder) + "/", "")


class JobRunner:
    """Runs audits in daemon threads, one after another (an audit uses every core it can)."""

    def __init__(self) -> None:
        self.one_at_a_time = threading.Lock()  # held while an audit runs

    def start(self, job: Job) -> threading.Thread:
        thread = threading.Thread(target=self._run, args=(job,), name=f"audit-{job.id}", daemon=True)
        job.thread = thread
        thread.start()
        return thread

    def _run(self, job: Job) -> None:
        with self.one_at_a_time:
            if job.cancel.is_set():
                job.state, job.finished = "cancelled", dt.datetime.now(dt.UTC)
                return
            job.state, job.started = "running", dt.datetime.now(dt.UTC)
            try:
                self._audit(job)
                job.state = "done"
            except Cancelled:
                job.state, job.result, job.report = "cancelled", None, None
            except AuditorError as exc:
                job.state, job.error = "failed", _shown(str(exc), job.upload)
            except Exception as exc:  # the worker must say what went wrong, not die silently
                log.exception("audit %s failed", job.id)
                job.state, job.error = "failed", _shown(f"{type(exc).__name__}: {exc}", job.upload)
            finally:
                job.finished = dt.datetime.now(dt.UTC)

    @staticmethod
    def _audit(job: Job) -> None:
        from auditor.engine import audit
        from auditor.report.json_report import build_report

        u = job.upload

        def progress(step: str, done: int | None = None, total: int | None = None, **kw: Any) -> None:
            job.progress(step, done, total, **kw)
            if step == "gather evidence" and total is not None:
                job.rows = total

        job.progress("read facility list")
        result = audit(u.target, region=u.region, as_of=u.as_of, crs=u.crs, progress=progress, sheet=u.sheet,
                               header_row=u.header_row, columns=None if u.profile_path is not None else (u.columns or None))
        if u.waivers_path is not None:
            from auditor.waivers import apply_waivers_to_result, load_waivers

            result, _ = apply_waivers_to_result(result, load_waivers(u.waivers_path))
        job.progress("write reports")
        job.generated_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        job.report = build_report(result, generated_at=job.generated_at)
        job.rows = len(result.facilities)
        job.result = result
        job.progress("done", job.rows, job.rows)


def make_download(job: Job, fmt: str) -> Path:
    """The file of ``fmt`` for a finished audit, written on first request into the job's folder
    (the same ``generated_at`` in every one); raises InputError for an unknown format or a bundle
    that `auditor verify` could not re-run."""
    if fmt not in download_formats():
        raise InputError(f"unknown format {fmt!r}", hint="one of: " + ", ".join(download_formats()))
    if job.result is None:
        raise InputError("the audit has not finished")
    with job.lock:
        if fmt in job.downloads and job.downloads[fmt].is_file():
            return job.downloads[fmt]
        from auditor.report import ReportFolder, write_reports

        u = job.upload
        if fmt == BUNDLE:
            if u.sheet is not None or u.header_row is not None or (u.columns and u.profile_path is None):
                raise InputError("an evidence bundle cannot record the corrections made on the review page for a bare list, so "
                                 "`auditor verify` could not re-run the audit", hint="upload an operator profile with the list: "
                                 "its columns: block records the corrections")
            from auditor.bundle import BUNDLE_FILENAME, write_bundle
            from auditor.report import TEXT_FORMATS

            with ReportFolder(job.folder / "bundle") as folder:
                staged = write_reports(job.result, folder, TEXT_FORMATS, generated_at=job.generated_at, sarif_root=u.folder)
                write_bundle(job.result, folder.path(BUNDLE_FILENAME), reports=staged, crs=u.crs, waivers=u.waivers_path,
                             generated_at=job.generated_at, sarif_root=u.folder)
                folder.commit()
                path = folder.final(folder.path(BUNDLE_FILENAME))
        else:
            lang = _lang_kwargs(write_reports, job.lang)
            (path,) = write_reports(job.result, job.folder / f"report-{fmt}", [fmt], generated_at=job.generated_at,
                                    sarif_root=u.folder, **lang)
        job.downloads[fmt] = path
        return path


def history_mapping(job: Job, operator: str = "") -> dict[str, Any]:
    """report.json's mapping as the history database records it from the workbench: the inputs named
    by the file names the browser sent (not the session's temporary paths), and a bare list's runs
    under ``operator`` (the name given on the results page, else the list's file name), so that
    audits of the same list in different sessions are one operator's history."""
    import copy

    assert job.report is not None
    mapping = copy.deepcopy(job.report)
    for item in mapping.get("inputs") or ():
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            item["path"] = _shown(item["path"], job.upload)
    who = mapping.get("operator")
    if isinstance(who, dict) and not str(who.get("name") or "").strip():
        who["name"] = operator or job.upload.list_name
    return mapping
