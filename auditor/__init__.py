"""Pilot-zone facility auditor: does an operator's infrastructure lie inside its pilot region?

The public API is small and flat (numpydoc on each; ``docs/api.md`` lists them)::

    import auditor
    result = auditor.audit("examples/shanghai-operator/operator.yaml")   # or a DataFrame
    result.facilities_frame()                                            # a GeoDataFrame
    auditor.where(lons, lats, region="shanghai")                         # a DataFrame
    auditor.render(result, "json")

Names are imported on first use, so ``import auditor`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auditor._version import __version__

if TYPE_CHECKING:  # what type checkers and IDEs see through the lazy names below
    from auditor.api import (
        AuditorError,
        AuditResult,
        BoundaryError,
        DataError,
        InputError,
        InventoryError,
        LongListWarning,
        RegionalAudit,
        RegistryError,
        UsageError,
        audit,
        diff,
        load_inventory,
        load_registry,
        locate,
        regions_frame,
        where,
    )
    from auditor.bundle import verify_bundle, write_bundle
    from auditor.engine.stream import audit_streamed
    from auditor.report import render, write_reports

__all__ = [
    "__version__",
    "AuditResult", "RegionalAudit",
    "AuditorError", "BoundaryError", "DataError", "InputError", "InventoryError", "LongListWarning", "RegistryError", "UsageError",
    "audit", "audit_streamed", "diff", "load_inventory", "load_registry", "locate", "regions_frame", "render",
    "verify_bundle", "where", "write_bundle", "write_reports",
]

_FROM = {
    "audit_streamed": "auditor.engine.stream",
    "render": "auditor.report", "write_reports": "auditor.report",
    "write_bundle": "auditor.bundle", "verify_bundle": "auditor.bundle",
}


def __getattr__(name: str) -> Any:
    if name in __all__:
        import importlib

        value = getattr(importlib.import_module(_FROM.get(name, "auditor.api")), name)
        globals()[name] = value  # once found, an ordinary attribute
        return value
    raise AttributeError(f"module 'auditor' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
