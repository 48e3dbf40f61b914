"""Reading YAML and JSON documents from outside, safely: one loader each, bounded in size and depth.

Profiles, waivers, DNS recordings, latency files, ASN recordings and reports given to ``diff``
all come from someone else. A YAML alias bomb (a billion laughs) or a JSON document nested
100,000 deep must end in a clear refusal naming the file, not in gigabytes of memory or a
``RecursionError``; ``/dev/zero`` given as an evidence file must be refused before it is read.

- :func:`load_yaml`: PyYAML's SafeLoader (no tags that build objects), aliases refused,
  nesting limited to :data:`MAX_DEPTH`.
- :func:`load_json`: :func:`json.loads`, nesting limited to :data:`MAX_DEPTH` (checked on the
  parsed value, and the interpreter's own recursion limit turned into the same refusal).
- :func:`read_text` / :func:`check_regular_file`: only regular files, at most a stated size.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import InputError, os_reason

__all__ = ["MAX_DEPTH", "check_regular_file", "load_json", "load_yaml", "read_text"]

#: Deepest nesting any document of ours needs is under 10; 100 leaves room and stops bombs early.
MAX_DEPTH = 100


class _AliasRefused(yaml.composer.ComposerError):
    pass


class _Loader(yaml.SafeLoader):
    """SafeLoader without aliases (expansion bombs) and with a nesting limit."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _AliasRefused(None, None, "aliases (*name) are not allowed", event.start_mark)
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str, *, source: str, what: str = "YAML document") -> Any:
    """Parse ``text`` as YAML, or raise :class:`InputError` naming ``source``, the line and the problem.

    >>> load_yaml("a: &x [1]\\nb: *x", source="w.yaml", what="waivers file")
    Traceback (most recent call last):
    ...
    auditor.errors.InputError: w.yaml: cannot parse waivers file (line 2, column 4): aliases (*name) are not allowed in a waivers file
    """
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, _AliasRefused):
            problem += f" in a {what}"
        raise InputError(f"cannot parse {what}{where}: {problem}", source=source) from None
    except RecursionError:
        raise InputError(f"cannot parse {what}: nested more than {MAX_DEPTH} levels deep", source=source) from None


def load_json(text: str | bytes, *, source: str, what: str = "JSON") -> Any:
    """Parse ``text`` as JSON, or raise :class:`InputError` naming ``source`` and the line."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid {what} (line {exc.lineno}, column {exc.colno}): {exc.msg}", source=source) from None
    except RecursionError:
        raise InputError(f"not valid {what}: nested more than {MAX_DEPTH} levels deep", source=source) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid {what}: not UTF-8 text ({exc.reason} at byte {exc.start})", source=source) from None
    if _depth(doc) > MAX_DEPTH:
        raise InputError(f"not valid {what}: nested more than {MAX_DEPTH} levels deep", source=source)
    return doc


def _depth(doc: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))
    return deepest


def check_regular_file(path: str | os.PathLike[str], *, what: str, max_bytes: int | None = None) -> Path:
    """``path`` as a :class:`Path` if it is a regular file (not a device, FIFO or folder) within
    ``max_bytes``; otherwise :class:`InputError` naming it. A missing file is left for the reader
    to report as it always has."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        return p
    except OSError as exc:
        raise InputError(f"cannot read the {what}: {os_reason(exc)}", source=str(p)) from None
    import stat

    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"the {what} is not a regular file (a device, pipe or folder cannot be read as one)", source=str(p))
    if max_bytes is not None and st.st_size > max_bytes:
        raise InputError(f"the {what} is {st.st_size:,} bytes, more than the {max_bytes:,} a {what} may be", source=str(p))
    return p


def read_text(path: str | os.PathLike[str], *, what: str, max_bytes: int, encoding: str = "utf-8") -> str:
    """The text of a regular file of at most ``max_bytes``; :class:`InputError` naming it otherwise."""
    p = check_regular_file(path, what=what, max_bytes=max_bytes)
    try:
        return p.read_text(encoding=encoding)
    except FileNotFoundError:
        raise InputError(f"the {what} does not exist", source=str(p)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"the {what} is not {encoding} text ({exc.reason} at byte {exc.start})", source=str(p)) from None
    except OSError as exc:
        raise InputError(f"cannot read the {what}: {os_reason(exc)}", source=str(p)) from None
