"""The system's resolvers: the nameservers a resolv.conf names (auditor.resolve.dns.system), for --online."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import DataError
from auditor.resolve.dns import DEFAULT_RESOLV_CONF, Nameserver, system_nameservers


def _conf(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "resolv.conf"
    path.write_text(text, encoding="utf-8")
    return path


def test_nameservers_in_file_order_with_ports_and_comments(tmp_path: Path) -> None:
    path = _conf(tmp_path, "# generated\n; also a comment\nsearch corp.example\noptions timeout:1 attempts:2\n"
                           "nameserver 127.0.0.53\n  nameserver   ::1  \nnameserver [127.0.0.1]:5353\nnameserver [::1]:53\n"
                           "nameserver 127.0.0.53\n#nameserver 192.0.2.9\nnameserver\n")
    assert system_nameservers(path) == [Nameserver("127.0.0.53", 53), Nameserver("::1", 53), Nameserver("127.0.0.1", 5353)]


@pytest.mark.parametrize("text, needle", [
    ("nameserver dns.example.com\n", "line 1: nameserver 'dns.example.com' is not an IP address (or [ADDRESS]:PORT)"),
    ("search x\nnameserver [127.0.0.1]:0\n", "line 2: nameserver '[127.0.0.1]:0': the port must be from 1 to 65535"),
    ("nameserver 127.0.0.1:5353\n", "is not an IP address (or [ADDRESS]:PORT)"),  # only the bracketed form names a port
    ("search example.com\n", "names no nameserver"),
])
def test_what_cannot_be_used_names_the_file_and_line(tmp_path: Path, text: str, needle: str) -> None:
    path = _conf(tmp_path, text)
    with pytest.raises(DataError) as exc:
        system_nameservers(path)
    assert str(exc.value).startswith(str(path)) and needle in str(exc.value)
    assert "--dns-resolver" in str(exc.value) or "line" in str(exc.value)


def test_a_missing_or_huge_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read the system's resolver configuration"):
        system_nameservers(tmp_path / "absent.conf")
    big = _conf(tmp_path, "#" * 70_000 + "\nnameserver 127.0.0.1\n")
    with pytest.raises(DataError, match="not a resolv.conf"):
        system_nameservers(big)


def test_the_default_is_the_systems_file() -> None:
    assert DEFAULT_RESOLV_CONF == "/etc/resolv.conf"
