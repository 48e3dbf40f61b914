"""A threaded HTTP server on loopback replaying recorded RDAP answers and failure modes.

Requests arrive as ``/HOST/PATH`` — what :class:`auditor.resolve.asn.RdapSource` (or any
opener that rewrites ``https://HOST/PATH`` to ``base_url/HOST/PATH``) sends. Routes come from
``tests/fixtures/rdap/routes.json``; each may add a behaviour:

``status``        answer with this status (e.g. 500)
``fail_first``    the first N requests get ``fail_status`` (default 429) with ``Retry-After``
``retry_after``   the ``Retry-After`` header value for those (or for a 429 ``status``)
``delay``         seconds to wait before answering (longer than the client timeout → timeout)
``body.raw``      serve the file's bytes as they are (e.g. a malformed JSON body)

Unknown paths get 404 with an RDAP error object. Every request is logged in ``requests``.
A ``delay`` or a ``hang`` holds the connection (and ends when the client hangs up); the server
keeps a ledger of held connections (``servers.blackhole``), so a client on a ``VirtualNetwork``
times out on a held request at once, in virtual time.

A server-wide :class:`Fault` makes the server break in the middle of a run: the first
``after`` requests (any path) are served as above, every later one gets the fault —
``429`` / ``500`` (with ``retry_after``), ``reset`` (TCP RST, no response), ``close`` (closed
without a response), ``garbage`` (bytes that are not HTTP), ``malformed`` (200 with a body that
is not JSON), ``hang`` (no response until ``hang`` seconds pass or the server stops) or
``stop`` (the server shuts down: this request is reset, later connections are refused)::

    rdap.set_fault("reset", after=2)      # requests 3, 4, ... are reset; rdap.reset() clears it

Example::

    from servers.rdap import rdap, rdap_server  # noqa: F401

    def test_x(rdap):                     # function-scoped: counters and log reset
        src = RdapSource(base_url=rdap.base_url, ...)
        ...
        assert rdap.hits("/rdap.arin.net/registry/ip/74.125.225.229") == 1

For other routes: ``with RdapServer({"/h/ip/1.2.3.4": Route(body=b"{}")}) as s: ...``.
"""

from __future__ import annotations

import json
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from .blackhole import ledger_changed, register_ledger, unregister_ledger

__all__ = ["FAULTS", "Fault", "RdapServer", "Route", "load_routes", "rdap", "rdap_server", "ROUTES_FILE"]

ROUTES_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "rdap" / "routes.json"
RDAP_JSON = "application/rdap+json"


@dataclass(frozen=True)
class Route:
    """What one path answers."""

    body: bytes = b""
    status: int = 200
    content_type: str = RDAP_JSON
    delay: float = 0.0
    fail_first: int = 0
    fail_status: int = 429
    retry_after: str | None = None
    note: str = ""


FAULTS = ("429", "500", "reset", "close", "garbage", "malformed", "hang", "stop")


@dataclass(frozen=True)
class Fault:
    """What every request after the first ``after`` (counted over all paths) gets."""

    mode: str
    after: int = 0
    retry_after: str | None = None  # the Retry-After header of a 429/500
    hang: float = 10.0  # seconds a ``hang`` holds the connection at most (it ends at stop() too)

    def __post_init__(self) -> None:
        if self.mode not in FAULTS:
            raise ValueError(f"fault mode must be one of {FAULTS}, got {self.mode!r}")


def load_routes(path: str | os.PathLike[str] = ROUTES_FILE) -> dict[str, Route]:
    """Read a routes file: ``{"routes": [{"path": ..., "body": {"file": ..., "pointer": [...]}, ...}]}``.

    ``body.file`` is relative to the routes file; ``pointer`` selects a sub-object (keys) to
    serve as JSON; ``raw: true`` serves the file's bytes unchanged.
    """
    path = Path(path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    routes: dict[str, Route] = {}
    for r in doc["routes"]:
        body = b""
        spec = r.get("body")
        if spec:
            f = path.parent / spec["file"]
            if spec.get("raw"):
                body = f.read_bytes()
            else:
                obj: Any = json.loads(f.read_text(encoding="utf-8"))
                for key in spec.get("pointer", []):
                    obj = obj[key]
                body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        if r["path"] in routes:
            raise ValueError(f"{path}: route {r['path']} defined twice")
        routes[r["path"]] = Route(
            body=body,
            status=int(r.get("status", 200)),
            delay=float(r.get("delay", 0.0)),
            fail_first=int(r.get("fail_first", 0)),
            fail_status=int(r.get("fail_status", 429)),
            retry_after=r.get("retry_after"),
            note=r.get("note", ""),
        )
    return routes


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler sleeping in a "slow" route must not block shutdown
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout test) makes the late write fail: expected, not noise.
        pass


