"""Knot DNS on loopback: a real authoritative server for DNS tests (DESIGN §6).

The session fixture ``knot_dns`` serves every zone file found at
``tests/fixtures/<topic>/zones/<zone name>.zone`` (the file name, minus ``.zone``, is the
zone's origin), so a test topic adds a zone by dropping a file there — nothing to register.
It also configures ``servfail.test``, a zone whose file is missing: Knot answers SERVFAIL
for every name in it. Names outside every configured zone get REFUSED.

A zone whose answers depend on the client's subnet (EDNS Client Subnet, RFC 7871) puts a
Knot mod-geoip config next to its zone file, ``tests/fixtures/<topic>/zones/<zone>.geoip.conf``;
the zone is then served with mod-geoip in subnet mode (the longest matching ``net`` decides).
That needs Debian's ``knot-module-geoip``. Without it those zones are left out (every other zone
is still served) and ``knot_dns.require_geoip()`` fails the test that needs them with the install hint.

knotd comes from Debian's ``knot`` package (``apt-get install knot``); ``make test`` installs it
(``scripts/system-packages.sh``). If it is still missing, the tests that need it skip naming the
package, and fail under ``CI=true`` (see ``tests/system.py``).

Example::

    from servers.knot import knot_dns  # noqa: F401

    def test_something(knot_dns):
        r = knot_dns.resolver(timeout=1.0)          # dnspython, configure=False, this server only
        assert r.resolve("AS4134.asn.cymru.com", "TXT")
        knot_dns.host, knot_dns.port                # "127.0.0.1", <free port>

For a private server with other zones: ``with KnotServer(tmp_path, {"x.test": text}) as s: ...``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.resolver
import pytest
from system import require_package

__all__ = [
    "KnotServer",
    "SERVFAIL_ZONE",
    "discover_geoip",
    "discover_zones",
    "find_geoip_module",
    "find_knotd",
    "knot_dns",
]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SERVFAIL_ZONE = "servfail.test"
INSTALL_HINT = (
    "knotd (Knot DNS) is required for the DNS integration tests and was not found on PATH "
    "or in /usr/sbin. Install it: apt-get install -y knot knot-dnsutils (make test does this)."
)
START_TIMEOUT = 15.0  # seconds for knotd to load its zones and answer
STOP_TIMEOUT = 5.0


def find_knotd() -> str | None:
    """Path of ``knotd``; Debian puts it in /usr/sbin, which a non-root PATH may lack."""
    extra = os.pathsep.join(["/usr/sbin", "/usr/local/sbin", "/sbin"])
    return shutil.which("knotd") or shutil.which("knotd", path=extra)


def find_geoip_module() -> Path | None:
    """Path of Knot's ``geoip.so`` (Debian: /usr/lib/<triplet>/knot/modules-<version>/), or None."""
    patterns = ("/usr/lib/*/knot/modules-*/geoip.so", "/usr/lib/knot/modules-*/geoip.so",
                "/usr/local/lib/knot/modules-*/geoip.so", "/usr/lib64/knot/modules-*/geoip.so")
    for pattern in patterns:
        found = sorted(Path("/").glob(pattern.lstrip("/")))
        if found:
            return found[-1]
    return None


def discover_geoip(root: Path = FIXTURES) -> dict[str, Path]:
    """``{zone: path}`` for every ``<root>/*/zones/<zone>.geoip.conf`` next to a ``<zone>.zone``."""
    configs: dict[str, Path] = {}
    for path in sorted(root.glob("*/zones/*.geoip.conf")):
        name = path.name[: -len(".geoip.conf")].rstrip(".").lower()
        if not (path.parent / f"{name}.zone").is_file():
            raise RuntimeError(f"{path}: mod-geoip config without a zone file {name}.zone next to it")
        if name in configs:
            raise RuntimeError(f"geoip config for {name} defined twice: {configs[name]} and {path}")
        configs[name] = path
    return configs


