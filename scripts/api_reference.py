#!/usr/bin/env python
"""Write docs/api.md, the API reference, from the public names' docstrings (numpydoc).

    python scripts/api_reference.py          # rewrite docs/api.md
    python scripts/api_reference.py --check  # exit 1 if docs/api.md is not what the code says

tests/api/test_api_reference.py runs the check, so the page cannot fall behind the code.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import auditor  # noqa: E402

FUNCTIONS = ["audit", "where", "locate", "regions_frame", "diff", "load_inventory", "load_registry", "render", "write_reports",
             "audit_streamed", "write_bundle", "verify_bundle"]
CLASSES = {"AuditResult": ["verdict", "exit_code", "facilities_frame", "findings_frame", "facility_verdict", "facility_basis"],
           "RegionalAudit": ["verdict", "exit_code", "facilities_frame", "findings_frame"]}
ERRORS = ["AuditorError", "InputError", "InventoryError", "UsageError", "DataError", "BoundaryError", "RegistryError", "LongListWarning"]


def _signature(obj: object) -> str:
    try:
        text = str(inspect.signature(obj))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "()"
    return text.replace("'", "")


def _block(doc: str | None) -> str:
    """A numpydoc docstring as a fenced block (its underlined section titles are not Markdown headings)."""
    return f"```text\n{doc}\n```" if doc else "(no docstring)"


def render() -> str:
    out = ["# API reference", "",
           "Generated from the docstrings by `python scripts/api_reference.py`; a test fails when it falls behind.",
           "Everything below is `auditor.<name>` after `import auditor`.", ""]
    out += ["## Functions", ""]
    for name in FUNCTIONS:
        fn = getattr(auditor, name)
        out += [f"### `auditor.{name}`", "", f"```python\n{name}{_signature(fn)}\n```", "", _block(inspect.getdoc(fn)), ""]
    out += ["## Results", ""]
    for cls_name, members in CLASSES.items():
        cls = getattr(auditor, cls_name)
        out += [f"### `auditor.{cls_name}`", "", _block(inspect.getdoc(cls)), ""]
        for m in members:
            attr = inspect.getattr_static(cls, m)
            target = attr.fget if isinstance(attr, property) else attr
            kind = "property" if isinstance(attr, property) else f"method{_signature(target)}"
            out += [f"#### `{cls_name}.{m}` ({kind})", "", _block(inspect.getdoc(target)), ""]
    out += ["## Errors and warnings", "", "| exception | is a | what it means |", "|---|---|---|"]
    for name in ERRORS:
        cls = getattr(auditor, name)
        bases = ", ".join(b.__name__ for b in cls.__bases__)
        out.append(f"| `auditor.{name}` | {bases} | {(inspect.getdoc(cls) or '').splitlines()[0]} |")
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    path = REPO / "docs" / "api.md"
    text = render()
    if args.check:
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            print(f"{path} is out of date: run python scripts/api_reference.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
