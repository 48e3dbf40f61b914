"""What a checked sample says about the whole list: the Horvitz–Thompson estimate of the share of
non-compliant facilities, with its variance and a confidence interval.

For each stratum ``h`` (one, unless the sample was stratified) and each pick ``k`` with outcome
``y_k`` (1 non-compliant, 0 compliant) and inclusion probability ``π_k``:

* total:    ``t̂_h = Σ_k y_k / π_k``  (Horvitz & Thompson 1952), unbiased for the number of
  non-compliant facilities in the stratum;
* variance: ``v_h = Σ_{k<l} (π_k π_l − π_kl) / π_kl · (y_k/π_k − y_l/π_l)²`` (Sen 1953; Yates & Grundy
  1953), unbiased for the fixed-size design, with the design's exact ``π_kl``; never negative under
  conditional Poisson sampling. Certainty units add nothing.

The share is ``p̂ = Σ_h t̂_h / N`` with variance ``Σ_h v_h / N²`` (strata are drawn independently).

The interval is Korn & Graubard's (1998) Clopper–Pearson interval for survey data: an exact
binomial interval for ``x* = p̂ n*`` successes in ``n*`` trials, the effective sample size
``n* = p̂(1 − p̂) / v``, **capped at the number of picks** (a design effect of at least 1). The cap
matters for risk-weighted samples: the variance estimate rests on few picks, and where the picks of
a category (the many low-weight passing facilities) showed no non-compliance it says nothing of
the facilities of that category left unchecked, so an uncapped ``n*`` (hundreds, from 10 picks)
would claim a precision the checks do not have. When ``v = 0`` or ``p̂`` is 0 or 1 (nothing
non-compliant found), ``n*`` is the number of picks, so that finding nothing among 20 picks still
gives an upper bound (16.8 % at 95 %), never a zero-width interval. A sample that holds every
facility is a census: the interval is the share itself.
``p̂`` is reported as computed (an HT share can exceed 1 in an unlucky sample); the interval is in [0, 1].

Without on-site outcomes the audit's verdicts stand in (fail = non-compliant): a provisional,
desk estimate, and the estimate says so.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.errors import InputError, UsageError

if TYPE_CHECKING:
    from auditor.supervision.sample import Sample

__all__ = ["Estimate", "estimate", "outcome_value", "read_outcomes"]

SOURCE_ONSITE = "on-site outcomes"
SOURCE_VERDICTS = "audit verdicts (provisional: fail counts as non-compliant, anything else as compliant)"
NON_COMPLIANT = ("non_compliant", "non-compliant", "noncompliant", "fail", "failed", "1", "true", "不合规", "违规")
COMPLIANT = ("compliant", "pass", "passed", "0", "false", "合规")
MAX_OUTCOMES_BYTES = 64 << 20


@dataclass(frozen=True)
class Estimate:
    """The estimated share of non-compliant facilities in the population, and how sure it is."""

    population: int
    picks: int
    non_compliant_picks: int
    total: float                # estimated number of non-compliant facilities (HT)
    share: float                # total / population
    variance: float             # of the share
    confidence: float
    low: float
    high: float
    effective_n: float
    source: str
    census: bool = False
    strata: tuple[dict[str, Any], ...] = field(default=())

    @property
    def standard_error(self) -> float:
        return math.sqrt(self.variance)

    def sentence(self) -> str:
        """One sentence a regulator can quote."""
        pct = f"{self.confidence * 100:g} %"
        return (f"{self.non_compliant_picks} of {self.picks} facilities checked are non-compliant ({self.source}); "
                f"estimated non-compliant share of all {self.population}: {self.share * 100:.1f} % "
                f"({pct} confidence interval {self.low * 100:.1f} %–{self.high * 100:.1f} %; about {self.total:.1f} facilities)"
                + (" — the sample is the whole list" if self.census else ""))

    def as_dict(self) -> dict[str, Any]:
        return {
            "population": self.population, "picks": self.picks, "non_compliant_picks": self.non_compliant_picks,
            "total": round(self.total, 6), "share": round(self.share, 6), "variance": round(self.variance, 9),
            "standard_error": round(self.standard_error, 6), "confidence": self.confidence,
            "interval": [round(self.low, 6), round(self.high, 6)], "effective_n": round(self.effective_n, 3),
            "census": self.census, "source": self.source,
            "method": "Horvitz-Thompson total, Sen-Yates-Grundy variance with the design's exact joint inclusion "
                      "probabilities, Korn-Graubard (1998) Clopper-Pearson interval on the effective sample size",
            "strata": list(self.strata), "sentence": self.sentence(),
        }


def outcome_value(value: Any, where: str = "outcome") -> bool:
    """True for non-compliant, False for compliant, from a bool or a word (non_compliant, compliant, fail, pass, 1, 0, 不合规, 合规)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in NON_COMPLIANT:
        return True
    if text in COMPLIANT:
        return False
    raise UsageError(where, value, ("non_compliant", "compliant"),
                     message=f"{where}: {value!r} is neither non-compliant ({', '.join(NON_COMPLIANT)}) nor compliant ({', '.join(COMPLIANT)})")


