"""urllib plumbing for ipwhois: an opener that records every HTTP exchange, and can
rewrite ``https://HOST/PATH`` to a local base URL.

ipwhois hard-codes the RIR RDAP URLs (``ipwhois.rdap.RIR_RDAP``) but sends every request
through the ``OpenerDirector`` it is given (``IPWhois(addr, proxy_opener=...)``), so a local
RDAP server needs no monkeypatching (see stack-baselines §5). The offline opener has *no*
HTTPS handler and rewrites plain ``http://`` too, so no request can leave for the URL it names.

ipwhois folds every HTTP failure into one exception (``HTTPLookupError``) and drops the
``Retry-After`` header; the :class:`Recorder` keeps what actually happened so the source
can tell a 429 from a 500 from a timeout from a malformed body, and keeps the raw RDAP object
of every successful request (``response``) as evidence.
"""

from __future__ import annotations

import http.client
import io
import json
import ssl
import urllib.error
import urllib.request
import urllib.response
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import dns.exception
import dns.resolver

from auditor.resolve.liveness import Liveness
from auditor.resolve.network import REAL_NETWORK, Network, NetworkResolver

from ._dns import describe_dns_error

__all__ = ["Recorder", "RecordingResolver", "build_opener", "http_endpoint"]

MAX_BODY = 8 * 1024 * 1024  # an RDAP answer larger than this is not one


def http_endpoint(url: str) -> str:
    """``"http://127.0.0.1:8080"``: a URL's server, as an audit's liveness names it.

    >>> http_endpoint("http://127.0.0.1:8080/rdap.arin.net/registry/ip/1.2.3.4")
    'http://127.0.0.1:8080'
    """
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(slots=True)
class Recorder:
    """What one lookup attempt did on the wire, in order."""

    events: list[dict[str, Any]] = field(default_factory=list)

    def last(self, kind: str) -> dict[str, Any] | None:
        for ev in reversed(self.events):
            if ev["kind"] == kind:
                return ev
        return None

    @property
    def last_event(self) -> dict[str, Any] | None:
        return self.events[-1] if self.events else None


class _RecordingHandler(urllib.request.HTTPHandler):
    """Opens http/https URLs, optionally rewritten to ``rewrite_base``/HOST/PATH, and records them."""

    handler_order = 400  # before the stock handlers, should any be added
    https_request = urllib.request.AbstractHTTPHandler.do_request_

    def __init__(self, recorder: Recorder, rewrite_base: str | None, network: Network = REAL_NETWORK,
                 liveness: Liveness | None = None) -> None:
        super().__init__()
        self._rec = recorder
        self._base = rewrite_base.rstrip("/") if rewrite_base else None
        self._ssl = ssl.create_default_context() if rewrite_base is None else None
        self._network = network
        self._liveness = liveness

    def _connection(self, host: str, **kwargs: Any) -> http.client.HTTPConnection:
        """A plain HTTP connection whose socket comes from the network (what ``socket.create_connection`` does)."""
        conn = http.client.HTTPConnection(host, **kwargs)
        conn._create_connection = self._network.tcp_connect  # type: ignore[attr-defined]  # http.client's own seam
        return conn

    def _silent(self, server: str, timeout: float | None) -> None:
        if self._liveness is not None:
            self._liveness.silent(server, "no response" if timeout is None else f"no response in {timeout:.3g} s")

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self._open(req)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self._open(req)

    def _open(self, req: urllib.request.Request) -> Any:
        original = req.full_url
        ev: dict[str, Any] = {"kind": "http", "url": original}
        self._rec.events.append(ev)
        if self._base is not None:
            parts = urlsplit(original)
            target = f"{self._base}/{parts.netloc}{parts.path or '/'}"
            if parts.query:
                target += f"?{parts.query}"
            ev["sent_to"] = target
            new = urllib.request.Request(target, headers=dict(req.header_items()), method=req.get_method())
            new.timeout = req.timeout
            conn_cls: Any = self._connection
            real = new
            kwargs: dict[str, Any] = {}
        else:
            real = req
            if req.type == "https":
                conn_cls = http.client.HTTPSConnection
                kwargs = {"context": self._ssl}
            else:
                conn_cls = self._connection
                kwargs = {}
        server = http_endpoint(real.full_url)
        try:
            resp = self.do_open(conn_cls, real, **kwargs)
            if self._liveness is not None:
                self._liveness.answered(server)  # a status line came: something answers there
            try:
                body = resp.read(MAX_BODY + 1)
            finally:
                resp.close()
        except TimeoutError as exc:
            ev["error"] = "timeout"
            self._silent(server, real.timeout)
            raise urllib.error.URLError(exc) from exc
        except urllib.error.URLError as exc:
            ev["error"] = "timeout" if isinstance(exc.reason, TimeoutError) else f"{exc.reason}"
            if isinstance(exc.reason, TimeoutError):
                self._silent(server, real.timeout)
            raise
        except (OSError, http.client.HTTPException) as exc:
            ev["error"] = f"{type(exc).__name__}: {exc}"
            raise urllib.error.URLError(exc) from exc
        ev["status"] = resp.status
        ra = resp.headers.get("Retry-After")
        if ra is not None:
            ev["retry_after"] = ra
        if len(body) > MAX_BODY:
            ev["body_error"] = f"body larger than {MAX_BODY} bytes"
        elif 200 <= resp.status < 300:
            try:
                doc = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                ev["body_error"] = f"malformed JSON ({len(body)} bytes): {exc}"
            else:
                if not isinstance(doc, dict):
                    ev["body_error"] = f"JSON is a {type(doc).__name__}, not an RDAP object"
                else:
                    ev["response"] = doc  # the raw RDAP object: evidence an evidence bundle carries
        out = urllib.response.addinfourl(io.BytesIO(body), resp.headers, original, resp.status)
        out.msg = resp.reason  # type: ignore[attr-defined]  # HTTPErrorProcessor reads .msg
        return out


