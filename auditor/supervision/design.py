"""A fixed-size sampling design without replacement with exact inclusion probabilities: conditional
Poisson sampling (CPS, the maximum-entropy design) over groups of equally weighted units.

Why this design
---------------
Risk weights are categorical (every failing facility weighs the same, every indeterminate one ...),
so the population is a few groups ``g`` of ``N_g`` exchangeable units. The target first-order
inclusion probabilities are proportional to the weights, capped at 1 (Särndal, Swensson & Wretman
1992, §3.6): ``π*_g = min(1, c·w_g)`` with ``Σ N_g π*_g = n``; a group whose ``c·w_g`` reaches 1 is
taken whole (certainty units), ``m`` units are drawn from the others.

Among all fixed-size designs with those inclusion probabilities, CPS has maximum entropy (Hájek
1964; Chen, Dempster & Liu 1994): a sample ``s`` of size ``m`` has probability proportional to
``Π_{k∈s} r_k`` for working odds ``r_k = exp(λ_k)``. With tied odds per group, the number drawn from
each group, ``(m_1, …, m_G)``, has probability ``∝ Π_g C(N_g, m_g) r_g^{m_g}`` (``Σ m_g = m``), and given
those counts each group's units are a simple random sample. Hence, exactly (to floating point):

* first order:  ``π_g = E[m_g] / N_g``
* second order: ``π_gg = E[m_g (m_g − 1)] / (N_g (N_g − 1))`` within a group,
  ``π_gh = E[m_g m_h] / (N_g N_h)`` across groups (certainty units: ``π_kl = π_l``)

computed from the exact distribution of the counts (convolutions of ``C(N_g, j) r_g^j``, in log
space, truncated at ``m``). The odds are fitted so that ``π_g = π*_g`` (the fixed-point iteration of
Chen et al. 1994 on the logits; it converges to ``|π − π*| < 1e-12`` in a few dozen steps), so the
design's inclusion probabilities are the targets exactly, and its second-order probabilities are
known exactly for the Sen–Yates–Grundy variance. CPS satisfies ``π_k π_l ≥ π_kl`` (the SYG estimator
is never negative). Cost: ``O(G² m²)`` per design, with ``G ≤ 7`` groups — well under a second for
``m`` of a few hundred.

Drawing: the counts ``m_g`` one group after another from their exact conditional distribution, then
each group's units by selection sampling (Knuth's Algorithm S), every decision taken from
``random.Random(seed).random()`` — the one stream Python guarantees to reproduce across versions
for the same seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

__all__ = ["GroupDesign", "StratumDesign", "draw", "fit_design", "target_probabilities"]

#: The fitted inclusion probabilities match their targets to this (absolute).
TOLERANCE = 1e-12
MAX_ITERATIONS = 10_000


@dataclass(frozen=True)
class GroupDesign:
    """One group of exchangeable units: its size, weight, inclusion probability and working log-odds."""

    category: str
    size: int
    weight: float
    probability: float          # first-order inclusion probability of each of its units
    certain: bool               # taken whole (the capped weight reached 1)
    log_odds: float = 0.0       # CPS working parameter λ_g (0 for certain groups)

    def as_dict(self) -> dict[str, object]:
        return {"category": self.category, "size": self.size, "weight": self.weight,
                "inclusion_probability": self.probability, "certain": self.certain, "log_odds": self.log_odds}


@dataclass(frozen=True)
class StratumDesign:
    """The design of one stratum: ``n`` units out of ``size``, in groups; ``joint[g][h]`` = π_gh."""

    key: str
    size: int
    n: int
    groups: tuple[GroupDesign, ...]
    joint: tuple[tuple[float, ...], ...] = field(default=())

    def pair_probability(self, g: int, h: int) -> float:
        """π_kl for a unit of group ``g`` and another unit of group ``h`` (``g == h``: two units of one group)."""
        return self.joint[g][h]

    def as_dict(self) -> dict[str, object]:
        return {"key": self.key, "size": self.size, "n": self.n, "groups": [g.as_dict() for g in self.groups],
                "joint_inclusion": [list(row) for row in self.joint]}


def target_probabilities(sizes: Sequence[int], weights: Sequence[float], n: int) -> tuple[list[float], list[bool]]:
    """``π*_g = min(1, c·w_g)`` with ``Σ N_g π*_g = n`` (iterative capping), and which groups are certain.

    >>> target_probabilities([2, 8], [8.0, 1.0], 4)
    ([1.0, 0.25], [True, False])
    >>> target_probabilities([5, 5], [2.0, 1.0], 3)
    ([0.4, 0.2], [False, False])
    """
    total = sum(sizes)
    if not 0 <= n <= total:
        raise ValueError(f"cannot draw {n} of {total}")
    certain = [False] * len(sizes)
    while True:
        left = n - sum(s for s, c in zip(sizes, certain) if c)
        mass = sum(s * w for s, w, c in zip(sizes, weights, certain) if not c)
        scale = left / mass if mass > 0 else 0.0
        newly = [i for i, (w, c) in enumerate(zip(weights, certain)) if not c and sizes[i] and scale * w >= 1.0]
        if not newly:
            break
        for i in newly:
            certain[i] = True
    probs = [1.0 if c else min(1.0, scale * w) for w, c in zip(weights, certain)]
    return probs, certain


def _log_terms(size: int, log_odds: float, top: int) -> np.ndarray:
    """log( C(size, j) · r^j ) for j = 0..min(size, top)."""
    j = np.arange(min(size, top) + 1, dtype=float)
    return np.asarray([math.lgamma(size + 1) - math.lgamma(k + 1) - math.lgamma(size - k + 1) for k in j]) + j * log_odds


def _logconv(a: np.ndarray, b: np.ndarray, top: int) -> np.ndarray:
    """log of the convolution of exp(a) and exp(b), truncated at degree ``top`` (each factor scaled by its maximum)."""
    ma, mb = float(a.max()), float(b.max())
    linear = np.convolve(np.exp(a - ma), np.exp(b - mb))[: top + 1]
    with np.errstate(divide="ignore"):
        return np.log(linear) + ma + mb


def _product(terms: Sequence[np.ndarray], top: int) -> np.ndarray:
    out = np.zeros(1)  # log 1: the empty product
    for t in terms:
        out = _logconv(out, t, top)
    return out


def _moments(sizes: Sequence[int], log_odds: Sequence[float], m: int) -> tuple[np.ndarray, np.ndarray]:
    """E[m_g] and E[m_g m_h] (E[m_g (m_g − 1)] on the diagonal) under CPS counts with Σ m_g = m."""
    G = len(sizes)
    terms = [_log_terms(s, lam, m) for s, lam in zip(sizes, log_odds)]
    whole = _product(terms, m)
    if len(whole) <= m or not np.isfinite(whole[m]):
        raise ArithmeticError(f"the design cannot place {m} units in groups of sizes {list(sizes)}")
    log_q = whole[m]
    first = np.zeros(G)
    second = np.zeros((G, G))
    for g in range(G):
        rest = _product([t for i, t in enumerate(terms) if i != g], m)
        j = np.arange(len(terms[g]))
        ok = (m - j >= 0) & (m - j < len(rest))
        p = np.zeros(len(j))
        p[ok] = np.exp(terms[g][ok] + rest[(m - j)[ok]] - log_q)
        first[g] = float((j * p).sum())
        second[g, g] = float((j * (j - 1) * p).sum())
        for h in range(g + 1, G):
            others = _product([t for i, t in enumerate(terms) if i not in (g, h)], m)
            jg = np.arange(len(terms[g]))[:, None]
            jh = np.arange(len(terms[h]))[None, :]
            left = m - jg - jh
            valid = (left >= 0) & (left < len(others))
            logp = np.full(valid.shape, -np.inf)
            logp[valid] = (terms[g][:, None] + terms[h][None, :])[valid] + others[left[valid]] - log_q
            second[g, h] = second[h, g] = float((jg * jh * np.exp(logp)).sum())
    return first, second


@lru_cache(maxsize=256)
def _fit(sizes: tuple[int, ...], targets: tuple[float, ...], m: int) -> tuple[tuple[float, ...], tuple[float, ...], tuple[tuple[float, ...], ...]]:
    """Working log-odds with CPS inclusion probabilities equal to ``targets``; (λ, π, π_gh)."""
    pi_star = np.asarray(targets)
    lam = np.log(pi_star / (1 - pi_star))  # Poisson sampling's odds: the usual starting point
    step, last_gap = 1.0, np.inf
    for _ in range(MAX_ITERATIONS):
        first, second = _moments(sizes, lam, m)
        pi = first / np.asarray(sizes)
        gap = np.abs(pi - pi_star).max()
        if gap < TOLERANCE:
            break
        if gap >= last_gap:
            # the full step can oscillate (two units, one pick: the odds' difference flips sign each
            # round and never settles); a shorter step contracts
            step = max(step / 2, 1 / 64)
        last_gap = gap
        lam = lam + step * (np.log(pi_star / (1 - pi_star)) - np.log(pi / (1 - pi)))
    else:  # pragma: no cover - with the step shortened on a non-decreasing gap the iteration contracts
        raise ArithmeticError(f"the conditional Poisson design did not converge (gap {gap:.3g})")
    s = np.asarray(sizes, dtype=float)
    joint = second / np.outer(s, s)
    for g, size in enumerate(sizes):
        joint[g, g] = second[g, g] / (size * (size - 1)) if size > 1 else 0.0
    return tuple(float(x) for x in lam), tuple(float(x) for x in pi), tuple(tuple(float(x) for x in row) for row in joint)


def fit_design(key: str, categories: Sequence[str], sizes: Sequence[int], weights: Sequence[float], n: int) -> StratumDesign:
    """The design drawing ``n`` units from groups of ``sizes`` with inclusion probabilities ∝ ``weights`` (capped at 1)."""
    targets, certain = target_probabilities(sizes, weights, n)
    drawn = [i for i, (s, c) in enumerate(zip(sizes, certain)) if not c and s > 0 and targets[i] > 0]
    m = n - sum(s for s, c in zip(sizes, certain) if c)
    lam: dict[int, float] = {}
    pi: dict[int, float] = {}
    pair: dict[tuple[int, int], float] = {}
    if drawn and m > 0:
        fitted_lam, fitted_pi, joint = _fit(tuple(sizes[i] for i in drawn), tuple(targets[i] for i in drawn), m)
        for a, i in enumerate(drawn):
            lam[i], pi[i] = fitted_lam[a], fitted_pi[a]
            for b, k in enumerate(drawn):
                pair[i, k] = joint[a][b]
    groups = tuple(
        GroupDesign(category=c, size=s, weight=w, probability=1.0 if cert else pi.get(i, 0.0), certain=cert, log_odds=lam.get(i, 0.0))
        for i, (c, s, w, cert) in enumerate(zip(categories, sizes, weights, certain))
    )
    joint_matrix = []
    for g, gd in enumerate(groups):
        row = []
        for h, hd in enumerate(groups):
            if gd.certain and hd.certain:
                row.append(1.0)
            elif gd.certain or hd.certain:
                row.append(hd.probability if gd.certain else gd.probability)
            else:
                row.append(pair.get((g, h), 0.0))
        joint_matrix.append(tuple(row))
    return StratumDesign(key=key, size=sum(sizes), n=n, groups=groups, joint=tuple(joint_matrix))


def draw(design: StratumDesign, rng: random.Random) -> list[list[int]]:
    """The positions (within each group, 0-based, in the group's order) of the units drawn: one list per group."""
    groups = design.groups
    m = design.n - sum(g.size for g in groups if g.certain)
    drawn = [i for i, g in enumerate(groups) if not g.certain and g.size > 0 and g.probability > 0]
    counts = {i: g.size for i, g in enumerate(groups) if g.certain}
    if drawn and m > 0:
        terms = [_log_terms(groups[i].size, groups[i].log_odds, m) for i in drawn]
        suffix = [np.zeros(1)] * (len(terms) + 1)  # suffix[a]: the product of terms a.. (log)
        for a in range(len(terms) - 1, -1, -1):
            suffix[a] = _logconv(terms[a], suffix[a + 1], m)
        left = m
        for a, i in enumerate(drawn):
            rest = suffix[a + 1]
            j = np.arange(min(len(terms[a]) - 1, left) + 1)
            ok = (left - j) < len(rest)
            logw = np.full(len(j), -np.inf)
            logw[ok] = terms[a][j[ok]] + rest[(left - j)[ok]]
            weights = np.exp(logw - logw.max())
            cdf = np.cumsum(weights / weights.sum())
            u = rng.random()
            pick = min(int(np.searchsorted(cdf, u, side="right")), len(j) - 1)
            counts[i] = int(j[pick])
            left -= counts[i]
    out: list[list[int]] = []
    for i, g in enumerate(groups):
        need = counts.get(i, 0)
        chosen: list[int] = []
        for t in range(g.size):  # Algorithm S: each unit taken with probability need / remaining
            if need == 0:
                break
            if rng.random() * (g.size - t) < need:
                chosen.append(t)
                need -= 1
        out.append(chosen)
    return out
