r"""Differentiable Soft Quantization (DSQ).

References
----------
.. [1] R. Gong, X. Liu, S. Jiang, T. Li, P. Hu, J. Lin, F. Yu, J. Yan. "Differentiable Soft
   Quantization: Bridging Full-Precision and Low-Bit Neural Networks". ICCV 2019,
   arXiv:1908.05033, §3.2 Eqs. 3–6 (φ, s, k, α) and Fig. 1 (hard forward, soft backward).

Notation: N = 2^b − 1 intervals, Δ = (u − l)/N, t = (x − l)/Δ, interval
i = min(⌊t⌋, N − 1), K = kΔ = log(2/α − 1), s = 1/tanh(K/2) = 1/(1 − α), c = t − i − ½.

Numerics. Q_S(α) ≡ Q_S(2 − α) (s and K both change sign), and 2 − α is exact for α ∈ [1, 2),
so α > 1 is evaluated at a = 2 − α ∈ (0, 1) (∂α changes sign). For a ∈ (0, 1),
K = log1p(2(1 − a)/a) keeps full relative accuracy as a → 1 (the literal log(2/a − 1) loses it
to cancellation: at a = 1 − 1e-15 it mis-states Q_S by 3 % of Δ), and K = log(2 − a) − log(a)
avoids the overflow of 2/a for subnormal a. Near a = 1 the printed ∂α is a difference of two
O(1/(1 − a)) terms; for |1 − a| < 1e-3 we use its Taylor series instead (below).

Per-channel parameters (``axis``): l, u and α may each be a scalar or one value per channel or
group. Everything derived from α alone (a, K, s and the powers of 1 − a) is computed per α value
by the same scalar code as the per-tensor path (numpy's array and scalar transcendental loops
may differ in the last bit), and the rest is elementwise arithmetic, so a per-channel call
equals a loop of per-tensor calls over the channels bit for bit.
"""

from __future__ import annotations

import numpy as np

from ._validate import (
    as_float_array,
    check_axis,
    check_bits,
    check_bool,
    check_cotangent,
    check_finite_result,
    check_param,
    check_scalar_param,
    expand_param,
    param_layout,
    vjp_partials,
)

BITS = range(1, 17)


def _check(lower, upper, bits, alpha):
    lower = check_scalar_param(lower, "lower")
    upper = check_scalar_param(upper, "upper")
    if not lower < upper:
        raise ValueError(f"need lower < upper; got lower={lower!r}, upper={upper!r}")
    if not np.isfinite(upper - lower):
        raise ValueError(f"upper - lower overflows float64; got lower={lower!r}, upper={upper!r}")
    bits = check_bits(bits, BITS)
    if (upper - lower) / (2**bits - 1) == 0.0:
        raise ValueError(f"the step (upper - lower)/(2**bits - 1) underflows to 0; got "
                         f"lower={lower!r}, upper={upper!r}, bits={bits}")
    # α ∉ (0, 2) makes 2/α − 1 ≤ 0, so K = log(2/α − 1) is undefined.
    alpha = check_scalar_param(alpha, "alpha", low=0.0, high=2.0)
    return lower, upper, bits, alpha


def _check_channels(shape, lower, upper, bits, alpha, axes):
    """Per-channel :func:`_check`: expanded l, u, validated α (float or shape P), and the shapes."""
    if axes is None:
        return (*_check(lower, upper, bits, alpha), {"lower": (), "upper": (), "alpha": ()})
    lo, hi = check_param(lower, "lower"), check_param(upper, "upper")
    shapes = {"lower": np.shape(lo), "upper": np.shape(hi)}
    lo, hi = expand_param(lo, shape, axes, "lower"), expand_param(hi, shape, axes, "upper")
    lb, ub = np.broadcast_arrays(np.asarray(lo), np.asarray(hi))
    with np.errstate(over="ignore"):
        for bad, what in ((~(lb < ub), "need lower < upper"),
                          (~np.isfinite(ub - lb), "upper - lower overflows float64")):
            if np.any(bad):
                idx = tuple(int(j) for j in np.argwhere(bad)[0])
                raise ValueError(f"{what} in every channel; got lower={lb[idx]!r}, upper={ub[idx]!r} "
                                 f"(at broadcast index {idx}, axis={axes})")
    bits = check_bits(bits, BITS)
    if np.any((ub - lb) / (2**bits - 1) == 0.0):
        raise ValueError(f"the step (upper - lower)/(2**bits - 1) underflows to 0 in a channel; "
                         f"got min(upper - lower)={float(np.min(ub - lb))!r}, bits={bits}")
    alpha = check_param(alpha, "alpha", low=0.0, high=2.0)
    shapes["alpha"] = np.shape(alpha)
    param_layout(shapes["alpha"], shape, axes, "alpha")  # the hard map ignores α: check its shape here
    return lo, hi, bits, alpha, shapes


