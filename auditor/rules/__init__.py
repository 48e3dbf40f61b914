"""The rules: one module per clause check, its id the module's name.

Each module defines ``SPEC`` (a :class:`RuleSpec`) and ``evaluate(ctx) -> list[Finding]``,
a pure function of the :class:`RuleContext`: rules receive resolved evidence and
never fetch it.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from types import ModuleType

from auditor.rules.base import RuleContext, RuleSpec

__all__ = ["RULE_IDS", "RuleContext", "RuleSpec", "all_rules", "rule_module"]

RULE_IDS: tuple[str, ...] = (
    "service_eligible",
    "equity_within_cap",
    "region_active",
    "pilot_approval_covers_services",
    "registration_in_region",
    "facility_in_region",
    "cdn_nodes_in_region",
    "isp_footprint_in_region",
    "isp_upstream_basic_telecom",
    "location_evidence_consistent",
)


def rule_module(rule_id: str) -> ModuleType:
    return importlib.import_module(f"auditor.rules.{rule_id}")


@lru_cache(maxsize=1)
def all_rules() -> tuple[ModuleType, ...]:
    """Every rule module, in catalogue order."""
    return tuple(rule_module(r) for r in RULE_IDS)
