"""PostgreSQL on loopback: a real database server for the audit-history tests (DESIGN §6).

The session fixture ``postgres`` runs ``initdb`` into a temporary folder and ``pg_ctl start``
on 127.0.0.1 and a free port (its Unix socket inside the data folder, ``fsync`` off: the data is
thrown away), and stops it at the end of the session (``pg_ctl stop -m fast``, then the
postmaster is killed if it is still there). Every wait is bounded: ``pg_ctl -w -t`` for the start
and the stop, and a bounded number of connection attempts before the first use.

The server comes from Debian's ``postgresql`` package, whose programs live in
``/usr/lib/postgresql/<major>/bin`` (not on PATH); ``make test`` installs it
(``scripts/system-packages.sh``). Where it is missing, the tests that need it skip naming the
package, and fail under ``CI=true`` (see ``tests/system.py``). PostgreSQL refuses to run as root:
as root the server runs as the ``postgres`` user (which the package creates), or ``nobody``,
in a folder of its own under the system's temporary directory.

Example::

    from servers.postgres import postgres  # noqa: F401

    def test_something(postgres):
        url = postgres.new_database()      # postgresql://auditor@127.0.0.1:<port>/t_1 — empty, for this test
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from system import require_package

__all__ = ["PostgresServer", "find_pg_bin", "postgres"]

START_TIMEOUT = 60  # seconds for pg_ctl -w to see the server accept connections
STOP_TIMEOUT = 30
CONNECT_ATTEMPTS = 50  # after pg_ctl says it is up: at most 50 tries, 0.1 s apart
SUPERUSER = "auditor"


def find_pg_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: Debian's newest /usr/lib/postgresql/<major>/bin, else PATH."""
    found = []
    for d in Path("/usr/lib/postgresql").glob("*/bin"):
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file():
            major = d.parent.name
            found.append((int(major) if major.isdigit() else 0, d))
    if found:
        return max(found)[1]
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and Path(initdb).resolve().parent == Path(pg_ctl).resolve().parent:
        return Path(initdb).resolve().parent
    return None


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _run_as() -> pwd.struct_passwd | None:
    """The user to run the server as when this process is root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL as")


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, on ``host``:``port`` (a context manager)."""

    def __init__(self, workdir: str | os.PathLike[str], *, host: str = "127.0.0.1") -> None:
        self.bin = find_pg_bin()
        self.host = host
        self.port = 0
        self.user = _run_as()
        # as root the server's own user must reach its folder: pytest's tmp folders are root-only
        self.root = Path(tempfile.mkdtemp(prefix="auditor-pg-")) if self.user else Path(workdir)
        self.data = self.root / "data"
        self.log_path = self.root / "postgres.log"
        self._databases = 0
        self._started = False

    def _cmd(self, name: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        assert self.bin is not None
        kwargs: dict[str, object] = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        return subprocess.run([str(self.bin / name), *args], capture_output=True, text=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL, cwd=self.root, **kwargs)  # type: ignore[call-overload]

    def start(self) -> None:
        if self.bin is None:
            if "PYTEST_CURRENT_TEST" in os.environ:
                require_package("postgresql", "initdb and pg_ctl (the PostgreSQL server)", "the PostgreSQL history tests")
            raise FileNotFoundError("initdb/pg_ctl not found: apt-get install -y postgresql")
        self.root.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        init = self._cmd("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--no-locale",
                         "--no-sync", timeout=120)
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed ({init.returncode}):\n{init.stdout}\n{init.stderr}")
        last = ""
        for _ in range(3):  # a port picked free can be taken before the server binds it
            self.port = _free_port(self.host)
            options = f"-c listen_addresses={self.host} -p {self.port} -k {self.data} -c fsync=off -c full_page_writes=off"
            started = self._cmd("pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-w", "-t", str(START_TIMEOUT),
                                "-o", options, "start", timeout=START_TIMEOUT + 10)
            if started.returncode == 0:
                self._started = True
                self._wait_connectable()
                return
            last = started.stdout + started.stderr
        raise RuntimeError(f"pg_ctl start failed three times: {last}\n--- {self.log_path} ---\n{self._log_tail()}")

    def _wait_connectable(self) -> None:
        import psycopg

        error: Exception | None = None
        for _ in range(CONNECT_ATTEMPTS):
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                error = exc
                time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL on {self.host}:{self.port} accepted no connection in {CONNECT_ATTEMPTS} tries: {error}")

    def dsn(self, database: str) -> str:
        return f"host={self.host} port={self.port} user={SUPERUSER} dbname={database}"

    def url(self, database: str) -> str:
        """A SQLAlchemy/``--db`` URL for ``database`` on this server."""
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database (``t_1``, ``t_2`` ...) and return its URL."""
        import psycopg

        self._databases += 1
        name = f"t_{self._databases}"
        with psycopg.connect(self.dsn("postgres"), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            if self._started:
                stopped = self._cmd("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", str(STOP_TIMEOUT), "stop",
                                    timeout=STOP_TIMEOUT + 10)
                if stopped.returncode != 0:
                    self._kill_postmaster()
        finally:
            self._started = False
            if self.user is not None:
                shutil.rmtree(self.root, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            os.kill(pid, signal.SIGKILL)  # this server's own postmaster, by the pid it wrote
        except ProcessLookupError:
            pass

    def _log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1:<free port> for the session; ``new_database()`` gives each test its own.

    Skips (fails under CI) when Debian's ``postgresql`` is not installed.
    """
    if find_pg_bin() is None:
        require_package("postgresql", "initdb and pg_ctl (the PostgreSQL server)", "the PostgreSQL history tests")
    server = PostgresServer(tmp_path_factory.mktemp("postgres"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
