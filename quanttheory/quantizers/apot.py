r"""Additive Powers-of-Two (APoT) quantization.

References
----------
.. [1] Y. Li, X. Dong, W. Wang. "Additive Powers-of-Two Quantization: An Efficient
   Non-uniform Discretization for Neural Networks". ICLR 2020, arXiv:1909.13144.
   Eq. 5 (level set), §2.2 (RCF, Eq. 7 gradient), §2.3 (weight normalisation).
.. [2] Official code, github.com/yhhhli/APoT_Quantization, ``build_power_value``.
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np

from . import _projection
from ._validate import (
    as_float_array,
    channel_param_shaped,
    check_axis,
    check_bits,
    check_bool,
    check_cotangent,
    check_finite_result,
    check_scalar,
    vjp_partials,
)

# Base lists of the official code [2]: the magnitude levels for B magnitude bits are all sums
# of one element per list, divided by the largest sum. For even B they equal Eq. 5 with k = 2.
_OFFICIAL_BASES: dict[int, tuple[tuple[float, ...], ...]] = {
    1: ((0.0, 1.0),),
    2: ((0.0, 1 / 2, 1 / 4, 1 / 8),),
    3: ((0.0, 1 / 2, 1 / 4, 1 / 16), (0.0, 1 / 8)),
    4: ((0.0, 1 / 2, 1 / 8, 1 / 32), (0.0, 1 / 4, 1 / 16, 1 / 64)),
    5: ((0.0, 1 / 2, 1 / 8, 1 / 64), (0.0, 1 / 4, 1 / 16, 1 / 128), (0.0, 1 / 32)),
    6: (
        (0.0, 1 / 2, 1 / 16, 1 / 128),
        (0.0, 1 / 4, 1 / 32, 1 / 256),
        (0.0, 1 / 8, 1 / 64, 1 / 512),
    ),
}
#: Weight bit-widths (sign + B = b − 1 magnitude bits; b = 2 is ternary) and activation ones.
WEIGHT_BITS = tuple(b + 1 for b in _OFFICIAL_BASES)  # 2 … 7
ACTIVATION_BITS = tuple(_OFFICIAL_BASES)  # 1 … 6


def _sums(bases) -> np.ndarray:
    # All sums are dyadic rationals with few bits, so float64 sums and the final division are
    # exact or correctly rounded, and duplicates (none occur) would be exact duplicates.
    sums = sorted({sum(c) for c in itertools.product(*bases)})
    arr = np.asarray(sums, dtype=np.float64)
    return arr / arr[-1]


@cache
def _magnitudes(B: int) -> np.ndarray:
    lv = _sums(_OFFICIAL_BASES[B])
    lv.setflags(write=False)
    return lv


def apot_levels(bits, *, signed):
    r"""Sorted normalised APoT levels (max 1) in the official-code convention [2]_.

    Weights (``signed=True``): sign plus B = b − 1 magnitude bits, levels
    :math:`\pm L_B \cup \{0\}` (2^b − 1 levels; 2-bit weights are ternary {−1, 0, 1}).
    Activations (``signed=False``): unsigned, B = b, :math:`L_B` (2^b levels).

    Parameters
    ----------
    bits : int
        2–7 for weights, 1–6 for activations. Other widths raise ``ValueError`` (the official
        code silently returns NaN levels for them); use :func:`apot_levels_eq5` for others.
    signed : bool

    Returns
    -------
    levels : ndarray, shape (n_levels,)

    Examples
    --------
    >>> apot_levels(3, signed=True)
    array([-1.  , -0.5 , -0.25,  0.  ,  0.25,  0.5 ,  1.  ])
    """
    if check_bool(signed, "signed"):
        B = check_bits(bits, WEIGHT_BITS) - 1
        mag = _magnitudes(B)
        return np.concatenate([-mag[:0:-1], mag])
    return _magnitudes(check_bits(bits, ACTIVATION_BITS)).copy()


def apot_levels_eq5(k, n):
    r"""The general APoT level set of Eq. 5 [1]_, normalised to max 1.

    .. math::
        Q^a(\alpha, kn) = \gamma\Big\{\sum_{i=0}^{n-1} p_i\Big\},\quad
        p_i \in \{0, 2^{-i}, 2^{-(i+n)}, \dots, 2^{-(i+(2^k-2)n)}\}

    with :math:`\gamma = 1/\sum_{i<n} 2^{-i}`: B = kn magnitude bits, 2^B levels. k = 1 gives
    uniform levels, k = B (n = 1) plain powers of two plus 0.

    Parameters
    ----------
    k : int
        Bits per additive term, 1–8.
    n : int
        Number of terms, 1–8, with k·n ≤ 16.
    """
    k = check_bits(k, range(1, 9), "k")
    n = check_bits(n, range(1, 9), "n")
    if k * n > 16:
        raise ValueError(f"k*n={k * n} magnitude bits is too many; valid: k*n <= 16")
    bases = [
        (0.0, *(2.0 ** -(i + j * n) for j in range(2**k - 1))) for i in range(n)
    ]
    return _sums(bases)


def apot(x, *, alpha, bits, signed, axis=None):
    r"""APoT forward map with the reparameterised clipping function (RCF) [1]_ §2.2.

    .. math:: q = \alpha\,\Pi_{L}\big(\mathrm{clip}(x/\alpha, -1\ \text{or}\ 0, 1)\big)

    Weights project |x/α| onto :math:`L_B` and restore the sign (sign(0) = 0); activations clip
    to [0, 1]. Ties go to the larger magnitude (documented; the official code is inconsistent).

    Parameters
    ----------
    x : array_like, shape (...)
    alpha : float or array_like, shape P
        Clipping threshold α > 0 (the largest level). With ``axis``: a scalar (shared) or one
        value per channel or group, P = (p_1, …, p_k), p_i dividing C_i = x.shape[axis[i]]
        (channel c uses α[c // (C_i // p_i)]).
    bits : int
    signed : bool
    axis : None, int or tuple of int, default None
        Channel axes of a per-channel α (negative allowed, increasing). The result equals a
        loop of per-tensor calls over the channels, bit for bit.

    Returns
    -------
    q : ndarray, shape (...); float32 in → float32 out, else float64.
    """
    arr = as_float_array(x)
    alpha, _ = channel_param_shaped(alpha, arr.shape, check_axis(axis, arr.ndim), "alpha", low=0.0)
    mag = _weight_magnitudes(bits) if check_bool(signed, "signed") else apot_levels(bits, signed=False)
    return _projection.project(arr, alpha, mag, signed)


def _weight_magnitudes(bits):
    return _magnitudes(check_bits(bits, WEIGHT_BITS) - 1)


def apot_partials(x, *, alpha, bits, signed, axis=None, cotangent=None):
    r"""Partials of the RCF [1]_ Eq. 7: ``{"x": ∂q/∂x, "alpha": ∂q/∂α}``.

    ∂q/∂α = sign(x) for |x| > α and q/α − x/α inside (weights); activations: 1 for x > α,
    q/α − x/α for 0 ≤ x ≤ α, 0 for x < 0. ∂q/∂x = 1 inside the clip range (boundaries
    included), 0 outside — the clipped straight-through estimator (PACT would use 0 inside).

    Parameters
    ----------
    x, alpha, bits, signed, axis
        As in :func:`apot`.
    cotangent : array_like, shape x.shape, optional
        The incoming gradient dL/dq of a vector–Jacobian product.

    Returns
    -------
    partials : dict
        ``axis`` and ``cotangent`` None: elementwise, each of shape x.shape. Otherwise the VJP:
        "x" = cotangent·∂q/∂x (x.shape) and "alpha" of α's shape P (``()`` for a scalar α), the
        sum of cotangent·∂q/∂α over the elements each α value governs (cotangent defaults to 1).
    """
    arr = as_float_array(x)
    axes = check_axis(axis, arr.ndim)
    ct = check_cotangent(cotangent, arr.shape)
    alpha, shape = channel_param_shaped(alpha, arr.shape, axes, "alpha", low=0.0)
    mag = _weight_magnitudes(bits) if check_bool(signed, "signed") else apot_levels(bits, signed=False)
    q = _projection.project(arr, alpha, mag, signed)
    return vjp_partials(_projection.partials(arr, alpha, q, signed), {"alpha": shape}, arr.shape, axes, ct)


def apot_normalize(w, *, eps=1e-5):
    r"""Weight normalisation before APoT quantization [1]_ §2.3.

    .. math:: \tilde W = (W - \mu_W) / (\sigma_W + \epsilon)

    with the unbiased standard deviation (as the official code). The official code has no
    ε, so a constant tensor gives 0/0 = NaN; we add ε > 0 and return zeros instead.

    Parameters
    ----------
    w : array_like, shape (...), at least 2 elements
    eps : float, default 1e-5

    Returns
    -------
    w_tilde : ndarray, shape (...)
    """
    arr = as_float_array(w, "w")
    eps = check_scalar(eps, "eps", low=0.0)
    if arr.size < 2:
        raise ValueError(f"w must have at least 2 elements for an unbiased std; got size {arr.size}")
    a = arr.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = a.mean(), a.std(ddof=1)
        if np.isfinite(mean) and np.isfinite(std):
            out = (a - mean) / (std + eps)
        else:
            # |w| near the float64 limit: the sums behind μ and σ overflow, the answer does
            # not. (W − μ)/(σ + ε) = (W/m − μ/m)/(σ/m + ε/m) with m = max|W|.
            m = float(np.max(np.abs(a)))
            b = a / m
            out = (b - b.mean()) / (b.std(ddof=1) + eps / m)
    check_finite_result(out, "apot_normalize", w=f"array with max|w| = {np.max(np.abs(a)):.4g}", eps=eps)
    return out.astype(arr.dtype, copy=False)