def _coords(x, lower, upper, bits):
    # x is clipped to [l, u] first (Q_S and the hard map are constant outside), so t ∈ [0, N]
    # up to rounding and nothing overflows for huge |x|.
    n = 2**bits - 1
    delta = (upper - lower) / n
    t = (np.clip(x.astype(np.float64), lower, upper) - lower) / delta
    i = np.clip(np.floor(t), 0, n - 1)
    return n, delta, t, i


def _sharpness(alpha):
    """(a, K, s) with a = min(α, 2 − α) ∈ (0, 1]: K = log(2/a − 1) ≥ 0, s = 1/(1 − a)."""
    a = min(alpha, 2.0 - alpha)
    if a == 1.0:
        return a, 0.0, np.inf
    K = np.log1p(2.0 * (1.0 - a) / a) if a > 1e-300 else np.log(2.0 - a) - np.log(a)
    return a, float(K), 1.0 / (1.0 - a)


def _alpha_terms_scalar(alpha):
    """Every quantity derived from α alone, by scalar arithmetic: (a, K, s, sign, ε, ε², ε³, 2/(2 − a), α).

    ``sign`` is ∂a/∂α (α > 1 is evaluated at a = 2 − α).
    """
    a, K, s = _sharpness(alpha)
    eps = 1.0 - a
    return a, K, s, 1.0 if alpha <= 1.0 else -1.0, eps, eps**2, eps**3, 2.0 / (2.0 - a), alpha


def _alpha_terms(alpha, shape, axes):
    """:func:`_alpha_terms_scalar` for a float α; for an array α, per α value, each term expanded."""
    if not isinstance(alpha, np.ndarray):
        return _alpha_terms_scalar(alpha)
    rows = np.array([_alpha_terms_scalar(float(v)) for v in alpha.ravel()]).reshape((*alpha.shape, 9))
    return tuple(expand_param(rows[..., j], shape, axes, "alpha") for j in range(9))


def dsq(x, *, lower, upper, bits, alpha, soft=False, axis=None):
    r"""DSQ forward map: hard (default; deployed and training forward) or soft.

    Soft map [1]_ Eqs. 3–5, on :math:`P_i = [l + i\Delta, l + (i+1)\Delta]`:

    .. math::
        Q_S(x) = l + \Delta\Big(i + \frac{\varphi(x) + 1}{2}\Big),\quad
        \varphi(x) = s\tanh\big(k(x - m_i)\big),\ m_i = l + (i + \tfrac12)\Delta

    with :math:`Q_S = l` for x ≤ l and u for x ≥ u. The hard map replaces φ by sgn φ, i.e.
    the nearest grid point of {l + jΔ} (the top point is u exactly); it does not depend on α.
    Tie rule (ours): t = (x − l)/Δ exactly at i + ½ goes up; it is decided on the exact
    fraction t − ⌊t⌋, not on a rounded t + ½.

    Parameters
    ----------
    x : array_like, shape (...)
    lower, upper : float or array_like
        Clipping range l < u. With ``axis``, each of l, u, α is a scalar (shared) or has its own
        shape P = (p_1, …, p_k) with p_i dividing C_i = x.shape[axis[i]] (channel c uses index
        c // (C_i // p_i): per-channel for p_i = C_i, contiguous groups otherwise).
    bits : int
        1–16 (b = 1: one interval, threshold (l + u)/2).
    alpha : float or array_like
        Characteristic variable α ∈ (0, 2) (the paper uses (0, 1); Q_S(α) = Q_S(2 − α)).
        α = 1 is the identity on [l, u] (the K → 0 limit).
    soft : bool, default False
    axis : None, int or tuple of int, default None
        Channel axes of per-channel parameters (negative allowed, increasing). The result
        equals a loop of per-tensor calls over the channels, bit for bit.

    Returns
    -------
    q : ndarray, shape (...), dtype of ``x`` (float32 kept)

    Examples
    --------
    >>> dsq([0.2, 0.5, 0.9], lower=0.0, upper=1.0, bits=1, alpha=0.2)
    array([0., 1., 1.])
    """
    arr = as_float_array(x)
    axes = check_axis(axis, arr.ndim)
    lower, upper, bits, alpha, _ = _check_channels(arr.shape, lower, upper, bits, alpha, axes)
    shape, arr = arr.shape, _at_least_1d(arr)
    n, delta, t, i = _coords(arr, lower, upper, bits)
    if check_bool(soft, "soft"):
        q = lower + delta * _soft_g(t, i, _alpha_terms(alpha, arr.shape, axes))
    else:
        r = np.floor(t)
        g = np.clip(r + (t - r >= 0.5), 0, n)
        q = np.where(g >= n, upper, lower + delta * g)
    xf = arr.astype(np.float64)
    q = np.where(xf <= lower, lower, np.where(xf >= upper, upper, q))
    with np.errstate(over="ignore"):
        out = q.astype(arr.dtype, copy=False)
    # float32 x with a clip range beyond float32: a level would silently become ±inf
    check_finite_result(out, f"dsq output in {arr.dtype} (the dtype of x)", lower=lower, upper=upper, bits=bits)
    return out.reshape(shape)


