"""The system's resolvers: the nameservers a resolv.conf names, for ``--online`` (issue 19, item 7).

:class:`~.resolve.DnsResolver` asks only the servers it is given. With ``--online`` and no
``--dns-resolver`` the audit gives it the system's: the ``nameserver`` lines of
``/etc/resolv.conf`` (glibc's resolv.conf(5), the file dnspython's ``Resolver()`` reads), or of
the file named by the ``resolv_conf`` setting (``AUDITOR_RESOLV_CONF``), so that tests and
containers can point it elsewhere. A line may name a port as OpenBSD's resolv.conf(5) does,
``nameserver [127.0.0.1]:5353`` (glibc and dnspython have no port syntax; a local test server
listens on a port of its own). ``search``, ``domain`` and ``options`` are not read: hostnames in
an inventory are fully qualified, and the auditor keeps its own timeout and give-up rules.

Example::

    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
    ...     _ = f.write("# comment\\nsearch example.com\\nnameserver 192.0.2.53\\nnameserver [::1]:5353\\n")
    >>> [str(ns) for ns in system_nameservers(f.name)]
    ['192.0.2.53@53', '::1@5353']
    >>> os.unlink(f.name)
"""

from __future__ import annotations

import ipaddress
import os
import re

from auditor.errors import DataError, os_reason

from .model import Nameserver

__all__ = ["DEFAULT_RESOLV_CONF", "system_nameservers"]

DEFAULT_RESOLV_CONF = "/etc/resolv.conf"
_MAX_BYTES = 1 << 16  # a resolv.conf is a few lines; glibc reads at most 3 nameservers from it
_BRACKETED = re.compile(r"\[([^\]]+)\]:(\d{1,5})")


def system_nameservers(path: str | os.PathLike[str] | None = None) -> list[Nameserver]:
    """The nameservers of ``path`` (default :data:`DEFAULT_RESOLV_CONF`), in file order.

    Raises :class:`~auditor.errors.DataError` naming the file (and the line) when it cannot be
    read, a ``nameserver`` line does not name an IP address, or no nameserver is named.
    """
    where = str(path or DEFAULT_RESOLV_CONF)
    hint = "give --dns-resolver HOST[:PORT], or point AUDITOR_RESOLV_CONF (resolv_conf) at a resolv.conf that names one"
    try:
        with open(where, "rb") as f:
            raw = f.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise DataError(f"cannot read the system's resolver configuration: {os_reason(exc)}", path=where, hint=hint) from None
    if len(raw) > _MAX_BYTES:
        raise DataError(f"more than {_MAX_BYTES:,} bytes: not a resolv.conf", path=where, hint=hint)
    out: list[Nameserver] = []
    for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), start=1):
        tokens = line.split()
        if len(tokens) < 2 or tokens[0] != "nameserver" or line.lstrip().startswith(("#", ";")):
            continue
        out.append(_nameserver(tokens[1], f"{where}, line {number}"))
    if not out:
        raise DataError("names no nameserver", path=where, hint=hint)
    return list(dict.fromkeys(out))


def _nameserver(token: str, where: str) -> Nameserver:
    match = _BRACKETED.fullmatch(token)
    host, port = (match.group(1), int(match.group(2))) if match else (token, 53)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise DataError(f"nameserver {token!r} is not an IP address (or [ADDRESS]:PORT)", path=where) from None
    if not 1 <= port <= 65535:
        raise DataError(f"nameserver {token!r}: the port must be from 1 to 65535", path=where)
    return Nameserver(host, port)

