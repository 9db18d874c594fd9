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
from ._validate import as_float_array, check_bits, check_bool, check_scalar

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


def uniform(x, *, alpha, bits, signed):
    r"""Clipped uniform quantizer :math:`q = \alpha\,\mathrm{round}(\mathrm{clip}(x/\alpha)\cdot m)/m`.

    Rounding is to the nearest level with ties away from zero (the same rule as
    :func:`round_nearest`). ``m = 2^{b-1}-1`` (signed) or ``2^b-1`` (unsigned).

    Parameters
    ----------
    x : array_like, shape (...)
    alpha : float
        Clipping scale α > 0 (the largest level).
    bits : int
        2–16 (signed) or 1–16 (unsigned).
    signed : bool
        Weights (symmetric, clip to [−α, α]) or activations (clip to [0, α]).

    Returns
    -------
    q : ndarray, shape (...), float32 if ``x`` is float32 else float64
    """
    arr = as_float_array(x)
    alpha = check_scalar(alpha, "alpha", low=0.0)
    return _projection.project(arr, alpha, _magnitudes(bits, signed), signed)


def uniform_partials(x, *, alpha, bits, signed):
    r"""Straight-through partials of :func:`uniform`: ``{"x": ..., "alpha": ...}``.

    ∂q/∂x = 1 inside the clip range (boundaries included), 0 outside; ∂q/∂α = sign(x)
    outside and q/α − x/α inside (the learned-step/PACT-style clipping gradient, APoT [1]_ Eq. 7).
    """
    arr = as_float_array(x)
    alpha = check_scalar(alpha, "alpha", low=0.0)
    q = _projection.project(arr, alpha, _magnitudes(bits, signed), signed)
    return _projection.partials(arr, alpha, q, signed)