def build_opener(
    recorder: Recorder, rewrite_base: str | None, network: Network = REAL_NETWORK, liveness: Liveness | None = None,
) -> urllib.request.OpenerDirector:
    """A bare opener: the recording handler, redirects, and the stock error processing.

    With ``rewrite_base`` (offline), there is no HTTPS handler and no proxy handler: every
    URL is rewritten to the base. Without it (online), requests go where ipwhois sends
    them, through the environment's proxies, with certificate checks. Plain HTTP connections
    get their sockets from ``network`` (HTTPS ones are the standard library's own).
    """
    opener = urllib.request.OpenerDirector()
    handlers: list[urllib.request.BaseHandler] = [
        _RecordingHandler(recorder, rewrite_base, network, liveness),
        urllib.request.HTTPRedirectHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ]
    if rewrite_base is None:
        handlers.insert(0, urllib.request.ProxyHandler())
    for h in handlers:
        opener.add_handler(h)
    return opener


class RecordingResolver(NetworkResolver):
    """A dnspython resolver that notes each ``resolve`` outcome in a :class:`Recorder`.

    ipwhois turns every DNS failure into ``ASNRegistryError``; the note says which one it was.
    """

    recorder: Recorder | None = None

    def resolve(self, qname: Any, rdtype: Any = "A", *args: Any, **kwargs: Any) -> dns.resolver.Answer:
        ev: dict[str, Any] = {"kind": "dns", "qname": str(qname), "rdtype": str(rdtype)}
        if self.recorder is not None:
            self.recorder.events.append(ev)
        try:
            ans = super().resolve(qname, rdtype, *args, **kwargs)
        except dns.resolver.NXDOMAIN:
            ev["outcome"] = "nxdomain"
            raise
        except dns.resolver.NoAnswer:
            ev["outcome"] = "noanswer"
            raise
        except dns.exception.Timeout:
            ev["outcome"] = "timeout"
            raise
        except Exception as exc:
            ev["outcome"] = "error"
            ev["error"] = describe_dns_error(exc)
            raise
        ev["outcome"] = "ok"
        ev["txt"] = [b"".join(rd.strings).decode("utf-8", "replace") for rd in ans if hasattr(rd, "strings")]
        return ans
