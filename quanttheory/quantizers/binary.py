"""Binarisation onto {−1, +1}: deterministic sign and stochastic hard-sigmoid rounding.

References
----------
.. [1] M. Courbariaux, Y. Bengio, J.-P. David. "BinaryConnect". NeurIPS 2015, Eqs. 1–3.
.. [2] Li et al. 2017, arXiv:1706.02379, §2 (binary stochastic rounding).
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_rng


def binarize(x):
    r"""Deterministic binarisation :math:`w_b = +1` if :math:`w \ge 0` else :math:`-1`.

    BinaryConnect [1]_ Eq. 1. Zero maps to +1 (``np.sign`` would give 0, which is not a
    binary weight).

    Parameters
    ----------
    x : array_like, shape (...)

    Returns
    -------
    b : ndarray, shape (...), values in {−1, +1}
    """
    arr = as_float_array(x)
    return np.where(arr >= 0, 1.0, -1.0).astype(arr.dtype, copy=False)


def stochastic_binarize(x, rng):
    r"""Stochastic binarisation: +1 with probability :math:`\sigma(w)=\mathrm{clip}((w+1)/2,0,1)`.

    BinaryConnect [1]_ Eqs. 2–3 (hard sigmoid); equals :math:`Q_s` with Δ = 2 on the
    clipped domain [−1, 1], so :math:`E[w_b] = \mathrm{clip}(w, -1, 1)` [2]_.

    Parameters
    ----------
    x : array_like, shape (...)
    rng : numpy.random.Generator
        One uniform per element, C order.

    Returns
    -------
    b : ndarray, shape (...), values in {−1, +1}
    """
    arr = as_float_array(x)
    rng = check_rng(rng)
    p = np.clip((arr.astype(np.float64) + 1.0) / 2.0, 0.0, 1.0)
    u = rng.random(arr.shape)
    return np.where(u < p, 1.0, -1.0).astype(arr.dtype, copy=False)
