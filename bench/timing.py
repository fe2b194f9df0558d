"""bench/timing.py — the median wall time of a call, shared by the small Python benchmarks."""
import time


def median_ms(f, n):
    """Median of n timed calls of f (after one warm-up call), in milliseconds."""
    f()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return 1e3 * sorted(ts)[n // 2]
