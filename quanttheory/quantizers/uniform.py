"""Clipped uniform quantizer (the baseline every figure compares against).

Weights are symmetric with :math:`2^{b-1}-1` positive levels (so 0 is a level and the set is
odd-symmetric); activations are unsigned with :math:`2^b - 1` steps on [0, α].

References
----------
.. [1] Li, Dong, Wang. "Additive Powers-of-Two Quantization". ICLR 2020, arXiv:1909.13144,
   Eq. 2 (uniform level set Q^u) and §2.2 (clipping, straight-through estimator).
"""

from __future__ import annotations

import numpy as np

from . import _projection
from ._validate import (
    as_float_array,
    channel_param_shaped,
    check_axis,
    check_bits,
    check_bool,
    check_cotangent,
    vjp_partials,
)

#: Supported bit-widths: signed needs b ≥ 2 (b = 1 would leave only the zero level).
SIGNED_BITS = range(2, 17)
UNSIGNED_BITS = range(1, 17)


def uniform_levels(bits, *, signed):
    r"""Normalised uniform levels (max 1), sorted.

    Signed: :math:`\{j/(2^{b-1}-1)\}_{|j| \le 2^{b-1}-1}`; unsigned: :math:`\{j/(2^b-1)\}_{0\le j<2^b}`.

    Returns
    -------
    levels : ndarray, shape (n_levels,)
    """
    if check_bool(signed, "signed"):
        bits = check_bits(bits, SIGNED_BITS)
        m = 2 ** (bits - 1) - 1
        return np.arange(-m, m + 1, dtype=np.float64) / m
    bits = check_bits(bits, UNSIGNED_BITS)
    m = 2**bits - 1
    return np.arange(0, m + 1, dtype=np.float64) / m


def _magnitudes(bits, signed):
    lv = uniform_levels(bits, signed=signed)
    return lv[lv >= 0]


def uniform(x, *, alpha, bits, signed, axis=None):
    r"""Clipped uniform quantizer :math:`q = \alpha\,\mathrm{round}(\mathrm{clip}(x/\alpha)\cdot m)/m`.

    Rounding is to the nearest level with ties away from zero (the same rule as
    :func:`round_nearest`). ``m = 2^{b-1}-1`` (signed) or ``2^b-1`` (unsigned).

    Parameters
    ----------
    x : array_like, shape (...)
    alpha : float or array_like, shape P
        Clipping scale α > 0 (the largest level). With ``axis``: a scalar (shared) or one value
        per channel or group, P = (p_1, …, p_k), p_i dividing C_i = x.shape[axis[i]] (channel c
        uses α[c // (C_i // p_i)]).
    bits : int
        2–16 (signed) or 1–16 (unsigned).
    signed : bool
        Weights (symmetric, clip to [−α, α]) or activations (clip to [0, α]).
    axis : None, int or tuple of int, default None
        Channel axes of a per-channel α (negative allowed, increasing). The result equals a
        loop of per-tensor calls over the channels, bit for bit.

    Returns
    -------
    q : ndarray, shape (...), float32 if ``x`` is float32 else float64
    """
    arr = as_float_array(x)
    alpha, _ = channel_param_shaped(alpha, arr.shape, check_axis(axis, arr.ndim), "alpha", low=0.0)
    return _projection.project(arr, alpha, _magnitudes(bits, signed), signed)


def uniform_partials(x, *, alpha, bits, signed, axis=None, cotangent=None):
    r"""Straight-through partials of :func:`uniform`: ``{"x": ..., "alpha": ...}``.

    ∂q/∂x = 1 inside the clip range (boundaries included), 0 outside; ∂q/∂α = sign(x)
    outside and q/α − x/α inside (the learned-step/PACT-style clipping gradient, APoT [1]_ Eq. 7).

    Parameters
    ----------
    x, alpha, bits, signed, axis
        As in :func:`uniform`.
    cotangent : array_like, shape x.shape, optional
        The incoming gradient dL/dq of a vector–Jacobian product.

    Returns
    -------
    partials : dict
        ``axis`` and ``cotangent`` None: elementwise ∂q/∂x and ∂q/∂α, each of shape x.shape.
        Otherwise the VJP: "x" = cotangent·∂q/∂x (x.shape) and "alpha" of α's shape P (``()``
        for a scalar α), the sum of cotangent·∂q/∂α over the elements each α value governs
        (cotangent defaults to ones).
    """
    arr = as_float_array(x)
    axes = check_axis(axis, arr.ndim)
    ct = check_cotangent(cotangent, arr.shape)
    alpha, shape = channel_param_shaped(alpha, arr.shape, axes, "alpha", low=0.0)
    q = _projection.project(arr, alpha, _magnitudes(bits, signed), signed)
    return vjp_partials(_projection.partials(arr, alpha, q, signed), {"alpha": shape}, arr.shape, axes, ct)
