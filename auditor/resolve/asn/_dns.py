"""Small dnspython helpers shared by the Cymru and RDAP sources: a resolver that can only
talk to the nameservers it is given (waiting through a :class:`~.network.Network`), and
plain-text descriptions of DNS failures."""

from __future__ import annotations

from collections.abc import Sequence

import dns.exception
import dns.rcode
import dns.resolver

from auditor.errors import AuditorError
from auditor.resolve.liveness import Liveness
from auditor.resolve.network import REAL_NETWORK, Network, NetworkNameserver, NetworkResolver

__all__ = ["SourceConfigError", "make_resolver", "describe_dns_error"]


class SourceConfigError(AuditorError, ValueError):
    """An ASN source was configured in a way that cannot work (or would go online unasked)."""


def make_resolver(
    nameservers: Sequence[str] | None,
    port: int,
    timeout: float,
    *,
    online: bool,
    cls: type[NetworkResolver] = NetworkResolver,
    network: Network = REAL_NETWORK,
    liveness: Liveness | None = None,
    first_copies: int = 1,
) -> NetworkResolver:
    """A stub resolver with no cache and one try per call (retries are the caller's, bounded).

    With ``nameservers`` given, only they are asked (``configure=False``: ``/etc/resolv.conf``
    is not read), over sockets from ``network`` and waiting on its clock, telling ``liveness``
    whether they replied (the first query to a server not heard from is sent ``first_copies``
    times at once: see :class:`~auditor.resolve.network.NetworkNameserver`). Without them, the
    system's resolvers are used — but only if ``online``.
    """
    if timeout <= 0:
        raise SourceConfigError(f"timeout must be positive, got {timeout!r}")
    if nameservers:
        r = cls(configure=False)
        r.nameservers = [NetworkNameserver(ns, port, network, liveness, first_copies) for ns in nameservers]
    elif online:
        r = cls(configure=True)
    else:
        raise SourceConfigError(
            "no nameservers given: pass nameservers=[...] (and port=) for a local server, "
            "or online=True to use the system resolvers"
        )
    r.network = network
    r.timeout = timeout
    r.lifetime = timeout
    r.cache = None
    r.retry_servfail = False
    return r


def describe_dns_error(exc: BaseException) -> str:
    """One line naming what went wrong, keeping rcodes apart (SERVFAIL vs REFUSED vs timeout)."""
    if isinstance(exc, dns.resolver.NoNameservers):
        parts = []
        for err in exc.kwargs.get("errors", []) or []:
            # (nameserver, tcp, port, exception or None, response or None) in dnspython 2.x
            server, _tcp, port, error, response = (list(err) + [None] * 5)[:5]
            where = str(server)  # dnspython >= 2.6 names it "Do53:HOST@PORT" already
            if port and not where.endswith(f"@{port}"):
                where = f"{where}@{port}"
            if response is not None:
                parts.append(f"{dns.rcode.to_text(response.rcode())} from {where}")
            elif error is not None:
                parts.append(f"{type(error).__name__} from {where}: {error}")
        return "; ".join(parts) if parts else str(exc)
    if isinstance(exc, dns.exception.Timeout):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"
