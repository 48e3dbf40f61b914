"""Facilities drawn for on-site checks: without replacement, reproducibly, weighted by risk.

Annex V of the notice asks the local communications administrations for "regular random checks"
of pilot enterprises. :func:`sample` draws ``n`` facilities (per stratum with ``by=``) from an
audit's facilities, each pick with the reason it was likely to be drawn and its exact inclusion
probability, so that the on-site outcomes give a design-based estimate of the whole list
(:func:`estimate`, Horvitz–Thompson; see :mod:`auditor.supervision.estimate`).

Risk categories and weights
---------------------------
Each facility falls in the first category that applies (``DEFAULT_WEIGHTS``; adjustable with
``weights=``, any subset, each a positive number):

============== ====== =====================================================================
category       weight a facility ...
============== ====== =====================================================================
``fail``       8      whose verdict is fail
``error``      4      whose row could not be read (nothing about it is proved)
``indeterminate`` 4   whose verdict is indeterminate ("check on site")
``waived``     4      whose only open findings are waived (covered, not fixed)
``near_line``  2      that passes within ``near_line_m`` (default 2,000 m) of the region's line
``new``        1.5    that passes and was not in the operator's previous audit
``rest``       1      every other passing facility
============== ====== =====================================================================

A facility's inclusion probability is proportional to its weight, capped at 1: with the defaults a
failing facility is 8 times as likely to be drawn as an ordinary passing one, until it is certain.
2,000 m is twice the coarsest line accuracy in the registry (Lingang's reconstructed cuts, ±1,000 m)
and about three times the largest GCJ-02/BD-09 offset (~700 m): a facility that passes that close
could be flipped by a wrong building or an unconverted coordinate.

``equal=True`` draws a simple random sample (every facility ``n/N``); the reasons still name the
category, for the record.

The design (:mod:`auditor.supervision.design`) is conditional Poisson sampling with the capped
proportional inclusion probabilities as targets: first- and second-order inclusion probabilities
are exact, not approximated. The draw is reproducible from ``seed`` alone (Python's
``random.Random(seed).random()`` stream; population sorted by operator, region, facility id and
row first, so the order of the input does not matter).

Example
-------
Two failing facilities among twenty, four picks: a failing one has 8 times the weight, so
``π = 8c`` against ``c`` for the others, with ``2·8c + 18c = 4``:

>>> recs = [FacilityRecord(operator="op", region="shanghai", facility_id=f"F{i:02}", verdict="fail" if i < 2 else "pass")
...         for i in range(20)]
>>> s = sample(recs, 4, seed=7)
>>> len(s.picks), [(g.category, g.size, round(g.probability, 4)) for g in s.strata[0].groups]
(4, [('fail', 2, 0.9412), ('rest', 18, 0.1176)])
>>> sample(recs, 4, seed=7).picks == s.picks
True
"""

from __future__ import annotations

import hashlib
import math
import random
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auditor.errors import UsageError
from auditor.supervision.design import StratumDesign, draw, fit_design
from auditor.supervision.estimate import Estimate, estimate, read_outcomes
from auditor.supervision.records import core_parts, facility_point, operator_key

if TYPE_CHECKING:
    from auditor.supervision.history import History

__all__ = [
    "CATEGORIES", "DEFAULT_NEAR_LINE_M", "DEFAULT_WEIGHTS", "Estimate", "FacilityRecord", "Pick", "STRATA", "Sample",
    "estimate", "read_outcomes", "records_from_history", "records_from_report", "sample",
]

#: Risk categories, most urgent first: a facility falls in the first that applies.
CATEGORIES = ("fail", "error", "indeterminate", "waived", "near_line", "new", "rest")
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "fail": 8.0, "error": 4.0, "indeterminate": 4.0, "waived": 4.0, "near_line": 2.0, "new": 1.5, "rest": 1.0,
}
#: A passing facility closer than this to the region's line (either side) is "near the line".
DEFAULT_NEAR_LINE_M = 2000.0
#: What ``by=`` may stratify on.
STRATA = ("operator", "region", "kind")
SAMPLE_SCHEMA = "pilot-zone-auditor/sample/1"


