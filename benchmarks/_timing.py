"""Timing shared by the benchmarks: one call's wall and process CPU time, collector off."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any


def timed_cpu(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, process CPU seconds, result) of ``fn()``, garbage collector off (as timeit does).

    The benchmarks are single-threaded, so CPU time well below wall time means the
    process waited for a core: another job was running.
    """
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        if was_enabled:
            gc.enable()
    return wall, cpu, out
