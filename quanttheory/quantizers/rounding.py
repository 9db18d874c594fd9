"""Deterministic and stochastic rounding onto the grid Δ·Z (Li et al., 2017, §2).

References
----------
.. [1] H. Li, S. De, Z. Xu, C. Studer, H. Samet, T. Goldstein. "Training Quantized Nets: A
   Deeper Understanding". NeurIPS 2017, arXiv:1706.02379, Section 2 (Eqs. for Q_d and Q_s).
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_grid, check_rng, check_scalar


def round_nearest(x, delta):
    r"""Deterministic rounding :math:`Q_d` onto :math:`\Delta\mathbb{Z}`, ties away from zero.

    .. math:: Q_d(w) = \operatorname{sign}(w)\,\Delta\,\lfloor |w|/\Delta + 1/2 \rfloor

    (Li et al. 2017 [1]_, §2). ``np.round`` is not used because numpy rounds ties to even.
    Nor is ``floor(a + ½)`` evaluated literally: in floating point ``a + ½`` can round up
    (a = 0.49999999999999994 gives 1, and odd a ≥ 2^52 gain a step). Instead
    ``r = floor(a)`` and the fraction ``a − r`` (exact in IEEE arithmetic) decide:
    ``r + [a − r ≥ ½]``, which is exactly Q_d of the computed ``a = |w|/Δ``.

    Parameters
    ----------
    x : array_like, shape (...)
        Finite real values.
    delta : float
        Grid spacing Δ > 0.

    Returns
    -------
    q : ndarray, shape (...)
        Same float dtype as ``x`` (float32 kept, else float64).

    Examples
    --------
    >>> round_nearest([0.25, -0.25, 0.74], 0.5)
    array([ 0.5, -0.5,  0.5])
    """
    arr = as_float_array(x)
    delta = check_scalar(delta, "delta", low=0.0)
    w = arr.astype(np.float64)
    a = np.abs(w / check_grid(w, delta))
    r = np.floor(a)
    q = np.sign(w) * delta * (r + (a - r >= 0.5))
    return q.astype(arr.dtype, copy=False)


def stochastic_round(x, delta, rng):
    r"""Stochastic rounding :math:`Q_s` onto :math:`\Delta\mathbb{Z}` (unbiased).

    .. math::
        Q_s(w) = \Delta\lfloor w/\Delta\rfloor + \Delta\,[\,U < w/\Delta - \lfloor w/\Delta\rfloor\,],
        \quad U \sim \mathcal{U}[0, 1)

    so that :math:`E[Q_s(w)] = w` and :math:`\operatorname{Var} = \Delta^2 p(1-p)` with
    :math:`p` the fractional part (Li et al. 2017 [1]_, §2). One uniform is drawn per element
    in C order with ``rng.random(x.shape)``; the numba twin draws the same stream element by
    element, so both are bit-identical under the same Generator state.

    Parameters
    ----------
    x : array_like, shape (...)
    delta : float
        Grid spacing Δ > 0.
    rng : numpy.random.Generator

    Returns
    -------
    q : ndarray, shape (...)
        Values on the grid, never more than one step Δ from ``x``.
    """
    arr = as_float_array(x)
    delta = check_scalar(delta, "delta", low=0.0)
    rng = check_rng(rng)
    scaled = arr.astype(np.float64) / check_grid(arr, delta)
    low = np.floor(scaled)  # scaled − low is exact, so P(up) is the exact fractional part
    u = rng.random(arr.shape)
    q = delta * (low + (u < scaled - low))
    return q.astype(arr.dtype, copy=False)
