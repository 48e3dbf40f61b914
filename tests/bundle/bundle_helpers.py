"""Helpers shared by the bundle tests: reading a bundle's members, writing a careful forgery (members in
the canonical form with a manifest recomputed independently of the code under test), running the CLI."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

from click.testing import CliRunner

from auditor.bundle.archive import entry_of, write_canonical_zip
from auditor.cli import main


def read_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def manifest_of(body: dict[str, bytes]) -> bytes:
    return "".join(f"{hashlib.sha256(body[n]).hexdigest()}  {n}\n" for n in sorted(body, key=lambda n: n.encode())).encode()


def rewrite(members: dict[str, bytes], out: Path) -> Path:
    """``members`` in the auditor's canonical form with a manifest recomputed: what a careful forger does."""
    body = {n: b for n, b in members.items() if n != "MANIFEST.sha256"}
    order = ["bundle.json"] + sorted((n for n in body if n != "bundle.json"), key=lambda n: n.encode())
    write_canonical_zip(out, [entry_of(n, body[n]) for n in order] + [entry_of("MANIFEST.sha256", manifest_of(body))])
    return out


def run_cli(args: list[str], cwd: Path) -> tuple[int, str]:
    """``auditor ARGS`` run in ``cwd``; (exit status, output). Fails the test on an uncaught exception."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        res = CliRunner().invoke(main, args)
    finally:
        os.chdir(old)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    return res.exit_code, res.output