def read_outcomes(path: str | Path) -> dict[str, bool]:
    """On-site outcomes from a CSV: an ``outcome`` column and ``key`` (as the sample writes it), or
    ``operator`` and ``id``, or ``id`` alone. The sample's own CSV, its ``outcome`` column filled in, will do.
    Rows with an empty outcome are left out (an unchecked pick then stops the estimate, naming it)."""
    from auditor.documents import read_text

    source = str(path)
    if not Path(path).is_file():
        raise InputError("outcomes file not found", source=source)
    text = read_text(path, what="outcomes", max_bytes=MAX_OUTCOMES_BYTES)
    rows = list(csv.DictReader(text.lstrip("\ufeff").splitlines()))
    if not rows or "outcome" not in (rows[0].keys()):
        raise InputError("no 'outcome' column", source=source, hint="columns: key (or operator and id, or id) and outcome")
    out: dict[str, bool] = {}
    for n, row in enumerate(rows, start=2):
        value = (row.get("outcome") or "").strip()
        if not value:
            continue
        key = (row.get("key") or "").strip()
        if not key and (row.get("operator") or "").strip() and (row.get("id") or "").strip():
            key = f"{row['operator'].strip()} / {row['id'].strip()}"
        key = key or (row.get("id") or "").strip()
        if not key:
            raise InputError(f"row {n} names no facility (key, operator + id, or id)", source=source)
        out[key] = outcome_value(value, f"{source}, row {n}")
    return out


def _outcomes_for(sample: Sample, outcomes: Mapping[str, Any]) -> list[bool]:
    by_id: dict[str, list[str]] = {}
    for p in sample.picks:
        by_id.setdefault(p.record.facility_id, []).append(p.key)
    resolved: dict[str, bool] = {}
    unknown = []
    for key, value in outcomes.items():
        k = str(key)
        if any(p.key == k for p in sample.picks):
            resolved[k] = outcome_value(value, f"outcome of {k}")
        elif len(by_id.get(k, [])) == 1:
            resolved[by_id[k][0]] = outcome_value(value, f"outcome of {k}")
        else:
            unknown.append(k)
    if unknown:
        raise UsageError("outcomes", unknown[0], (), message="outcomes for facilities that are not picks of this sample "
                         f"(or ids that are ambiguous across operators): {', '.join(sorted(unknown)[:10])}")
    missing = [p.key for p in sample.picks if p.key not in resolved]
    if missing:
        raise UsageError("outcomes", missing[0], (), message=f"{len(missing)} pick(s) have no on-site outcome: "
                         f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}; every pick must be checked for the estimate")
    return [resolved[p.key] for p in sample.picks]


