"""Pilot-zone facility auditor: does an operator's infrastructure lie inside its pilot region?

The public API is small and flat::

    import auditor
    result = auditor.audit("examples/shanghai-operator/operator.yaml")
    auditor.render(result, "json")
"""

from __future__ import annotations

from auditor._version import __version__

__all__ = ["__version__", "audit", "audit_streamed", "load_inventory", "load_registry", "locate", "render", "verify_bundle", "where", "write_bundle", "write_reports"]


def __getattr__(name: str):  # noqa: ANN202 - lazy re-exports keep `import auditor` cheap
    if name == "audit":
        from auditor.engine import audit

        return audit
    if name == "audit_streamed":
        from auditor.engine.stream import audit_streamed

        return audit_streamed
    if name == "load_inventory":
        from auditor.inventory import load_inventory

        return load_inventory
    if name == "load_registry":
        from auditor.regions import load_registry

        return load_registry
    if name in ("render", "write_reports"):
        from auditor import report

        return getattr(report, name)
    if name in ("write_bundle", "verify_bundle"):
        from auditor import bundle

        return getattr(bundle, name)
    if name == "where":
        from auditor.engine.where import where

        return where
    if name == "locate":
        from auditor.engine.locate import locate

        return locate
    raise AttributeError(f"module 'auditor' has no attribute {name!r}")
