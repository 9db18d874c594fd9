"""Benchmarks: ``quanttheory bench optim`` and ``quanttheory bench kernels``. Each module
exposes ``main(argv) -> int``; numbers are reported as ratios against a baseline measured
in the same run."""

import time

import numpy as np


def best_time(fn, repeats: int) -> float:
    """Minimum wall time of ``repeats`` calls of ``fn`` after one warm-up call.

    The warm-up absorbs JIT compilation, lazy loading and first-touch page faults; the minimum
    is the least noisy statistic on a shared machine (noise only ever adds time).
    """
    fn()
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
