"""Sampling for on-site checks: the design's inclusion probabilities are exact (against brute-force
enumeration and identities every fixed-size design obeys), draws are reproducible, risk-weighted,
and the Horvitz–Thompson estimate is unbiased with an unbiased variance — checked over thousands of
seeded draws (deterministic: the seeds are fixed)."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
import statistics
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from supervision_fixtures import SHANGHAI, SHANGHAI_ROWS, audit_report, write_operator

from auditor.errors import UsageError
from auditor.supervision.design import fit_design, target_probabilities
from auditor.supervision.estimate import estimate, outcome_value, read_outcomes
from auditor.supervision.history import History
from auditor.supervision.sample import (
    CATEGORIES,
    DEFAULT_WEIGHTS,
    FacilityRecord,
    categorise,
    records_from_history,
    records_from_report,
    sample,
)


def population(fail: int = 6, indeterminate: int = 4, near: int = 10, new: int = 10, rest: int = 30, operator: str = "op") -> list[FacilityRecord]:
    """A population with known categories: ids say what each facility is."""
    out = []
    for kind, count in (("fail", fail), ("indeterminate", indeterminate), ("near", near), ("new", new), ("rest", rest)):
        for i in range(count):
            out.append(FacilityRecord(
                operator=operator, region="shanghai", facility_id=f"{kind}-{i:03}",
                verdict={"fail": "fail", "indeterminate": "indeterminate"}.get(kind, "pass"),
                signed_distance_m=500.0 if kind == "near" else 9000.0, new=kind == "new", kind="CDN" if i % 2 else "IDC",
            ))
    return out


# --------------------------------------------------------------------------- the design is exact


def _enumerate(design, sizes: list[int], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Inclusion probabilities of the CPS design by brute force: P(s) ∝ Π r_k over every subset of size m."""
    groups = [g for g in design.groups]
    units = [gi for gi, g in enumerate(groups) if not g.certain for _ in range(g.size)]
    m = n - sum(g.size for g in groups if g.certain)
    odds = [math.exp(groups[gi].log_odds) for gi in units]
    N = len(units)
    first, second, norm = np.zeros(N), np.zeros((N, N)), 0.0
    for s in itertools.combinations(range(N), m):
        p = math.prod(odds[k] for k in s)
        norm += p
        for k in s:
            first[k] += p
        for k, j in itertools.permutations(s, 2):
            second[k, j] += p
    return first / norm, second / norm, units


@pytest.mark.parametrize(("sizes", "weights", "n"), [
    ([2, 1, 1, 3], [8.0, 4.0, 2.0, 1.0], 3),
    ([1, 2, 4], [8.0, 2.0, 1.0], 4),        # the failing unit is certain
    ([3, 5], [1.0, 1.0], 2),                # equal weights: simple random sampling
])
def test_inclusion_probabilities_equal_brute_force_enumeration(sizes: list[int], weights: list[float], n: int) -> None:
    design = fit_design("s", [f"g{i}" for i in range(len(sizes))], sizes, weights, n)
    targets, certain = target_probabilities(sizes, weights, n)
    assert [g.probability for g in design.groups] == pytest.approx(targets, abs=1e-10)
    assert sum(g.size * g.probability for g in design.groups) == pytest.approx(n)
    first, second, units = _enumerate(design, sizes, n)
    for k, gk in enumerate(units):
        assert first[k] == pytest.approx(design.groups[gk].probability, abs=1e-10)
        for j, gj in enumerate(units):
            if k != j:
                assert second[k, j] == pytest.approx(design.pair_probability(gk, gj), abs=1e-10)
    # non-certain groups: probability proportional to the weight
    free = [g for g in design.groups if not g.certain]
    ratios = {g.probability / g.weight for g in free}
    assert max(ratios) == pytest.approx(min(ratios))


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    weights=st.lists(st.floats(0.1, 20.0), min_size=6, max_size=6),
    frac=st.floats(0.01, 1.0),
)
@example(sizes=[1, 1], weights=[1.0, 2.0, 1.0, 1.0, 1.0, 1.0], frac=0.5)  # two units, one pick: the full step oscillated
def test_every_design_is_a_fixed_size_design(sizes: list[int], weights: list[float], frac: float) -> None:
    """Σ π_k = n, 0 < π ≤ 1, π ∝ w below the cap, and Σ_{l≠k} π_kl = (n − 1) π_k for every unit
    (true of every fixed-size design: a wrong second-order probability breaks it)."""
    n = max(1, round(frac * sum(sizes)))
    design = fit_design("s", [f"g{i}" for i in range(len(sizes))], sizes, weights[: len(sizes)], n)
    assert sum(g.size * g.probability for g in design.groups) == pytest.approx(n, abs=1e-8)
    for g, gd in enumerate(design.groups):
        assert 0 < gd.probability <= 1 + 1e-12
        row = sum((h.size - (1 if h is gd else 0)) * design.pair_probability(g, k) for k, h in enumerate(design.groups))
        assert row == pytest.approx((n - 1) * gd.probability, rel=1e-7, abs=1e-9)
        for k, h in enumerate(design.groups):  # Sen–Yates–Grundy condition: π_k π_l ≥ π_kl
            if not (gd is h and gd.size < 2):
                assert gd.probability * h.probability >= design.pair_probability(g, k) - 1e-9


