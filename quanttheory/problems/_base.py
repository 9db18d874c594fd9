"""Shared argument checks and the sequential reductions every problem uses.

Why sequential sums: the numba fast path of :func:`quanttheory.optim.run` evaluates the same
gradients in scalar loops, and must agree with this numpy reference bit for bit. numpy's
``sum``/``matmul`` use pairwise summation or BLAS blocking, whose rounding differs from a
left-to-right loop; ``np.cumsum`` along an axis is strictly left to right, so
``np.cumsum(x, axis)[..., -1]`` is the numpy spelling of the loop ``acc = x[0]; acc += x[k]``.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np

from ..quantizers._validate import as_array  # one ragged-input message for the whole package


def seq_sum(x: np.ndarray, axis: int) -> np.ndarray:
    """Left-to-right sum along ``axis`` (bit-identical to a scalar accumulation loop)."""
    return np.take(np.cumsum(x, axis=axis), -1, axis=axis)


def as_matrix(a, name: str, *, ndim: int) -> np.ndarray:
    """Finite real float64 array of the given number of dimensions (a copy, never a view)."""
    arr = as_array(a, name)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a real numeric array; got dtype {arr.dtype}")
    arr = np.array(arr, dtype=np.float64, copy=True)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s); got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains a non-finite value ({arr[~np.isfinite(arr)].ravel()[0]})")
    arr.setflags(write=False)
    return arr


def check_points(w, dim: int) -> np.ndarray:
    """Validate iterates: shape (chains, dim) float64, finite. A 1-D ``(dim,)`` is one chain."""
    arr = as_array(w, "w")
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"w must be a real numeric array; got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != dim or arr.shape[0] == 0:
        raise ValueError(f"w must have shape (chains, {dim}) with chains >= 1; got {np.shape(w)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"w contains a non-finite value ({arr[~np.isfinite(arr)].ravel()[0]})")
    return arr


def check_count(value, name: str) -> int:
    """A positive integer (sizes n, d of a random problem)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}={value!r} is invalid; valid: an integer >= 1")
    return int(value)


def finite_output(method):
    """Decorate ``loss``/``full_grad``/``grad``: a result that overflowed float64 (±inf, NaN)
    is a ValueError naming w, never a silent non-finite value."""

    @functools.wraps(method)
    def checked(self, w, *args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore"):
            out = method(self, w, *args, **kwargs)
        if not np.all(np.isfinite(out)):
            big = float(np.max(np.abs(np.asarray(w, dtype=np.float64))))
            raise ValueError(
                f"{type(self).__name__}.{method.__name__}(w) overflows float64 at w with max|w| = {big:.4g}; "
                "use smaller |w| or a better-scaled problem"
            )
        return out

    return checked


def check_batch(batch_size, n: int | None = None) -> int | None:
    """``None`` (full gradient) or a positive integer minibatch size."""
    if batch_size is None:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} is invalid; valid: None or an integer >= 1")
    return int(batch_size)


def check_nonneg(value, name: str) -> float:
    """A finite real scalar >= 0 (noise levels, l2 weights)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    v = float(value)
    if not (np.isfinite(v) and v >= 0):
        raise ValueError(f"{name}={value!r} is out of range; valid: [0, inf)")
    return v


def check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)); got {rng!r}")
    return rng
