r"""Learning-rate schedules α_t, t = 0, 1, 2, … (the step index before the update).

A schedule is a callable ``t -> α_t`` that accepts a Python int or an integer array (vectorised,
same IEEE operations either way, so the numba runner can precompute ``schedule(np.arange(T))``
and stay bit-identical to the per-step numpy reference).

References
----------
.. [1] Li et al. NeurIPS 2017, arXiv:1706.02379, §3: α_t = 1/(μ(t+1)) for μ-strongly convex
   problems, α_t = c/√t for convex ones (written c/√(t+1) here with t starting at 0).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

Schedule = Callable[[int | np.ndarray], float | np.ndarray]


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r} is out of range; valid: a finite number > 0")
    return float(value)


def _invertible(value, name):
    """A positive number whose reciprocal is finite (1/5e-324 = inf would give α_0 = inf)."""
    v = _positive(value, name)
    with np.errstate(over="ignore", divide="ignore"):
        if not np.isfinite(1.0 / v):
            raise ValueError(f"{name}={value!r} is too small: 1/{name} overflows float64; "
                             f"valid: {name} >= {1.0 / np.finfo(np.float64).max!r}")
    return v


def _steps(t):
    """Step indices: integers >= 0 (a Python int or an integer array), as float64."""
    arr = np.asarray(t)
    if arr.dtype.kind not in "iu" or (arr.size and arr.min() < 0):
        raise ValueError(f"t={t!r:.60} is invalid; valid: step indices, integers >= 0")
    return arr.astype(np.float64)


def constant(a) -> Schedule:
    """α_t = a (a > 0)."""
    a = _positive(a, "a")

    def schedule(t):
        return a + 0.0 * _steps(t)

    return schedule


def inverse_time(mu) -> Schedule:
    """α_t = 1/(μ(t+1)), the strongly convex schedule of Li et al. 2017 §3 (μ > 0)."""
    mu = _invertible(mu, "mu")

    def schedule(t):
        return 1.0 / (mu * (_steps(t) + 1.0))

    return schedule


def inv_sqrt(c) -> Schedule:
    """α_t = c/√(t+1), the convex schedule of Li et al. 2017 §3 (c > 0)."""
    c = _positive(c, "c")

    def schedule(t):
        return c / np.sqrt(_steps(t) + 1.0)

    return schedule


def step_decay(a, every, factor) -> Schedule:
    """α_t = a · factor^⌊t / every⌋ (the piecewise-constant decay of the paper's §5 nets).

    Parameters
    ----------
    a : float
        Initial rate, > 0.
    every : int
        Steps between decays, ≥ 1.
    factor : float
        Multiplier in (0, 1].
    """
    a = _positive(a, "a")
    if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
        raise ValueError(f"every={every!r} is invalid; valid: an integer >= 1")
    factor = _positive(factor, "factor")
    if factor > 1:
        raise ValueError(f"factor={factor!r} is out of range; valid: (0, 1]")

    def schedule(t):
        k = _steps(t).astype(np.int64) // every
        return a * np.power(factor, k.astype(np.float64))

    return schedule


def as_schedule(learning_rate) -> Schedule:
    """A number becomes :func:`constant`; a callable is returned unchanged."""
    if callable(learning_rate):
        return learning_rate
    return constant(learning_rate)
