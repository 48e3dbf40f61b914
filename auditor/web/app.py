"""The workbench as a Starlette application: upload → review the reading → audit → results, and the
history database's runs and portfolio.

:func:`create_app` builds it without starting a server (``auditor serve`` runs it on uvicorn;
tests drive it with Starlette's ``TestClient``). Safe by default:

- every page is rendered by Jinja2 with autoescape on, and scripts fill the page with
  ``textContent`` only: a string from an upload is shown as text, never as markup;
- a strict Content-Security-Policy (``default-src 'self'``, no inline script or style attribute
  needed), ``X-Frame-Options: DENY``, ``nosniff``, ``no-referrer``; every asset (Leaflet, styles)
  ships in the package, and the map draws no tiles;
- the ``Host`` header must name the server (loopback names unless told otherwise), which keeps a
  web page elsewhere from reaching it through DNS rebinding;
- a session cookie (``HttpOnly``, ``SameSite=Strict``) and a CSRF token on every form and POST;
- uploads are capped in size (the request, counted as it arrives) and type (by suffix), stored
  under names the server chooses in the session's own folder, and removed when the app stops.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, MutableMapping
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from auditor.errors import AuditorError, InputError
from auditor.web.i18n import LANGS, pick_lang, words
from auditor.web.intake import MAX_LIST_ROWS
from auditor.web.jobs import BUNDLE, JobRunner, download_formats, make_download
from auditor.web.workspace import DEFAULT_MAX_UPLOAD_BYTES, LIST_SUFFIXES, PROFILE_TYPES, Job, Session, Store, check_options, stored_suffix

__all__ = ["CSP", "LOOPBACK_HOSTS", "create_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Names a browser uses for a server on this machine.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
#: Every page's Content-Security-Policy: nothing from elsewhere, no inline script, no plugins, no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"), (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin")]
SESSION_COOKIE = "auditor_session"
LANG_COOKIE = "auditor_lang"
#: Requests other than uploads are small forms.
FORM_LIMIT = 256 * 1024
_DOWNLOAD_TYPES = {"json": "application/json", "sarif": "application/sarif+json", "md": "text/markdown; charset=utf-8",
                   "csv": "text/csv; charset=utf-8", "geojson": "application/geo+json", "html": "text/html; charset=utf-8",
                   "parquet": "application/vnd.apache.parquet", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   "pdf": "application/pdf", BUNDLE: "application/zip"}


class _TooLarge(Exception):
    pass


class Guard:
    """ASGI middleware: the Host check, the request-size cap (counted as the body arrives, whatever
    Content-Length claims) and the security headers on every response."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: Iterable[str] | None, max_upload_bytes: int) -> None:
        self.app = app
        self.allowed = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}
        self.max_upload_bytes = max_upload_bytes

    def _host_ok(self, scope: Scope) -> bool:
        if self.allowed is None:
            return True
        host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "").lower()
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") and "]:" in host else host
        return name in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        if not self._host_ok(scope):
            await PlainError(400, "the Host header does not name this server")(scope, receive, send_with_headers)
            return
        limit = self.max_upload_bytes + FORM_LIMIT if scope.get("path") == "/upload" else FORM_LIMIT
        length = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        if length is not None and length.isdigit() and int(length) > limit:
            await PlainError(413, "the upload is larger than the limit")(scope, receive, send_with_headers)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, counted, send_with_headers)
        except _TooLarge:
            if not started:
                await PlainError(413, "the upload is larger than the limit")(scope, receive, send_with_headers)


class PlainError(Response):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text + "\n", status_code=status, media_type="text/plain; charset=utf-8")


def _templates() -> Any:
    import jinja2

    folder = resources.files("auditor.web").joinpath("templates")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["number"] = lambda v, digits=0: "" if v is None else f"{v:,.{digits}f}"
    return env