@dataclass(frozen=True, slots=True)
class FacilityRecord:
    """One facility of the population: who, where, what the audit said, and whether it is new."""

    operator: str
    region: str
    facility_id: str
    verdict: str
    row: int | None = None
    kind: str = ""
    name: str = ""
    signed_distance_m: float | None = None   # positive inside the line, negative outside
    new: bool = False                        # not in the operator's previous audit
    failed_rules: tuple[str, ...] = ()
    open_rules: tuple[str, ...] = ()         # indeterminate or waived rules
    run_id: int | None = None                # the recorded run it comes from, if any

    def sort_key(self) -> tuple[str, str, str, int]:
        return (self.operator, self.region, self.facility_id, self.row if self.row is not None else -1)


@dataclass(frozen=True, slots=True)
class Pick:
    """A facility drawn: why it was likely to be, and the probability it had of being drawn."""

    key: str                      # "operator / facility id" (with "#row" when an id repeats)
    record: FacilityRecord
    category: str
    reason: str
    weight: float
    inclusion_probability: float
    stratum: str
    group: int                    # its group in the stratum's design (for second-order probabilities)

    def as_dict(self) -> dict[str, Any]:
        r = self.record
        return {
            "key": self.key, "operator": r.operator, "region": r.region, "id": r.facility_id, "row": r.row, "kind": r.kind,
            "name": r.name, "verdict": r.verdict, "category": self.category, "reason": self.reason, "weight": self.weight,
            "inclusion_probability": self.inclusion_probability, "stratum": self.stratum,
            "signed_distance_m": r.signed_distance_m, "run_id": r.run_id,
        }


