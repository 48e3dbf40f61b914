"""``auditor serve``: the local web workbench (issue 23), over :mod:`auditor.web`. :func:`register`
adds it to the main group::

    from auditor.cli.serve import register
    register(main)
"""

from __future__ import annotations

import importlib.util
import ipaddress
import sys

import click

__all__ = ["INSTALL_HINT", "is_loopback", "register", "serve"]

INSTALL_HINT = "pip install 'pilot-zone-auditor[web]'"
#: Unusable input or usage, as every auditor command exits.
EXIT_USAGE = 2


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost`` (the only hosts served without --allow-remote).

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost"), is_loopback("0.0.0.0"), is_loopback("192.168.1.5")
    (True, True, True, False, False)
    """
    if host.strip().lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def _missing_modules() -> list[str]:
    from auditor.web import REQUIRED_MODULES

    missing = []
    for name in REQUIRED_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a module set to None in sys.modules, or a broken one
            found = False
        if not found:
            missing.append("python-multipart" if name == "multipart" else name)
    return missing


def _fail(message: str) -> None:
    click.echo(f"auditor: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on; anything but loopback needs --allow-remote.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on (0: any free port).")
@click.option("--db", "db_url", metavar="URL",
              help="History database for the history and portfolio pages: sqlite:///FILE (or a file path) or postgresql://USER@HOST/DB.")
@click.option("--allow-remote", is_flag=True,
              help="Listen on a non-loopback address. The workbench has no authentication of its own: put it behind the "
                   "organisation's reverse proxy and single sign-on.")
@click.option("--max-upload-mb", default=50, show_default=True, type=click.IntRange(1, 4096), help="Largest upload, in MB.")
def serve(host: str, port: int, db_url: str | None, allow_remote: bool, max_upload_mb: int) -> None:
    """Start the local web workbench: upload a facility list or an operator profile, review how it is
    read, audit it, see the facilities on a map and download every report — in Chinese and English.

    Listens on 127.0.0.1 only unless --allow-remote is given with another --host. Uploaded files and
    reports stay in a temporary folder that is removed when the server stops. Stop it with Ctrl-C.

    \b
    Example:
      auditor serve                                   # then open http://127.0.0.1:8080/
      auditor serve --port 8800 --db sqlite:///reports/history.db
    """
    if not is_loopback(host) and not allow_remote:
        _fail(f"--host {host} is not a loopback address: the workbench has no authentication of its own, so it listens on "
              "127.0.0.1 unless --allow-remote is given (then put it behind a reverse proxy with single sign-on)")
    missing = _missing_modules()
    if missing:
        _fail(f"auditor serve needs {', '.join(missing)}: {INSTALL_HINT}")
    if db_url is not None:
        from auditor.errors import AuditorError
        from auditor.supervision import History

        try:
            History(db_url).close()  # a database that cannot be opened is said now, not on the first page
        except AuditorError as exc:
            _fail(str(exc))
    import uvicorn

    from auditor.web import create_app
    from auditor.web.app import LOOPBACK_HOSTS

    # no workdir: the app makes a temporary folder and removes it in its shutdown (lifespan), which
    # uvicorn runs on Ctrl-C and SIGTERM before it re-raises the signal
    app = create_app(db_url=db_url, max_upload_bytes=max_upload_mb * 1024 * 1024,
                     allowed_hosts=LOOPBACK_HOSTS if is_loopback(host) else None)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"auditor workbench: http://{shown}:{port}/  (Ctrl-C stops it; uploads are removed then)", err=True)
    if not is_loopback(host):
        click.echo("warning: listening beyond this machine with no authentication: put it behind a reverse proxy with "
                   "single sign-on", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)


def register(group: click.Group) -> None:
    """Add ``serve`` to ``group`` (the ``auditor`` command)."""
    group.add_command(serve)
