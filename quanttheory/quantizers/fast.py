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
``dsq_hard_flat(x, lower, upper, n, out)``, and their per-channel versions
``project_flat_channels(x, alphas, layout, levels, signed, out)`` and
``dsq_hard_flat_channels(x, lowers, lower_layout, uppers, upper_layout, n, out)`` (``layout``: see
``_kernels.param_index``). They do no validation: the caller guarantees finite input and that
x/Δ does not overflow.

``uniform``, ``lsq``, ``apot`` and ``dsq`` take ``axis`` and per-channel parameters as the
references do (same validation and messages); element j reads its parameter through an index
computed from j, so no expanded copy of the parameters is made.

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
from ._validate import (
    as_float_array,
    check_axis,
    check_grid,
    check_param,
    check_rng,
    check_scalar,
    check_scalar_param,
    param_layout,
)
from .apot import _weight_magnitudes, apot_levels
from .dsq import _check as _dsq_check
from .dsq import _check_channels as _dsq_check_channels
from .floatfmt import _check_range, as_format
from .lsq import clip_of, lsq_qp
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


def _layout(pshape, x_shape, axes, name):
    """The (4, k) int64 layout of ``_kernels.param_index`` for a parameter of shape ``pshape``."""
    if tuple(pshape) == ():
        return np.zeros((4, 0), dtype=np.int64)
    repeats, _ = param_layout(pshape, x_shape, axes, name)
    size = lambda dims: int(np.prod(dims, dtype=np.int64))  # noqa: E731
    cols = [(size(x_shape[a + 1:]), x_shape[a], r, size(pshape[i + 1:]))
            for i, (a, r) in enumerate(zip(axes, repeats, strict=True))]
    return np.array(cols, dtype=np.int64).T.copy()


def _flat_param(p, x_shape, axes, name):
    """(flat float64 values, layout) of a validated parameter (float or array of shape P)."""
    values = np.ascontiguousarray(p, dtype=np.float64).ravel()
    return values, _layout(np.shape(p), x_shape, axes, name)


def _project(x, value, axis, levels_of, signed, name="alpha", scale=1):
    """Validate (x, parameter, then bits via ``levels_of()``) and run the projection kernel,
    per tensor (axis None) or per channel, at α = scale·parameter."""
    arr = as_float_array(x)
    axes = check_axis(axis, arr.ndim)
    if axes is None:
        alpha = check_scalar_param(value, name, low=0.0)
        return K.run_flat(K.project_flat, arr, clip_of(alpha, scale), levels_of(), bool(signed))
    values, layout = _flat_param(check_param(value, name, low=0.0), arr.shape, axes, name)
    return K.run_flat(K.project_flat_channels, arr, clip_of(values, scale), layout, levels_of(), bool(signed))


def uniform(x, *, alpha, bits, signed, axis=None):
    """numba twin of :func:`quanttheory.quantizers.uniform` (``axis`` as there)."""
    return _project(x, alpha, axis, lambda: _uniform_magnitudes(bits, signed), signed)


def lsq(x, *, step, bits, signed, axis=None):
    """numba twin of :func:`quanttheory.quantizers.lsq` (the uniform kernel at α = Q_P·s)."""
    return _project(x, step, axis, lambda: _uniform_magnitudes(bits, signed), signed, "step", lsq_qp(bits, signed))


def apot(x, *, alpha, bits, signed, axis=None):
    """numba twin of :func:`quanttheory.quantizers.apot` (``axis`` as there)."""
    return _project(x, alpha, axis,
                    lambda: _weight_magnitudes(bits) if signed else apot_levels(bits, signed=False), signed)


def dsq(x, *, lower, upper, bits, alpha, axis=None):
    """numba twin of the hard map :func:`quanttheory.quantizers.dsq` (``soft=False``; ``axis`` as there)."""
    arr = as_float_array(x)
    axes = check_axis(axis, arr.ndim)
    if axes is None:
        lower, upper, bits, _ = _dsq_check(lower, upper, bits, alpha)
        return K.run_flat(K.dsq_hard_flat, arr, lower, upper, 2**bits - 1)
    lo, hi = check_param(lower, "lower"), check_param(upper, "upper")
    _, _, bits, _, _ = _dsq_check_channels(arr.shape, lo, hi, bits, alpha, axes)  # cross-checks l < u, α
    return K.run_flat(K.dsq_hard_flat_channels, arr, *_flat_param(lo, arr.shape, axes, "lower"),
                      *_flat_param(hi, arr.shape, axes, "upper"), 2**bits - 1)


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