@dataclass(frozen=True)
class Sample:
    """Picks, the design they were drawn under (per stratum), and what is needed to estimate from them."""

    seed: int
    n: int
    by: str | None
    equal: bool
    weights: dict[str, float]
    near_line_m: float
    population: int
    strata: tuple[StratumDesign, ...]
    picks: tuple[Pick, ...]
    notes: tuple[str, ...] = ()
    population_by_category: dict[str, int] = field(default_factory=dict)

    def estimate(self, outcomes: Mapping[str, Any] | None = None, *, confidence: float = 0.95) -> Estimate:
        """The Horvitz–Thompson estimate of the non-compliant share (see :func:`estimate`)."""
        return estimate(self, outcomes, confidence=confidence)

    def as_dict(self, outcomes: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {
            "schema": SAMPLE_SCHEMA, "seed": self.seed, "n": self.n, "by": self.by, "equal": self.equal,
            "weights": dict(self.weights), "near_line_m": self.near_line_m, "population": self.population,
            "population_by_category": dict(self.population_by_category),
            "design": "conditional Poisson sampling (maximum entropy, fixed size) with inclusion probabilities "
                      "proportional to the weights, capped at 1; exact first- and second-order inclusion probabilities"
                      if not self.equal else "simple random sampling without replacement",
            "strata": [s.as_dict() for s in self.strata], "notes": list(self.notes),
            "picks": [p.as_dict() for p in self.picks], "estimate": self.estimate(outcomes).as_dict(),
        }


# --------------------------------------------------------------------------- the population


def _verdict_rules(fac: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    failed, open_ = [], []
    for x in fac.get("findings") or ():
        if not isinstance(x, Mapping):
            continue
        rule = str(x.get("rule", ""))
        if x.get("status") == "fail" and rule not in failed:
            failed.append(rule)
        elif x.get("status") in ("indeterminate", "waived") and rule not in open_:
            open_.append(rule)
    return tuple(failed), tuple(open_)


def records_from_report(report: Mapping[str, Any], *, previous: Mapping[str, Any] | Iterable[str] | None = None,
                        run_id: int | None = None) -> list[FacilityRecord]:
    """The facilities of a report.json mapping (or a loaded run) as sampling records.

    ``previous``: the operator's previous report (or its facility ids); a passing facility not in
    it is ``new``. Without it no facility counts as new. A streamed audit's report.json lists only
    the facilities that did not pass: sample from the history database, or an in-memory audit's
    report, to include the others.
    """
    operator = operator_key(report)
    region = str((report.get("region") or {}).get("id", ""))
    cores = core_parts(report)
    before: set[str] | None = None
    if isinstance(previous, Mapping):
        before = {str(f.get("id")) for f in previous.get("facilities") or () if isinstance(f, Mapping)}
    elif previous is not None:
        before = {str(x) for x in previous}
    out = []
    for fac in report.get("facilities") or ():
        if not isinstance(fac, Mapping):
            continue
        point = facility_point(fac, cores) or {}
        failed, open_ = _verdict_rules(fac)
        fid = str(fac.get("id", ""))
        out.append(FacilityRecord(
            operator=operator, region=region, facility_id=fid, verdict=str(fac.get("verdict") or "error"),
            row=fac.get("row") if isinstance(fac.get("row"), int) else None, kind=str(fac.get("kind") or ""),
            name=str(fac.get("name") or ""), signed_distance_m=point.get("signed_distance_m"),
            new=before is not None and fid not in before, failed_rules=failed, open_rules=open_, run_id=run_id,
        ))
    return out


def records_from_history(db: History, *, operator: str | None = None, region: str | None = None) -> list[FacilityRecord]:
    """The facilities of each operator's latest recorded run (one operator, one region, or all);
    ``new`` against that operator's run before it."""
    out: list[FacilityRecord] = []
    for name in [operator] if operator is not None else db.operators():
        runs = db.runs(name, region=region)
        if not runs:
            continue
        latest = runs[-1]
        before = db.previous(latest)
        out += records_from_report(db.load(latest.id), previous=db.load(before.id) if before else None, run_id=latest.id)
    return out


def categorise(r: FacilityRecord, near_line_m: float) -> tuple[str, str]:
    """(category, reason) of a facility: the first of :data:`CATEGORIES` that applies."""
    if r.verdict == "fail":
        return "fail", "fails " + (", ".join(r.failed_rules) or "a rule")
    if r.verdict == "error":
        return "error", "its row could not be read"
    if r.verdict == "indeterminate":
        return "indeterminate", "indeterminate: " + (", ".join(r.open_rules) or "no rule settled it") + " (check on site)"
    if r.verdict == "waived":
        return "waived", "waived, not fixed: " + (", ".join(r.open_rules) or "a waiver covers it")
    d = r.signed_distance_m
    if d is not None and math.isfinite(d) and abs(d) < near_line_m:
        return "near_line", f"passes {abs(d):,.0f} m from the line (under {near_line_m:,.0f} m)"
    if r.new:
        return "new", "new since the last audit"
    return "rest", "passes, neither near the line nor new"


def _weights(weights: Mapping[str, float | str] | None, equal: bool) -> dict[str, float]:
    chosen = dict(DEFAULT_WEIGHTS)
    for key, value in (weights or {}).items():
        if key not in CATEGORIES:
            raise UsageError("--weight", key, CATEGORIES)
        try:
            w = float(value)
        except (TypeError, ValueError):
            raise UsageError("--weight", value, (), message=f"--weight {key}: {value!r} is not a number") from None
        if not (math.isfinite(w) and w > 0):
            raise UsageError("--weight", value, (), message=f"--weight {key}: {value!r} must be a positive number "
                             "(a weight of 0 would leave facilities no chance, and the estimate would not cover them)")
        chosen[key] = w
    return {k: 1.0 for k in CATEGORIES} if equal else chosen


def _stratum_of(r: FacilityRecord, by: str | None) -> str:
    if by is None:
        return "(all)"
    return {"operator": r.operator, "region": r.region, "kind": r.kind or "(no kind)"}[by]


def _seed_for(seed: int, stratum: str) -> int:
    """Each stratum's own stream, from the seed and the stratum's name (adding a stratum changes no other's draw)."""
    return int.from_bytes(hashlib.sha256(f"{seed}\x1f{stratum}".encode()).digest()[:8], "big")


# --------------------------------------------------------------------------- the draw


def sample(
    records: Sequence[FacilityRecord],
    n: int,
    seed: int | None = None,
    by: str | None = None,
    equal: bool = False,
    weights: Mapping[str, float | str] | None = None,
    *,
    near_line_m: float = DEFAULT_NEAR_LINE_M,
) -> Sample:
    """Draw ``n`` facilities (``n`` per stratum with ``by``) without replacement, weighted by risk.

    Parameters
    ----------
    records : sequence of FacilityRecord
        The population (:func:`records_from_report`, :func:`records_from_history`).
    n : int
        Facilities to draw (per stratum with ``by``); a stratum with fewer is taken whole, and the
        sample's notes say so.
    seed : int, optional
        The seed; the same seed and population give the same picks. None: a fresh one, recorded in
        the sample (``Sample.seed``).
    by : {"operator", "region", "kind"}, optional
        Stratify: ``n`` facilities from each operator (region, kind), drawn independently.
    equal : bool, default False
        Simple random sampling (every facility equally likely) instead of risk weights.
    weights : mapping, optional
        Weights for some categories (:data:`CATEGORIES`), the rest from :data:`DEFAULT_WEIGHTS`.
    near_line_m : float, default 2000
        "Near the line": a passing facility closer than this to the region's line.

    Returns
    -------
    Sample
        Its ``picks`` (each with category, reason, weight, inclusion probability), the design of
        each stratum, and ``estimate(outcomes)``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise UsageError("--n", n, (), message=f"--n: {n!r} must be a whole number of facilities, at least 1")
    if by is not None and by not in STRATA:
        raise UsageError("--by", by, STRATA)
    if not (isinstance(near_line_m, (int, float)) and math.isfinite(near_line_m) and near_line_m >= 0):
        raise UsageError("--near-line", near_line_m, (), message=f"--near-line: {near_line_m!r} must be a distance in metres, 0 or more")
    if seed is None:
        seed = secrets.randbelow(2**63)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UsageError("--seed", seed, (), message=f"--seed: {seed!r} must be a whole number")
    chosen = _weights(weights, equal)
    population = sorted(records, key=FacilityRecord.sort_key)
    if not population:
        raise UsageError("records", "", (), message="there is no facility to sample from")
    keys = _keys(population)
    notes: list[str] = []
    if not any(r.new for r in population):
        notes.append("no facility counts as new: no previous audit was given, or nothing was added since")
    strata: dict[str, list[tuple[int, FacilityRecord, str, str]]] = {}
    by_category: dict[str, int] = {c: 0 for c in CATEGORIES}
    for i, r in enumerate(population):
        category, reason = categorise(r, near_line_m)
        by_category[category] += 1
        strata.setdefault(_stratum_of(r, by), []).append((i, r, category, reason))
    designs, picks = [], []
    for key in sorted(strata):
        members = strata[key]
        take = min(n, len(members))
        if take < n:
            notes.append(f"stratum {key}: only {len(members)} facilities, all taken")
        present = [c for c in CATEGORIES if any(m[2] == c for m in members)]
        design = fit_design(key, present, [sum(1 for m in members if m[2] == c) for c in present], [chosen[c] for c in present], take)
        designs.append(design)
        groups = [[m for m in members if m[2] == c] for c in present]
        positions = draw(design, random.Random(_seed_for(seed, key)))
        for g, (group, chosen_positions) in enumerate(zip(groups, positions)):
            gd = design.groups[g]
            for pos in chosen_positions:
                i, r, category, reason = group[pos]
                if equal:
                    reason = f"plain random (equal probability); {reason}"
                picks.append(Pick(key=keys[i], record=r, category=category, reason=reason, weight=gd.weight,
                                  inclusion_probability=gd.probability, stratum=key, group=g))
    picks.sort(key=lambda p: (p.stratum, p.record.sort_key()))
    return Sample(seed=seed, n=n, by=by, equal=equal, weights=chosen, near_line_m=float(near_line_m), population=len(population),
                  strata=tuple(designs), picks=tuple(picks), notes=tuple(notes), population_by_category=by_category)


def _keys(population: Sequence[FacilityRecord]) -> list[str]:
    """"operator / id", with "#row" where one operator's id repeats (error rows may share an id)."""
    seen: dict[tuple[str, str], int] = {}
    for r in population:
        seen[(r.operator, r.facility_id)] = seen.get((r.operator, r.facility_id), 0) + 1
    return [f"{r.operator} / {r.facility_id}" + (f"#{r.row}" if seen[(r.operator, r.facility_id)] > 1 else "") for r in population]