# --------------------------------------------------------------------------- the draw


def test_reproducible_exact_size_and_differs_between_seeds() -> None:
    pop = population()
    a = sample(pop, 12, seed=2026)
    assert len(a.picks) == 12 and len({p.key for p in a.picks}) == 12
    assert sample(pop, 12, seed=2026).picks == a.picks
    shuffled = list(pop)
    random.Random(5).shuffle(shuffled)
    assert sample(shuffled, 12, seed=2026).picks == a.picks  # input order does not matter
    draws = {tuple(p.key for p in sample(pop, 12, seed=s).picks) for s in range(20)}
    assert len(draws) == 20  # every one of 20 seeds gives its own sample
    assert sample(pop, 12).seed != sample(pop, 12).seed  # no seed: a fresh one, recorded


def test_over_many_seeds_failing_facilities_are_picked_more_often_than_their_share() -> None:
    pop = population()
    runs, n = 3000, 12
    counts = {c: 0 for c in ("fail", "indeterminate", "near_line", "new", "rest")}
    for seed in range(runs):
        for p in sample(pop, n, seed=seed).picks:
            counts[p.category] += 1
    share_in_population = 6 / len(pop)
    share_in_picks = counts["fail"] / (runs * n)
    assert share_in_picks > 2 * share_in_population
    # and each category is drawn at its design probability (within 4 binomial standard errors)
    design = sample(pop, n, seed=0).strata[0]
    for g in design.groups:
        expected = g.probability * g.size * runs
        se = math.sqrt(runs * g.size * g.probability * (1 - g.probability)) + 1e-9
        assert abs(counts[g.category] - expected) < 4 * se + 1, (g.category, counts[g.category], expected)
    ordered = [next(g.probability for g in design.groups if g.category == c) for c in ("fail", "indeterminate", "near_line", "new", "rest")]
    assert ordered == sorted(ordered, reverse=True)


def test_equal_sampling_gives_everyone_n_over_n() -> None:
    pop = population()
    s = sample(pop, 10, seed=1, equal=True)
    assert all(p.inclusion_probability == pytest.approx(10 / 60) for p in s.picks)
    assert all(p.reason.startswith("plain random") for p in s.picks)
    hits = sum(p.category == "fail" for seed in range(2000) for p in sample(pop, 10, seed=seed, equal=True).picks)
    assert abs(hits / (2000 * 10) - 6 / 60) < 0.01  # equal chances: the failing ones at their share


def test_the_horvitz_thompson_estimate_and_its_variance_are_unbiased() -> None:
    """Desk outcomes (fail = non-compliant): over 4,000 seeds the mean estimate is the true share, and
    the mean Sen–Yates–Grundy variance is the variance of the estimates."""
    pop = population()
    truth = 6 / len(pop)
    shares, variances = [], []
    for seed in range(4000):
        e = sample(pop, 8, seed=seed).estimate()
        shares.append(e.share)
        variances.append(e.variance)
    mean = statistics.fmean(shares)
    spread = statistics.pvariance(shares)
    assert abs(mean - truth) < 4 * math.sqrt(spread / len(shares))
    assert statistics.fmean(variances) == pytest.approx(spread, rel=0.12)