def estimate(sample: Sample, outcomes: Mapping[str, Any] | None = None, *, confidence: float = 0.95) -> Estimate:
    """The Horvitz–Thompson estimate of the non-compliant share of the sampled population.

    Parameters
    ----------
    sample : Sample
        What :func:`auditor.supervision.sample.sample` drew.
    outcomes : mapping, optional
        Pick key (``"operator / id"``), or facility id when unambiguous → non-compliant (True, or a
        word: non_compliant/compliant, fail/pass, 1/0, 不合规/合规), one for every pick. None: the
        audit's verdicts stand in (fail = non-compliant), a provisional estimate.
    confidence : float, default 0.95

    Examples
    --------
    >>> from auditor.supervision.sample import FacilityRecord, sample
    >>> recs = [FacilityRecord("op", "shanghai", f"F{i:02}", "fail" if i < 5 else "pass") for i in range(50)]
    >>> s = sample(recs, 10, seed=1)
    >>> e = estimate(s, {p.key: p.record.facility_id == "F00" for p in s.picks})   # one found non-compliant on site
    >>> e.non_compliant_picks, round(e.total, 4), round(e.share, 4)
    (1, 1.0625, 0.0212)
    """
    import numpy as np
    from scipy.stats import beta

    if not 0 < confidence < 1:
        raise UsageError("confidence", confidence, (), message=f"confidence {confidence!r} must be between 0 and 1")
    if outcomes is None:
        ys = [p.record.verdict == "fail" for p in sample.picks]
        source = SOURCE_VERDICTS
    else:
        ys = _outcomes_for(sample, outcomes)
        source = SOURCE_ONSITE
    designs = {d.key: d for d in sample.strata}
    total, variance = 0.0, 0.0
    per_stratum = []
    for key, design in designs.items():
        idx = [i for i, p in enumerate(sample.picks) if p.stratum == key]
        y = np.asarray([1.0 if ys[i] else 0.0 for i in idx])
        pi = np.asarray([sample.picks[i].inclusion_probability for i in idx])
        groups = [sample.picks[i].group for i in idx]
        expanded = y / pi if len(idx) else np.zeros(0)
        t = float(expanded.sum())
        joint = np.asarray(design.joint, dtype=float)[np.ix_(groups, groups)] if idx else np.zeros((0, 0))
        upper = np.triu(np.ones_like(joint, dtype=bool), k=1) & (joint > 0)  # every pair once; π_kl > 0 for any pair drawn together
        terms = (np.outer(pi, pi) - joint) / np.where(upper, joint, 1.0) * np.subtract.outer(expanded, expanded) ** 2
        v = max(float(terms[upper].sum()), 0.0)  # max: rounding only, SYG is non-negative under conditional Poisson sampling
        total += t
        variance += v
        per_stratum.append({"stratum": key, "population": design.size, "picks": len(idx), "non_compliant_picks": int(y.sum()),
                            "total": round(t, 6), "share": round(t / design.size, 6) if design.size else 0.0,
                            "standard_error_of_share": round(math.sqrt(v) / design.size, 6) if design.size else 0.0})
    population = sample.population
    share = total / population
    var_share = variance / population**2
    census = all(d.n == d.size for d in sample.strata)
    picks = len(sample.picks)
    p = min(max(share, 0.0), 1.0)
    if census:
        low = high = p
        n_eff = float(picks)
    else:
        # capped at the number of picks: a design effect of at least 1 (see the module docstring)
        n_eff = min(p * (1 - p) / var_share, float(picks)) if var_share > 0 and 0 < p < 1 else float(picks)
        x = p * n_eff
        alpha = 1 - confidence
        low = 0.0 if x <= 0 else float(beta.ppf(alpha / 2, x, n_eff - x + 1))
        high = 1.0 if x >= n_eff else float(beta.ppf(1 - alpha / 2, x + 1, n_eff - x))
    return Estimate(population=population, picks=picks, non_compliant_picks=sum(ys), total=total, share=share,
                    variance=var_share, confidence=confidence, low=low, high=high, effective_n=n_eff, source=source,
                    census=census, strata=tuple(per_stratum))
