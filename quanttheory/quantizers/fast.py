"""numba fast path for the hot forward maps, bit-identical to the numpy references.

Same signatures and validation as the reference functions in :mod:`quanttheory.quantizers`;
use these in inner loops over large arrays. ``stochastic_round`` and the reference draw the same
uniforms from the same Generator, so under the same Generator state they agree bit for bit
(numba's ``rng.random()`` inside ``@njit`` draws numpy's ``rng.random(n)`` stream element by
element and advances the caller's Generator; ``tests/quantizers/test_numerics.py`` checks it).

Other ``@njit`` code calls the kernels in :mod:`quanttheory.quantizers._kernels` directly:
``round_nearest_scalar(w, delta)``, ``stochastic_round_scalar(w, delta, u)`` (u ∈ [0, 1) drawn
by the caller), and the flat-array loops ``round_nearest_flat(x, delta, out)``,
``stochastic_round_flat(x, delta, rng, out)``, ``project_flat(x, alpha, levels, signed, out)``,
``dsq_hard_flat(x, lower, upper, n, out)``. They do no validation: the caller guarantees finite
input and that x/Δ does not overflow.

Examples
--------
>>> import numpy as np
>>> from quanttheory.quantizers import fast, stochastic_round
>>> x = np.linspace(-1, 1, 5)
>>> bool(np.array_equal(fast.stochastic_round(x, 0.3, np.random.default_rng(0)),
...                     stochastic_round(x, 0.3, np.random.default_rng(0))))
True
"""

from __future__ import annotations

import numpy as np

from . import _kernels as K
from ._validate import as_float_array, check_grid, check_rng, check_scalar
from .apot import _weight_magnitudes, apot_levels
from .dsq import _check as _dsq_check
from .floatfmt import _check_range, as_format
from .lsq import lsq_qp
from .uniform import _magnitudes as _uniform_magnitudes

__all__ = ["round_nearest", "stochastic_round", "uniform", "lsq", "apot", "dsq", "round_float",
           "stochastic_round_float"]


def round_nearest(x, delta):
    """numba twin of :func:`quanttheory.quantizers.round_nearest`."""
    arr = as_float_array(x)
    delta = check_grid(arr, check_scalar(delta, "delta", low=0.0))
    return K.run_flat(K.round_nearest_flat, arr, delta)


def stochastic_round(x, delta, rng):
    """numba twin of :func:`quanttheory.quantizers.stochastic_round` (same Generator stream)."""
    arr = as_float_array(x)
    delta = check_grid(arr, check_scalar(delta, "delta", low=0.0))
    return K.run_flat(K.stochastic_round_flat, arr, delta, check_rng(rng))


def uniform(x, *, alpha, bits, signed):
    """numba twin of :func:`quanttheory.quantizers.uniform`."""
    arr = as_float_array(x)
    alpha = check_scalar(alpha, "alpha", low=0.0)
    levels = _uniform_magnitudes(bits, signed)
    return K.run_flat(K.project_flat, arr, alpha, levels, bool(signed))


def lsq(x, *, step, bits, signed):
    """numba twin of :func:`quanttheory.quantizers.lsq` (the uniform kernel at α = Q_P·s)."""
    arr = as_float_array(x)
    step = check_scalar(step, "step", low=0.0)
    levels = _uniform_magnitudes(bits, signed)
    return K.run_flat(K.project_flat, arr, lsq_qp(bits, signed) * step, levels, bool(signed))


def apot(x, *, alpha, bits, signed):
    """numba twin of :func:`quanttheory.quantizers.apot`."""
    arr = as_float_array(x)
    alpha = check_scalar(alpha, "alpha", low=0.0)
    levels = _weight_magnitudes(bits) if signed else apot_levels(bits, signed=False)
    return K.run_flat(K.project_flat, arr, alpha, levels, bool(signed))


def dsq(x, *, lower, upper, bits, alpha):
    """numba twin of the hard map :func:`quanttheory.quantizers.dsq` (``soft=False``)."""
    arr = as_float_array(x)
    lower, upper, bits, _ = _dsq_check(lower, upper, bits, alpha)
    return K.run_flat(K.dsq_hard_flat, arr, lower, upper, 2**bits - 1)



def round_float(x, fmt):
    """numba twin of :func:`quanttheory.quantizers.round_float` (bit-identical)."""
    fmt = as_format(fmt)
    arr = as_float_array(x)
    man_bits, emin, max_value, saturate = fmt.kernel_args()
    q = K.run_flat(K.round_float_flat, arr, man_bits, emin, max_value, saturate)
    _check_range(arr, fmt, np.isinf(q))  # overflowed to inf: an error for formats without inf
    return q


def stochastic_round_float(x, fmt, rng):
    """numba twin of :func:`quanttheory.quantizers.stochastic_round_float` (same Generator stream)."""
    fmt = as_format(fmt)
    arr = as_float_array(x)
    rng = check_rng(rng)
    _check_range(arr, fmt, np.abs(arr) > fmt.max_value)
    return K.run_flat(K.stochastic_round_float_flat, arr, *fmt.kernel_args(), rng)