def _at_least_1d(arr):
    """A 0-d x as a 1-element array: numpy-scalar arithmetic is not the array loops' (a scalar
    ``y**2`` calls libm ``pow``, which can differ in the last bit from the array's ``y*y``), and
    ``dsq(x)[j]`` must equal ``dsq(x[j])`` bit for bit (per-channel calls rely on it)."""
    return arr.reshape(1) if arr.ndim == 0 else arr


def _soft_g(t, i, terms):
    """Position within the grid, g = i + (1 + s·tanh(Kc))/2, with the α = 1 limit g = t."""
    a, K, s = terms[:3]
    if np.ndim(a) == 0:
        if a == 1.0:
            return t.copy()
        return i + (1.0 + s * np.tanh(K * (t - i - 0.5))) / 2.0
    with np.errstate(invalid="ignore"):  # s = inf at a = 1 gives inf·0 = NaN, replaced by t
        return np.where(a == 1.0, t, i + (1.0 + s * np.tanh(K * (t - i - 0.5))) / 2.0)


def _d_alpha(c, th, sech2, terms, delta):
    r"""∂Q_S/∂a at a ∈ (0, 1), c = t − i − ½ ∈ [−½, ½].

    Printed form (spec): (Δ/2)[tanh z/(1−a)² − s·sech²z·c·2/(a(2−a))]. For ε = 1 − a < 1e-3
    both terms are ≈ 2c/ε and cancel, so we use the series of
    f(ε) = s·tanh(Kc) = tanh(2c·atanh ε)/ε = 2c + (2c/3 − 8c³/3)ε² + (2c/5 − 8c³/3 + 64c⁵/15)ε⁴ + …,
    ∂Q_S/∂a = −(Δ/2) f'(ε) (truncation ≲ Δε⁵; the printed form's rounding error is ≈ Δ·1e-16/ε).
    """
    a, _, s, _, eps, eps2, eps3, two_over, _ = terms  # ε, ε², ε³ and 2/(2 − a) by scalar code

    def series():
        c2 = c * c
        f1 = 2.0 * c * (1.0 - 4.0 * c2) / 3.0
        f3 = 2.0 * c * (1.0 / 5.0 - 4.0 * c2 / 3.0 + 32.0 * c2 * c2 / 15.0)
        return -delta * (f1 * eps + 2.0 * f3 * eps3)

    def printed():
        # (sech²·c) first, then /a: a subnormal a must not turn 0·(2/a) into inf·0 = NaN
        return delta / 2.0 * (th / eps2 - s * (sech2 * c) * two_over / a)

    if np.ndim(eps) == 0:
        return series() if eps < 1e-3 else printed()
    with np.errstate(divide="ignore", invalid="ignore"):  # the branch not taken may be 0/0
        return np.where(eps < 1e-3, series(), printed())


