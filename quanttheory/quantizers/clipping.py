"""Projection onto a normalised level set and the MSE-optimal clipping scale α.

Used to compare level sets (uniform, PoT, APoT) each at its own best clipping, as in the APoT
paper's Fig. 2 argument.

References
----------
.. [1] Y. Li, X. Dong, W. Wang. "Additive Powers-of-Two Quantization". ICLR 2020,
   arXiv:1909.13144, §2.1–2.2 (level sets; the clipping threshold α trades clipping error
   against rounding error).
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.optimize import minimize_scalar

from ._validate import as_float_array, as_levels, check_scalar


def project_levels(w, alpha, levels):
    """α · (nearest level to clip(w/α, −1, 1)) for sorted levels in [−1, 1]; exact ties go up.

    Parameters
    ----------
    w : array_like
    alpha : float
        Clipping scale α > 0.
    levels : array_like, shape (n,)
        Sorted levels, the largest 1 (e.g. ``apot_levels(3, signed=True)``).

    Returns
    -------
    q : ndarray, float64, shape of ``w``
    """
    w = as_float_array(w, "w").astype(np.float64)
    return _project(w, check_scalar(alpha, "alpha", low=0.0), _check_levels(levels))


def _check_levels(levels) -> np.ndarray:
    lv = as_levels(levels)
    if lv.ndim != 1 or lv.size < 2 or not np.all(np.isfinite(lv)) or not np.all(np.diff(lv) > 0):
        raise ValueError(f"levels must be a sorted 1-D finite sequence of >= 2 distinct values; "
                         f"got {levels!r:.80}")
    return lv


def _project(w: np.ndarray, alpha: float, lv: np.ndarray) -> np.ndarray:
    d = np.clip(w / alpha, -1.0, 1.0)
    idx = np.searchsorted((lv[1:] + lv[:-1]) / 2, d, side="right")
    return alpha * lv[idx]


def optimal_alpha(w, levels, n_grid=150) -> tuple[float, float]:
    """``(α*, MSE(α*))``: log-grid search over α ∈ [0.05, 20] then a bounded Brent refinement.

    α is in units of the weight std; heavy-tailed weights at 7 bits put α* near 10. MSE(α) is
    continuous but has kinks; the grid finds the right basin, Brent polishes within the
    neighbouring grid cells.

    Parameters
    ----------
    w : array_like
        Weights (finite), typically unit variance.
    levels : array_like
        Sorted normalised levels (see :func:`project_levels`).
    n_grid : int, default 150
        Grid points, >= 3.
    """
    w = as_float_array(w, "w").astype(np.float64)
    lv = _check_levels(levels)
    if isinstance(n_grid, bool) or not isinstance(n_grid, numbers.Integral) or n_grid < 3:
        raise ValueError(f"n_grid={n_grid!r} is invalid; valid: an integer >= 3")
    n_grid = int(n_grid)
    grid = np.geomspace(0.05, 20.0, n_grid)
    mse = np.array([np.mean((w - _project(w, a, lv)) ** 2) for a in grid])
    j = int(np.argmin(mse))
    lo, hi = grid[max(j - 1, 0)], grid[min(j + 1, n_grid - 1)]
    res = minimize_scalar(lambda a: np.mean((w - _project(w, a, lv)) ** 2), bounds=(lo, hi),
                          method="bounded", options={"xatol": 1e-6})
    if res.fun <= mse[j]:
        return float(res.x), float(res.fun)
    return float(grid[j]), float(mse[j])
