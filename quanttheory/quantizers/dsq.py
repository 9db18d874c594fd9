r"""Differentiable Soft Quantization (DSQ).

References
----------
.. [1] R. Gong, X. Liu, S. Jiang, T. Li, P. Hu, J. Lin, F. Yu, J. Yan. "Differentiable Soft
   Quantization: Bridging Full-Precision and Low-Bit Neural Networks". ICCV 2019,
   arXiv:1908.05033, §3.2 Eqs. 3–6 (φ, s, k, α) and Fig. 1 (hard forward, soft backward).

Notation: N = 2^b − 1 intervals, Δ = (u − l)/N, t = (x − l)/Δ, interval
i = min(⌊t⌋, N − 1), K = kΔ = log(2/α − 1), s = 1/tanh(K/2) = 1/(1 − α).
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_bits, check_scalar

BITS = range(1, 17)


def _check(lower, upper, bits, alpha):
    lower = check_scalar(lower, "lower")
    upper = check_scalar(upper, "upper")
    if not lower < upper:
        raise ValueError(f"need lower < upper; got lower={lower!r}, upper={upper!r}")
    bits = check_bits(bits, BITS)
    # α ∉ (0, 2) makes 2/α − 1 ≤ 0, so K = log(2/α − 1) is undefined.
    alpha = check_scalar(alpha, "alpha", low=0.0, high=2.0)
    return lower, upper, bits, alpha


def _coords(x, lower, upper, bits):
    n = 2**bits - 1
    delta = (upper - lower) / n
    t = (x.astype(np.float64) - lower) / delta
    i = np.clip(np.floor(t), 0, n - 1)
    return n, delta, t, i


def dsq(x, *, lower, upper, bits, alpha, soft=False):
    r"""DSQ forward map: hard (default; deployed and training forward) or soft.

    Soft map [1]_ Eqs. 3–5, on :math:`P_i = [l + i\Delta, l + (i+1)\Delta]`:

    .. math::
        Q_S(x) = l + \Delta\Big(i + \frac{\varphi(x) + 1}{2}\Big),\quad
        \varphi(x) = s\tanh\big(k(x - m_i)\big),\ m_i = l + (i + \tfrac12)\Delta

    with :math:`Q_S = l` below l and u above u. The hard map replaces φ by sgn φ, i.e. the
    nearest grid point of {l + jΔ}; it does not depend on α. Tie rule (ours): x exactly at a
    centre :math:`m_i` goes up.

    Parameters
    ----------
    x : array_like, shape (...)
    lower, upper : float
        Clipping range l < u.
    bits : int
        1–16 (b = 1: one interval, threshold (l + u)/2).
    alpha : float
        Characteristic variable α ∈ (0, 2) (the paper uses (0, 1); Q_S(α) = Q_S(2 − α)).
        α = 1 is the identity on [l, u] (the K → 0 limit).
    soft : bool, default False

    Returns
    -------
    q : ndarray, shape (...), dtype of ``x`` (float32 kept)
    """
    arr = as_float_array(x)
    lower, upper, bits, alpha = _check(lower, upper, bits, alpha)
    n, delta, t, i = _coords(arr, lower, upper, bits)
    if soft:
        g = _soft_g(t, i, alpha)
    else:
        g = np.clip(np.floor(t + 0.5), 0, n)
    q = np.where(t <= 0, lower, np.where(t >= n, upper, lower + delta * g))
    return q.astype(arr.dtype, copy=False)


def _soft_g(t, i, alpha):
    """Position within the grid, g = i + (1 + s·tanh z)/2, with the α = 1 limit g = t."""
    if alpha == 1.0:
        return t.copy()
    K = np.log(2.0 / alpha - 1.0)
    z = K * (t - i - 0.5)
    return i + (1.0 + np.tanh(z) / (1.0 - alpha)) / 2.0


def dsq_partials(x, *, lower, upper, bits, alpha):
    r"""Partials of the soft map :math:`Q_S`: ``{"x", "lower", "upper", "alpha"}``.

    Inside (l, u), with z = K(t − i − ½), g = i + (1 + s tanh z)/2 and
    g' = (sK/2)(1 − tanh² z) [derived, checked against finite differences]:

    .. math::
        \partial_x = g',\quad \partial_u = \frac{g - t g'}{N},\quad
        \partial_l = 1 - \frac{g}{N} + g'\Big(\frac{t}{N} - 1\Big),\\
        \partial_\alpha = \frac{\Delta}{2}\Big[\frac{\tanh z}{(1-\alpha)^2}
            - s(1-\tanh^2 z)\,(t - i - \tfrac12)\frac{2}{\alpha(2-\alpha)}\Big]

    Below l: ∂l = 1, others 0; above u: ∂u = 1, others 0. Identities: ∂x + ∂l + ∂u = 1 and
    x∂x + l∂l + u∂u = Q_S (Q_S is jointly 1-homogeneous and translation-equivariant). At
    α = 1 the limits are ∂x = 1, ∂l = ∂u = ∂α = 0 (∂α = 0 by the α ↔ 2 − α symmetry).

    Returns
    -------
    partials : dict of str to ndarray, each of shape x.shape, float64
    """
    arr = as_float_array(x)
    lower, upper, bits, alpha = _check(lower, upper, bits, alpha)
    n, delta, t, i = _coords(arr, lower, upper, bits)
    if alpha == 1.0:
        g, gp, d_alpha = t, np.ones_like(t), np.zeros_like(t)
    else:
        K = np.log(2.0 / alpha - 1.0)
        s = 1.0 / (1.0 - alpha)
        c = t - i - 0.5
        th = np.tanh(K * c)
        sech2 = 1.0 - th * th
        g = i + (1.0 + s * th) / 2.0
        gp = s * K / 2.0 * sech2
        d_alpha = delta / 2.0 * (th / (1.0 - alpha) ** 2 - s * sech2 * c * 2.0 / (alpha * (2.0 - alpha)))
    below, above = t < 0, t > n
    inside = ~(below | above)
    return {
        "x": np.where(inside, gp, 0.0),
        "lower": np.where(inside, 1.0 - g / n + gp * (t / n - 1.0), below * 1.0),
        "upper": np.where(inside, (g - t * gp) / n, above * 1.0),
        "alpha": np.where(inside, d_alpha, 0.0),
    }