def discover_zones(root: Path = FIXTURES) -> dict[str, Path]:
    """``{zone: path}`` for every ``<root>/*/zones/*.zone``; two files for one zone is an error."""
    zones: dict[str, Path] = {}
    for path in sorted(root.glob("*/zones/*.zone")):
        name = path.name[: -len(".zone")].rstrip(".").lower()
        if name in zones:
            raise RuntimeError(f"zone {name} defined twice: {zones[name]} and {path}")
        zones[name] = path
    return zones


def _place(src: str | os.PathLike[str], target: Path) -> None:
    """Copy a file (a path) or write text (a string with a newline) to ``target``."""
    if isinstance(src, os.PathLike) or (isinstance(src, str) and "\n" not in src):
        shutil.copyfile(src, target)
    else:
        target.write_text(src, encoding="utf-8")


def _free_port(host: str) -> int:
    """A port free for both UDP and TCP on ``host`` (knotd listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((host, 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free UDP+TCP port on loopback after 50 tries")


class KnotServer:
    """One knotd process with its config, zones, database and log under ``workdir``.

    Parameters
    ----------
    workdir
        An empty directory (e.g. from ``tmp_path_factory``).
    zones
        ``{zone name: zone file path or zone text}``.
    broken_zones
        Zones configured with a missing file, so Knot answers SERVFAIL inside them.
    geoip
        ``{zone: mod-geoip config path or text}``: those zones answer by client subnet
        (mod-geoip, ``mode: subnet``). Without the module they are not served; see
        :meth:`require_geoip`.
    host, port
        Where to listen; ``port=None`` picks a free one.
    """

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        zones: Mapping[str, str | os.PathLike[str]],
        *,
        broken_zones: Sequence[str] = (SERVFAIL_ZONE,),
        host: str = "127.0.0.1",
        port: int | None = None,
        geoip: Mapping[str, str | os.PathLike[str]] | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.zones = {z.rstrip(".").lower(): v for z, v in zones.items()}
        self.geoip = {z.rstrip(".").lower(): v for z, v in (geoip or {}).items()}
        unknown = sorted(set(self.geoip) - set(self.zones))
        if unknown:
            raise ValueError(f"geoip configs for zones that are not served: {unknown}")
        self.geoip_module = find_geoip_module() if self.geoip else None
        self.geoip_unavailable = sorted(self.geoip) if self.geoip and self.geoip_module is None else []
        self.broken_zones = [z.rstrip(".").lower() for z in broken_zones]
        self.host = host
        self.port = port or 0
        self._fixed_port = port is not None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: object = None

    # -------------------------------------------------------------- public helpers
    @property
    def nameservers(self) -> list[str]:
        return [self.host]

    @property
    def log_path(self) -> Path:
        return self.workdir / "knotd.log"

    @property
    def served_zones(self) -> list[str]:
        """The zones knotd serves (geoip zones are left out when the module is missing)."""
        return sorted(z for z in self.zones if z not in self.geoip_unavailable)

    def require_geoip(self) -> None:
        """Fail the calling test (with the install hint) if the geoip zones are not being served."""
        if self.geoip_unavailable:
            require_package("knot-module-geoip", "Knot's geoip module (mod-geoip)",
                            f"the ECS sweep tests (zones not served: {', '.join(self.geoip_unavailable)})")

    def resolver(self, timeout: float = 1.0) -> dns.resolver.Resolver:
        """A dnspython stub resolver that asks only this server (no cache, one try per call)."""
        r = dns.resolver.Resolver(configure=False)
        r.port = self.port
        r.nameservers = [self.host]
        r.timeout = timeout
        r.lifetime = timeout
        r.cache = None
        return r

    def query(self, name: str, rdtype: str = "A", timeout: float = 1.0) -> dns.message.Message:
        """One raw UDP query (any rcode is returned, nothing raised for NXDOMAIN/SERVFAIL)."""
        q = dns.message.make_query(name, rdtype)
        return dns.query.udp(q, self.host, port=self.port, timeout=timeout)

    # -------------------------------------------------------------- lifecycle
    def write_config(self) -> Path:
        zdir = self.workdir / "zones"
        (self.workdir / "db").mkdir(parents=True, exist_ok=True)
        zdir.mkdir(parents=True, exist_ok=True)
        entries = []
        modules = []
        for name, src in sorted(self.zones.items()):
            if name in self.geoip_unavailable:
                continue
            target = zdir / f"{name}.zone"
            _place(src, target)
            entry = f"  - domain: {name}\n    file: {name}.zone\n"
            if name in self.geoip:
                geo = zdir / f"{name}.geoip.conf"
                _place(self.geoip[name], geo)
                mod_id = f"geo{len(modules)}"
                modules.append(
                    f"  - id: {mod_id}\n"
                    f'    config-file: "{geo}"\n'
                    "    mode: subnet\n"
                    "    ttl: 60\n"
                )
                entry += f"    module: mod-geoip/{mod_id}\n"
            entries.append(entry)
        for name in self.broken_zones:
            entries.append(f"  - domain: {name}\n    file: {name}.missing.zone\n")
        conf = (
            "server:\n"
            f'    rundir: "{self.workdir}"\n'
            f"    listen: {self.host}@{self.port}\n"
            "    edns-client-subnet: on\n"
            "database:\n"
            f'    storage: "{self.workdir / "db"}"\n'
            "log:\n"
            "  - target: stderr\n"
            "    any: notice\n"
            "template:\n"
            "  - id: default\n"
            f'    storage: "{zdir}"\n'
            "    zonefile-sync: -1\n"  # never write zone files back
            "    journal-content: none\n"
            + ("mod-geoip:\n" + "".join(modules) if modules else "")
            + "zone:\n" + "".join(entries)
        )
        path = self.workdir / "knot.conf"
        path.write_text(conf, encoding="utf-8")
        return path

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start knotd and wait (bounded) until every zone answers its SOA; raise on failure."""
        knotd = find_knotd()
        if knotd is None:
            if "PYTEST_CURRENT_TEST" in os.environ:  # in a test: skip naming the package (fail under CI)
                require_package("knot", "knotd (Knot DNS)", "the DNS integration tests")
            raise FileNotFoundError(INSTALL_HINT)
        last_error = ""
        for _ in range(3):  # a picked port can be taken between picking and binding
            if not self._fixed_port:
                self.port = _free_port(self.host)
            conf = self.write_config()
            log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
            self._log = log
            self._proc = subprocess.Popen(
                [knotd, "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                self._wait_ready(timeout)
                return
            except RuntimeError as exc:
                last_error = str(exc)
                self.stop()
                if self._fixed_port:
                    break
        raise RuntimeError(f"knotd did not start: {last_error}\n--- {self.log_path} ---\n{self._log_tail()}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.served_zones)
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"knotd exited with status {self._proc.returncode}")
            for zone in sorted(pending):
                try:
                    r = self.query(zone, "SOA", timeout=0.2)
                except (dns.exception.Timeout, OSError):
                    break
                if r.rcode() == dns.rcode.NOERROR and r.answer:
                    pending.discard(zone)
            if not pending:
                if self.served_zones:
                    return
                try:  # no zones: any answer (REFUSED) shows it is up
                    self.query(".", "SOA", timeout=0.2)
                    return
                except (dns.exception.Timeout, OSError):
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"no answer within {timeout:g} s for zones {sorted(pending)}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
        log, self._log = self._log, None
        if log is not None:
            log.close()  # type: ignore[attr-defined]

    def _log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> KnotServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def knot_dns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnotServer]:
    """Knot DNS on 127.0.0.1:<free port> serving ``tests/fixtures/*/zones/*.zone`` and ``servfail.test``.

    Zones with a ``<zone>.geoip.conf`` next to them answer by client subnet (mod-geoip). Skips
    (fails under CI) when knotd is not installed; a missing geoip module does so only for the
    tests that call ``require_geoip()``.
    """
    if find_knotd() is None:
        require_package("knot", "knotd (Knot DNS)", "the DNS integration tests")
    server = KnotServer(tmp_path_factory.mktemp("knot"), discover_zones(), geoip=discover_geoip())
    server.start()
    try:
        yield server
    finally:
        server.stop()
