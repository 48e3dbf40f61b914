"""The threaded path of bulk containment gives exactly the single-threaded answers."""

from __future__ import annotations

import numpy as np

import auditor.geo.containment as containment


def test_threaded_and_serial_verdicts_are_identical(registry, monkeypatch):
    geom = registry.region("shanghai").geometry
    rng = np.random.default_rng(5)
    n = containment._PARALLEL_MIN + 50_000
    lon = rng.uniform(121.2, 122.2, n)
    lat = rng.uniform(30.5, 31.5, n)
    r = np.where(rng.random(n) < 0.5, 0.0, rng.uniform(0, 2000, n))
    threaded = geom.classify_points(lon, lat, r, with_distance=False)
    monkeypatch.setattr(containment, "_PARALLEL_MIN", 10**12)
    serial = geom.classify_points(lon, lat, r, with_distance=False)
    assert np.array_equal(threaded.verdict, serial.verdict)
    assert np.array_equal(threaded.nominal_inside, serial.nominal_inside)
    assert np.array_equal(threaded.part_mask, serial.part_mask)
    counts = np.bincount(threaded.verdict, minlength=3)
    assert (counts > 1000).all()  # all three verdicts occur, so the comparison is not vacuous
