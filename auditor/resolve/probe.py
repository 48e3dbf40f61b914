"""Health probes: one question to a server, to learn whether anything answers there at all.

Most servers of an audit are probed by the first real query they get (:mod:`auditor.resolve.liveness`).
The servers only the IP-to-ASN sources ask — a Team Cymru nameserver the resolver does not use, the
local RDAP server — are asked late in an audit, after hostnames are resolved and domains swept; their
probe can start with the audit instead, in a thread, so that waiting out a dead server's timeout
overlaps the rest of the work rather than adding to it. These probes are that one question:

* DNS: ``<zone> SOA`` (e.g. ``asn.cymru.com. SOA``), sent ``copies`` times at once (the source's
  tries, so that one lost datagram is not taken for a dead server). Any reply — an answer, REFUSED,
  SERVFAIL, a malformed one — shows the server is there.
* HTTP: ``HEAD`` of the base URL. Any response, whatever its status (404, 405, 501), does.

A reply makes the server *alive* in the audit's :class:`~auditor.resolve.liveness.Liveness`; no reply
within ``timeout`` makes it *dead* (if nothing answered from it before); a refused connection or
another socket error says nothing either way (the sources' own first query will fail at once).
Each probe is one exchange, bounded by ``timeout``; :class:`Probes` runs them in daemon threads and
:meth:`Probes.wait` waits for them, bounded too. The threads do network I/O only.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import dns.exception
import dns.message

from auditor.resolve.liveness import Liveness
from auditor.resolve.network import REAL_NETWORK, Network, udp_exchange

__all__ = ["Probes", "probe_dns", "probe_http"]

_JOIN_SLACK = 5.0  # seconds beyond a probe's own timeout that waiting for its thread may take


def probe_dns(host: str, port: int, *, liveness: Liveness, timeout: float, zone: str = ".", copies: int = 1,
              network: Network = REAL_NETWORK) -> None:
    """Ask ``host@port`` for ``zone``'s SOA (``copies`` datagrams at once) and tell ``liveness`` what came back."""
    endpoint = f"{host}@{port}"
    if not liveness.unproven(endpoint):
        return
    q = dns.message.make_query(zone if zone.endswith(".") else zone + ".", "SOA")
    try:
        udp_exchange(network, q, host, port, timeout, ignore_unexpected=True, copies=copies)
    except dns.exception.Timeout:
        liveness.silent(endpoint, f"no reply in {timeout:.3g} s")
    except dns.exception.DNSException:  # a reply that could not be read is still a reply
        liveness.answered(endpoint)
    except OSError:
        pass  # refused or unreachable: fails fast, nothing to learn here
    else:
        liveness.answered(endpoint)


def probe_http(base_url: str, *, liveness: Liveness, timeout: float, network: Network = REAL_NETWORK) -> None:
    """``HEAD`` ``base_url`` (``http://`` only) and tell ``liveness`` whether any response came."""
    parts = urlsplit(base_url)
    endpoint = f"{parts.scheme}://{parts.netloc}"
    if parts.scheme != "http" or not parts.hostname or not liveness.unproven(endpoint):
        return
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    conn._create_connection = network.tcp_connect  # type: ignore[attr-defined]  # http.client's own seam
    try:
        conn.request("HEAD", parts.path or "/", headers={"Accept": "application/rdap+json"})
        conn.getresponse().close()
    except TimeoutError:
        liveness.silent(endpoint, f"no response in {timeout:.3g} s")
    except http.client.HTTPException:  # bytes came back, if not a good response: something listens
        liveness.answered(endpoint)
    except OSError:
        pass  # refused, reset: fails fast, nothing to learn here
    else:
        liveness.answered(endpoint)
    finally:
        conn.close()


class Probes:
    """Probes running in daemon threads, at most one per endpoint; :meth:`wait` for them before asking.

    >>> p = Probes(); p.start("127.0.0.1@53", lambda: None); p.wait(1.0); p.started
    ['127.0.0.1@53']
    """

    __slots__ = ("_lock", "_threads")

    def __init__(self) -> None:
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    @property
    def started(self) -> list[str]:
        with self._lock:
            return list(self._threads)

    def start(self, endpoint: str, probe: Callable[[], None]) -> None:
        """Run ``probe`` in a thread unless ``endpoint`` was probed already."""
        with self._lock:
            if endpoint in self._threads:
                return
            thread = threading.Thread(target=probe, name=f"probe {endpoint}", daemon=True)
            thread.start()  # before it is listed: wait() may join it at any moment
            self._threads[endpoint] = thread

    def wait(self, timeout: float) -> None:
        """Wait until every probe has finished; each one at most ``timeout`` + a few seconds."""
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout + _JOIN_SLACK)
