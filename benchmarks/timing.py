"""Timing shared by the benchmarks: the median of repeated calls (the machine is shared, so a median, not
a mean, and the same run's before/after ratios are what to quote)."""

from __future__ import annotations

import statistics
import time


def median_ms(fn, repeat: int = 9, warmup: int = 1) -> float:
    """The median wall time of `repeat` calls of `fn` in ms, after `warmup` untimed calls (caches, imports)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)