def dsq_partials(x, *, lower, upper, bits, alpha, axis=None, cotangent=None):
    r"""Partials of the soft map :math:`Q_S`: ``{"x", "lower", "upper", "alpha"}``.

    Inside (l, u), with z = K(t − i − ½), g = i + (1 + s tanh z)/2 and
    g' = (sK/2)(1 − tanh² z) [derived, checked against finite differences]:

    .. math::
        \partial_x = g',\quad \partial_u = \frac{g - t g'}{N},\quad
        \partial_l = 1 - \frac{g}{N} + g'\Big(\frac{t}{N} - 1\Big),\\
        \partial_\alpha = \frac{\Delta}{2}\Big[\frac{\tanh z}{(1-\alpha)^2}
            - s(1-\tanh^2 z)\,(t - i - \tfrac12)\frac{2}{\alpha(2-\alpha)}\Big]

    Below l: ∂l = 1, others 0; above u: ∂u = 1, others 0 (x = l or u counts as inside).
    Identities: ∂x + ∂l + ∂u = 1 and x∂x + l∂l + u∂u = Q_S (Q_S is jointly 1-homogeneous
    and translation-equivariant). At α = 1 the limits are ∂x = 1, ∂l = ∂u = ∂α = 0
    (∂α = 0 by the α ↔ 2 − α symmetry).
    Near α = 1, ∂α comes from a Taylor series (see the module notes and ``_d_alpha``).

    Parameters
    ----------
    x, lower, upper, bits, alpha, axis
        As in :func:`dsq`.
    cotangent : array_like, shape x.shape, optional
        The incoming gradient dL/dq of a vector–Jacobian product.

    Returns
    -------
    partials : dict of str to ndarray
        ``axis`` and ``cotangent`` None: elementwise, each of shape x.shape, float64.
        Otherwise the VJP: "x" = cotangent·∂Q_S/∂x (x.shape) and "lower", "upper", "alpha" each
        of that parameter's own shape (``()`` for a scalar), the sum of cotangent·∂Q_S/∂param
        over the elements the value governs (cotangent defaults to ones).
    """
    arr = as_float_array(x)
    axes = check_axis(axis, arr.ndim)
    ct = check_cotangent(cotangent, arr.shape)
    lower, upper, bits, alpha, shapes = _check_channels(arr.shape, lower, upper, bits, alpha, axes)
    shape, arr = arr.shape, _at_least_1d(arr)
    n, delta, t, i = _coords(arr, lower, upper, bits)
    terms = _alpha_terms(alpha, arr.shape, axes)
    if np.ndim(terms[0]) == 0 and terms[0] == 1.0:
        g, gp, d_alpha = t, np.ones_like(t), np.zeros_like(t)
    else:
        g, gp, d_alpha = _soft_partials(t, i, delta, terms)
    xf = arr.astype(np.float64)
    below, above = xf < lower, xf > upper
    inside = ~(below | above)
    parts = {
        "x": np.where(inside, gp, 0.0),
        "lower": np.where(inside, 1.0 - g / n + gp * (t / n - 1.0), below * 1.0),
        "upper": np.where(inside, (g - t * gp) / n, above * 1.0),
        "alpha": np.where(inside, d_alpha, 0.0),
    }
    parts = {k: v.reshape(shape) for k, v in parts.items()}
    return vjp_partials(parts, shapes, shape, axes, ct)


def _soft_partials(t, i, delta, terms):
    """(g, g', ∂Q_S/∂α) for a ≠ 1 (per-channel: a = 1 channels get the limits t, 1, 0)."""
    a, K, s, sign = terms[:4]
    c = t - i - 0.5
    with np.errstate(invalid="ignore"):  # per-channel a = 1 (K = 0, s = inf): NaNs replaced below
        th = np.tanh(K * c)
        # sech² z = 4e^{−2|z|}/(1 + e^{−2|z|})²: no overflow, and no 1 − tanh² cancellation,
        # which would leave only ~1e-16/α relative accuracy in the edge slope for small α
        e = np.exp(-2.0 * np.abs(K * c))
        sech2 = 4.0 * e / (1.0 + e) ** 2
        g = i + (1.0 + s * th) / 2.0
        gp = s * K / 2.0 * sech2
        # α > 1 was evaluated at a = 2 − α, so ∂/∂α = −∂/∂a there (sign)
        with np.errstate(over="ignore"):  # checked just below, reported as a ValueError
            d_alpha = _d_alpha(c, th, sech2, terms, delta) * sign
    if np.ndim(a) != 0:
        one = np.broadcast_to(a == 1.0, np.broadcast_shapes(np.shape(a), t.shape))
        g, gp, d_alpha = np.where(one, t, g), np.where(one, 1.0, gp), np.where(one, 0.0, d_alpha)
    bad = ~np.isfinite(d_alpha)
    if np.any(bad):
        alpha, where = terms[8], ""
        if np.ndim(alpha) != 0:
            idx = tuple(int(j) for j in np.argwhere(bad)[0])
            alpha = float(np.broadcast_to(alpha, bad.shape)[idx])
            where = f" (in the channel at x index {idx})"
        raise ValueError(f"alpha={alpha!r} is so close to 0 or 2 that dQ/dalpha overflows "
                         f"float64{where}; valid: alpha in (0, 2), in practice alpha > 1e-300")
    return g, gp, d_alpha