class RdapServer:
    """``with RdapServer(routes) as s:`` — serves on ``s.base_url`` (``http://127.0.0.1:<port>``)."""

    def __init__(self, routes: Mapping[str, Route], host: str = "127.0.0.1") -> None:
        self.routes = dict(routes)
        self.host = host
        self.port = 0
        self.requests: list[dict[str, Any]] = []
        self.fault: Fault | None = None
        self._hits: dict[str, int] = {}
        self._held: set[int] = set()  # client ports whose request is being held unanswered
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def hits(self, path: str) -> int:
        with self._lock:
            return self._hits.get(path, 0)

    def reset(self) -> None:
        """Forget hit counts (re-arms ``fail_first``), the request log and any fault."""
        with self._lock:
            self._hits.clear()
            self.requests.clear()
            self.fault = None

    def set_fault(self, mode: str, *, after: int = 0, retry_after: str | None = None, hang: float = 10.0) -> None:
        """Fail every request after the next ``after`` ones (see :class:`Fault`)."""
        with self._lock:
            self.fault = Fault(mode, after=len(self.requests) + after, retry_after=retry_after, hang=hang)

    def faulted(self) -> int:
        """How many requests got the fault."""
        with self._lock:
            return sum(1 for r in self.requests if "fault" in r)

    # the ledger (servers.blackhole): a held request gets no answer before its client gives up
    def udp_settled(self, client_port: int, sent: int, received: int) -> bool:
        return False

    def tcp_holding(self, client_port: int) -> bool:
        with self._lock:
            return client_port in self._held

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                path = unquote(urlsplit(self.path).path)
                route = server.routes.get(path)
                with server._lock:
                    n = server._hits[path] = server._hits.get(path, 0) + 1
                    entry = {"method": "GET", "path": path, "accept": self.headers.get("Accept")}
                    server.requests.append(entry)
                    fault = server.fault if server.fault and len(server.requests) > server.fault.after else None
                    if fault is not None:
                        entry["fault"] = fault.mode
                if fault is not None:
                    self._fault(fault)
                    return
                if route is None:
                    body = json.dumps({"errorCode": 404, "title": "Not Found", "description": [path]}).encode()
                    entry["status"] = 404
                    self._send(404, body, RDAP_JSON, {})
                    return
                if n <= route.fail_first:
                    entry["status"] = route.fail_status
                    extra = {"Retry-After": route.retry_after} if route.retry_after is not None else {}
                    body = json.dumps({"errorCode": route.fail_status, "title": "Too Many Requests"}).encode()
                    self._send(route.fail_status, body, RDAP_JSON, extra)
                    return
                if route.delay and not self._hold(route.delay):
                    return
                entry["status"] = route.status
                extra = {"Retry-After": route.retry_after} if route.retry_after is not None else {}
                self._send(route.status, route.body, route.content_type, extra)

            def _fault(self, fault: Fault) -> None:
                mode = fault.mode
                if mode in ("429", "500"):
                    status = int(mode)
                    extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                    title = "Too Many Requests" if status == 429 else "Internal Server Error"
                    self._send(status, json.dumps({"errorCode": status, "title": title}).encode(), RDAP_JSON, extra)
                elif mode == "malformed":
                    self._send(200, b'{"objectClassName": "ip network", "handle": ', RDAP_JSON, {})
                elif mode == "garbage":
                    self._raw(b"\x00\x17 not an HTTP response \xff\xfe\r\n\r\n")
                elif mode == "hang":
                    self._hold(fault.hang)
                    self._reset()
                elif mode == "close":
                    self.close_connection = True  # nothing written: the client sees the connection end
                elif mode == "reset":
                    self._reset()
                elif mode == "stop":
                    server._halt()
                    self._reset()

            def _hold(self, seconds: float) -> bool:
                """Hold the request unanswered for ``seconds``; False if the client hung up or the server stops first."""
                port = self.client_address[1]
                end = time.monotonic() + seconds
                with server._lock:
                    server._held.add(port)
                ledger_changed()
                try:
                    while not server._stopping.is_set():
                        left = end - time.monotonic()
                        if left <= 0:
                            return True
                        ready, _, _ = select.select([self.connection], [], [], min(left, 0.05))
                        if ready:
                            try:
                                if not self.connection.recv(1, socket.MSG_PEEK):
                                    return False  # the client closed the connection
                            except OSError:
                                return False
                            server._stopping.wait(min(left, 0.05))  # more bytes, not an end: keep holding
                    return False
                finally:
                    with server._lock:
                        server._held.discard(port)

            def _raw(self, data: bytes) -> None:
                self.close_connection = True
                try:
                    self.wfile.write(data)
                except OSError:
                    pass

            def _reset(self) -> None:
                # SO_LINGER 0: close() sends RST instead of FIN; later writes by the framework are ignored
                self.close_connection = True
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                except OSError:
                    pass

            def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str]) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._stopping.clear()
        self._httpd = _Server((self.host, 0), Handler)
        self.port = self._httpd.server_address[1]
        register_ledger("tcp", self.port, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="rdap-server", daemon=True
        )
        self._thread.start()

    def _halt(self) -> None:
        """Stop serving and close the listening socket, from a handler thread (fault ``stop``)."""
        httpd = self._httpd
        if httpd is not None:
            httpd.shutdown()  # returns once serve_forever (another thread) has left its loop
            httpd.server_close()

    def stop(self) -> None:
        self._stopping.set()
        unregister_ledger("tcp", self.port)
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> RdapServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def rdap_server() -> Iterator[RdapServer]:
    """The recorded RDAP server (routes from ``tests/fixtures/rdap/routes.json``), one per session."""
    with RdapServer(load_routes()) as server:
        yield server


@pytest.fixture
def rdap(rdap_server: RdapServer) -> RdapServer:
    """``rdap_server`` with hit counts and request log reset for this test."""
    rdap_server.reset()
    return rdap_server