def test_certain_units_are_always_drawn_and_add_no_variance() -> None:
    pop = population(fail=2, indeterminate=0, near=0, new=0, rest=18)
    for seed in range(50):
        s = sample(pop, 4, seed=seed, weights={"fail": 100.0})
        assert {p.record.facility_id for p in s.picks if p.category == "fail"} == {"fail-000", "fail-001"}
        assert all(p.inclusion_probability == 1.0 for p in s.picks if p.category == "fail")
    # everything non-compliant is certain and nothing else is: the total is exact
    e = s.estimate()
    assert e.total == 2 and e.variance == 0.0


def test_strata_draw_n_each_and_independently() -> None:
    pop = population(operator="alpha") + population(fail=1, near=2, new=0, rest=3, indeterminate=0, operator="beta")
    s = sample(pop, 8, seed=3, by="operator")
    per = {k: sum(p.stratum == k for p in s.picks) for k in ("alpha", "beta")}
    assert per == {"alpha": 8, "beta": 6}
    assert any("beta: only 6 facilities, all taken" in note for note in s.notes)
    alone = sample(population(operator="alpha"), 8, seed=3, by="operator")
    assert [p.key for p in alone.picks] == [p.key for p in s.picks if p.stratum == "alpha"]
    e = s.estimate()
    assert {x["stratum"] for x in e.strata} == {"alpha", "beta"}
    assert e.population == len(pop)
    assert [x["total"] for x in e.strata if x["stratum"] == "beta"] == [1.0]  # a census stratum is exact
    by_kind = sample(pop, 3, seed=3, by="kind")
    assert {p.stratum for p in by_kind.picks} == {"CDN", "IDC"} and len(by_kind.picks) == 6


def test_bad_parameters_are_usage_errors() -> None:
    pop = population()
    for kwargs, words in (
        ({"n": 0}, "at least 1"), ({"n": 3, "by": "city"}, "--by"), ({"n": 3, "weights": {"fail": 0}}, "positive"),
        ({"n": 3, "weights": {"urgent": 2}}, "--weight"), ({"n": 3, "weights": {"fail": float("nan")}}, "positive"),
        ({"n": 3, "seed": "x"}, "--seed"), ({"n": 3, "near_line_m": -1.0}, "--near-line"),
    ):
        with pytest.raises(UsageError, match=words):
            sample(pop, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="no facility"):
        sample([], 3, seed=1)
    assert sample(pop, 500, seed=1).estimate().census  # more than there are: all of them, exactly


# --------------------------------------------------------------------------- categories and inputs


def test_categories_from_a_real_audit_and_its_predecessor(tmp_path: Path) -> None:
    rows = SHANGHAI_ROWS + [["A-CDN-4", "CDN", "rented", "Lujiazui edge", "上海市浦东新区陆家嘴", 121.515, 31.236, "wgs84"]]
    _, before = audit_report(write_operator(tmp_path / "before", "alpha", SHANGHAI, SHANGHAI_ROWS[:2]), dt.date(2026, 8, 1))
    _, now = audit_report(write_operator(tmp_path / "now", "alpha", SHANGHAI, rows))
    recs = {r.facility_id: r for r in records_from_report(now, previous=before)}
    got = {fid: categorise(r, 2000.0) for fid, r in recs.items()}
    assert got["A-CDN-2"][0] == got["A-CDN-3"][0] == "fail" and "facility_in_region" in got["A-CDN-3"][1]
    assert got["A-CDN-4"][0] == "near_line" and "1,4" in got["A-CDN-4"][1]  # 1,444 m from the Huangpu line
    assert recs["A-CDN-4"].new and not recs["A-IDC-1"].new
    assert got["A-IDC-1"][0] == got["A-CDN-1"][0] == "rest"
    assert categorise(recs["A-CDN-4"], 1000.0)[0] == "new"  # a tighter threshold: then it is only new
    assert not any(r.new for r in records_from_report(now))  # no predecessor: nothing is new