def create_app(db_url: str | None = None, workdir: str | Path | None = None, *, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
               allowed_hosts: Iterable[str] | None = LOOPBACK_HOSTS, secure_cookies: bool = False, max_list_rows: int = MAX_LIST_ROWS) -> Starlette:
    """The workbench application (nothing is served until an ASGI server runs it).

    Parameters
    ----------
    db_url : str, optional
        The history database (``sqlite:///FILE`` or ``postgresql://...``): the history and portfolio
        pages, and "record in the history database" on the results page.
    workdir : str or Path, optional
        The folder the sessions' folders go in (default: a new temporary folder). The sessions'
        folders are removed when the application stops; a temporary ``workdir`` with them.
    max_upload_bytes : int
        The largest upload request (all its files together), 50 MB by default.
    allowed_hosts : iterable of str or None
        Host names the ``Host`` header may give (default: loopback names); None accepts any (behind
        a reverse proxy that checks it).
    secure_cookies : bool
        Mark the cookies ``Secure`` (when served over HTTPS).
    max_list_rows : int
        The longest facility list audited (50,000 rows by default: an audit is held in memory, about
        20 KB a row); a longer one is refused at upload with a pointer to ``auditor audit --stream``.

    Examples
    --------
    >>> from starlette.testclient import TestClient
    >>> with TestClient(create_app(), base_url="http://127.0.0.1") as client:
    ...     client.get("/").status_code
    200
    """
    owned = workdir is None
    work = Path(tempfile.mkdtemp(prefix="auditor-web-")) if workdir is None else Path(workdir)
    store = Store(work)
    runner = JobRunner()
    env = _templates()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()
            if owned:
                import shutil

                shutil.rmtree(work, ignore_errors=True)

    def regions() -> list[tuple[str, str, str]]:
        from auditor.regions import load_registry

        reg = load_registry()
        return [(rid, reg.region(rid).name_zh, reg.region(rid).name_en) for rid in reg.region_ids]

    # -- sessions, language, rendering -----------------------------------------------------------

    def session_of(request: Request) -> tuple[Session, bool]:
        found = store.get(request.cookies.get(SESSION_COOKIE))
        return (found, False) if found is not None else (store.create(), True)

    def lang_of(request: Request) -> str:
        return pick_lang(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))

    def finish(response: Response, session: Session, new: bool) -> Response:
        if new:
            response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="strict", secure=secure_cookies, path="/")
        return response

    def page(request: Request, name: str, session: Session, new: bool, status: int = 200, **context: Any) -> Response:
        lang = lang_of(request)
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        html = env.get_template(name).render(t=words(lang), lang=lang, langs=LANGS, csrf=session.csrf, db=db_url is not None,
                                             here=quote(here, safe="/"), **context)
        return finish(HTMLResponse(html, status_code=status), session, new)

    def problem(request: Request, session: Session, new: bool, message: str, status: int = 400, hint: str = "") -> Response:
        return page(request, "error.html", session, new, status=status, message=message, hint=hint)

    def csrf_ok(session: Session, form: Any, request: Request) -> bool:
        given = str(form.get("csrf") or request.headers.get("x-csrf-token") or "")
        return bool(given) and secrets.compare_digest(given, session.csrf)

    def job_of(session: Session, jid: str) -> Job | None:
        return session.jobs.get(jid)

    # -- pages ------------------------------------------------------------------------------------

    async def home(request: Request) -> Response:
        session, new = session_of(request)
        return page(request, "upload.html", session, new, regions=regions(), today=dt.date.today().isoformat(),
                    max_mb=max_upload_bytes / (1024 * 1024), accept=",".join((*LIST_SUFFIXES, *PROFILE_TYPES)))

    async def set_lang(request: Request) -> Response:
        lang = request.path_params["lang"]
        target = request.query_params.get("next") or "/"
        if not target.startswith("/") or target.startswith("//") or "\\" in target:
            target = "/"  # only a page of this server
        response = RedirectResponse(target, status_code=303)
        if lang in LANGS:
            response.set_cookie(LANG_COOKIE, lang, samesite="strict", secure=secure_cookies, path="/", max_age=365 * 86400)
        return response

    async def upload(request: Request) -> Response:
        session, new = session_of(request)
        if new:
            return problem(request, session, new, "the session has expired: open the upload page again", 403)
        async with request.form(max_files=3, max_fields=10) as form:
            if not csrf_ok(session, form, request):
                return problem(request, session, new, "the form is stale (CSRF token): open the upload page again", 403)
            ident, folder = session.new_folder("upload")
            try:
                files = await _store_files(form, folder, max_upload_bytes)
                from auditor.regions import load_registry
                from auditor.web.intake import prepare_upload

                options = check_options(form, tuple(load_registry().region_ids))
                main_name, main_path = files["file"]
                list_name, list_path = files.get("list_file", ("", None))
                waivers_name, waivers_path = files.get("waivers", ("", None))
                item = prepare_upload(ident, folder, main_name=main_name, main_path=main_path, list_name=list_name, list_path=list_path,
                                      waivers_name=waivers_name, waivers_path=waivers_path, options=options, max_rows=max_list_rows)
            except _UploadTooLarge:
                import shutil

                shutil.rmtree(folder, ignore_errors=True)
                return problem(request, session, new, words(lang_of(request))("The upload is larger than the limit."), 413)
            except AuditorError as exc:
                import shutil

                text = str(exc).replace(str(folder) + "/", "")
                shutil.rmtree(folder, ignore_errors=True)
                return problem(request, session, new, text, 400)
        session.uploads[ident] = item
        return finish(RedirectResponse(f"/review/{ident}", status_code=303), session, new)

    def review(request: Request) -> Response:
        from auditor.web.review import CANONICAL, review_upload

        session, new = session_of(request)
        item = session.uploads.get(request.path_params["uid"])
        if item is None:
            return problem(request, session, new, words(lang_of(request))("Page not found."), 404)
        seen = review_upload(item)
        return page(request, "review.html", session, new, upload=item, review=seen, canonical=CANONICAL,
                    correction_error=request.query_params.get("error", ""))

    async def correct(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        from auditor.web.review import corrected_columns, review_upload

        session, new = session_of(request)
        item = session.uploads.get(request.path_params["uid"])
        if item is None:
            return problem(request, session, new, words(lang_of(request))("Page not found."), 404)
        async with request.form(max_files=0, max_fields=200) as form:
            if not csrf_ok(session, form, request):
                return problem(request, session, new, "the form is stale (CSRF token): reload the page", 403)
            fields = {k: form.get(k) for k in form.keys()}
        before = (dict(item.columns), item.sheet, item.header_row)
        try:
            sheet = str(fields.get("sheet") or "").strip() or None
            header = str(fields.get("header_row") or "").strip()
            if header and not (header.isdigit() and int(header) >= 1):
                raise InputError(f"header row {header!r} is not a row number (1, 2, ...)")
            if (sheet, int(header) if header else None) != (item.sheet, item.header_row):
                item.sheet, item.header_row = sheet, int(header) if header else None
            else:
                seen = await run_in_threadpool(review_upload, item)
                item.columns = corrected_columns(item, seen, fields)
            item.write_profile()
        except AuditorError as exc:
            item.columns, item.sheet, item.header_row = before
            item.write_profile()
            return finish(RedirectResponse(f"/review/{item.id}?error={quote(str(exc))}", status_code=303), session, new)
        return finish(RedirectResponse(f"/review/{item.id}", status_code=303), session, new)

    async def start_audit(request: Request) -> Response:
        session, new = session_of(request)
        item = session.uploads.get(request.path_params["uid"])
        if item is None:
            return problem(request, session, new, words(lang_of(request))("Page not found."), 404)
        async with request.form(max_files=0, max_fields=10) as form:
            if not csrf_ok(session, form, request):
                return problem(request, session, new, "the form is stale (CSRF token): reload the page", 403)
        jid, folder = session.new_folder("audit")
        job = Job(jid, item, folder, lang_of(request))
        session.jobs[jid] = job
        runner.start(job)
        return finish(RedirectResponse(f"/jobs/{jid}", status_code=303), session, new)

    async def job_page(request: Request) -> Response:
        session, new = session_of(request)
        job = job_of(session, request.path_params["jid"])
        if job is None:
            return problem(request, session, new, words(lang_of(request))("Page not found."), 404)
        if job.state == "done":
            return finish(RedirectResponse(f"/results/{job.id}", status_code=303), session, new)
        return page(request, "job.html", session, new, job=job)

    async def job_status(request: Request) -> Response:
        session, new = session_of(request)
        job = job_of(session, request.path_params["jid"])
        if job is None:
            return finish(JSONResponse({"error": "no such audit"}, status_code=404), session, new)
        return finish(JSONResponse(job.status()), session, new)

    async def job_cancel(request: Request) -> Response:
        session, new = session_of(request)
        job = job_of(session, request.path_params["jid"])
        if job is None:
            return finish(JSONResponse({"error": "no such audit"}, status_code=404), session, new)
        async with request.form(max_files=0, max_fields=10) as form:
            if not csrf_ok(session, form, request):
                return finish(JSONResponse({"error": "CSRF token"}, status_code=403), session, new)
        if job.state in ("queued", "running"):
            job.cancel.set()
        if "application/json" in request.headers.get("accept", ""):
            return finish(JSONResponse(job.status()), session, new)
        return finish(RedirectResponse(f"/jobs/{job.id}", status_code=303), session, new)

    def _finished(request: Request) -> tuple[Session, bool, Job | None, Response | None]:
        session, new = session_of(request)
        job = job_of(session, request.path_params["jid"])
        if job is None:
            return session, new, None, problem(request, session, new, words(lang_of(request))("Page not found."), 404)
        if job.state != "done" or job.report is None:
            return session, new, None, finish(RedirectResponse(f"/jobs/{job.id}", status_code=303), session, new)
        return session, new, job, None

    def results(request: Request) -> Response:
        from auditor.web.results import VERDICT_COLOURS, facility_rows, filter_rows, waived_findings

        session, new, job, early = _finished(request)
        if early is not None or job is None:
            return early  # type: ignore[return-value]
        w = words(lang_of(request))
        assert job.report is not None
        rows = facility_rows(job.report, w.rule)
        q = request.query_params
        chosen = {"verdict": q.get("verdict", ""), "rule": q.get("rule", ""), "kind": q.get("kind", "")}
        shown = filter_rows(rows, **chosen)
        return page(request, "results.html", session, new, job=job, report=job.report, rows=shown, all_rows=len(rows),
                    verdicts=[v for v in VERDICT_COLOURS if any(r["verdict"] == v for r in rows)], colours=VERDICT_COLOURS,
                    rules=sorted({x for r in rows for x in r["rules"]}), kinds=sorted({r["kind"] for r in rows if r["kind"]}),
                    chosen=chosen, waived=waived_findings(job.report), formats=download_formats(), bundle=BUNDLE)

    def facility(request: Request) -> Response:
        from auditor.web.results import facility_rows

        session, new, job, early = _finished(request)
        if early is not None or job is None:
            return early  # type: ignore[return-value]
        assert job.report is not None
        rows = facility_rows(job.report, words(lang_of(request)).rule)
        index = request.path_params["index"]
        if not 0 <= index < len(rows):
            return problem(request, session, new, words(lang_of(request))("Page not found."), 404)
        return page(request, "facility.html", session, new, job=job, row=rows[index])

    def map_json(request: Request) -> Response:
        from auditor.web.results import facility_rows, map_geojson

        session, new, job, early = _finished(request)
        if early is not None or job is None:
            return early  # type: ignore[return-value]
        assert job.report is not None
        w = words(lang_of(request))
        rows = facility_rows(job.report, w.rule)
        doc = map_geojson(job.report, job.result.region, rows)
        doc["facilities"] = [{k: v for k, v in r.items()} | {"verdict_word": w.status(r["verdict"]), "basis_word": w.basis(r["basis"])}
                             for r in rows]
        doc["verdict_words"] = {v: w.status(v) for v in ("pass", "fail", "indeterminate", "waived", "error", "not_applicable")}
        body = json.dumps(doc, ensure_ascii=False, allow_nan=False, default=str)
        return finish(Response(body, media_type="application/json"), session, new)

    def download(request: Request) -> Response:
        session, new, job, early = _finished(request)
        if early is not None or job is None:
            return early  # type: ignore[return-value]
        fmt = request.path_params["fmt"]
        try:
            path = make_download(job, fmt)
        except AuditorError as exc:
            return problem(request, session, new, str(exc).replace(str(job.upload.folder) + "/", ""), 409 if fmt == BUNDLE else 400)
        return finish(FileResponse(path, media_type=_DOWNLOAD_TYPES.get(fmt, "application/octet-stream"), filename=path.name),
                      session, new)

    async def record(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        session, new = session_of(request)
        job = job_of(session, request.path_params["jid"])
        if job is None or job.report is None:
            return problem(request, session, new, words(lang_of(request))("Page not found."), 404)
        async with request.form(max_files=0, max_fields=10) as form:
            if not csrf_ok(session, form, request):
                return problem(request, session, new, "the form is stale (CSRF token): reload the page", 403)
            name = str(form.get("operator") or "").strip()[:200]
        if db_url is None:
            return problem(request, session, new, words(lang_of(request))("No history database: start the workbench with --db URL."), 409)
        if job.recorded_run is None:
            from auditor.supervision import record_result
            from auditor.web.jobs import history_mapping

            mapping = history_mapping(job, name)
            run = await run_in_threadpool(record_result, db_url, job.result, mapping, source="workbench")
            job.recorded_run = run.id
        return finish(RedirectResponse(f"/results/{job.id}#downloads", status_code=303), session, new)

    def history(request: Request) -> Response:
        session, new = session_of(request)
        if db_url is None:
            return page(request, "history.html", session, new, trends={}, portfolio=[])
        from auditor.supervision import History

        with History(db_url) as db:
            trends = db.trends()
        portfolio = [points[-1] for points in trends.values() if points]
        return page(request, "history.html", session, new, trends={op: list(reversed(p)) for op, p in trends.items()}, portfolio=portfolio)

    async def not_found(request: Request, exc: Exception) -> Response:
        session, new = session_of(request)
        return problem(request, session, new, words(lang_of(request))("Page not found."), 404)

    static = StaticFiles(directory=str(resources.files("auditor.web").joinpath("static")))
    routes = [
        Route("/", home),
        Route("/lang/{lang}", set_lang),
        Route("/upload", upload, methods=["POST"]),
        Route("/review/{uid}", review),
        Route("/review/{uid}", correct, methods=["POST"]),
        Route("/audit/{uid}", start_audit, methods=["POST"]),
        Route("/jobs/{jid}", job_page),
        Route("/jobs/{jid}/status", job_status),
        Route("/jobs/{jid}/cancel", job_cancel, methods=["POST"]),
        Route("/results/{jid}", results),
        Route("/results/{jid}/map.json", map_json),
        Route("/results/{jid}/facility/{index:int}", facility),
        Route("/results/{jid}/download/{fmt}", download),
        Route("/results/{jid}/record", record, methods=["POST"]),
        Route("/history", history),
        Mount("/static", app=static, name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: not_found})
    app.state.store = store
    app.state.runner = runner
    app.state.workdir = work
    app.add_middleware(Guard, allowed_hosts=allowed_hosts, max_upload_bytes=max_upload_bytes)
    return app


class _UploadTooLarge(Exception):
    pass


async def _store_files(form: Any, folder: Path, max_bytes: int) -> dict[str, tuple[str, Path]]:
    """Copy the form's files into ``folder`` under names the server chooses; returns {field: (shown name, path)}.

    ``file`` is a facility list or a profile; ``list_file`` the profile's list; ``waivers`` a YAML file.
    A type not in the lists is refused, and so are files larger than ``max_bytes`` together.
    """
    from auditor.inventory.profile import PROFILE_SUFFIXES

    kinds = {"file": (*LIST_SUFFIXES, *PROFILE_SUFFIXES), "list_file": LIST_SUFFIXES, "waivers": (".yaml", ".yml")}
    out: dict[str, tuple[str, Path]] = {}
    total = 0
    for name, allowed in kinds.items():
        part = form.get(name)
        if not isinstance(part, UploadFile) or not part.filename:
            if name == "file":
                raise InputError("choose a facility list or an operator profile to upload")
            continue
        shown = part.filename.replace("\\", "/").rsplit("/", 1)[-1][:200]
        suffix = stored_suffix(part.filename, allowed)
        if suffix is None:
            raise InputError(f"{shown!r} is not a type the workbench reads", hint="one of: " + ", ".join(allowed))
        stem = {"file": "profile-upload" if suffix in PROFILE_SUFFIXES else "list", "list_file": "profile-list", "waivers": "waivers"}[name]
        path = folder / f"{stem}{suffix}"
        with path.open("wb") as out_file:
            while chunk := await part.read(1 << 20):
                total += len(chunk)
                if total > max_bytes:
                    raise _UploadTooLarge()
                out_file.write(chunk)
        out[name] = (shown, path)
    return out
