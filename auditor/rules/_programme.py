"""The programme an operator is under, for the rules that read it (services, caps, approvals, region status)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.regions import Programme

if TYPE_CHECKING:
    from auditor.rules.base import RuleContext

__all__ = ["programme_of", "unknown_programme", "declared_categories"]


def programme_of(ctx: RuleContext) -> Programme | None:
    """The operator's programme (the registry's default when the profile names none); None if unknown."""
    pid = ctx.operator.programme or ctx.registry.default_programme
    return ctx.registry.programmes.get(pid)


def unknown_programme(ctx: RuleContext) -> str:
    """The sentence a finding gives when the profile names a programme the registry does not know."""
    known = ", ".join(f"{p.id} ({p.number})" for p in ctx.registry.programmes.values())
    return f"The profile names the programme {ctx.operator.programme!r}, which the registry does not know; known: {known}."


def declared_categories(ctx: RuleContext) -> dict[str, list[str]]:
    """Catalogue category -> the declared service names read into it (excluded and unknown names left out)."""
    out: dict[str, list[str]] = {}
    for name in ctx.operator.services:
        found = ctx.registry.service_category(name)
        if found is not None and found[0] == "category":
            out.setdefault(found[1], []).append(name)
    return out