def test_records_from_the_history_database(tmp_path: Path) -> None:
    _, before = audit_report(write_operator(tmp_path / "b", "alpha", SHANGHAI, SHANGHAI_ROWS[:2]), dt.date(2026, 8, 1))
    _, now = audit_report(write_operator(tmp_path / "n", "alpha", SHANGHAI, SHANGHAI_ROWS))
    with History(f"sqlite:///{tmp_path / 'h.db'}") as db:
        db.record(before, recorded_at=dt.datetime(2026, 8, 1, tzinfo=dt.UTC))
        latest = db.record(now, recorded_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
        recs = records_from_history(db)
    assert [r.facility_id for r in recs] == [f["id"] for f in now["facilities"]]
    assert {r.facility_id for r in recs if r.new} == {"A-CDN-2", "A-CDN-3"}
    assert {r.run_id for r in recs} == {latest.id}
    s = sample(recs, 2, seed=9)
    assert len(s.picks) == 2 and all(p.record.run_id == latest.id for p in s.picks)


# --------------------------------------------------------------------------- the estimate


def test_estimate_from_on_site_outcomes(tmp_path: Path) -> None:
    s = sample(population(), 10, seed=11)
    marks = {p.key: ("non_compliant" if p.category == "fail" else "compliant") for p in s.picks}
    e = s.estimate(marks)
    assert e.source == "on-site outcomes" and e.non_compliant_picks == sum(p.category == "fail" for p in s.picks)
    assert e.total == pytest.approx(sum(1 / p.inclusion_probability for p in s.picks if p.category == "fail"))
    assert e.low <= min(e.share, 1.0) <= e.high
    # ids are accepted where unambiguous; the sample's CSV with its outcome column filled in too
    by_id = {p.record.facility_id: v for p, v in zip(s.picks, marks.values())}
    assert s.estimate(by_id).total == e.total
    csv_file = tmp_path / "outcomes.csv"
    csv_file.write_text("\ufeffkey,outcome\n" + "".join(f"{k},{'不合规' if v == 'non_compliant' else '合规'}\n" for k, v in marks.items()),
                        encoding="utf-8")
    assert s.estimate(read_outcomes(csv_file)).total == e.total
    missing = dict(list(marks.items())[1:])
    with pytest.raises(UsageError, match="1 pick\\(s\\) have no on-site outcome"):
        s.estimate(missing)
    with pytest.raises(UsageError, match="not picks of this sample"):
        s.estimate({**marks, "op / nobody": "compliant"})
    with pytest.raises(UsageError, match="neither non-compliant"):
        outcome_value("maybe")


def test_worked_example_numbers() -> None:
    """The worked example of the closing note: 60 facilities, 12 picks, seed 2026."""
    pop = population()
    s = sample(pop, 12, seed=2026)
    probs = {g.category: round(g.probability, 4) for g in s.strata[0].groups}
    # weights 8, 4, 2, 1.5, 1 on 6, 4, 10, 10, 30 facilities: c = 12 / (48 + 16 + 20 + 15 + 30) = 12/129
    assert probs == {"fail": round(8 * 12 / 129, 4), "indeterminate": round(4 * 12 / 129, 4), "near_line": round(2 * 12 / 129, 4),
                     "new": round(1.5 * 12 / 129, 4), "rest": round(12 / 129, 4)}
    found = {p.key: p.category == "fail" and p.record.facility_id != "fail-000" for p in s.picks}
    e = s.estimate(found)
    assert e.total == pytest.approx(sum(1 / p.inclusion_probability for p in s.picks if found[p.key]))
    assert 0 <= e.low < e.share < e.high <= 1


def test_no_failure_found_still_gives_an_upper_bound() -> None:
    s = sample(population(), 20, seed=4, equal=True)
    e = s.estimate({p.key: False for p in s.picks})
    assert e.share == 0 and e.low == 0 and e.high == pytest.approx(1 - 0.025 ** (1 / 20))  # 16.8 %


def test_weights_table_is_ordered_as_documented() -> None:
    assert list(DEFAULT_WEIGHTS) == list(CATEGORIES)
    w = DEFAULT_WEIGHTS
    assert w["fail"] > w["indeterminate"] > w["near_line"] > w["new"] > w["rest"]
    assert estimate.__doc__ and "Horvitz" in estimate.__doc__


def test_readme_weights_table_is_the_codes() -> None:
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Supervision"):readme.index("### Inputs")]
    table = {}
    for names, weight in re.findall(r"^\| ((?:`[a-z_]+`(?:, )?)+) \| ([0-9.]+) \|", section, flags=re.M):
        for name in re.findall(r"`([a-z_]+)`", names):
            table[name] = float(weight)
    assert table == dict(DEFAULT_WEIGHTS)
    assert f"within {2000:,} m" in section
